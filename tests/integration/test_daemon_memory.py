"""ember daemon's memory while many distinct programs run (issue 5).

The test makes 300 copies of a workload built with DWARF, each with a build-id
of its own, so the symbolizer and the unwinder see 300 distinct files, and
runs them one after another (a minute, 3000 runs at most) beside a long-lived
workload, while two daemons sample every CPU at the default 19 Hz:

  - one with the default symbol cache: once the programs have stopped and a
    window has closed, its resident memory (VmRSS) must be under its
    budget-derived bound: what it held once settled, plus the symbol cache
    and the unwinder's quarter of it, plus 8 MiB for the database (its
    dictionary and page cache grow with the programs stored), the windows
    and the heap's slack; and under the issue's 30 MiB. Polled every
    second while the programs run, it may go 6 MiB higher (reading a file's
    symbol table or DWARF takes memory for a moment), no more;
  - one with a 1 MiB symbol cache: it must close files to fit (counted in its
    status line) and still name the long-lived workload's call chain, and
    each copy's, as the first one does.

Both daemons' status lines must show their caches within their budgets (the
unwinder's: a quarter of the symbol cache, at least 512 KiB).
Nothing here asserts on time: the minute only bounds how much work is done.
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import time

from ember_it import (Checks, EMBER, ember, parse_folded, require_bpf, start_workload, stop,
                      stack_has_chain, tmpdir, workload)

COPIES = 300
RUN_SECONDS = 60
GOAL_KIB = 30 * 1024  # the goal
SLACK_KIB = 8 * 1024
MAX_RUNS = 3000  # ten runs of each copy at most: the database grows with them
TRANSIENT_KIB = 6 * 1024
CHAIN = ["main", "run_rounds", "do_round", "compute_step"]


def build_id_span(path):
    """Offset and length of the GNU build-id bytes of the ELF64 file @path."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
    for i in range(shnum):
        sh = shoff + i * shentsize
        sh_type, = struct.unpack_from("<I", data, sh + 4)
        off, size = struct.unpack_from("<QQ", data, sh + 0x18)
        p = off
        while sh_type == 7 and p + 12 <= off + size:  # SHT_NOTE
            namesz, descsz, ntype = struct.unpack_from("<III", data, p)
            desc = p + 12 + (namesz + 3) // 4 * 4
            if ntype == 3 and data[p + 12:p + 12 + namesz] == b"GNU\0":  # NT_GNU_BUILD_ID
                return desc, descsz
            p = desc + (descsz + 3) // 4 * 4
    raise AssertionError(f"{path} has no build-id")


def make_copies(src, d, n):
    """@n copies of @src under @d, each with a build-id of its own, all with
    the same name (so they share a command name) in folders of their own."""
    off, size = build_id_span(src)
    with open(src, "rb") as f:
        data = bytearray(f.read())
    paths = []
    for i in range(n):
        data[off:off + size] = (b"%08x" % i + bytes(size))[:size]
        os.mkdir(os.path.join(d, f"c{i:03d}"))
        path = os.path.join(d, f"c{i:03d}", "ratio_copy")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755)
        paths.append(path)
    return paths


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def start_daemon(db, *extra):
    env = dict(os.environ, EMBER_STATUS_SECONDS="5")
    return subprocess.Popen([EMBER, "daemon", "--db", db, "--listen", "none", "-v", *extra],
                            stderr=subprocess.PIPE, text=True, env=env)


def stop_daemon(p):
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    return p.returncode, err


def status_numbers(log):
    """The last cache status line: (symbols KiB, budget KiB, objects closed to
    fit, unwinder KiB, unwinder budget KiB)."""
    found = re.findall(r"symbols (\d+) KiB of (\d+) in \d+ files \((\d+) closed to fit\).*"
                       r"unwinder (\d+) KiB of (\d+)", log)
    assert found, f"no cache status line in the log: {log[-2000:]!r}"
    return tuple(int(x) for x in found[-1])


def chain_share(db, comm):
    """(samples carrying CHAIN, samples) of @comm in @db."""
    r = ember("export", "--db", db, "--comm", comm, "-f", "folded")
    assert r.returncode == 0, r.stderr
    stacks = parse_folded(r.stdout)
    return (sum(c for f, c in stacks if stack_has_chain(f, CHAIN)),
            sum(c for _, c in stacks))


