"""ember daemon and ember export with real BPF and real SQLite files: the
known-ratio workload through a stored database, restarts, kill -9, a full
disk, a second daemon, corrupt files."""
import os
import signal
import sqlite3
import subprocess
import time

from ember_it import (Checks, EMBER, ember, parse_folded, require_bpf, run, start_workload,
                      stop, stack_has_chain, tmpdir)

CHAIN = ["main", "run_rounds", "do_round", "compute_step"]


def start_daemon(db, *extra, freq="99"):
    p = subprocess.Popen([EMBER, "daemon", "--db", db, "--window", "1", "-F", freq,
                          "--listen", "none", *extra],
                         stderr=subprocess.PIPE, text=True)
    return p


def wait_log(p, needle, timeout=30):
    """Reads the daemon's stderr until a line holds needle; returns the lines read."""
    lines = []
    deadline = time.monotonic() + timeout
    os.set_blocking(p.stderr.fileno(), False)
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if line:
            lines.append(line)
            if needle in line:
                return lines
            continue
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"daemon never logged {needle!r}; got {lines!r}")


def stop_daemon(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    out, _ = p.communicate(timeout=60)
    rest = p.stderr.read() if p.stderr and not p.stderr.closed else ""
    return p.returncode, (out or "") + (rest or "")


def windows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT start_ns, end_ns FROM windows ORDER BY start_ns").fetchall()
    finally:
        con.close()


def export_folded(db, *args):
    r = ember("export", "--db", db, *args)
    assert r.returncode == 0, r.stderr
    return parse_folded(r.stdout)


def shares(stacks):
    heavy = sum(c for f, c in stacks if f[0] == "ratio_fp" and f[-1] == "leaf_heavy")
    light = sum(c for f, c in stacks if f[0] == "ratio_fp" and f[-1] == "leaf_light")
    return heavy, light


def test_daemon_export_ratio_and_restart():
    d = tmpdir()
    db = os.path.join(d, "sub", "ember.db")  # the directory is created too
    wl = start_workload("ratio_fp", 0)
    try:
        p = start_daemon(db, freq="999")
        wait_log(p, "sampling every CPU")
        time.sleep(4)
        rc, err = stop_daemon(p)
        assert rc == 0, err
        assert oct(os.stat(db).st_mode & 0o777) == "0o600", oct(os.stat(db).st_mode)
        first = windows(db)
        assert len(first) >= 3, first

        stacks = export_folded(db)
        heavy, light = shares(stacks)
        assert heavy + light >= 500, (heavy, light)
        assert abs(heavy / (heavy + light) - 0.75) < 0.07, (heavy, light)
        assert any(f[0] == "ratio_fp" and stack_has_chain(f, CHAIN + ["leaf_heavy"])
                   for f, _ in stacks)
        # filters
        pid_stacks = export_folded(db, "--pid", str(wl.pid))
        assert {f[0] for f, _ in pid_stacks} == {"ratio_fp"}
        assert sum(c for _, c in pid_stacks) == heavy + light + sum(
            c for f, c in stacks if f[0] == "ratio_fp" and f[-1] not in ("leaf_heavy", "leaf_light"))
        assert {f[0] for f, _ in export_folded(db, "--comm", "ratio_fp")} == {"ratio_fp"}
        assert export_folded(db, "--comm", "no-such-comm") == []

        # restart: the windows go on where they stopped
        p = start_daemon(db)
        wait_log(p, "sampling every CPU")
        time.sleep(3)
        rc, err = stop_daemon(p)
        assert rc == 0, err
        allw = windows(db)
        assert len(allw) >= len(first) + 2
        for (s0, e0), (s1, e1) in zip(allw, allw[1:]):
            assert s0 < e0 <= s1, (s0, e0, s1)
        gaps = [(s1 - e0) / 1e9 for (_, e0), (s1, _) in zip(allw, allw[1:])]
        big = [g for g in gaps if g > 0.5]
        # exactly one gap, the restart, and it is short
        assert len(big) <= 1 and all(g < 10 for g in big), gaps
        # time range export covers only the later run
        later = export_folded(db, "--from", str(allw[len(first)][0] / 1e9))
        assert 0 < sum(c for _, c in later) < sum(c for _, c in export_folded(db))
    finally:
        stop(wl)


def test_daemon_unwinds_without_frame_pointers():
    # the default --unwind dwarf gives complete stacks for a no-frame-pointer binary
    d = tmpdir()
    db = os.path.join(d, "nofp.db")
    wl = start_workload("ratio_nofp", 0)
    try:
        p = start_daemon(db, freq="299")
        wait_log(p, "DWARF-unwound")
        time.sleep(3)
        rc, err = stop_daemon(p)
        assert rc == 0, err
    finally:
        stop(wl)
    stacks = [(f, c) for f, c in export_folded(db, "--comm", "ratio_nofp")
              if f[-1] in ("leaf_heavy", "leaf_light")]
    total = sum(c for _, c in stacks)
    full = sum(c for f, c in stacks if stack_has_chain(f, CHAIN + [f[-1]]))
    assert total > 100, total
    assert full >= 0.95 * total, (full, total, stacks[:3])


def test_status_log_and_journal_format():
    d = tmpdir()
    db = os.path.join(d, "status.db")
    env = dict(os.environ, EMBER_STATUS_SECONDS="1", JOURNAL_STREAM="8:1234")
    p = subprocess.Popen([EMBER, "daemon", "--db", db, "--window", "1", "--listen", "none"],
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = wait_log(p, "status:")
    finally:
        rc, err = stop_daemon(p)
    assert rc == 0, err
    status = lines[-1]
    # journald priorities instead of the "ember: info:" prefix
    assert status.startswith("<6>status: samples "), status
    for field in ("stored", "windows", "queued", "dropped", "lost", "RSS", "KiB", "CPU"):
        assert field in status, (field, status)
    assert all(l.startswith("<") for l in lines), lines


def test_kill9_then_reopen():
    d = tmpdir()
    db = os.path.join(d, "k.db")
    p = start_daemon(db)
    wait_log(p, "sampling every CPU")
    time.sleep(3.5)
    before = len(windows(db))
    assert before >= 2
    p.kill()
    p.wait()
    p = start_daemon(db)
    wait_log(p, "sampling every CPU")
    time.sleep(1.5)
    rc, err = stop_daemon(p)
    assert rc == 0, err
    assert len(windows(db)) >= before + 1
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_second_daemon_refused():
    d = tmpdir()
    db = os.path.join(d, "two.db")
    p = start_daemon(db)
    try:
        wait_log(p, "sampling every CPU")
        q = run([EMBER, "daemon", "--db", db, "--listen", "none"], timeout=30)
        assert q.returncode == 1, q
        assert "used by" in q.stderr or "another" in q.stderr, q.stderr
    finally:
        stop_daemon(p)


def test_corrupt_or_foreign_file_refused():
    d = tmpdir()
    for name, data in (("garbage.db", os.urandom(8192)),
                       ("text.db", b"hello, this is not a database\n" * 100)):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        r = run([EMBER, "daemon", "--db", path, "--listen", "none"], timeout=30)
        assert r.returncode == 1, r
        assert path in r.stderr or "not an ember database" in r.stderr, r.stderr
        assert open(path, "rb").read() == data, "the file must be left untouched"
        r = ember("export", "--db", path)
        assert r.returncode == 1 and r.stderr, r
    # a foreign SQLite database
    path = os.path.join(d, "foreign.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    data = open(path, "rb").read()
    r = run([EMBER, "daemon", "--db", path, "--listen", "none"], timeout=30)
    assert r.returncode == 1, r
    assert open(path, "rb").read() == data


def test_disk_full_survives_and_resumes():
    d = tmpdir()
    mnt = os.path.join(d, "small")
    os.mkdir(mnt)
    r = run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt])
    assert r.returncode == 0, f"cannot mount a tmpfs: {r.stderr}"
    wl = start_workload("ratio_fp", 0)
    try:
        db = os.path.join(mnt, "full.db")
        p = start_daemon(db, freq="499")
        wait_log(p, "sampling every CPU")
        time.sleep(2)
        filler = os.path.join(mnt, "filler")
        # take every free byte
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        wait_log(p, "cannot write", timeout=60)
        assert p.poll() is None, "the daemon must keep running"
        os.unlink(filler)
        wait_log(p, "writing to", timeout=60)
        rc, err = stop_daemon(p)
        assert rc == 0, err
        heavy, light = shares(export_folded(db))
        assert heavy + light > 0
    finally:
        stop(wl)
        run(["umount", "-l", mnt])


def test_daemon_serves_web_ui():
    import json
    import re
    import urllib.request
    d = tmpdir()
    db = os.path.join(d, "web.db")
    wl = start_workload("ratio_fp", 0)
    p = subprocess.Popen([EMBER, "daemon", "--db", db, "--window", "1", "-F", "99",
                          "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        lines = wait_log(p, "web UI on http://")
        url = re.search(r"(http://[^ ]+/)", lines[-1]).group(1)
        wait_log(p, "sampling every CPU")
        time.sleep(3)
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        with urllib.request.urlopen(url + "api/v1/meta", timeout=10) as r:
            meta = json.load(r)
        assert meta, meta
        with urllib.request.urlopen(url + "api/v1/flamegraph?from=-1h&to=now", timeout=10) as r:
            body = r.read().decode()
        assert "leaf_heavy" in body and "compute_step" in body, body[:500]
    finally:
        rc, err = stop_daemon(p)
        stop(wl)
    assert rc == 0, err


def test_export_usage_errors():
    r = ember("export", "--db", "/nonexistent/x.db")
    assert r.returncode == 1 and "/nonexistent/x.db" in r.stderr, r
    r = ember("export", "--from", "yesterday")
    assert r.returncode == 2 and "not a time" in r.stderr, r
    r = ember("export", "--from", "now", "--to", "-1h")
    assert r.returncode == 2, r
    r = ember("daemon", "--window", "0")
    assert r.returncode == 2, r
    r = ember("daemon", "--max-db-size", "lots")
    assert r.returncode == 2, r
    r = ember("daemon", "--help")
    assert r.returncode == 0
    for opt in ("--db", "--freq", "--window", "--retention", "--max-db-size", "--listen",
                "--unwind"):
        assert opt in r.stdout, opt


def main():
    c = Checks()
    c.run(test_export_usage_errors)
    require_bpf()
    for t in (test_daemon_export_ratio_and_restart, test_daemon_unwinds_without_frame_pointers,
              test_kill9_then_reopen, test_status_log_and_journal_format,
              test_second_daemon_refused, test_corrupt_or_foreign_file_refused,
              test_disk_full_survives_and_resumes, test_daemon_serves_web_ui):
        c.run(t)
    c.finish()


if __name__ == "__main__":
    main()
