"""API tests: `ember serve` on 127.0.0.1 over a database written by gen_db.c
with known stacks. Every endpoint, filters, truncation, diff, exports, bad
parameters (400 with a message), unknown paths (404), path traversal, methods,
request size, the Host check, gzip, auth with a token on 127.0.0.2 (which
counts as non-loopback: only 127.0.0.1, ::1 and localhost are served without
a token), --web-root, and a read-only run as an unprivileged user."""
import gzip
import json
import os
import subprocess
import threading
import time
import urllib.parse

from web_it import (A_FROM, A_TO, B_FROM, B_TO, EMBER, EVIL, STACKS, T0, WINDOWS, Checks,
                    Server, Tree, expected_total, make_db, rmtree, tmpdir)

DIR = tmpdir()
DB = make_db(DIR)
DB_STAT = os.stat(DB)
srv = Server(DB)
A = f"from={A_FROM}&to={A_TO}"
B = f"from={B_FROM}&to={B_TO}"
checks = Checks()


def q(**kw):
    return urllib.parse.urlencode(kw)


def test_meta():
    m = srv.get_json("/api/v1/meta")
    assert m["host"] == os.uname().nodename, m["host"]
    db = m["database"]
    assert db["first_ms"] == T0 * 1000, db
    assert db["last_ms"] == B_TO * 1000, db
    assert db["first"].startswith("2026-01-01T00:00:00"), db["first"]
    assert db["windows"] == 12, db
    assert db["samples"] == expected_total("A") + expected_total("B"), db
    assert db["path"] == DB
    assert set(m["formats"]) >= {"folded", "json", "html"}, m["formats"]
    assert m["limits"]["max_nodes"] >= m["limits"]["default_nodes"] > 0


def test_timeline():
    t = srv.get_json(f"/api/v1/timeline?{A}&step=10s")
    assert t["step_ms"] == 10000
    assert t["query"]["from_ms"] == A_FROM * 1000 and t["query"]["to_ms"] == A_TO * 1000
    per = sum(s[2] for s in STACKS)
    pts = {p[0]: p[1] for p in t["points"]}
    for i in range(WINDOWS):
        assert pts.get((A_FROM + 10 * i) * 1000) == per, (i, t["points"])
    assert t["total"] == expected_total("A")
    # A filter applies; a step of 30 s puts three windows in a bucket.
    t = srv.get_json(f"/api/v1/timeline?{A}&step=30s&comm=db")
    assert t["total"] == expected_total("A", "db"), t
    assert [p[1] for p in t["points"] if p[1]] == [60, 60], t["points"]
    # Without a step, the server picks one giving at most a few hundred points.
    t = srv.get_json(f"/api/v1/timeline?{A}")
    assert t["step_ms"] == 10000, t["step_ms"]  # the smallest automatic step: one window
    assert t["total"] == expected_total("A")
    t = srv.get_json(f"/api/v1/timeline?from={T0}&to={T0 + 86400}")
    assert t["step_ms"] == 300000, t["step_ms"]  # 288 points of 5 min
    assert t["total"] == expected_total("A") + expected_total("B")


def test_processes():
    p = srv.get_json(f"/api/v1/processes?{A}")
    procs = p["processes"]
    assert [x["pid"] for x in procs] == [100, 200], procs
    assert procs[0]["comm"] == "app" and procs[0]["exe"] == "/usr/bin/app"
    assert procs[0]["samples"] == expected_total("A", "app")
    assert procs[1]["cgroup"] == "/system.slice/db.service"
    assert procs[1]["samples"] == expected_total("A", "db")
    p = srv.get_json(f"/api/v1/processes?{A}&limit=1")
    assert len(p["processes"]) == 1 and p["truncated"] is True and p["count"] == 2


