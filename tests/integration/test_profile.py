"""ember profile on real processes with real BPF: the known-ratio workload's
chain and leaf shares, --pid, -a, targets that exit, signals, options."""
import os
import signal
import subprocess
import time

from ember_it import (Checks, ember, parse_folded, require_bpf, run, start_workload, stop,
                      stack_has_chain, summary_total, tmpdir, workload, EMBER)

CHAIN = ["main", "run_rounds", "do_round", "compute_step"]
ROUNDS = 500  # a few seconds of work


def leaf_shares(stacks, comm=None):
    heavy = light = 0
    for frames, count in stacks:
        if comm and frames[0] != comm:
            continue
        if frames[-1] == "leaf_heavy":
            heavy += count
        elif frames[-1] == "leaf_light":
            light += count
    return heavy, light


def check_ratio(stacks, comm="ratio_fp"):
    heavy, light = leaf_shares(stacks, comm)
    # enough samples that the tolerance is over 3 standard errors (binomial bound)
    assert heavy + light >= 500, f"too few leaf samples: {heavy} + {light}"
    share = heavy / (heavy + light)
    assert abs(share - 0.75) < 0.07, f"leaf_heavy share {share:.3f}, expected 0.75"
    return heavy, light


def check_chain(stacks, comm="ratio_fp"):
    found = {"leaf_heavy": 0, "leaf_light": 0}
    for frames, count in stacks:
        if frames[0] != comm:
            continue
        for leaf in found:
            if frames[-1] == leaf and stack_has_chain(frames, CHAIN + [leaf]):
                found[leaf] += count
    assert all(found.values()), f"chain {';'.join(CHAIN)};leaf not found: {found}"
    # nearly every leaf sample carries the whole chain
    heavy, light = leaf_shares(stacks, comm)
    assert sum(found.values()) >= 0.95 * (heavy + light), (found, heavy, light)


def test_command_chain_and_ratio():
    d = tmpdir()
    out = os.path.join(d, "cmd.folded")
    r = ember("profile", "-F", "999", "-o", out, "--", workload("ratio_fp"), str(ROUNDS))
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(open(out).read())
    assert sum(c for _, c in stacks) == summary_total(r.stderr)
    check_chain(stacks)
    check_ratio(stacks)


def test_stdout_and_grammar():
    p = start_workload("ratio_fp", 0)
    try:
        r = ember("profile", "-F", "199", "-p", str(p.pid), "-d", "1.5")
    finally:
        stop(p)
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(r.stdout)
    assert stacks, "no output"
    lines = r.stdout.splitlines()
    assert lines == sorted(lines, key=lambda l: l.rsplit(" ", 1)[0].encode()), "lines not sorted"
    assert len({l.rsplit(" ", 1)[0] for l in lines}) == len(lines), "duplicate stacks"
    assert sum(c for _, c in stacks) == summary_total(r.stderr)


def test_pid_running_workload():
    p = start_workload("ratio_fp", 0)
    try:
        r = ember("profile", "-p", str(p.pid), "-d", "3", "-F", "999")
        assert r.returncode == 0, r.stderr
        assert p.poll() is None, "the target must keep running"
        stacks = parse_folded(r.stdout)
        check_chain(stacks)
        check_ratio(stacks)
        assert {f[0] for f, _ in stacks} == {"ratio_fp"}, "only the target is sampled"
    finally:
        stop(p)


def test_pid_list_two_targets():
    a = start_workload("ratio_fp", 0)
    b = start_workload("ratio_nofp", 0)
    try:
        r = ember("profile", "-p", f"{a.pid},{b.pid}", "-d", "2")
        assert r.returncode == 0, r.stderr
        comms = {f[0] for f, _ in parse_folded(r.stdout)}
        assert comms == {"ratio_fp", "ratio_nofp"}, comms
    finally:
        stop(a)
        stop(b)


def test_all_sees_workload():
    p = start_workload("ratio_fp", 0)
    try:
        r = ember("profile", "-a", "-d", "2", "-F", "199")
        assert r.returncode == 0, r.stderr
        stacks = parse_folded(r.stdout)
        check_chain(stacks)
        assert len({f[0] for f, _ in stacks}) >= 1
    finally:
        stop(p)


