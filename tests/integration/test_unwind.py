"""DWARF unwinding (--unwind dwarf, the default) on real processes with real
BPF: complete stacks of code built without frame pointers, the caller of a
frameless leaf, Python, the vDSO, deep recursion past the snapshot, signal
handlers, a dlopen'ed library, JIT code through its frame pointer, a target
that exits with samples still queued, and the options."""
import os
import re
import shutil
import subprocess

from ember_it import (Checks, ember, parse_folded, require_bpf, start_workload, stop,
                      stack_has_chain, summary_total, tmpdir, workload)

HERE = os.path.dirname(os.path.abspath(__file__))
PY_SCRIPT = os.path.join(HERE, "..", "workloads", "cpu_bound.py")
PYTHON = "/usr/bin/python3"
CHAIN = ["main", "run_rounds", "do_round", "compute_step"]


def own(stacks, comm):
    return [(f, c) for f, c in stacks if f[0] == comm]


def share(stacks, pred):
    total = sum(c for _, c in stacks)
    assert total > 0, "no samples"
    return sum(c for f, c in stacks if pred(f)) / total


def user_frames(frames):
    """The user part of a folded stack (comm and kernel frames left out)."""
    return [f for f in frames[1:] if not f.endswith("_[k]")]


def summary_field(stderr, name):
    m = re.search(name + r" (\d+)", stderr)
    assert m, f"no '{name}' in the summary: {stderr!r}"
    return int(m.group(1))


def profile_pid(name, *args, extra=(), seconds="3", freq="499"):
    p = start_workload(name, *args)
    try:
        r = ember("profile", "-F", freq, "-p", str(p.pid), "-d", seconds, *extra)
    finally:
        stop(p)
    assert r.returncode == 0, r.stderr
    return parse_folded(r.stdout), r.stderr


def test_nofp_complete_and_ratio():
    stacks, err = profile_pid("ratio_nofp", 0)
    stacks = own(stacks, "ratio_nofp")
    assert sum(c for _, c in stacks) == summary_total(err)
    # every sample reaches main and the program's entry, whatever the leaf
    assert share(stacks, lambda f: "main" in f) == 1.0, stacks[:5]
    assert share(stacks, lambda f: user_frames(f)[0] == "_start") == 1.0, stacks[:5]
    assert share(stacks, lambda f: "__libc_start_call_main" in f or "[libc.so.6]" in f) == 1.0
    heavy = sum(c for f, c in stacks if f[-1] == "leaf_heavy" and stack_has_chain(f, CHAIN + ["leaf_heavy"]))
    light = sum(c for f, c in stacks if f[-1] == "leaf_light" and stack_has_chain(f, CHAIN + ["leaf_light"]))
    assert heavy + light > 100, (heavy, light)
    assert abs(heavy / (heavy + light) - 0.75) < 0.06, (heavy, light)
    assert summary_field(err, "truncated stacks") == 0


def test_frameless_leaf_keeps_caller():
    # ratio_fp_leaf has frame pointers, but its leaves set up no frame: a
    # frame-pointer walk skips their caller, CFI does not.
    def caller_share(stacks):
        leaves = [(f, c) for f, c in own(stacks, "ratio_fp_leaf")
                  if f[-1] in ("leaf_heavy", "leaf_light")]
        return share(leaves, lambda f: len(f) > 1 and f[-2] == "compute_step")

    dwarf, _ = profile_pid("ratio_fp_leaf", 0, seconds="2")
    fp, _ = profile_pid("ratio_fp_leaf", 0, seconds="2", extra=("--unwind", "fp"))
    assert caller_share(dwarf) >= 0.99, caller_share(dwarf)
    assert caller_share(fp) < 0.5, f"fp mode kept compute_step: {caller_share(fp)}"


