"""Shared helpers for ember's integration tests: running the binary, parsing
folded output with flamegraph.pl's grammar, skipping loudly without BPF."""
import os
import re
import subprocess
import sys
import tempfile
import time

EMBER = os.environ.get("EMBER_BIN", "build/ember")
WORKLOADS = os.environ.get("EMBER_WORKLOADS", "build/tests/workloads")
SKIP = 77

# flamegraph.pl: my ($stack, $samples) = (/^(.*)\s+?(\d+(?:\.\d*)?)$/); ember writes integers.
FOLDED_LINE = re.compile(r"^(.*)\s+(\d+)$")


def require_bpf():
    """Exit 77 (ctest: skipped) with the reason when BPF cannot be used here,
    unless EMBER_REQUIRE_BPF=1, where that is a failure."""
    reason = None
    if os.geteuid() != 0:
        reason = "not root: BPF and perf events need root or CAP_BPF+CAP_PERFMON"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        reason = "kernel has no BTF at /sys/kernel/btf/vmlinux"
    if reason is None:
        return
    if os.environ.get("EMBER_REQUIRE_BPF") == "1":
        print(f"FAIL: BPF required but unavailable: {reason}", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def parse_folded(text):
    """Parses folded text; returns [(frames list, count)]. Raises on a bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = FOLDED_LINE.match(line)
        if not m:
            raise AssertionError(f"folded line {n} does not parse: {line!r}")
        out.append((m.group(1).split(";"), int(m.group(2))))
    return out


def summary_total(stderr):
    m = re.search(r"ember: (\d+) samples", stderr)
    if not m:
        raise AssertionError(f"no summary line in stderr: {stderr!r}")
    return int(m.group(1))


def run(args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def ember(*args, timeout=120, **kw):
    return run([EMBER, *args], timeout=timeout, **kw)


def workload(name):
    return os.path.join(WORKLOADS, name)


def start_workload(name, *args):
    """Starts a workload and waits until it prints 'ready'."""
    p = subprocess.Popen([workload(name), *map(str, args)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("ready"), f"workload did not start: {line!r}"
    return p


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def stack_has_chain(frames, chain):
    """True when the names in chain appear in frames in this order, adjacent."""
    names = [f for f in frames]
    for i in range(len(names) - len(chain) + 1):
        if names[i:i + len(chain)] == chain:
            return True
    return False


def tmpdir():
    return tempfile.mkdtemp(prefix="ember-it-")


class Checks:
    """Counts checks and failures; prints a closing line ctest-style readers accept."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, fn):
        name = fn.__name__
        t = time.monotonic()
        try:
            fn()
        except Exception as e:  # report and go on with the other checks
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"ok   {name} ({time.monotonic() - t:.1f}s)", flush=True)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
