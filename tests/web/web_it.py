"""Helpers for the web tests: the known database (gen_db.c), starting
`ember serve` on a free port, and plain HTTP requests with full control over
the path and headers (no client-side normalisation of '..')."""
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from ember_it import Checks  # noqa: E402,F401

EMBER = os.environ.get("EMBER_BIN", "build/ember")
GEN_DB = os.environ.get("EMBER_GEN_DB", "build/tests/web/web_gen_db")

# What gen_db.c writes (its header comment): period A, then B an hour later.
T0 = 1767225600
A_FROM, A_TO = T0, T0 + 60
B_FROM, B_TO = T0 + 3600, T0 + 3660
STACKS = [  # (comm, frames, per window in A, per window in B)
    ("app", ["main", "work", "compute"], 30, 30),
    ("app", ["main", "work", "grow"], 5, 40),
    ("app", ["main", "io", "read_k"], 10, 10),
    ("app", ["main", "work", "<img src=x onerror=alert(1)>"], 3, 3),
    ("app", ["main", "rec", "rec", "rec"], 4, 4),
    ("app", ["main", "work", "inl"], 2, 2),
    ("db", ["start", "query", "scan"], 20, 5),
]
WINDOWS = 6
EVIL = "<img src=x onerror=alert(1)>"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def expected_total(period, comm=None):
    i = 2 if period == "A" else 3
    return WINDOWS * sum(s[i] for s in STACKS if comm is None or s[0] == comm)


def make_db(directory, *extra):
    path = os.path.join(directory, "ember.db")
    r = subprocess.run([GEN_DB, path, *extra], capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise AssertionError(f"gen_db failed: {r.stderr}")
    return path


class Server:
    """`ember serve` on ADDR:0; .port is read from its start line."""

    def __init__(self, db, addr="127.0.0.1", args=(), env=None, user=None):
        cmd = [EMBER, "serve", "--db", db, "--listen", f"{addr}:0", *args]
        if user:
            pw = pwd.getpwnam(user)
            cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
                   *cmd]
        self.addr = addr
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, env=env)
        line = self.proc.stderr.readline()
        m = re.search(r"on http://(\S+?):(\d+)/", line)
        if not m:
            rest = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"ember serve did not start: {line!r} {rest!r}")
        self.port = int(m.group(2))

    def request(self, path, method="GET", headers=None, body=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        conn = http.client.HTTPConnection(self.addr, self.port, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            hdrs = {"Host": f"{self.addr}:{self.port}"}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                if v is not None:
                    conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def get_json(self, path, expect=200, **kw):
        status, hdrs, body = self.request(path, **kw)
        if status != expect:
            raise AssertionError(f"GET {path}: status {status}, expected {expect}: {body[:300]!r}")
        if not hdrs.get("content-type", "").startswith("application/json"):
            raise AssertionError(f"GET {path}: content-type {hdrs.get('content-type')}")
        return json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def tmpdir():
    return tempfile.mkdtemp(prefix="ember-web-")


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)


class Tree:
    """A decoded flamegraph payload: nodes with parents, names and counts."""

    def __init__(self, payload):
        self.p = payload
        f = payload["fields"]
        stride = len(f)
        self.nodes = []
        prev = []
        for depth, lv in enumerate(payload["levels"]):
            cur = []
            for k in range(0, len(lv), stride):
                n = dict(zip(f, lv[k:k + stride]))
                n["level"] = depth
                n["label"] = payload["strings"][n["name"]]
                n["mod"] = payload["strings"][n["module"]]
                n["parent"] = None
                for p in prev:
                    if p["x"] <= n["x"] < p["x"] + p["total"]:
                        n["parent"] = p
                        break
                if depth and n["parent"] is None:
                    raise AssertionError(f"node {n['label']} has no parent at level {depth}")
                cur.append(n)
                self.nodes.append(n)
            prev = cur

    def path(self, n):
        out = []
        while n is not None:
            out.append(n["label"])
            n = n["parent"]
        return list(reversed(out))

    def find(self, *path):
        """The node at the end of the path of names from the root ("all" first)."""
        for n in self.nodes:
            if self.path(n) == list(path):
                return n
        raise AssertionError(f"no node {'/'.join(path)}")

    def top(self):
        f = self.p["top_fields"]
        rows = []
        for k in range(0, len(self.p["top"]), len(f)):
            r = dict(zip(f, self.p["top"][k:k + len(f)]))
            r["label"] = self.p["strings"][r["name"]]
            rows.append(r)
        return rows

    def top_of(self, name):
        for r in self.top():
            if r["label"] == name:
                return r
        raise AssertionError(f"{name} not in the top table")
