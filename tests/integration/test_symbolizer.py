#!/usr/bin/env python3
"""Integration tests of the symbolizer through `ember profile` with real BPF:
short-lived processes (one, and a burst of 200) named though they lived less
than a drain interval; a process in another mount namespace; a binary deleted
while it runs; Node's JIT frames through --perf-basic-prof; --lines; and
--debuginfod against a local debuginfod server."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ember_it import (Checks, ember, parse_folded, require_bpf, stop,  # noqa: E402
                      tmpdir, WORKLOADS)

FIXTURES = os.path.join(os.path.dirname(WORKLOADS), "fixtures")
FIX_PIE = os.path.join(FIXTURES, "fixture_sym_pie")
FIX_BUILDID = os.path.join(FIXTURES, "fixture_sym_buildid")
FUNCS = {"sym_local_only", "sym_outer", "sym_plain"}


def frames_of(stacks, comm):
    """[(frames, count)] of the stacks whose first frame is comm."""
    return [(f, c) for f, c in stacks if f and f[0] == comm]


def named_share(stacks, comm):
    """(samples of comm, samples whose user frames name a fixture function)."""
    total = named = 0
    for frames, count in frames_of(stacks, comm):
        total += count
        if any(f.split(":")[0] in FUNCS or f in FUNCS for f in frames[1:]):
            named += count
    return total, named


def unnamed_share(stacks, comm, module):
    """(samples of comm, samples with a frame that names nothing: [unknown],
    or [module], code of the program itself without a name)."""
    total = bad = 0
    for frames, count in frames_of(stacks, comm):
        total += count
        if any(f.startswith("[unknown]") or f.startswith(f"[{module}]") for f in frames[1:]):
            bad += count
    return total, bad


def unnamed_leaves(stacks, comm, module):
    """Samples of comm whose innermost user frame names nothing. In fp mode
    this is the check that holds: the leaf is the sampled instruction pointer,
    while callers walked through code built without frame pointers (the
    loader, libc) can be garbage that no mapping contains."""
    bad = 0
    for frames, count in frames_of(stacks, comm):
        user = [f for f in frames[1:] if not f.endswith("_[k]")]
        if user and (user[-1].startswith("[unknown]") or user[-1].startswith(f"[{module}]")):
            bad += count
    return bad


def profile_all_while(cmd, duration="4", extra=(), unwind="dwarf"):
    """Runs `ember profile -a` for duration seconds while cmd (a shell line)
    runs once, started a second in; returns the parsed folded output."""
    e = subprocess.Popen([os.environ.get("EMBER_BIN", "build/ember"), "profile", "-a", "-d",
                          duration, "-F", "999", "--unwind", unwind, "-q", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    subprocess.run(["sh", "-c", cmd], check=True, timeout=60)
    out, err = e.communicate(timeout=60)
    assert e.returncode == 0, f"ember failed: {err}"
    return parse_folded(out)


def test_short_lived_process():
    # ~40 ms of CPU, then gone before the next drain (one a second). DWARF
    # mode (the default) walks the loader and libc too: every frame is named.
    stacks = profile_all_while(f"'{FIX_PIE}' burn 40")
    total, named = named_share(stacks, "fixture_sym_pie")
    total, bad = unnamed_share(stacks, "fixture_sym_pie", "fixture_sym_pie")
    assert total >= 5, f"too few samples of the short process: {total}"
    # The rest is start-up and exit (loader, exec, exit_group), named too.
    assert named >= total * 0.5, f"only {named} of {total} samples in the fixture's functions"
    # libc, mapped by the loader after exec, is named too
    assert bad == 0, f"{bad} of {total} samples have unnamed frames: {stacks}"


def test_short_lived_process_fp():
    # The same in fp mode, where the process's mappings come from the same
    # events: every sampled instruction is named, and callers are named
    # wherever the frame-pointer chain is real.
    stacks = profile_all_while(f"'{FIX_PIE}' burn 40", unwind="fp")
    total, named = named_share(stacks, "fixture_sym_pie")
    assert total >= 5, f"too few samples of the short process: {total}"
    assert named >= total * 0.5, f"only {named} of {total} samples in the fixture's functions"
    bad = unnamed_leaves(stacks, "fixture_sym_pie", "fixture_sym_pie")
    assert bad == 0, f"{bad} of {total} samples have an unnamed leaf: {stacks}"
    total, bad = unnamed_share(stacks, "fixture_sym_pie", "fixture_sym_pie")
    assert bad <= max(2, total * 0.1), f"{bad} of {total} samples have unnamed frames: {stacks}"


def test_burst_of_200():
    # 200 processes of ~4 ms each, one after the other, within a drain or two.
    # Start-up and exit (loader, exec, exit) are a good part of such a life:
    # those frames are named too, just not after the fixture's functions.
    stacks = profile_all_while(f"for i in $(seq 200); do '{FIX_PIE}' burn 4; done")
    total, named = named_share(stacks, "fixture_sym_pie")
    total, bad = unnamed_share(stacks, "fixture_sym_pie", "fixture_sym_pie")
    assert total >= 100, f"too few samples of the burst: {total}"
    assert named >= total * 0.5, f"only {named} of {total} samples in the fixture's functions"
    assert bad <= total * 0.05, f"{bad} of {total} samples have unnamed frames"


def start_fixture(argv, **kw):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, **kw)
    for _ in range(10):
        line = p.stdout.readline()
        if line.startswith("ready"):
            return p
    stop(p)
    raise AssertionError("fixture did not start")


def profile_pid(pid, *extra):
    r = ember("profile", "-p", str(pid), "-d", "2", "-F", "499", "--unwind", "fp", "-q", *extra)
    assert r.returncode == 0, r.stderr
    return parse_folded(r.stdout)


def test_other_mount_namespace():
    if not shutil.which("unshare"):
        raise AssertionError("unshare(1) is missing (util-linux)")
    d = tmpdir()
    priv = os.path.join(d, "priv")
    os.mkdir(priv)
    inner = os.path.join(priv, "inner-prog")
    # A private tmpfs over priv/ holds the copy: the path exists only inside.
    script = (f"mount -t tmpfs none '{priv}' && cp '{FIX_PIE}' '{inner}' && "
              f"exec '{inner}' spin")
    p = start_fixture(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    try:
        assert not os.path.exists(inner), "the binary must not be visible on the host"
        stacks = profile_pid(p.pid)
        total, named = named_share(stacks, "inner-prog")
        assert total > 50, f"too few samples: {total}"
        assert named >= total * 0.9, f"only {named} of {total} named: {stacks[:5]}"
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def test_deleted_binary():
    d = tmpdir()
    copy = os.path.join(d, "deleted-prog")
    shutil.copy(FIX_PIE, copy)
    p = start_fixture([copy, "spin"])
    try:
        os.unlink(copy)
        stacks = profile_pid(p.pid)
        total, named = named_share(stacks, "deleted-prog")
        assert total > 50, f"too few samples: {total}"
        assert named >= total * 0.9, f"only {named} of {total} named: {stacks[:5]}"
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def test_lines_and_inline_frames():
    r = ember("profile", "--lines", "-F", "999", "--unwind", "fp", "-q", "--", FIX_PIE, "burn",
              "1500")
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(r.stdout)
    frames = {f for s, _ in stacks for f in s}
    inl = [f for f in frames if f.endswith("_[i]")]
    assert any("sym_inline_leaf" in f for f in inl), f"no inlined leaf frame: {sorted(frames)}"
    assert any("sym_fixture.c:" in f for f in frames), f"no file:line: {sorted(frames)}"
    r = ember("profile", "-F", "999", "--unwind", "fp", "-q", "--", FIX_PIE, "burn", "500")
    assert r.returncode == 0, r.stderr
    assert "sym_fixture.c:" not in r.stdout, "file:line without --lines"


def test_node_jit():
    node = shutil.which("node")
    if not node:
        raise AssertionError("node is not installed")
    d = tmpdir()
    js = os.path.join(d, "hot.js")
    with open(js, "w") as f:
        f.write("function emberHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) "
                "{ s += Math.sqrt(i) * (i & 7); } return s; }\n"
                "const end = Date.now() + 2500; let t = 0;\n"
                "while (Date.now() < end) t += emberHotLoop(200000);\n"
                "process.exitCode = t > 0 ? 0 : 1;\n")
    try:
        r = ember("profile", "-F", "499", "--unwind", "fp", "-q", "--", node,
                  "--perf-basic-prof", js, timeout=60)
        assert r.returncode == 0, r.stderr
        stacks = parse_folded(r.stdout)
        jit = {f for s, _ in stacks for f in s if f.endswith("_[j]")}
        assert any("emberHotLoop" in f for f in jit), f"no JIT frame for emberHotLoop: {jit}"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    raise AssertionError(f"{path} has no build-id")


def test_debuginfod():
    server = shutil.which("debuginfod")
    if not server:
        raise AssertionError("debuginfod (the server) is not installed")
    d = tmpdir()
    port = free_port()
    bid = build_id(FIX_BUILDID)
    srv = subprocess.Popen([server, "-p", str(port), "-d", os.path.join(d, "db.sqlite"), "-F",
                            os.path.join(FIXTURES, "debug")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/buildid/{bid}/debuginfo", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "debuginfod never served the debug file"
            time.sleep(0.5)
        env = dict(os.environ, DEBUGINFOD_URLS=url,
                   DEBUGINFOD_CACHE_PATH=os.path.join(d, "cache"))
        args = ["profile", "-F", "999", "--unwind", "fp", "-q"]
        cmd = ["--", FIX_BUILDID, "burn", "1200"]
        r = ember(*args, *cmd, env=env)
        assert r.returncode == 0, r.stderr
        total, named = named_share(parse_folded(r.stdout), "fixture_sym_bui")
        assert total > 50 and named == 0, f"named without --debuginfod: {named}/{total}"
        r = ember(*args, "--debuginfod", *cmd, env=env)
        assert r.returncode == 0, r.stderr
        total, named = named_share(parse_folded(r.stdout), "fixture_sym_bui")
        assert named >= total * 0.8, f"--debuginfod named {named} of {total}: {r.stdout[:500]}"
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    require_bpf()
    c = Checks()
    for t in (test_short_lived_process, test_short_lived_process_fp, test_burst_of_200,
              test_other_mount_namespace, test_deleted_binary, test_lines_and_inline_frames, test_node_jit,
              test_debuginfod):
        c.run(t)
    c.finish()


if __name__ == "__main__":
    main()
