#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds ember with
# warnings as errors, and runs the whole test suite: unit tests, integration
# tests with real BPF, the unit tests again under ASan+UBSan, and the fuzz
# targets for a bounded number of runs.
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
echo "== fuzz targets (libFuzzer, bounded runs over the seed corpora and fresh inputs)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DEMBER_FUZZ=ON -DEMBER_PROFILER=OFF
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest --output-on-failure --no-tests=error -L fuzz)
echo "== benchmarks still run (bench/run --quick --check: numbers produced, no timing asserted)"
bench/run --quick --check --build build
echo "== all tests passed"
