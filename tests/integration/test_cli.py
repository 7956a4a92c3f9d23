"""The command line's contract: help, version, exit codes 0/1/2, and errors
that say what went wrong and what to do."""
import os
import subprocess

from ember_it import Checks, ember, require_bpf, run, start_workload, stop, tmpdir, workload, EMBER


def test_help_and_version():
    r = ember("--help")
    assert r.returncode == 0 and "profile" in r.stdout, r
    r = ember("profile", "--help")
    assert r.returncode == 0, r
    for opt in ("--pid", "--all", "--freq", "--duration", "--output", "--format", "--unwind",
                "--per-thread", "--no-kernel"):
        assert opt in r.stdout, opt
    r = ember("--version")
    assert r.returncode == 0 and r.stdout.startswith("ember "), r


def test_usage_errors_exit_2():
    cases = [
        ([], ""),
        (["frobnicate"], "unknown command"),
        (["profile"], "exactly one target"),
        (["profile", "-a", "-p", "1"], "exactly one target"),
        (["profile", "-p", "abc"], "not a list of process ids"),
        (["profile", "-p", "1,,2"], "not a list of process ids"),
        (["profile", "-a", "-F", "0"], "frequency"),
        (["profile", "-a", "-F", "1000001"], "frequency"),
        (["profile", "-a", "-d", "soon"], "not a duration"),
        (["profile", "-a", "-d", "-5"], "not a duration"),
        (["profile", "-a", "-f", "bmp"], "unknown format"),
        (["profile", "-a", "--unwind", "magic"], "--unwind"),
        (["profile", "-a", "--bogus"], ""),
    ]
    for args, msg in cases:
        r = ember(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert msg in r.stderr, (args, r.stderr)


def test_missing_pid():
    # a pid that cannot exist (above pid_max)
    r = ember("profile", "-p", "999999999", "-d", "1")
    assert r.returncode == 1, r
    assert "no process with pid 999999999" in r.stderr, r.stderr


def test_unwritable_output_fails_before_sampling():
    r = ember("profile", "-a", "-d", "5", "-o", "/nonexistent-dir/x.folded")
    assert r.returncode == 1, r
    assert "cannot write /nonexistent-dir/x.folded" in r.stderr, r.stderr
    assert "samples" not in r.stderr, "it must fail before sampling"


def test_output_not_left_behind_on_failure():
    d = tmpdir()
    out = os.path.join(d, "x.folded")
    r = ember("profile", "-o", out, "--", "/nonexistent/command")
    assert r.returncode == 1, r
    assert "cannot run '/nonexistent/command'" in r.stderr, r.stderr
    assert os.listdir(d) == [], os.listdir(d)


def test_not_root_explains_capabilities():
    # drop to nobody: no CAP_BPF / CAP_PERFMON
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=-all", EMBER, "profile", "-a", "-d", "1"])
    assert r.returncode == 1, r
    assert "CAP_BPF" in r.stderr and "sudo" in r.stderr, r.stderr


def test_existing_output_kept_on_failure():
    d = tmpdir()
    out = os.path.join(d, "keep.folded")
    with open(out, "w") as f:
        f.write("old 1\n")
    r = ember("profile", "-o", out, "-p", "999999999")
    assert r.returncode == 1
    assert open(out).read() == "old 1\n"


def test_install_binary_and_man_page():
    build = os.path.dirname(os.path.abspath(EMBER))
    prefix = tmpdir()
    r = run(["cmake", "--install", build, "--prefix", prefix])
    assert r.returncode == 0, r.stderr
    binary = os.path.join(prefix, "bin", "ember")
    assert os.access(binary, os.X_OK), os.listdir(prefix)
    assert run([binary, "--version"]).stdout.startswith("ember ")
    man = os.path.join(prefix, "share", "man", "man1", "ember.1")
    text = open(man).read()
    assert ".TH EMBER 1" in text and "profile" in text


def test_output_to_device_and_fifo():
    import stat
    import threading
    r = ember("profile", "-o", "/dev/null", "--", "true")
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null must stay a device"
    fifo = os.path.join(tmpdir(), "pipe")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    r = ember("profile", "-F", "999", "-o", fifo, "--", "sh", "-c",
              "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
    reader.join(30)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO must stay a FIFO"
    assert got and got[0].startswith("sh;"), got


def main():
    c = Checks()
    c.run(test_help_and_version)
    c.run(test_usage_errors_exit_2)
    c.run(test_install_binary_and_man_page)
    require_bpf()
    for t in (test_missing_pid, test_unwritable_output_fails_before_sampling,
              test_output_not_left_behind_on_failure, test_not_root_explains_capabilities,
              test_existing_output_kept_on_failure, test_output_to_device_and_fifo):
        c.run(t)
    c.finish()


if __name__ == "__main__":
    main()
