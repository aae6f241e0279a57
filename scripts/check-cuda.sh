#!/usr/bin/env bash
# Check the CUDA path end to end on a machine with an NVIDIA GPU, after `scripts/setup.sh --gpu`:
#   1. `echo-onnx doctor --device cuda` must list CUDAExecutionProvider and load every graph,
#   2. the same forecast runs on CPU and on CUDA; prints wall time, time inside ONNX Runtime, the
#      speed-up, and the largest difference between the two predictions (they must agree to 1e-3
#      relative: cuDNN's convolution algorithms differ from the CPU's in rounding only).
# Any failure (no GPU, no CUDA provider, a silent fall-back) exits non-zero.
# Usage: scripts/check-cuda.sh [BUNDLE] [POINTS] [HORIZON]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-examples/bundle-2d}
points=${2:-200000}
horizon=${3:-32}
cli=target/release/echo-onnx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x "$cli" ] || { echo "error: $cli missing: run scripts/setup.sh --gpu" >&2; exit 1; }
[ -d .venv-gpu ] || { echo "error: .venv-gpu missing: run scripts/setup.sh --gpu" >&2; exit 1; }

echo "== doctor --device cuda"
"$cli" --json doctor --device cuda --bundle "$bundle" > "$work/doctor.json"
grep -q CUDAExecutionProvider "$work/doctor.json" || { cat "$work/doctor.json"; echo "error: no CUDA provider" >&2; exit 1; }

echo "== example with $points points"
.venv/bin/echo-make-example --out "$work/example" --points "$points" > /dev/null

for device in cpu cuda; do
  echo "== forecast on $device (horizon $horizon)"
  start=$(date +%s.%N)
  "$cli" --json --quiet forecast --device "$device" --bundle "$bundle" --input "$work/example/input.pvd" \
    --horizon "$horizon" --seed 0 --out "$work/$device" > "$work/$device.json"
  end=$(date +%s.%N)
  echo "$start $end" > "$work/$device.wall"
done

.venv/bin/python - "$work" <<'PY'
import json, sys, pathlib
import numpy as np
from echo_onnx import vtkxml

work = pathlib.Path(sys.argv[1])
rows = {}
for device in ("cpu", "cuda"):
    summary = json.loads((work / f"{device}.json").read_text())
    start, end = map(float, (work / f"{device}.wall").read_text().split())
    wall = end - start
    rows[device] = (wall, summary["timings"]["total_s"], summary["timings"]["onnx_s"])

def values(device):
    series = vtkxml.read_pvd(work / device / "prediction.pvd")
    return np.stack([vtkxml.read_vtu(path).point_data["vorticity"] for _, path in series])

cpu, cuda = values("cpu"), values("cuda")
rel = float(np.abs(cpu - cuda).max() / np.abs(cpu).max())
print(f"{'device':<8}{'wall s':>10}{'run s':>10}{'onnx s':>10}")
for device, (wall, total, onnx) in rows.items():
    print(f"{device:<8}{wall:>10.3f}{total:>10.3f}{onnx:>10.3f}")
print(f"speed-up (run, cpu/cuda): {rows['cpu'][1] / rows['cuda'][1]:.2f}x; "
      f"onnx: {rows['cpu'][2] / rows['cuda'][2]:.2f}x")
print(f"max |cpu - cuda| / max |cpu| = {rel:.2e}")
if not rel < 1e-3:
    sys.exit("error: CPU and CUDA predictions disagree")
PY