def main():
    require_bpf()
    checks = Checks()
    d = tmpdir()
    db, small_db = os.path.join(d, "ember.db"), os.path.join(d, "small.db")
    state = {}

    def busy_host():
        copies = make_copies(workload("ratio_nofp"), d, COPIES)
        long_lived = start_workload("ratio_nofp", 0)
        daemon = start_daemon(db)
        small = start_daemon(small_db, "--symbol-cache", "1M")
        try:
            # Settled: kernel symbols and BPF programs loaded, a first window
            # written and the heap trimmed after it. The least seen then: a
            # moment's work (the other daemon's start, sampled) is no base.
            start_rss = None
            for _ in range(12):
                time.sleep(1)
                rss = vm_kib(daemon.pid, "VmRSS")
                start_rss = rss if start_rss is None else min(start_rss, rss)
            peak_rss, ran = start_rss, 0
            deadline = time.monotonic() + RUN_SECONDS
            last_poll = 0
            while time.monotonic() < deadline and ran < MAX_RUNS:
                # Two rounds: some 10 ms of work, sampled about twice per copy.
                subprocess.run([copies[ran % COPIES], "2"], stdout=subprocess.DEVNULL,
                               timeout=60, check=True)
                ran += 1
                if time.monotonic() - last_poll >= 1:
                    last_poll = time.monotonic()
                    for p in (daemon, small):
                        assert p.poll() is None, f"a daemon exited: {p.returncode}"
                    peak_rss = max(peak_rss, vm_kib(daemon.pid, "VmRSS"))
            time.sleep(12)  # a window closes; the last status line counts every copy
            state.update(start_rss=start_rss, peak_rss=peak_rss, ran=ran,
                         end_rss=vm_kib(daemon.pid, "VmRSS"),
                         hwm=vm_kib(daemon.pid, "VmHWM"),
                         small_rss=vm_kib(small.pid, "VmRSS"))
        finally:
            stop(long_lived)
            code, log = stop_daemon(daemon)
            small_code, small_log = stop_daemon(small)
        state["log"], state["small_log"] = log, small_log
        assert code == 0 and small_code == 0, (code, log[-1500:], small_code, small_log[-1500:])
        print(f"     {ran} runs of {COPIES} copies; default daemon: VmRSS {start_rss} KiB once "
              f"started, at most {peak_rss} KiB while they ran, {state['end_rss']} KiB at the "
              f"end, VmHWM {state['hwm']} KiB; 1M daemon: VmRSS {state['small_rss']} KiB",
              flush=True)
        assert ran >= COPIES, f"only {ran} programs ran: not every copy was seen"

    def rss_within_bound():
        assert "peak_rss" in state, "the busy-host run failed"
        _, budget, closed, _, unw_budget = status_numbers(state["log"])
        bound = state["start_rss"] + budget + unw_budget + SLACK_KIB
        print(f"     default budget {budget} KiB + unwinder {unw_budget} KiB: bound {bound} "
              f"KiB; {closed} objects closed to fit", flush=True)
        assert closed > 0, "300 distinct files fit the default budget: the test shows nothing"
        assert state["end_rss"] <= bound, (
            f"VmRSS is {state['end_rss']} KiB, over {bound} KiB (started at "
            f"{state['start_rss']} KiB); status: {state['log'][-1500:]}")
        assert state["end_rss"] < GOAL_KIB, (
            f"VmRSS is {state['end_rss']} KiB, over the goal of {GOAL_KIB} KiB")
        assert state["peak_rss"] <= bound + TRANSIENT_KIB, (
            f"VmRSS reached {state['peak_rss']} KiB while the programs ran, over "
            f"{bound + TRANSIENT_KIB} KiB; status: {state['log'][-1500:]}")

    def caches_within_budget():
        for log in (state["log"], state["small_log"]):
            sym, budget, _, unw, unw_budget = status_numbers(log)
            assert unw_budget == max(budget // 4, 512), (unw_budget, budget)
            assert sym <= budget, f"symbol caches hold {sym} KiB over their {budget} KiB"
            assert unw <= unw_budget, f"unwinder holds {unw} KiB over its {unw_budget} KiB"
        assert status_numbers(state["log"])[1] == 4096, "the default symbol cache is not 4M"
        assert status_numbers(state["small_log"])[1] == 1024

    def small_cache_evicts_and_names():
        _, _, closed, _, _ = status_numbers(state["small_log"])
        assert closed > status_numbers(state["log"])[2], (
            "a 1 MiB symbol cache closed no more files than a 4 MiB one")
        # The long-lived workload and the copies: named after files were closed.
        for comm in ("ratio_nofp", "ratio_copy"):
            named, total = chain_share(small_db, comm)
            ref_named, ref_total = chain_share(db, comm)
            print(f"     {comm}: {named} of {total} samples carry the chain with 1M, "
                  f"{ref_named} of {ref_total} with the default", flush=True)
            assert total > 0, f"no samples of {comm} stored"
            assert named >= total * 0.5, (
                f"only {named} of {total} samples of {comm} carry {';'.join(CHAIN)}: "
                f"names lost when files were closed and read again")

    checks.run(busy_host)
    checks.run(rss_within_bound)
    checks.run(caches_within_budget)
    checks.run(small_cache_evicts_and_names)
    shutil.rmtree(d, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
