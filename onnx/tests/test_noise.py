import math

import numpy as np

from echo_onnx.noise import SplitMix64


def scalar_splitmix(seed, n):
    """Straight transcription of the doc's next() with Python ints (mod 2^64)."""
    mask, state, out = 2**64 - 1, seed, []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


def test_seed0_vector():
    raw = [int(x) for x in SplitMix64(0).next_u64(3)]
    assert raw == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_vectorised_matches_scalar_and_keeps_state():
    g = SplitMix64(12345)
    got = [int(x) for x in g.next_u64(5)] + [int(x) for x in g.next_u64(7)]
    assert got == scalar_splitmix(12345, 12)


def test_normal_is_box_muller_of_consecutive_uniforms():
    raw = scalar_splitmix(7, 8)
    u = [((r >> 11) + 0.5) / 2.0**53 for r in raw]
    want = [np.float32(math.sqrt(-2 * math.log(u[2 * i])) * math.cos(2 * math.pi * u[2 * i + 1])) for i in range(4)]
    assert SplitMix64(7).normal((2, 2)).ravel().tolist() == want


def test_normal_determinism_and_continuation():
    a = SplitMix64(3).normal((4, 5))
    assert a.dtype == np.float32 and a.shape == (4, 5)
    assert np.array_equal(a, SplitMix64(3).normal((4, 5)))
    g = SplitMix64(3)
    parts = np.concatenate([g.normal((7,)), g.normal((13,))])
    assert np.array_equal(parts, a.ravel())
    assert not np.array_equal(a, SplitMix64(4).normal((4, 5)))
    big = SplitMix64(1).normal((100000,))
    assert abs(big.mean()) < 0.02 and abs(big.std() - 1) < 0.02
