#!/usr/bin/env python3
"""DWARF unwinding benchmark (issue 4): completeness and cost of ember's
--unwind dwarf beside --unwind fp and perf record --call-graph dwarf / fp, on
the same running workload in the same run (interleaved repetitions).

Completeness: the share of samples whose stack reaches the outermost frame,
judged the same way for every tool: the outermost frame is followed by the C
library's __libc_start_main (so it is the program's entry point, _start).

Cost, per sample, as the marginal cost of a run at a high frequency over the
same run at a low one: CPU difference / sample difference. One-time costs
(loading programs, files, debug info) and per-second ones (ember's drains)
cancel out, for both tools alike.
  - BPF: the sampling program's run time (kernel.bpf_stats_enabled), which in
    dwarf mode includes the copy of the user stack;
  - ember userspace: CPU of the whole ember process (unwinding, symbolizing,
    writing), and of the snapshot callback alone (unwind + count);
  - perf script: its CPU to process the perf.data;
  - bytes moved: ember's record (72-byte header + stack copy), perf's
    perf.data size per sample.

Usage: sudo bench/unwind_bench.py [--build DIR] [--seconds S] [--freq HZ]
                                  [--low-freq HZ] [--reps N] [--write]
  --write   put the table into bench/RESULTS.md (its own section, replaced)
bench/run can call bench_unwind(ctx, reps) and add the result to its list.
"""
import argparse
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_SCRIPT = os.path.join(ROOT, "tests", "workloads", "cpu_bound.py")
PYTHON = "/usr/bin/python3"
SECTION = "## DWARF unwinding (issue 4)"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(args):
    """Runs @args; returns (CompletedProcess, CPU seconds it used)."""
    t0 = children_cpu()
    r = subprocess.run(args, capture_output=True, text=True)
    return r, children_cpu() - t0


