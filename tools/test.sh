#!/usr/bin/env bash
# Sets up everything (apt packages, Python venv), builds, and runs all tests:
# GoogleTest units, the lit suite, the ONNX corpus import check and the
# runtime tests, through ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install-deps.sh
bash tools/build.sh
BUILD="${MPC_BUILD_DIR:-$ROOT/build}"
ctest --test-dir "$BUILD" --output-on-failure --timeout 900 -j "$(nproc)"
