#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
#   scripts/test.sh              release build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   scripts/test.sh --release    Release build (-O3, NDEBUG) in build-release/
# Warnings are errors here (LEDGER_WERROR), as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
case "${1:-}" in
"") ;;
--sanitize)
	build=build-asan
	flags=(-DCMAKE_BUILD_TYPE=Debug -DLEDGER_SANITIZE=ON)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	;;
--release)
	build=build-release
	flags=(-DCMAKE_BUILD_TYPE=Release)
	;;
*)
	echo "usage: scripts/test.sh [--sanitize | --release]" >&2
	exit 2
	;;
esac
flags+=(-DLEDGER_WERROR=ON)
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j 2