def proc_cpu_ns(pid):
    """Run time of every thread of @pid so far (schedstat, nanoseconds)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def timed_steady(args, seconds):
    """Runs @args (a profiler that stops by itself after @seconds); returns
    (CompletedProcess, CPU seconds it used in all, CPU seconds and wall
    seconds of its steady state: from 30% of the run to 0.3 s before its
    end, so start-up (BPF load, kallsyms, first CFI reads) and the final
    flush are left out)."""
    t0 = children_cpu()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    steady = None
    try:
        time.sleep(seconds * 0.3)
        w0, c0 = time.monotonic(), proc_cpu_ns(p.pid)
        time.sleep(max(0.1, seconds * 0.7 - 0.3))
        w1, c1 = time.monotonic(), proc_cpu_ns(p.pid)
        steady = ((c1 - c0) / 1e9, w1 - w0)
    except OSError:
        pass
    out, err = p.communicate()
    r = subprocess.CompletedProcess(args, p.returncode, out, err)
    return r, children_cpu() - t0, steady


def start(args):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        raise RuntimeError(f"workload did not start: {args}")
    return p


def complete_folded(frames):
    user = [f for f in frames[1:] if not f.endswith("_[k]")]
    return len(user) > 1 and user[1].startswith("__libc_start_main")


def folded_stats(path):
    total = full = 0
    for line in open(path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        if complete_folded(stack.split(";")):
            full += int(count)
    return total, full


def perf_script_stats(text):
    """perf script output -> (samples, samples reaching the entry point)."""
    total = full = 0
    for block in text.split("\n\n"):
        lines = [l for l in block.splitlines() if l.strip()]
        if not lines or lines[0].startswith("\t"):
            continue
        total += 1
        syms = []
        for l in lines[1:]:
            parts = l.split(None, 1)
            if len(parts) == 2:
                syms.append(parts[1].split("+")[0].split(" (")[0])
        # perf prints the leaf first: the outermost frame is the last
        if len(syms) > 1 and syms[-2].startswith("__libc_start_main"):
            full += 1
    return total, full


def ember_run(ctx, pid, mode, tmp, freq):
    out = os.path.join(tmp, "e.folded")
    r, cpu, steady = timed_steady([ctx["ember"], "profile", "-v", "-F", str(freq), "-p",
                                   str(pid), "-d", str(ctx["seconds"]), "--unwind", mode,
                                   "-o", out], float(ctx["seconds"]))
    if r.returncode:
        raise RuntimeError(f"ember --unwind {mode} failed: {r.stderr[-400:]}")
    total, full = folded_stats(out)
    res = {"samples": total, "full": full, "cpu": cpu}
    if steady:
        # The workload runs flat out: its samples spread evenly over the run.
        res["steady_cpu"] = steady[0]
        res["steady_samples"] = total * steady[1] / float(ctx["seconds"])
    m = re.search(r"BPF sampling program: (\d+) runs, (\d+) ns per run", r.stderr)
    if m:
        res["bpf_ns"] = int(m.group(2))
    m = re.search(r"\((\d+) per sample\)", r.stderr)
    if m:
        res["stack_bytes"] = int(m.group(1))
    m = re.search(r"unwound (\d+) stacks.* (\d+) ns of CPU per unwind", r.stderr)
    if m:
        res["unwind_cpu"] = int(m.group(1)) * int(m.group(2)) / 1e9
    return res


def perf_run(ctx, pid, mode, tmp, freq):
    data = os.path.join(tmp, "p.data")
    cg = ["--call-graph", "dwarf"] if mode == "dwarf" else ["-g"]
    r = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(freq), *cg,
                        "--per-thread", "-p", str(pid), "-o", data, "--", "sleep",
                        str(ctx["seconds"])], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"perf record {mode} failed: {r.stderr[-400:]}")
    size = os.path.getsize(data)
    s, cpu = timed(["perf", "script", "-i", data])
    if s.returncode:
        raise RuntimeError(f"perf script failed: {s.stderr[-400:]}")
    total, full = perf_script_stats(s.stdout)
    return {"samples": total, "full": full, "bytes": size, "script_cpu": cpu}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(full, total):
    return f"{100.0 * full / total:.1f}%" if total else "n/a"


def us(x):
    return f"{x * 1e6:.1f} µs" if x is not None else "n/a"


def marginal(short, long_, key, samples="samples"):
    """Cost per sample of the samples a high-frequency run has beyond a low one."""
    if samples not in short or samples not in long_:
        return None
    dn = long_[samples] - short[samples]
    if dn <= 0 or key not in short or key not in long_:
        return None
    return (long_[key] - short[key]) / dn


def bench_workload(ctx, name, args, reps, tmp):
    wl = start(args)
    keys = ("ember dwarf", "ember dwarf short", "ember fp", "perf dwarf", "perf dwarf short",
            "perf fp")
    runs = {k: [] for k in keys}
    short, long_ = ctx["low_freq"], ctx["freq"]
    try:
        for _ in range(reps):
            runs["ember dwarf short"].append(ember_run(ctx, wl.pid, "dwarf", tmp, short))
            runs["ember dwarf"].append(ember_run(ctx, wl.pid, "dwarf", tmp, long_))
            runs["ember fp"].append(ember_run(ctx, wl.pid, "fp", tmp, long_))
            if ctx["perf"]:
                runs["perf dwarf short"].append(perf_run(ctx, wl.pid, "dwarf", tmp, short))
                runs["perf dwarf"].append(perf_run(ctx, wl.pid, "dwarf", tmp, long_))
                runs["perf fp"].append(perf_run(ctx, wl.pid, "fp", tmp, long_))
    finally:
        wl.kill()
        wl.wait()

    rows = []

    def completeness(key):
        rs = runs[key]
        return pct(sum(r["full"] for r in rs), sum(r["samples"] for r in rs))

    def samples(key):
        return f"{med([r['samples'] for r in runs[key]]):.0f}"

    ed, eds = runs["ember dwarf"], runs["ember dwarf short"]
    # Steady state (start-up and final flush left out), else the whole runs.
    ember_per = med([marginal(s_, l_, "steady_cpu", "steady_samples") for s_, l_ in zip(eds, ed)])
    if ember_per is None:
        ember_per = med([marginal(s_, l_, "cpu") for s_, l_ in zip(eds, ed)])
    unwind_per = med([marginal(s_, l_, "unwind_cpu") for s_, l_ in zip(eds, ed)])
    bpf_d = med([r.get("bpf_ns") for r in ed])
    bpf_f = med([r.get("bpf_ns") for r in runs["ember fp"]])
    stack_b = med([r.get("stack_bytes") for r in ed])
    rows.append((f"{name}: ember --unwind dwarf", completeness("ember dwarf"), samples("ember dwarf"),
                 f"BPF {bpf_d / 1000:.2f} µs" if bpf_d else "BPF n/a",
                 f"{us(ember_per)} (unwind alone {us(unwind_per)})",
                 f"{72 + stack_b:.0f} B" if stack_b else "n/a"))
    rows.append((f"{name}: ember --unwind fp", completeness("ember fp"), samples("ember fp"),
                 f"BPF {bpf_f / 1000:.2f} µs" if bpf_f else "BPF n/a", "-", "-"))
    if ctx["perf"]:
        pd, pds = runs["perf dwarf"], runs["perf dwarf short"]
        script_per = med([marginal(s_, l_, "script_cpu") for s_, l_ in zip(pds, pd)])
        bytes_per = med([r["bytes"] / r["samples"] for r in pd if r["samples"]])
        rows.append((f"{name}: perf --call-graph dwarf", completeness("perf dwarf"),
                     samples("perf dwarf"), "-", f"perf script {us(script_per)}",
                     f"{bytes_per:.0f} B"))
        rows.append((f"{name}: perf --call-graph fp", completeness("perf fp"), samples("perf fp"),
                     "-", "-", "-"))
        if ember_per and script_per:
            rows.append((f"{name}: perf script / ember, CPU per dwarf sample",
                         f"**{script_per / ember_per:.1f}x**", "", "",
                         f"unwind alone: {script_per / unwind_per:.0f}x" if unwind_per else "",
                         ""))
    return rows


def bench_unwind(ctx, reps):
    """ctx: ember, workloads, perf (bool); optional freq, seconds."""
    ctx = dict(ctx)
    ctx.setdefault("freq", 999)
    ctx.setdefault("low_freq", 49)
    ctx.setdefault("seconds", 6)
    tmp = tempfile.mkdtemp(prefix="ember-unwind-bench-")
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats_path).read().strip() if os.path.exists(stats_path) else None
    try:
        if old is not None:
            open(stats_path, "w").write("1")
        rows = bench_workload(ctx, "ratio_nofp", [os.path.join(ctx["workloads"], "ratio_nofp"),
                                                  "0"], reps, tmp)
        if os.path.exists(PYTHON):
            rows += bench_workload(ctx, "python3", [PYTHON, PY_SCRIPT, "0"], reps, tmp)
    finally:
        if old is not None:
            open(stats_path, "w").write(old)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"title": "DWARF unwinding (issue 4)",
            "cmd": f"ember profile -F {ctx['freq']} -p PID -d {ctx['seconds']} --unwind dwarf|fp "
                   f"vs perf record -e cpu-clock -F {ctx['freq']} --call-graph dwarf|-g "
                   f"--per-thread -p PID -- sleep {ctx['seconds']}; perf script "
                   f"(workloads: ratio_nofp 0, {PYTHON} cpu_bound.py 0; per-sample costs: "
                   f"-F {ctx['freq']} runs minus -F {ctx['low_freq']} runs)",
            "header": ("run", "reach _start", "samples", "kernel cost per sample",
                       "userspace CPU per sample", "bytes per sample"),
            "rows": rows}


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, kernel {os.uname().release}"


def to_markdown(res, argv=()):
    out = [SECTION, "", f"Measured: `{res['cmd']}`", "",
           f"- `sudo bench/unwind_bench.py {' '.join(argv)}` on {machine()}, "
           f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')};",
           "  medians over interleaved repetitions, every tool on the same running process.",
           "- Completeness: the outermost frame is followed by libc's `__libc_start_main`",
           "  (so it is `_start`), judged alike for ember's folded output and `perf script`.",
           "- Per-sample costs are marginal (a -F high run minus a -F low run), so one-time",
           "  and per-second costs cancel for both tools. ember's userspace figure is its",
           "  whole process (unwind, count, symbolize, write); \"unwind alone\" is the CPU of",
           "  the snapshot callback. perf's is `perf script` on the same number of samples.",
           "- Bytes: ember copies the stack from sp up to 16 KiB or the top of the stack",
           "  mapping (plus a 72-byte header); perf's dwarf mode copies 8 KiB per sample.", "",
           "| " + " | ".join(res["header"]) + " |", "|" + "---|" * len(res["header"])]
    out += ["| " + " | ".join(row) + " |" for row in res["rows"]]
    return "\n".join(out) + "\n"


def write_section(md):
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# ember benchmark results\n\n"
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + md + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + md
    open(path, "w").write(text)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--freq", type=int, default=999)
    ap.add_argument("--low-freq", type=int, default=49)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("unwind_bench: run as root (BPF and perf events)")
    ctx = {"ember": os.path.join(args.build, "ember"),
           "workloads": os.path.join(args.build, "tests", "workloads"),
           "perf": shutil.which("perf") is not None,
           "freq": args.freq, "seconds": args.seconds, "low_freq": args.low_freq}
    res = bench_unwind(ctx, args.reps)
    md = to_markdown(res, sys.argv[1:])
    print(md)
    if args.write:
        write_section(md)


if __name__ == "__main__":
    main()
