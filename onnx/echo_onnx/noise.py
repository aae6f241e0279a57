"""SplitMix64 and the standard normal generator of the bundle contract (docs/bundle-format.md).

The runtime (Rust) draws the latent noise with exactly this generator, so the same seed gives the
same noise in both. Everything is vectorised with wrapping uint64 numpy arithmetic: the i-th output
of SplitMix64 only depends on `seed + i * GAMMA`, so a block of outputs is one array expression.
"""

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MUL1 = np.uint64(0xBF58476D1CE4E5B9)
MUL2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 output function applied to states `z` (uint64 array, wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * MUL1
    z = (z ^ (z >> np.uint64(27))) * MUL2
    return z ^ (z >> np.uint64(31))


class SplitMix64:
    """SplitMix64 generator; `state` advances by GAMMA per output, as in the reference C code."""

    def __init__(self, seed: int):
        self.state = np.uint64(seed % 2**64)

    def next_u64(self, n: int) -> np.ndarray:
        """The next `n` raw outputs as a uint64 array."""
        steps = np.arange(1, n + 1, dtype=np.uint64)
        states = self.state + steps * GAMMA  # wrapping, like state += GAMMA n times
        if n > 0:
            self.state = states[-1]
        return _mix(states)

    def uniform(self, n: int) -> np.ndarray:
        """`n` uniforms in (0, 1): ((next() >> 11) + 0.5) / 2^53, in float64 (exact)."""
        return ((self.next_u64(n) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53

    def normal(self, shape) -> np.ndarray:
        """Standard normals filling `shape` in C order, two uniforms each (Box-Muller, cosine branch),
        computed in float64 and rounded to float32. State carries over between calls."""
        n = int(np.prod(shape, dtype=np.int64))
        u = self.uniform(2 * n)
        u1, u2 = u[0::2], u[1::2]
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return z.astype(np.float32).reshape(shape)
