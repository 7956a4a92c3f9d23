"""Installs playwright-core for the browser tests into the build folder with
`npm ci` from the committed package.json and package-lock.json, unless the
locked version is already there. Never downloads a browser: the tests drive
Debian's /usr/bin/chromium. Exit 77 (skipped) when node or npm is missing.
Usage: npm_setup.py SRC_DIR BUILD_DIR"""
import json
import os
import shutil
import subprocess
import sys

src, out = sys.argv[1], sys.argv[2]
if not shutil.which("npm") or not shutil.which("node"):
    print("SKIP: node and npm are needed for the browser tests (apt-get install nodejs npm)")
    sys.exit(77)
with open(os.path.join(src, "package-lock.json")) as f:
    want = json.load(f)["packages"]["node_modules/playwright-core"]["version"]
have_path = os.path.join(out, "node_modules", "playwright-core", "package.json")
try:
    with open(have_path) as f:
        if json.load(f)["version"] == want:
            print(f"playwright-core {want} already installed in {out}")
            sys.exit(0)
except (OSError, ValueError, KeyError):
    pass
os.makedirs(out, exist_ok=True)
for name in ["package.json", "package-lock.json"]:
    shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=out, env=env)
if r.returncode:
    print("npm ci failed: the browser tests need playwright-core from the npm registry")
    sys.exit(1)
print(f"installed playwright-core {want} in {out}")
