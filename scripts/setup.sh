#!/usr/bin/env bash
# Set up echo-onnx on a fresh Debian/Ubuntu machine (idempotent; a second run takes seconds):
#   1. system packages the build and tests need (apt, only those missing; needs root or sudo),
#   2. the project's Python environment .venv: onnxruntime==1.31.1 (the runtime library the CLI
#      loads), onnx, numpy, scipy, pytest, and the project's own Python package (onnx/),
#   3. with --gpu: .venv-gpu with onnxruntime-gpu==1.31.1 and the CUDA 13 / cuDNN 9 wheels,
#      with --train: the training side (torch, onnxscript, neuraloperator: onnx/requirements-train.txt) in .venv,
#   4. the release build of the echo-onnx CLI (target/release/echo-onnx),
#   5. the example: a test bundle (examples/bundle-2d) and an input series (examples/vorticity2d),
#      generated deterministically.
# Usage: scripts/setup.sh [--gpu] [--train]
#        scripts/setup.sh --python-env   (step 2 only; what `cargo test` runs on a fresh clone)
set -euo pipefail
cd "$(dirname "$0")/.."

gpu=0
train=0
python_only=0
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=1 ;;
    --train) train=1 ;;
    --python-env) python_only=1 ;;
    *) echo "usage: scripts/setup.sh [--gpu] [--train] | --python-env" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_system_packages() {
  local missing=()
  command -v cc >/dev/null || missing+=(gcc)
  command -v c++ >/dev/null || missing+=(g++)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  if ! command -v cargo >/dev/null; then
    echo "error: cargo (Rust) is not installed; install it with rustup (https://rustup.rs), then rerun" >&2
    exit 1
  fi
}

python_env() {
  if [ ! -x .venv/bin/python ]; then
    say "creating the Python environment .venv"
    python3 -m venv .venv
  fi
  say "installing Python packages (onnx/requirements.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r onnx/requirements.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e onnx
  # The Rust tests wait for this stamp: a .venv that exists is not yet one that is complete.
  touch .venv/.echo-onnx-ready
}

gpu_env() {
  if [ ! -x .venv-gpu/bin/python ]; then
    say "creating the GPU Python environment .venv-gpu"
    python3 -m venv .venv-gpu
  fi
  say "installing onnxruntime-gpu and the CUDA 13 / cuDNN 9 libraries (several GB)"
  .venv-gpu/bin/python -m pip install -q --disable-pip-version-check \
    "onnxruntime-gpu[cuda,cudnn]==1.31.1" "nvidia-cublas~=13.0"
}

train_env() {
  say "installing the training packages (onnx/requirements-train.txt; torch is ~3 GB the first time)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r onnx/requirements-train.txt
}

build() {
  say "building the echo-onnx CLI (release)"
  cargo build --release --locked
}

example() {
  if [ ! -f examples/bundle-2d/manifest.json ]; then
    say "generating the example bundle examples/bundle-2d"
    .venv/bin/echo-make-test-bundle --out examples/bundle-2d
  fi
  if [ ! -f examples/vorticity2d/input.pvd ]; then
    say "generating the example input examples/vorticity2d"
    .venv/bin/echo-make-example --out examples/vorticity2d
  fi
}

if [ "$python_only" = 1 ]; then
  python_env
  exit 0
fi
install_system_packages
python_env
[ "$gpu" = 1 ] && gpu_env
[ "$train" = 1 ] && train_env
build
example
say "ready: target/release/echo-onnx (try: target/release/echo-onnx doctor --bundle examples/bundle-2d)"
