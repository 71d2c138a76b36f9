#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs their bounded smoke tests (ctest -L fuzz
# equivalents: import_fuzz_smoke and pdf_inspect_fuzz_smoke run 20 s each from the real
# fixtures, signer_request_fuzz_smoke 20 s from tests/fuzz/signer-request-seeds/, request_fuzz_smoke
# 20 s from the seeds request_fuzz_seeds writes and tests/fuzz/request-regressions/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLEDGER_FUZZ=ON -DLEDGER_WERROR=ON >/dev/null
cmake --build build-fuzz --target import_fuzz pdf_inspect_fuzz signer_request_fuzz request_fuzz request_fuzz_seeds -j "$(nproc)"
ctest --test-dir build-fuzz -R fuzz --output-on-failure
