#!/usr/bin/env bash
# Installs the Debian 12 packages ember needs to build, test and benchmark.
# Idempotent; run as root. Usage: scripts/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(
	build-essential cmake pkg-config clang llvm bpftool
	libbpf-dev libelf-dev libdw-dev libunwind-dev libzstd-dev libsqlite3-dev
	libmicrohttpd-dev zlib1g-dev liblzma-dev libcmocka-dev libiberty-dev
)
test_pkgs=(
	binutils elfutils python3 linux-perf libclang-rt-14-dev debuginfod libc6-dbg util-linux
	nodejs chromium golang-go bpftrace
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (sudo $0)" >&2
	exit 1
fi

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--build-only" ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