def test_flamegraph():
    status, hdrs, raw = srv.request(f"/api/v1/flamegraph?{A}")
    assert status == 200 and hdrs["content-type"] == "application/json"
    assert hdrs.get("cache-control") == "no-store"
    # The malicious name is in the payload only as escaped JSON text.
    assert b"<img" not in raw and b"\\u003cimg src=x onerror=alert(1)\\u003e" in raw
    p = json.loads(raw)
    assert p["format"] == "ember-flamegraph" and p["version"] == 1 and p["diff"] is False
    assert p["total"] == expected_total("A") and p["truncated"] is False
    t = Tree(p)
    assert t.find("all")["total"] == expected_total("A")
    assert sum(n["self"] for n in t.nodes) == expected_total("A")
    for comm, frames, a, _ in STACKS:
        leaf = t.find("all", comm, *frames)
        assert leaf["self"] == a * WINDOWS, (frames, leaf)
    work = t.find("all", "app", "main", "work")
    assert work["total"] == WINDOWS * (30 + 5 + 3 + 2) and work["self"] == 0
    assert t.find("all", "app", "main", "io", "read_k")["kind"] == p["kinds"].index("kernel")
    assert t.find("all", "app", "main", "work", "inl")["kind"] == p["kinds"].index("inline")
    assert t.find("all", "app")["kind"] == p["kinds"].index("comm")
    assert t.find("all", "app", "main", "io", "read_k")["mod"] == "[kernel]"
    # Top: recursion counted once per sample; the malicious name as text.
    assert t.top_of("rec")["total"] == 4 * WINDOWS and t.top_of("rec")["self"] == 4 * WINDOWS
    assert t.top_of(EVIL)["self"] == 3 * WINDOWS
    assert t.top_of("main")["total"] == expected_total("A", "app")
    assert p["meta"]["freq_hz"] == 19
    assert p["query"]["from_ms"] == A_FROM * 1000


def test_flamegraph_filters():
    for args, comms, total in [
        (q(pid=200), {"db"}, expected_total("A", "db")),
        (q(comm="app"), {"app"}, expected_total("A", "app")),
        (q(cgroup="/system.slice"), {"db"}, expected_total("A", "db")),
        (q(exe="/usr/bin/app"), {"app"}, expected_total("A", "app")),
        (q(pid=999), set(), 0),
    ]:
        p = srv.get_json(f"/api/v1/flamegraph?{A}&{args}")
        t = Tree(p)
        assert p["total"] == total, (args, p["total"])
        assert {n["label"] for n in t.nodes if n["level"] == 1} == comms, args
        assert p["query"]["pid"] == (int(args[4:]) if args.startswith("pid") else None)


def test_truncation():
    p = srv.get_json(f"/api/v1/flamegraph?{A}&max_nodes=10")
    t = Tree(p)
    assert p["truncated"] is True and p["nodes"] <= 10 and p["nodes_before"] > 10, p
    assert len(t.nodes) == p["nodes"]
    others = [n for n in t.nodes if n["label"] == "[other]"]
    assert others, "no [other] node"
    # Widths stay exact: each parent's total is its self plus its children.
    for n in t.nodes:
        kids = sum(c["total"] for c in t.nodes if c["parent"] is n)
        if kids:
            assert n["total"] == n["self"] + kids, n["label"]
    # The top table was counted before the cut: every function, right numbers.
    assert t.top_of("scan")["self"] == 20 * WINDOWS
    assert t.top_of("inl")["total"] == 2 * WINDOWS
    assert p["functions"] == 12  # main work compute grow io read_k <img> rec inl start query scan


def test_diff():
    p = srv.get_json(f"/api/v1/diff?{B}&base_from={A_FROM}&base_to={A_TO}")
    assert p["diff"] is True
    assert p["total"] == expected_total("B") and p["base_total"] == expected_total("A")
    assert "base_total" in p["fields"] and p["query"]["base_from_ms"] == A_FROM * 1000
    t = Tree(p)
    grow = t.find("all", "app", "main", "work", "grow")
    assert grow["base_total"] == 5 * WINDOWS and grow["total"] == (5 + 40) * WINDOWS, grow
    scan = t.find("all", "db", "start", "query", "scan")
    assert scan["base_total"] == 20 * WINDOWS and scan["total"] == 25 * WINDOWS
    b_share = (grow["total"] - grow["base_total"]) / p["total"]
    a_share = grow["base_total"] / p["base_total"]
    assert b_share > a_share
    top = t.top_of("grow")
    assert top["base_self"] == 30 and top["self"] == 270, top


def test_top():
    t = srv.get_json(f"/api/v1/top?{A}")
    assert t["sort"] == "self" and t["total"] == expected_total("A")
    rows = t["rows"]
    assert rows[0]["name"] == "compute" and rows[0]["self"] == 180, rows[0]
    assert rows[1]["name"] == "scan"
    assert any(r["name"] == EVIL for r in rows)
    assert [r["self"] for r in rows] == sorted((r["self"] for r in rows), reverse=True)
    t = srv.get_json(f"/api/v1/top?{A}&sort=total&limit=2")
    assert [r["name"] for r in t["rows"]] == ["main", "work"], t["rows"]
    assert t["rows"][0]["total"] == expected_total("A", "app")
    assert t["rows"][0]["kind"] == "user"
    k = [r for r in srv.get_json(f"/api/v1/top?{A}&limit=50")["rows"] if r["name"] == "read_k"]
    assert k[0]["kind"] == "kernel" and k[0]["module"] == "[kernel]"


