#!/usr/bin/env bash
# Configures and builds everything into build/ (ninja, ccache, Release).
# CUDA is picked up automatically when nvcc is present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MPC_BUILD_DIR:-$ROOT/build}"
# Paths under the checkout become relative in ccache's hash, so a fresh clone
# elsewhere reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD" -j "$(nproc)"
