#!/usr/bin/env python3
"""Collapse the peers' output into folded stacks (comm;root;...;leaf COUNT),
the collapse step of bench/run's "time to a flamegraph" for perf and
bpftrace (the job of flamegraph.pl's stackcollapse-perf.pl and
stackcollapse-bpftrace.pl, which Debian does not package). bench/run also
imports it to read every profiler's stacks the same way.

Usage: collapse.py perf|bpftrace [INPUT] > out.folded   (INPUT default stdin)
  perf      the text of `perf script` (default fields; -g or --call-graph)
  bpftrace  a printed map keyed [ustack, kstack, comm], e.g. from
            profile:hz:99 { @[ustack, kstack, comm] = count(); }
Kernel frames get flamegraph.pl's _[k] suffix; symbol offsets are dropped.
"""
import re
import sys

HEADER = re.compile(r"^(\S.*?)\s+\d+(?:/\d+)?\s+(?:\[\d+\]\s+)?\d+\.\d+:")
BPFT_END = re.compile(r"^(.*)\]: (\d+)$")


def _name(sym):
    """'leaf_a+0x24' or 'leaf_a+36' -> 'leaf_a'; ';' would split a frame."""
    sym = sym.strip()
    if not sym:
        return "[unknown]"
    m = re.match(r"^(.*?)\+(?:0x[0-9a-fA-F]+|\d+)$", sym)
    if m and m.group(1):
        sym = m.group(1)
    return sym.replace(";", ":")


def perf_script(lines):
    """perf script text -> {folded stack: samples}."""
    out = {}
    comm, frames = None, []

    def flush():
        if comm is not None:
            key = ";".join([comm] + frames[::-1])
            out[key] = out.get(key, 0) + 1

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if not line[0].isspace():
            flush()
            m = HEADER.match(line)
            comm = m.group(1).replace(";", ":") if m else line.split()[0]
            frames = []
            continue
        if comm is None:
            continue
        # "\t    7f12ab leaf_a+0x24 (/path/to/dso)"
        parts = line.strip().split(None, 1)
        rest = parts[1] if len(parts) > 1 else "[unknown]"
        dso = ""
        if rest.endswith(")") and " (" in rest:
            rest, dso = rest.rsplit(" (", 1)
            dso = dso[:-1]
        name = _name(rest)
        if name == "[unknown]" and dso and dso != "[unknown]":
            name = "[" + dso.rsplit("/", 1)[-1] + "]"
        if dso.startswith("[kernel") or dso.endswith(".ko") or dso.startswith("[guest.kernel"):
            name += "_[k]"
        frames.append(name)
    flush()
    return out


def bpftrace_map(lines):
    """bpftrace's printed @[ustack, kstack, comm] map -> {folded stack: samples}."""
    out = {}
    parts, in_key = [[]], False
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("@["):
            parts, in_key = [[]], True
            line = line[2:]
            if not line:
                continue
        if not in_key:
            continue
        if line[:1].isspace() and line.strip() and not line.lstrip().startswith(","):
            parts[-1].append(_name(line))
            continue
        # a separator line: ", " or ", , comm]: N" or ", comm]: N"
        m = BPFT_END.match(line)
        body = m.group(1) if m else line
        pieces = body.split(",")
        for _ in pieces[1:-1]:
            parts.append([])
        if m:
            comm = pieces[-1].strip() or "[unknown]"
            user = parts[0]
            kern = parts[1] if len(parts) > 1 else []
            frames = [comm.replace(";", ":")] + user[::-1] + [k + "_[k]" for k in kern[::-1]]
            key = ";".join(frames)
            out[key] = out.get(key, 0) + int(m.group(2))
            in_key = False
        else:
            parts.append([])
    return out


def write_folded(stacks, f):
    for k in sorted(stacks):
        f.write(f"{k} {stacks[k]}\n")


def read_folded(path):
    """flamegraph.pl's grammar: ^(.*)\\s+(\\d+)$, frames split on ';'."""
    out = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(.*)\s+(\d+)$", line.rstrip("\n"))
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("perf", "bpftrace"):
        sys.exit(__doc__)
    src = open(sys.argv[2], errors="replace") if len(sys.argv) > 2 else sys.stdin
    fn = perf_script if sys.argv[1] == "perf" else bpftrace_map
    write_folded(fn(src), sys.stdout)


if __name__ == "__main__":
    main()