def test_export():
    status, hdrs, body = srv.request(f"/api/v1/export?{A}&format=folded")
    assert status == 200, body
    assert hdrs["content-disposition"].startswith("attachment; filename=\"ember-2026-01-01T00-00")
    assert hdrs["content-disposition"].endswith(".folded\"")
    lines = body.decode().splitlines()
    assert "app;main;work;compute 180" in lines, lines
    assert "app;main;io;read_k_[k] 60" in lines, lines
    assert sum(int(x.rsplit(" ", 1)[1]) for x in lines) == expected_total("A")
    p = json.loads(srv.request(f"/api/v1/export?{A}&format=json")[2])
    assert p["format"] == "ember-flamegraph" and p["total"] == expected_total("A")
    status, hdrs, body = srv.request(f"/api/v1/export?{A}&format=html")
    assert status == 200 and hdrs["content-type"].startswith("text/html")
    assert body.lstrip().lower().startswith(b"<!doctype html>") and b"<img" not in body
    # Every format: the bytes, or 501 with a message for one not built yet.
    for fmt in srv.get_json("/api/v1/meta")["formats"]:
        status, hdrs, body = srv.request(f"/api/v1/export?{A}&format={fmt}")
        if status == 501:
            assert "not built" in json.loads(body)["error"]
        else:
            assert status == 200 and len(body) > 0, (fmt, status, body[:200])
            assert "attachment" in hdrs["content-disposition"]


BAD = [
    ("flamegraph?from=yesterday", "from"),
    ("flamegraph?from=-1h&to=-2h", "empty"),
    (f"flamegraph?from={A_FROM}&to={A_FROM + 40 * 86400}", "31 days"),
    ("flamegraph?pid=abc", "pid"),
    ("flamegraph?pid=0", "pid"),
    ("flamegraph?pid=-5", "pid"),
    ("flamegraph?max_nodes=5", "max_nodes"),
    ("flamegraph?max_nodes=99999999999", "max_nodes"),
    ("flamegraph?top=0", "top"),
    ("flamegraph?nodes=10", "unknown parameter 'nodes'"),
    ("flamegraph?pid=1&pid=2", "twice"),
    ("flamegraph?comm=", "comm"),
    ("flamegraph?comm=" + "x" * 2000, "comm"),
    ("timeline?step=100ms", "step"),
    ("timeline?step=banana", "step"),
    ("timeline?from=-7d&step=1s", "points"),
    ("top?sort=name", "sort"),
    ("top?limit=0", "limit"),
    ("processes?limit=100000", "limit"),
    ("diff?from=-1h", "base_from"),
    ("diff?base_from=-2h&base_to=-3h", "base_from/base_to"),
    ("export?format=png", "format"),
    ("meta?x=1", "unknown parameter"),
    ("flamegraph?" + "&".join(f"a{i}=1" for i in range(40)), "too many"),
]


def test_bad_parameters():
    for path, word in BAD:
        status, hdrs, body = srv.request("/api/v1/" + path)
        assert status == 400, (path, status, body[:200])
        assert hdrs["content-type"] == "application/json", path
        msg = json.loads(body)["error"]
        assert word in msg, (path, msg)


def test_not_found():
    for path in ["/api/v1/nope", "/api/v1/", "/api/v2/meta", "/api", "/api/meta", "/nope.html",
                 "/js/nope.js", "/index.htm", "/style.css/", "/favicon.ico"]:
        status, hdrs, body = srv.request(path)
        assert status == 404, (path, status)
    status, hdrs, body = srv.request("/api/v1/nope")
    assert "no such endpoint" in json.loads(body)["error"]


TRAVERSAL = [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/js/../../../../etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd", "/%2fetc%2fpasswd", "/./index.html",
    "/js/./app.js", "/.git/config", "/js/..%5c..%5cetc%5cpasswd", "/index.html%00.js",
    "/%252e%252e/etc/passwd", "/....//....//etc/passwd", "/js//app.js", "/proc/self/environ",
]


def test_path_traversal():
    for path in TRAVERSAL:
        status, hdrs, body = srv.request(path)
        assert status in (400, 404), (path, status)
        assert b"root:" not in body and b"PATH=" not in body, path


