#!/usr/bin/env bash
# Installs the build dependencies (Debian 12, as root) and builds ember into
# build/. Usage: sudo scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build build -j"$(nproc)"
echo "built: $(pwd)/build/ember"
