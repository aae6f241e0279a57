# SPDX-License-Identifier: MIT OR Apache-2.0
"""Command line of echo_onnx.cylinder (see --help)."""

import argparse
import json
import sys

EXAMPLES = """examples:
  python -m echo_onnx.cylinder case --out /tmp/cyl --preset full --re 100 --end 50 --kick
  python -m echo_onnx.cylinder case --out /tmp/cyl-warm --re 118 --end 60 --echo warmStart
  python -m echo_onnx.cylinder data --out /tmp/cyl-data --preset ci
  python -m echo_onnx.cylinder data --out /work/data/cylinder --preset full --workers 2
  python -m echo_onnx.cylinder shedding /work/data/cylinder/train/*.npz
  python -m echo_onnx.cylinder forces --mesh /tmp/cyl-data/mesh/ci --frames pred.npz --re 120
  python -m echo_onnx.cylinder test-bundle --out /tmp/cyl-bundle
  python -m echo_onnx.cylinder warmstart --bundle /tmp/cyl-bundle --re 100 --out /tmp/ws --preset ci --end 6
  python -m echo_onnx.cylinder monitor --bundle onnx/bundles/cylinder-wake --trajectory /work/data/cylinder/test/Re118.npz --out /tmp/mon
"""


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m echo_onnx.cylinder", description="OpenFOAM (v1912) side of the cylinder-wake bundle: "
                                 "2D flow past a cylinder (pimpleFoam), Reynolds number as parameter.",
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("case", help="write a case directory (then run blockMesh and pimpleFoam in it)")
    c.add_argument("--out", required=True)
    c.add_argument("--preset", default="full", choices=["ci", "full", "fine"])
    c.add_argument("--re", type=float, required=True)
    c.add_argument("--end", type=float, default=50.0)
    c.add_argument("--kick", action="store_true", help="rotate the cylinder wall briefly (symmetry breaking)")
    c.add_argument("--echo", choices=["warmStart", "surrogate"],
                   help="add the echoSurrogate function object in this mode (fields U p, parameter Re)")
    c.add_argument("--bundle", default="onnx/bundles/cylinder-wake", help="the bundle of --echo")

    d = sub.add_parser("data", help="run the preset's trajectories and export npz files")
    d.add_argument("--out", required=True)
    d.add_argument("--preset", default="ci", choices=["ci", "full", "fine-test"])
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--resume", action="store_true", help="keep npz files that already exist")

    s = sub.add_parser("shedding", help="St, lift amplitude, time to developed of npz files or coefficient.dat")
    s.add_argument("files", nargs="+")

    f = sub.add_parser("forces", help="Cl, Cd of frames (npz with U [F,P,2], p [F,P]) with OpenFOAM's forceCoeffs")
    f.add_argument("--mesh", required=True, help="mesh skeleton case (DIR/mesh/<preset> of the data)")
    f.add_argument("--frames", required=True)
    f.add_argument("--re", type=float, help="Reynolds number (default: the npz's Re)")
    f.add_argument("--out", help="json output (default: stdout)")

    b = sub.add_parser("test-bundle", help="random-weights bundle with the case's fields (U, p) and parameter Re")
    b.add_argument("--out", required=True)

    w = sub.add_parser("warmstart", help="cold / kicked / warm-started runs and their shedding metrics")
    w.add_argument("--bundle", required=True)
    w.add_argument("--re", type=float, required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--preset", default="full", choices=["ci", "full", "fine"])
    w.add_argument("--end", type=float, default=150.0)
    w.add_argument("--runs", default="cold,kicked,warm", help="comma-separated subset of cold,kicked,warm,surrogate")
    w.add_argument("--workers", type=int, default=2)
    w.add_argument("--seed", type=int, default=0, help="the sampler's seed of the warm run (echoSurrogate's seed)")

    m = sub.add_parser("monitor", help="surrogate mode measured: restart a held-out trajectory in developed "
                                       "shedding with echoSurrogate's live monitor (error.dat) against lead time")
    m.add_argument("--bundle", required=True)
    m.add_argument("--trajectory", required=True, help="a data set's test/Re*.npz (its mesh preset is used)")
    m.add_argument("--out", required=True)
    m.add_argument("--start", type=float, default=50.0, help="restart time (default 50: developed shedding)")
    m.add_argument("--forecasts", type=int, default=2)
    m.add_argument("--horizon", type=int, default=16, help="frames per forecast")
    m.add_argument("--threads", type=int, default=2)

    a = ap.parse_args(argv)
    if a.cmd == "case":
        from . import case
        from .warmstart import echo_function
        extra = echo_function(a.bundle, a.re, a.echo, threads=0) if a.echo else ""
        print(case.write_case(a.out, a.preset, a.re, a.end, a.kick, extra_functions=extra))
    elif a.cmd == "data":
        from . import data
        print(json.dumps(data.generate(a.out, a.preset, a.workers, lambda s: print(s, flush=True), a.resume), indent=1))
    elif a.cmd == "shedding":
        from . import shedding
        for path in a.files:
            t, cl = shedding.load_cl(path)
            print(path, json.dumps(shedding.metrics(t, cl)))
    elif a.cmd == "forces":
        import numpy as np
        from . import forces
        z = np.load(a.frames)
        re = a.re if a.re is not None else float(z["Re"])
        res = forces.coefficients(a.mesh, z["U"], z["p"], re)
        text = json.dumps({k: v.tolist() for k, v in res.items()}, indent=1)
        if a.out:
            open(a.out, "w").write(text + "\n")
        else:
            print(text)
    elif a.cmd == "test-bundle":
        from . import testbundle
        print(testbundle.build(a.out))
    elif a.cmd == "monitor":
        from . import monitor
        print(json.dumps(monitor.measure(a.bundle, a.trajectory, a.out, a.start, a.forecasts, a.horizon, a.threads), indent=1))
    elif a.cmd == "warmstart":
        from . import warmstart
        res = warmstart.measure(a.bundle, a.re, a.out, a.preset, a.end, a.seed, a.runs.split(","), a.workers)
        print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
