"""The calibration metrics (echo_onnx/train/calibration.py) on synthetic ensembles whose answer is
known: members and truth drawn from one distribution are calibrated (spread-skill 1, flat rank
histogram); members shrunk by a factor s around their centre have spread-skill about s."""

import numpy as np

from echo_onnx.train.calibration import accumulate, crps_ensemble, summarise


def test_crps_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 50)), rng.normal(size=50)
    brute = np.abs(x - y).mean(axis=0) - np.abs(x[:, None] - x[None]).sum(axis=(0, 1)) / (2 * 7 * 7)
    np.testing.assert_allclose(crps_ensemble(x, y), brute, rtol=1e-12, atol=1e-12)
    # One member (or identical members): the CRPS is the absolute error.
    np.testing.assert_allclose(crps_ensemble(np.repeat(x[:1], 3, axis=0), y), np.abs(x[0] - y), atol=1e-12)


def synthetic(shrink, n=16, traj=6, horizons=3, points=4000, seed=1):
    """Per trajectory, truth and members drawn around a random centre with std growing by horizon."""
    rng = np.random.default_rng(seed)
    acc = []
    for _ in range(traj):
        centre = rng.normal(size=(horizons, points))
        scale = np.arange(1, horizons + 1)[:, None] * 0.1
        y = centre + scale * rng.normal(size=(horizons, points))
        x = centre + shrink * scale * rng.normal(size=(n, horizons, points))
        acc.append(accumulate(x, y))
    return summarise(acc, n)


def test_a_calibrated_ensemble_scores_as_calibrated():
    s = synthetic(1.0)
    np.testing.assert_allclose(s["spread_skill"], 1.0, atol=0.03)
    np.testing.assert_allclose(s["rank_histogram"], 1 / 17, atol=0.006)
    assert abs(s["outside"] - 2 / 17) < 0.01
    assert all(c < m for c, m in zip(s["crps"], s["mae_member"])), "an ensemble must beat one member in CRPS"


def test_an_under_dispersed_ensemble_is_measured_as_such():
    s = synthetic(0.25)
    # Shrinking the members by 0.25 leaves the mean's error sqrt(1 + 0.25^2 / N) of the truth's spread.
    np.testing.assert_allclose(s["spread_skill"], 0.25 * np.sqrt(17 / 16) / np.sqrt(1 + 0.0625 / 16), atol=0.02)
    h = s["rank_histogram"]
    assert h[0] > 0.25 and h[-1] > 0.25, h  # U-shaped


def test_the_command_runs_the_cli_end_to_end(tmp_path):
    """`echo-onnx-train calibration` on a tiny test split with the shipped bundle: the Rust CLI's
    ensembles come back, the figures are finite and consistent, and the files are written."""
    import json
    import os
    from pathlib import Path

    from echo_onnx.train import cli
    from echo_onnx.train.data import generate

    root = Path(__file__).resolve().parents[2]
    exe = Path(os.environ.get("ECHO_ONNX_CLI") or Path(os.environ.get("CARGO_TARGET_DIR", root / "target")) / "release" / "echo-onnx")
    assert exe.exists(), f"build the CLI first (cargo build --release): {exe}"
    data = tmp_path / "data"
    generate(data / "test.npz", 1, 5, n=32, nus=(1e-3, 1e-4), frames=4, dt=0.25, burn_in=0.5)
    out = tmp_path / "out"
    cli.main(["calibration", "--data", str(data), "--bundle", str(root / "onnx/bundles/ns2d-vorticity"), "--cli", str(exe),
              "--members", "3", "--traj", "1", "--horizon", "3", "--out", str(out)])
    r = json.loads((out / "calibration.json").read_text())
    assert (out / "calibration.png").read_bytes()[1:4] == b"PNG"
    assert r["trajectories_per_viscosity"] == {"0.001": 1, "0.0001": 1}
    for s in r["by_viscosity"].values():
        assert len(s["spread_skill"]) == 3 and all(0 < v < 10 for v in s["spread_skill"])
        assert abs(sum(s["rank_histogram"]) - 1) < 1e-12 and len(s["rank_histogram"]) == 4
        # The pair term never exceeds the error term: a CRPS is never negative.
        assert all(0 <= c for c in s["crps"])
