"""Checks of the function object runs of tests/cfd-meshes/run.sh (see there) on the graded cylinder:
each run ends cleanly and logs its coverage; the adaptive bundle's predictions on 2 ranks are the
serial ones bit for bit (one forecast from the initial fields, written with 17 digits); the logged
coverage of every run is the numpy reference's (grid.Neighbours, which the CLI matches bit for bit,
onnx/tests/test_cli_parity.py) on the case's own cell centres; and adaptive covers the graded far
field that radius leaves with holes. Prints the figures. Usage: check_fo.py WORK_DIR"""
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "onnx"))
from echo_onnx.grid import Grid, Neighbours  # noqa: E402

WORK = Path(sys.argv[1])
R = 0.5  # the cylinder (cylinder.py)
FAILED = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILED.append(what)
    return ok


def internal_field(path):
    """The internal field's list as written (tokens, so that equality is bitwise)."""
    text = path.read_text()
    m = re.search(r"internalField\s+nonuniform\s+List<(scalar|vector)>\s*(\d+)\s*\((.*?)\)\s*;", text, re.S)
    assert m, f"{path}: no nonuniform internalField"
    tokens = m.group(3).replace("(", " ").replace(")", " ").split()
    return int(m.group(2)), tokens


def ready_line(case):
    text = (WORK / case / "log.solver").read_text()
    m = re.search(r"(\d+) cells on (\d+) rank\(s\), (\d+) gathered for the latent grid, (\d+) latent grid nodes covered; ready in (\S+) s", text)
    return text, m


runs = {}
for case, ranks in [("fo-adaptive", 1), ("fo-adaptive-parallel", 2), ("fo-radius", 1)]:
    rc = int((WORK / case / "rc").read_text())
    text, m = ready_line(case)
    ok = check(rc == 0 and re.search(r"^End\s*$", text, re.M) is not None and m is not None and int(m.group(2)) == ranks,
               f"{case}: the solver ran to the end on {ranks} rank(s) with the function object ready")
    if ok:
        runs[case] = dict(cells=int(m.group(1)), gathered=int(m.group(3)), covered=int(m.group(4)), ready=float(m.group(5)))

# Predictions: 2 ranks == serial, bit for bit, at every written time of the forecast.
times = ["0.2", "0.4", "0.6", "0.8"]
for t in times:
    s, p = WORK / "fo-adaptive" / t / "TEcho", WORK / "fo-adaptive-parallel" / t / "TEcho"
    if check(s.is_file() and p.is_file(), f"adaptive: {t}/TEcho written serially and on 2 ranks (reconstructed)"):
        (n, a), (_, b) = internal_field(s), internal_field(p)
        check(a == b and len(a) == n and all(np.isfinite(float(v)) for v in a),
              f"adaptive: {t}/TEcho on 2 ranks = serial bit for bit ({n} finite values)")
check((WORK / "fo-adaptive-parallel/processor1/0.2/TEcho").is_file(), "adaptive parallel: each rank wrote its TEcho")

# Coverage: the logged count is the reference's on the case's cell centres.
n, c = internal_field(WORK / "fo-adaptive" / "0" / "C")
centres = np.array(c, float).reshape(n, 3)
figures, holes = {}, {}
for footprint, case in [("adaptive", "fo-adaptive"), ("adaptive", "fo-adaptive-parallel"), ("radius", "fo-radius")]:
    m = json.loads((WORK / f"bundle-{footprint}" / "manifest.json").read_text())
    grid = Grid.from_manifest(m["latent_grid"], centres)
    cov = Neighbours(grid, centres, m["lift"]["neighbours"], m["lift"]["radius"], footprint).coverage() > 0
    nodes = grid.nodes()
    r = np.hypot(nodes[:, 0], nodes[:, 1])
    domain = (r > R + 2e-4) & (np.abs(nodes[:, :2]) < 2.0).all(axis=1)
    holes[case] = int(np.sum(domain & ~cov))
    figures[case] = f"{int(np.sum(domain & ~cov))} of {int(np.sum(domain))} nodes in the domain uncovered, {int(np.sum(cov))} of {len(cov)} covered"
    if case in runs:
        check(runs[case]["covered"] == int(np.sum(cov)), f"{case}: {runs[case]['covered']} nodes covered, as the reference ({figures[case]})")
check(holes["fo-radius"] > 0 and holes["fo-adaptive"] == 0,
      f"the graded far field: {holes['fo-radius']} false holes with radius, none with adaptive")
if "fo-adaptive" in runs and "fo-adaptive-parallel" in runs:
    check(runs["fo-adaptive"]["covered"] == runs["fo-adaptive-parallel"]["covered"], "adaptive: the same coverage on 2 ranks")
print("figures:", json.dumps({"coverage": figures, "runs": runs}, indent=1))
if FAILED:
    print(f"\n{len(FAILED)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("\nfunction object on the graded cylinder: all checks passed")
