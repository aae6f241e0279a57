"""The rectified-flow ODE sampler of the bundle contract, in float32 numpy.

z goes from noise (r = 0) to data (r = 1) along the learned velocity. Observed slots are clamped to
their clean encoder values before every velocity evaluation and after the last step.
"""

import numpy as np

METHODS = ("euler", "midpoint", "rk4")


def clamp(z: np.ndarray, observed: np.ndarray, slot_mask: np.ndarray) -> np.ndarray:
    """z with its observed slots (axis 2, the slot axis of [B, Z, S, ...]) replaced by `observed`."""
    z = z.copy()
    obs = slot_mask.astype(bool)
    z[:, :, obs] = observed[:, :, obs]
    return z


def integrate(velocity, z, observed, slot_mask, steps: int, method: str) -> np.ndarray:
    """Integrate dz/dr = velocity(z, r) from r = 0 to 1 in `steps` steps (h = 1/N, r_i = i h)."""
    if method not in METHODS:
        raise ValueError(f"unknown sampler method {method!r}; expected one of {METHODS}")
    h = np.float32(1.0) / np.float32(steps)
    half = h / np.float32(2.0)

    def v(x, r):
        return velocity(clamp(x, observed, slot_mask), np.float32(r))

    for i in range(steps):
        r = np.float32(i) * h
        z = clamp(z, observed, slot_mask)
        if method == "euler":
            z = z + h * v(z, r)
        elif method == "midpoint":
            z = z + h * v(z + half * v(z, r), r + half)
        else:
            k1 = v(z, r)
            k2 = v(z + half * k1, r + half)
            k3 = v(z + half * k2, r + half)
            k4 = v(z + h * k3, r + h)
            z = z + (h / np.float32(6.0)) * (k1 + np.float32(2.0) * k2 + np.float32(2.0) * k3 + k4)
    return clamp(z, observed, slot_mask)