def test_python_reaches_interpreter_main():
    if not os.path.exists(PYTHON):
        print(f"  (no {PYTHON}: skipped)")
        return
    out = os.path.join(tmpdir(), "py.folded")
    r = ember("profile", "-F", "499", "-o", out, "--", PYTHON, PY_SCRIPT, "3")
    assert r.returncode == 0, r.stderr
    stacks = own(parse_folded(open(out).read()), "python3")
    total = sum(c for _, c in stacks)
    assert total > 100, total
    # Debian's interpreter: main tail-calls Py_BytesMain, the exported entry point
    assert share(stacks, lambda f: "Py_BytesMain" in f) >= 0.99
    assert share(stacks, lambda f: user_frames(f)[0] == "_start") >= 0.99
    assert share(stacks, lambda f: "_PyEval_EvalFrameDefault" in f) >= 0.95
    names = {n for f, _ in stacks for n in f}
    assert {"Py_RunMain", "PyEval_EvalCode"} <= names, sorted(names)[:40]


def test_vdso_frames():
    # time.monotonic() spends its time in the vDSO, which is no file: its CFI
    # comes from ember's own copy of the same kernel's vDSO.
    if not os.path.exists(PYTHON):
        print(f"  (no {PYTHON}: skipped)")
        return
    out = os.path.join(tmpdir(), "vdso.folded")
    code = "import time\nend = time.monotonic() + 2\nwhile time.monotonic() < end: pass\n"
    r = ember("profile", "-F", "999", "-o", out, "--", PYTHON, "-c", code)
    assert r.returncode == 0, r.stderr
    stacks = own(parse_folded(open(out).read()), "python3")
    vdso = [(f, c) for f, c in stacks if any("vdso" in n for n in user_frames(f))]
    assert sum(c for _, c in vdso) > 20, "too few samples in the vDSO"
    assert share(vdso, lambda f: user_frames(f)[0] == "_start") >= 0.99, vdso[:3]


def test_deep_recursion_truncated():
    out = os.path.join(tmpdir(), "deep.folded")
    depths = {}
    for size in ("8K", "64K"):
        r = ember("profile", "-F", "499", "--stack-size", size, "-o", out, "--",
                  workload("deep_nofp"), "4000", "2")
        assert r.returncode == 0, r.stderr
        stacks = parse_folded(open(out).read())
        total = sum(c for _, c in stacks)
        assert total == summary_total(r.stderr)
        # spin runs at the bottom of the 4000 levels only: far deeper than any snapshot
        deep = [(f, c) for f, c in own(stacks, "deep_nofp") if "spin" in f]
        assert deep, "no deep stacks"
        # a stack deeper than the snapshot starts where the missing callers would be
        assert share(deep, lambda f: f[1] == "[truncated]") == 1.0, [f[:3] for f, _ in deep]
        marked = sum(c for f, c in stacks if "[truncated]" in f)
        assert marked == summary_field(r.stderr, "truncated stacks"), (marked, r.stderr)
        assert marked >= 0.8 * total, (marked, total)
        depths[size] = max(f.count("descend") for f, _ in deep)
    # a bigger snapshot reaches further up (64K: until the unwinder's frame limit)
    assert depths["64K"] > 2 * depths["8K"], depths


def test_signal_handler_frames():
    stacks, _ = profile_pid("sigwork_nofp", 0)
    stacks = own(stacks, "sigwork_nofp")
    handler = [(f, c) for f, c in stacks if "handler_work" in f]
    assert sum(c for _, c in handler) > 20, "too few samples in the handler"

    def through_trampoline(f):
        u = user_frames(f)
        i = u.index("on_tick")
        # on_tick is entered from the signal trampoline, which interrupted inner_spin
        return i >= 2 and u[i - 2] == "inner_spin" and u[0] == "_start" and "main" in u

    assert share(handler, through_trampoline) >= 0.95, handler[:3]


def test_dlopen_nofp_library():
    stacks, _ = profile_pid("dlopen_nofp", 0)
    stacks = own(stacks, "dlopen_nofp")
    chain = ["main", "call_lib", "lib_outer", "lib_inner"]
    inner = [(f, c) for f, c in stacks if "lib_inner" in f]
    assert sum(c for _, c in inner) > 100
    assert share(inner, lambda f: stack_has_chain(f, chain) and user_frames(f)[0] == "_start") >= 0.99


