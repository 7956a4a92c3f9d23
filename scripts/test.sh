#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds ember with
# warnings as errors, and runs the whole test suite: unit tests, integration
# tests with real BPF, then the unit tests again under ASan+UBSan.
# Usage: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_WERROR=ON
cmake --build build -j"$jobs"

echo "== tests: unit and integration (real BPF: a skip is a failure here)"
export EMBER_REQUIRE_BPF=1
(cd build && ctest --output-on-failure --no-tests=error)

echo "== tests: unit tests under ASan+UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEMBER_WERROR=ON -DEMBER_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure --no-tests=error -L unit)
echo "== all tests passed"
