#!/usr/bin/env bash
# Installs everything mpc needs to build and test, idempotently.
#   apt:  LLVM/MLIR 22, ONNX 1.12 + protobuf, GoogleTest, OpenBLAS, ninja, ccache,
#         the ONNX backend test data.
#   venv: .venv/ with numpy, ml_dtypes, onnx, onnxruntime (references for tests).
# Usage: tools/install-deps.sh [--no-apt] [--no-venv]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DO_APT=1
DO_VENV=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) DO_APT=0 ;;
    --no-venv) DO_VENV=0 ;;
    *) echo "install-deps: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

APT_PACKAGES=(
  cmake ninja-build ccache g++ python3 python3-venv
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libgtest-dev libopenblas-dev
)

if [[ "$DO_APT" == 1 ]]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    SUDO=""
    [[ "$(id -u)" != 0 ]] && SUDO="sudo"
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "install-deps: apt packages present"
  fi
fi

if [[ "$DO_VENV" == 1 ]]; then
  VENV="$ROOT/.venv"
  PY="${PYTHON:-python3}"
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import numpy, ml_dtypes, onnx, onnxruntime" 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$ROOT/tools/requirements.txt"
  else
    echo "install-deps: python venv ready"
  fi
fi