def test_static():
    status, hdrs, body = srv.request("/")
    assert status == 200 and hdrs["content-type"] == "text/html; charset=utf-8"
    assert b"<title>ember</title>" in body
    csp = hdrs["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert hdrs["x-content-type-options"] == "nosniff"
    status, hdrs, body = srv.request("/js/app.js")
    assert status == 200 and hdrs["content-type"].startswith("text/javascript"), hdrs
    # gzip when asked for, identical once inflated.
    status, zh, zbody = srv.request("/js/app.js", headers={"Accept-Encoding": "gzip"})
    assert zh.get("content-encoding") == "gzip" and gzip.decompress(zbody) == body
    status, zh, zbody = srv.request(f"/api/v1/flamegraph?{A}",
                                    headers={"Accept-Encoding": "gzip, deflate"})
    assert zh.get("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(zbody))["total"] == expected_total("A")


def test_methods_and_sizes():
    for method in ["POST", "PUT", "DELETE", "OPTIONS"]:
        status, hdrs, body = srv.request("/api/v1/meta", method=method, body=b"x" * 10)
        assert status == 405 and hdrs["allow"] == "GET, HEAD", (method, status)
    status, hdrs, body = srv.request("/api/v1/meta", method="HEAD")
    assert status == 200 and body == b""
    status, hdrs, body = srv.request("/api/v1/flamegraph?comm=" + "a" * 70000)
    assert 400 <= status < 500, status
    status, hdrs, body = srv.request("/", headers={"X-Big": "b" * 70000})
    assert 400 <= status < 500, status
    assert srv.get_json("/api/v1/meta")["database"]["windows"] == 12  # still serving


def test_host_check():
    status, hdrs, body = srv.request("/api/v1/meta", headers={"Host": "evil.example:7070"})
    assert status == 403 and b"Host not allowed" in body, status
    for host in ["localhost", f"localhost:{srv.port}", "127.0.0.1", f"[::1]:{srv.port}"]:
        status, hdrs, body = srv.request("/api/v1/meta", headers={"Host": host})
        assert status == 200, (host, status)


def test_empty_range():
    p = srv.get_json(f"/api/v1/flamegraph?from={T0 - 7200}&to={T0 - 3600}")
    assert p["total"] == 0 and len(p["levels"]) == 1 and p["top"] == []
    t = srv.get_json(f"/api/v1/timeline?from={T0 - 7200}&to={T0 - 3600}")
    assert t["total"] == 0
    assert srv.get_json(f"/api/v1/processes?from={T0 - 7200}&to={T0 - 3600}")["processes"] == []


def test_concurrent_requests():
    errors = []

    def worker():
        try:
            for _ in range(5):
                assert srv.get_json(f"/api/v1/flamegraph?{B}")["total"] == expected_total("B")
        except Exception as e:  # collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


def token_file(d, text):
    path = os.path.join(d, "token")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def test_auth_refused_without_token():
    for addr in ["127.0.0.2", "0.0.0.0"]:
        r = subprocess.run([EMBER, "serve", "--db", DB, "--listen", f"{addr}:0"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, (addr, r.returncode)
        assert "without a token" in r.stderr and "--auth-token-file" in r.stderr, r.stderr
    d = tmpdir()
    try:
        r = subprocess.run([EMBER, "serve", "--db", DB, "--listen", "127.0.0.2:0",
                            "--auth-token-file", token_file(d, "short\n")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "16 to 256" in r.stderr, r.stderr
        r = subprocess.run([EMBER, "serve", "--db", DB, "--listen", "127.0.0.2:0",
                            "--auth-token-file", os.path.join(d, "missing")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "token file" in r.stderr, r.stderr
    finally:
        rmtree(d)


def test_auth_token_flow():
    d = tmpdir()
    token = "s3cret-token-0123456789abcdef"
    s = Server(DB, addr="127.0.0.2", args=["--auth-token-file", token_file(d, token + "\n")])
    try:
        status, hdrs, body = s.request("/api/v1/meta")
        assert status == 401 and b"Bearer" in body, status
        status, _, _ = s.request("/", headers={"Authorization": "Bearer wrong-token-0123456789"})
        assert status == 401
        status, _, _ = s.request(f"/?token={token}x")
        assert status == 401
        m = s.get_json("/api/v1/meta", headers={"Authorization": f"Bearer {token}"})
        assert m["database"]["windows"] == 12
        # Once in the URL: a redirect that sets a cookie and drops the token.
        status, hdrs, body = s.request(f"/?token={token}")
        assert status == 303, status
        assert hdrs["location"] == "/", hdrs
        cookie = hdrs["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
        pair = cookie.split(";")[0]
        status, _, body = s.request("/", headers={"Cookie": pair})
        assert status == 200 and b"<title>ember</title>" in body
        assert s.get_json(f"/api/v1/flamegraph?{A}", headers={"Cookie": pair})["total"] == \
            expected_total("A")
        status, _, _ = s.request("/", headers={"Cookie": "ember_token=nope"})
        assert status == 401
        # With a token, any Host is fine (the token is the check).
        status, _, _ = s.request("/api/v1/meta", headers={"Host": "ember.example",
                                                          "Authorization": f"Bearer {token}"})
        assert status == 200
    finally:
        s.stop()
        rmtree(d)


def test_web_root():
    d = tmpdir()
    try:
        root = os.path.join(d, "ui")
        os.makedirs(os.path.join(root, "js"))
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><title>dev copy</title>")
        with open(os.path.join(root, "js", "x.js"), "w") as f:
            f.write("export const x = 1;\n")
        with open(os.path.join(d, "secret.txt"), "w") as f:
            f.write("root:secret")
        os.symlink("/etc/passwd", os.path.join(root, "passwd.txt"))
        os.symlink(os.path.join(d, "secret.txt"), os.path.join(root, "link.txt"))
        s = Server(DB, args=["--web-root", root])
        try:
            status, hdrs, body = s.request("/")
            assert status == 200 and b"dev copy" in body
            assert s.request("/js/x.js")[0] == 200
            for path in ["/passwd.txt", "/link.txt", "/../secret.txt", "/%2e%2e/secret.txt",
                         "/js/../../secret.txt", "/app.js", "/nope.html"]:
                status, hdrs, body = s.request(path)
                assert status == 404, (path, status)
                assert b"root:" not in body, path
        finally:
            s.stop()
    finally:
        rmtree(d)


def test_never_writes():
    st = os.stat(DB)
    assert (st.st_size, st.st_mtime_ns) == (DB_STAT.st_size, DB_STAT.st_mtime_ns)


def test_unprivileged_read_only():
    if os.geteuid() != 0:
        print("  (not root: the unprivileged run is the one above)")
        return
    d = tmpdir()
    try:
        os.chmod(d, 0o755)
        db = make_db(d)
        for name in os.listdir(d):
            os.chmod(os.path.join(d, name), 0o644)
        os.chmod(d, 0o555)  # nobody can write anywhere here
        s = Server(db, user="nobody")
        try:
            m = s.get_json("/api/v1/meta")
            assert m["database"]["windows"] == 12
            assert s.get_json(f"/api/v1/flamegraph?{A}")["total"] == expected_total("A")
        finally:
            s.stop()
    finally:
        os.chmod(d, 0o755)
        rmtree(d)


def test_stops_on_sigterm():
    s = Server(DB)
    assert s.stop() == 0


def test_usage_errors():
    r = subprocess.run([EMBER, "serve", "--listen", "nowhere", "--db", DB], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "bad listen address" in r.stderr, r.stderr
    r = subprocess.run([EMBER, "serve", "--db", os.path.join(DIR, "missing.db"), "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "missing.db" in r.stderr, r.stderr
    r = subprocess.run([EMBER, "serve", "--bogus"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run([EMBER, "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--auth-token-file" in r.stdout


def test_day_timing():
    """Times a 24 h flamegraph on a day of windows (printed, not asserted)."""
    d = tmpdir()
    try:
        t = time.monotonic()
        db = make_db(d, "--day")
        gen_s = time.monotonic() - t
        s = Server(db)
        try:
            rng = f"from={T0}&to={T0 + 86400}"
            for label, path in [("flamegraph", f"/api/v1/flamegraph?{rng}"),
                                ("flamegraph again", f"/api/v1/flamegraph?{rng}"),
                                ("timeline", f"/api/v1/timeline?{rng}"),
                                ("top", f"/api/v1/top?{rng}")]:
                t = time.monotonic()
                status, _, body = s.request(path)
                ms = 1000 * (time.monotonic() - t)
                assert status == 200, body[:200]
                print(f"  24 h {label}: {ms:.0f} ms, {len(body)} bytes (db written in "
                      f"{gen_s:.0f} s)")
        finally:
            s.stop()
    finally:
        rmtree(d)


try:
    for fn in [test_meta, test_timeline, test_processes, test_flamegraph, test_flamegraph_filters,
               test_truncation, test_diff, test_top, test_export, test_bad_parameters,
               test_not_found, test_path_traversal, test_static, test_methods_and_sizes,
               test_host_check, test_empty_range, test_concurrent_requests,
               test_auth_refused_without_token, test_auth_token_flow, test_web_root,
               test_never_writes, test_unprivileged_read_only, test_stops_on_sigterm,
               test_usage_errors, test_day_timing]:
        checks.run(fn)
finally:
    srv.stop()
    rmtree(DIR)
checks.finish()