def test_jit_through_frame_pointer():
    stacks, err = profile_pid("jit_nofp", 0, extra=("-v",))
    stacks = own(stacks, "jit_nofp")
    leaf = [(f, c) for f, c in stacks if "jit_leaf" in f]
    assert sum(c for _, c in leaf) > 100

    def crosses(f):
        u = user_frames(f)
        i = u.index("jit_leaf")
        # the stub has no CFI: its caller is found through the frame pointer
        return i >= 2 and u[i - 2] == "jit_loop" and "main" in u and u[0] == "_start"

    assert share(leaf, crosses) >= 0.99, leaf[:3]
    m = re.search(r"\((\d+) through frame pointers\)", err)
    assert m and int(m.group(1)) > 0, err


def test_exit_with_samples_queued():
    # The command exits between two reads of the ring buffer: its last samples
    # are unwound after it is gone, from the files, with the kept mappings.
    out = os.path.join(tmpdir(), "exit.folded")
    for _ in range(3):
        r = ember("profile", "-F", "999", "-o", out, "--", "sh", "-c",
                  f"{workload('ratio_nofp')} 25 >/dev/null")
        assert r.returncode == 0, r.stderr
        stacks = own(parse_folded(open(out).read()), "ratio_nofp")
        leaves = [(f, c) for f, c in stacks if f[-1] in ("leaf_heavy", "leaf_light")]
        assert sum(c for _, c in leaves) > 50
        assert share(leaves, lambda f: stack_has_chain(f, CHAIN + [f[-1]]) and
                     user_frames(f)[0] == "_start") >= 0.99, leaves[:3]


def test_other_processes_not_followed():
    # A one-process profile reads the mapping events of its target only: the
    # programs another shell starts meanwhile are counted as skipped, and the
    # target's stacks stay complete.
    busy = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
    try:
        stacks, err = profile_pid("ratio_nofp", 0, extra=("-v",), seconds="2")
    finally:
        busy.kill()
        busy.wait()
    m = re.search(r"process events: (\d+) mmaps, \d+ execs, (\d+) forks, \d+ exits; "
                  r"(\d+) of other processes skipped", err)
    assert m, err
    mmaps, forks, skipped = map(int, m.groups())
    assert skipped > 0 and mmaps == 0 and forks == 0, m.group(0)
    stacks = own(stacks, "ratio_nofp")
    assert share(stacks, lambda f: user_frames(f)[0] == "_start") == 1.0, stacks[:3]


def test_options():
    for bad in (["--unwind", "lbr"], ["--stack-size", "4K"], ["--stack-size", "128K"],
                ["--stack-size", "lots"]):
        r = ember("profile", *bad, "-d", "1", "-a")
        assert r.returncode == 2, (bad, r.returncode, r.stderr)
        assert bad[0] in r.stderr, r.stderr
    r = ember("profile", "--help")
    assert r.returncode == 0
    assert "--unwind MODE" in r.stdout and "--stack-size" in r.stdout
    # fp mode still works, and reports the same summary fields
    stacks, err = profile_pid("ratio_fp", 0, seconds="1", extra=("--unwind", "fp"))
    assert stacks and "ring buffer full" in err and "truncated stacks 0" in err
    # both modes agree on a program with frame pointers
    dwarf, _ = profile_pid("ratio_fp", 0, seconds="2")
    assert share(own(dwarf, "ratio_fp"), lambda f: "main" in f) == 1.0


def main():
    require_bpf()
    c = Checks()
    for t in (test_nofp_complete_and_ratio, test_frameless_leaf_keeps_caller,
              test_python_reaches_interpreter_main, test_vdso_frames, test_deep_recursion_truncated,
              test_signal_handler_frames, test_dlopen_nofp_library,
              test_jit_through_frame_pointer, test_exit_with_samples_queued,
              test_other_processes_not_followed, test_options):
        c.run(t)
    c.finish()


if __name__ == "__main__":
    main()
