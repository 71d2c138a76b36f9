#!/usr/bin/env bash
# Checks formatting (clang-format, .clang-format) and runs clang-tidy (.clang-tidy) on every
# C file of the tree; fails on any difference or finding. Run by CI.
#   scripts/lint.sh          check
#   scripts/lint.sh --fix    reformat the files in place (clang-tidy findings are fixed by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mapfile -t sources < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
	clang-format -i "${sources[@]}"
	exit 0
fi
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"
# clang-tidy reads the flags of each file from a configured build tree.
cmake -S . -B build-lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLEDGER_WERROR=ON >/dev/null
cmake --build build-lint --target ledger_proto -j "$(nproc)" >/dev/null # generated headers
# The fuzz targets build only with clang and -DLEDGER_FUZZ=ON, so they have no entry here.
mapfile -t units < <(git ls-files '*.c' | grep -v '^tests/fuzz/')
echo "clang-tidy: ${#units[@]} files"
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p build-lint --quiet
echo "lint: clean"