def test_kernel_frames():
    # dd spends its time in read/write system calls: kernel frames, marked _[k].
    r = ember("profile", "-F", "499", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=64k",
              "count=400000")
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(r.stdout)
    kframes = [f for frames, _ in stacks for f in frames if f.endswith("_[k]")]
    assert kframes, "no kernel frames"
    # kernel frames sit above user frames: once a stack enters the kernel it stays there
    for frames, _ in stacks:
        ks = [i for i, f in enumerate(frames) if f.endswith("_[k]")]
        if ks:
            assert ks == list(range(ks[0], len(frames))), frames
    r = ember("profile", "--no-kernel", "-F", "499", "--", "dd", "if=/dev/zero",
              "of=/dev/null", "bs=64k", "count=200000")
    assert r.returncode == 0, r.stderr
    assert "_[k]" not in r.stdout


def test_target_exits_mid_run():
    d = tmpdir()
    out = os.path.join(d, "exit.folded")
    p = start_workload("ratio_fp", 120)
    # -d far beyond the workload's life: the run must end when the target exits
    r = ember("profile", "-p", str(p.pid), "-d", "1h", "-o", out, timeout=60)
    p.wait()
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(open(out).read())
    check_chain(stacks)
    assert sum(c for _, c in stacks) == summary_total(r.stderr)


def test_sigint_writes_output():
    d = tmpdir()
    out = os.path.join(d, "int.folded")
    p = start_workload("ratio_fp", 0)
    try:
        e = subprocess.Popen([EMBER, "profile", "-p", str(p.pid), "-o", out],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        e.send_signal(signal.SIGINT)
        _, err = e.communicate(timeout=30)
        assert e.returncode == 0, err
        assert "stopped by signal" in err, err
        stacks = parse_folded(open(out).read())
        check_chain(stacks)
        # SIGTERM too
        e = subprocess.Popen([EMBER, "profile", "-p", str(p.pid), "-o", out],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        e.send_signal(signal.SIGTERM)
        _, err = e.communicate(timeout=30)
        assert e.returncode == 0, err
        assert parse_folded(open(out).read())
    finally:
        stop(p)


def test_command_exit_status():
    r = ember("profile", "--", "sh", "-c", "exit 3")
    assert r.returncode == 3, (r.returncode, r.stderr)
    r = ember("profile", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == 128 + signal.SIGTERM, (r.returncode, r.stderr)


def test_command_children_followed():
    # sh forks the workload: the child is followed through the fork tracepoint
    out = os.path.join(tmpdir(), "children.folded")
    r = ember("profile", "-F", "299", "-o", out, "--", "sh", "-c",
              f"{workload('ratio_fp')} 100; true")
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(open(out).read())
    check_chain(stacks)


def test_short_command_symbolized():
    # ends before the first drain: names come from the snapshots taken after exec
    out = os.path.join(tmpdir(), "short.folded")
    r = ember("profile", "-F", "999", "-o", out, "--", workload("ratio_fp"), "40")
    assert r.returncode == 0, r.stderr
    check_chain(parse_folded(open(out).read()))


def test_svg_title_names_the_command():
    out = os.path.join(tmpdir(), "run.svg")
    r = ember("profile", "-F", "499", "-f", "svg", "-o", out, "--", workload("ratio_fp"), "60")
    assert r.returncode == 0, r.stderr
    svg = open(out).read()
    assert f"ember profile -- {workload('ratio_fp')} 60" in svg
    assert "leaf_heavy" in svg


def test_per_thread():
    out = os.path.join(tmpdir(), "threads.folded")
    r = ember("profile", "--per-thread", "-F", "299", "-o", out, "--", workload("ratio_fp"),
              "80", "2")
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(open(out).read())
    roots = {f[0] for f, _ in stacks}
    assert len(roots) >= 2, roots
    assert all(r.startswith("ratio_fp-") and r.split("-")[-1].isdigit() for r in roots), roots


def main():
    require_bpf()
    c = Checks()
    for t in (test_command_chain_and_ratio, test_stdout_and_grammar,
              test_pid_running_workload, test_pid_list_two_targets, test_all_sees_workload,
              test_kernel_frames, test_target_exits_mid_run, test_sigint_writes_output,
              test_command_exit_status, test_command_children_followed, test_short_command_symbolized, test_per_thread,
              test_svg_title_names_the_command):
        c.run(t)
    c.finish()


if __name__ == "__main__":
    main()
