# SPDX-License-Identifier: MIT OR Apache-2.0
"""Vortex-shedding metrics from a lift history Cl(t): Strouhal number, lift amplitude and the time
the shedding is developed. With D = 1 and U = 1 the Strouhal number is the lift frequency.

Periods are delimited by zero up-crossings of Cl minus its mean over the second half of the record
(linearly interpolated between samples), so they need no window or FFT resolution."""

import numpy as np

TOLERANCE = 0.05     # "developed": every later per-period amplitude within 5% of the final one
LAST_PERIODS = 5     # periods the final frequency and amplitude are averaged over


def up_crossings(t, cl):
    """Times where cl - mean(second half) crosses zero upwards, linearly interpolated."""
    t, cl = np.asarray(t, float), np.asarray(cl, float)
    s = cl - cl[len(cl) // 2:].mean()
    k = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    return t[k] - s[k] * (t[k + 1] - t[k]) / (s[k + 1] - s[k])


def periods(t, cl):
    """Per period between consecutive up-crossings: (start, end, amplitude (max - min) / 2)."""
    t, cl = np.asarray(t, float), np.asarray(cl, float)
    c = up_crossings(t, cl)
    out = []
    for a, b in zip(c[:-1], c[1:]):
        m = (t >= a) & (t <= b)
        if m.sum() >= 2:
            out.append((a, b, 0.5 * (cl[m].max() - cl[m].min())))
    return np.array(out, float).reshape(-1, 3)


def metrics(t, cl, last: int = LAST_PERIODS, tol: float = TOLERANCE) -> dict:
    """St, lift amplitude (means over the last `last` periods) and time_to_developed: the start of
    the first period from which every period's amplitude stays within `tol` of the final
    amplitude (None when there are fewer than last + 1 periods, i.e. no established shedding)."""
    per = periods(t, cl)
    if len(per) < last + 1:
        return {"St": None, "amplitude": None, "time_to_developed": None, "periods": int(len(per))}
    tail = per[-last:]
    st = 1.0 / np.mean(tail[:, 1] - tail[:, 0])
    amp = float(np.mean(tail[:, 2]))
    ok = np.abs(per[:, 2] - amp) <= tol * amp
    bad = np.nonzero(~ok)[0]
    first = 0 if len(bad) == 0 else bad[-1] + 1
    developed = float(per[first, 0]) if first < len(per) else None
    return {"St": float(st), "amplitude": amp, "time_to_developed": developed,
            "periods": int(len(per))}


def load_cl(path):
    """(t, Cl) from a data npz (its 'cl' array) or a forceCoeffs coefficient.dat."""
    if str(path).endswith(".npz"):
        cl = np.load(path)["cl"]
        return cl[:, 0], cl[:, 1]
    from .foam import read_coefficients_file
    c = read_coefficients_file(path)
    return c["Time"], c["Cl"]
