"""The training side: model properties, ONNX export parity (ONNX Runtime vs PyTorch), the CI smoke
path (every stage a few steps, export, load and run in the Rust CLI, which must match the PyTorch
sampler), DDP under torchrun with two gloo processes, and the evaluation report's plumbing.

The Rust CLI is `$ECHO_ONNX_CLI`, else `$CARGO_TARGET_DIR/release/echo-onnx`, else
`target/release/echo-onnx` (scripts/test.sh builds it first); a missing binary is a failure.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from echo_onnx.manifest import load_manifest
from echo_onnx.model import Echo, ModelConfig
from echo_onnx.reference import read_series
from echo_onnx.train import cli, stages
from echo_onnx.train.data import load
from echo_onnx.train.export import example_inputs, export_bundle
from echo_onnx.train.stages import load_checkpoint
from echo_onnx.train.torchpipe import forecast as torch_forecast
from echo_onnx.vtkxml import Mesh, write_pvd, write_vtu

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def cli_path() -> Path:
    if os.environ.get("ECHO_ONNX_CLI"):
        return Path(os.environ["ECHO_ONNX_CLI"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "echo-onnx"


def smoke_config(params=1) -> ModelConfig:
    return ModelConfig(**{**cli.PRESETS["smoke"]["model"], "params": params})


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The CI smoke path through the command line: data, stages 1-3, the FNO baseline, export."""
    d = tmp_path_factory.mktemp("smoke")
    data, run, bundle = d / "data", d / "run", d / "bundle"
    common = ["--preset", "smoke", "--data", str(data), "--run-dir", str(run)]
    assert cli.main(["generate-data", "--preset", "smoke", "--out", str(data)]) == 0
    for stage in (1, 2, 3):
        augment = ["--augment"] if stage == 1 else []  # the symmetry augmentation's path through the CLI
        assert cli.main(["train", "--stage", str(stage), *common, *augment]) == 0
    assert cli.main(["baseline", *common, "--steps", "3"]) == 0
    assert cli.main(["export", "--run-dir", str(run), "--out", str(bundle)]) == 0
    return {"dir": d, "data": data, "run": run, "bundle": bundle}


def randomised(cfg: ModelConfig, seed=0) -> Echo:
    """A model with every weight random (no zero-initialised layers), so parity checks are not vacuous."""
    torch.manual_seed(seed)
    m = Echo(cfg).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.2 * torch.randn_like(p))
        for enc in (m.ae.encoder, m.ae.decoder):
            enc.latent_mean.copy_(torch.linspace(-0.5, 0.5, cfg.latent_channels))
            enc.latent_std.copy_(torch.linspace(0.5, 2.0, cfg.latent_channels))
    return m


def test_augmented_windows_are_the_windows_of_the_transformed_data(monkeypatch):
    # With --augment the sampler maps each window by ns2d.random_symmetry: fixed to one symmetry here,
    # its windows must be those of a sampler without augmentation over the transformed data.
    from echo_onnx import ns2d
    from echo_onnx.train.batches import WindowSampler
    cfg = smoke_config(params=0)
    w = ns2d.trajectories(2, 16, 1e-3, 4, 0.25, seed=5).astype(np.float32)
    sym = ns2d.symmetry("antiswap", 16, 3)
    monkeypatch.setattr(ns2d, "random_symmetry", lambda rng, n: sym)
    plain = WindowSampler(ns2d.isometry(w, *sym), np.ones(2), cfg, 1.0, 2, 64, targets=32, seed=9)
    augmented = WindowSampler(w, np.ones(2), cfg, 1.0, 2, 64, targets=32, seed=9, augment=True)
    a, b = plain.window(1, 2, keep=1.0), augmented.window(1, 2, keep=1.0)
    assert np.abs(a["values"]).max() > 0
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=0, atol=1e-6, err_msg=k)
    assert not np.allclose(WindowSampler(w, np.ones(2), cfg, 1.0, 2, 64, targets=32, seed=9).window(1, 2, keep=1.0)["values"],
                           a["values"])


def test_encoder_is_causal():
    """Slot j of the latent depends only on frames <= its last frame (time.slots)."""
    cfg = smoke_config()
    m = randomised(cfg)
    x = torch.randn(2, cfg.lift_features + 1, cfg.frames, *cfg.grid[::-1])
    z = m.ae.encoder(x)
    for j, frames in enumerate(cfg.time_slots()):
        later = x.clone()
        later[:, :, frames[-1] + 1:] = torch.randn_like(later[:, :, frames[-1] + 1:])
        changed = m.ae.encoder(later)
        assert torch.equal(changed[:, :, :j + 1], z[:, :, :j + 1]), f"slot {j} sees frames after {frames[-1]}"
        if j + 1 < cfg.slots:
            assert not torch.allclose(changed[:, :, j + 1], z[:, :, j + 1]), "later slots must see later frames"


def test_decoder_frames_follow_their_slots():
    """Decoded frame t depends on the slots up to the one holding t, not on later slots."""
    cfg = smoke_config()
    m = randomised(cfg)
    z = torch.randn(1, cfg.latent_channels, cfg.slots, *cfg.latent_shape[::-1])
    y = m.ae.decoder(z)
    z2 = z.clone()
    z2[:, :, 1:] += 1.0
    y2 = m.ae.decoder(z2)
    assert y.shape[2] == cfg.frames
    assert torch.equal(y[:, :, 0], y2[:, :, 0])
    assert not torch.allclose(y[:, :, 1], y2[:, :, 1])


def test_lift_ignores_padding_and_empty_nodes_give_zero():
    cfg = smoke_config()
    lift = randomised(cfg).ae.lift
    g = torch.Generator().manual_seed(1)
    v, o = torch.randn(5, 4, 1, generator=g), torch.randn(5, 4, 2, generator=g)
    mask = torch.tensor([[1, 1, 0, 0]] * 4 + [[0, 0, 0, 0]], dtype=torch.float32)
    f = lift(v, o, mask)
    v2, o2 = v.clone(), o.clone()
    v2[:, 2:] = 100.0
    o2[:, 2:] = -3.0
    assert torch.allclose(lift(v2, o2, mask)[:4], f[:4], atol=1e-6)
    assert torch.count_nonzero(f[4]) == 0 and torch.count_nonzero(f[0]) > 0


def test_compression_ratio_of_the_shipped_configuration():
    """(T N C) / (S h w Z): 9 frames of 64^2 points into 8 x 3 x 8^2."""
    assert ModelConfig().compression_ratio(64 * 64) == pytest.approx(9 * 4096 / (8 * 3 * 64))
    v2 = ModelConfig(**cli.PRESETS["ns2d-v2"]["model"])
    assert v2.compression_ratio(64 * 64) >= 64  # issue 14's floor


def test_every_graph_matches_pytorch_in_onnx_runtime(tmp_path):
    """Relative error < 1e-4 on random inputs of other sizes than the export examples (dynamic axes:
    batch, points, neighbours, and the encoder/decoder grid)."""
    cfg = smoke_config()
    model = randomised(cfg)
    export_bundle(None, tmp_path, name="parity", model=model, ck={"std": 1.0, "data": {"n": 16, "dt": 0.25}})
    g = torch.Generator().manual_seed(3)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    b, m, sp, lsp = 3, 37, cfg.grid[::-1], cfg.latent_shape[::-1]
    cases = {
        "lift": {"values": rnd(m, 6, 1), "offsets": rnd(m, 6, 2), "mask": (torch.rand(m, 6, generator=g) > 0.3).float()},
        "encoder": {"frames": rnd(b, cfg.lift_features + 1, cfg.frames, 2 * sp[0], sp[1])},
        "velocity": {"z": rnd(b, cfg.latent_channels, cfg.slots, *lsp), "observed": rnd(b, cfg.latent_channels, cfg.slots, *lsp),
                     "slot_mask": torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
                     "r": torch.rand(b, generator=g), "params": torch.rand(b, 1, generator=g), "param_mask": torch.tensor([1.0, 0.0, 1.0])},
        "decoder": {"latent": rnd(b, cfg.latent_channels, cfg.slots, 2 * lsp[0], lsp[1])},
        "query": {"features": rnd(m, 9, cfg.decoder_channels), "offsets": rnd(m, 9, 2)},
    }
    modules = {name: mod for name, (mod, *_rest) in example_inputs(model).items()}
    for name, feeds in cases.items():
        sess = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
        with torch.no_grad():
            want = modules[name](*feeds.values()).numpy()
        assert got.shape == want.shape, name
        err = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert np.linalg.norm(want) > 0 and err < 1e-4, f"{name}: relative error {err:.2e}"


def test_smoke_bundle_is_valid_for_the_rust_runtime(smoke):
    cli_bin = cli_path()
    assert cli_bin.exists(), f"{cli_bin} missing: build the CLI first (cargo build --release)"
    r = subprocess.run([str(cli_bin), "doctor", "--bundle", str(smoke["bundle"])], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "is valid" in r.stdout + r.stderr
    m = load_manifest(smoke["bundle"])
    assert [s["name"] for s in m["graphs"]["encoder"]["inputs"]] == ["frames"]
    assert m["graphs"]["encoder"]["inputs"][0]["shape"][0] == "B"          # dynamic batch
    assert m["graphs"]["lift"]["inputs"][0]["shape"][:2] == ["M", "K"]      # dynamic points and neighbours
    assert m["provenance"]["compression_ratio"] > 1


def write_input(path: Path, w: np.ndarray, dt: float) -> np.ndarray:
    """Frames w [F, n, n] at the n^2 lattice as a .pvd series; returns the points."""
    n = w.shape[-1]
    j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pts = np.stack([i.ravel() / n, j.ravel() / n, np.zeros(n * n)], 1).astype(np.float32)
    path.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, frame in enumerate(w):
        write_vtu(path / f"in_{k}.vtu", Mesh(pts, {"vorticity": frame.ravel().astype(np.float32)}))
        entries.append((k * dt, f"in_{k}.vtu"))
    write_pvd(path / "input.pvd", entries)
    return pts


@pytest.mark.parametrize("param", [None, "viscosity=0.0005"])
def test_rust_forecast_matches_the_pytorch_sampler(smoke, param):
    """Two chained segments through the Rust CLI on the exported bundle vs the PyTorch model driven
    by the reference pipeline with the same seed (SplitMix64 noise): the whole contract end to end."""
    test = load(smoke["data"] / "test.npz")
    inp = smoke["dir"] / "input"
    write_input(inp, test["w"][0, :1], test["dt"])
    m = load_manifest(smoke["bundle"])
    horizon = 2 * (m["time"]["frames"] - 1)
    out = smoke["dir"] / f"rust_{param}"
    cmd = [str(cli_path()), "forecast", "--bundle", str(smoke["bundle"]), "--input", str(inp / "input.pvd"),
           "--horizon", str(horizon), "--seed", "11", "--out", str(out), "--force", "--json", "--quiet"]
    if param:
        cmd += ["--param", param]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads(r.stdout)
    assert summary["sampling"]["segments"] == 2 and summary["sampling"]["conditioned"] == bool(param)
    _, _, rust = read_series(out / "prediction.pvd", m["fields"])
    model, _ = load_checkpoint(smoke["run"], 3)
    params = {"viscosity": float(param.split("=")[1])} if param else None
    _, mine = torch_forecast(model, smoke["bundle"], inp / "input.pvd", horizon, 11, params=params)
    assert rust.shape == mine.shape == (horizon, 16 * 16, 1)
    err = np.linalg.norm(rust - mine) / np.linalg.norm(mine)
    assert err < 1e-4, f"Rust vs PyTorch relative difference {err:.2e}"


def test_ddp_two_gloo_processes_keep_identical_parameters(smoke, tmp_path):
    """Stage 1 and stage 3 under torchrun with 2 CPU processes: every rank ends with the same weights."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(smoke["run"] / "stage2.pt", run / "stage2.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for stage in ("1", "3"):
        r = subprocess.run([str(VENV_BIN / "torchrun"), "--standalone", "--nproc-per-node", "2", "-m", "echo_onnx.train.cli", "train",
                            "--stage", stage, "--preset", "smoke", "--data", str(smoke["data"]), "--run-dir", str(run)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
        ck = torch.load(run / f"stage{stage}.pt", map_location="cpu", weights_only=False)
        sums = ck["rank_checksums"]
        assert len(sums) == 2 and sums[0] == sums[1], sums
        assert ck["history"][f"stage{stage}"]["world"] == 2


def test_stage3_resumes_from_its_checkpoint_with_the_cached_latents(smoke, tmp_path, capsys):
    """train --stage 3 --resume: the DiT of stage3.pt goes on (the record counts both runs), and the
    latents the first run encoded come from the run's cache, equal to encoding them again."""
    run = tmp_path / "run"
    shutil.copytree(smoke["run"], run)
    (run / "stage3-latents.pt").unlink(missing_ok=True)  # the fixture's stage 3 left one
    common = ["--preset", "smoke", "--data", str(smoke["data"]), "--run-dir", str(run)]
    assert cli.main(["train", "--stage", "3", *common, "--steps", "3"]) == 0
    first = torch.load(run / "stage3.pt", map_location="cpu", weights_only=False)
    assert "encoded" in capsys.readouterr().out and (run / "stage3-latents.pt").exists()
    assert cli.main(["train", "--stage", "3", *common, "--steps", "2", "--resume"]) == 0
    assert "loaded the cached latents" in capsys.readouterr().out
    second = torch.load(run / "stage3.pt", map_location="cpu", weights_only=False)
    record = second["history"]["stage3"]
    assert record["steps"] == 5 and record["restarts"] == 1 and record["log"][-1]["step"] == 5
    velocity = [k for k in first["model"] if k.startswith("velocity.")]
    assert any(not torch.equal(first["model"][k], second["model"][k]) for k in velocity), "the DiT did not train on"
    assert all(torch.equal(first["model"][k], second["model"][k]) for k in first["model"] if k.startswith("ae.")), \
        "the autoencoder is frozen in stage 3"
    # The cache holds what encoding gives now.
    model, ck = load_checkpoint(run, 3)
    cfg = model.cfg
    sampler = stages.training_sampler(smoke["data"], cfg, ck, cfg.frames, 7, starts_every=cli.PRESETS["smoke"]["stages"][3].get("starts_every", 2))
    clean, observed, _ = stages.encode_latents(model.eval(), sampler, batch=16)
    cached = torch.load(run / "stage3-latents.pt", map_location="cpu", weights_only=False)
    assert torch.allclose(cached["clean"], clean, atol=1e-6)
    assert all(torch.allclose(cached["observed"][p], observed[p], atol=1e-6) for p in observed)


def test_latent_cache_is_used_only_for_its_key(tmp_path):
    calls = []

    def encode():
        calls.append(1)
        return torch.ones(2, 3), {"forecast": torch.zeros(2, 3)}, torch.tensor([1e-3, 1e-4])

    key = {"autoencoder": "abc", "windows": 2}
    assert stages.cached_latents(tmp_path, key, encode)[3] is False
    clean, observed, nus, cached = stages.cached_latents(tmp_path, key, encode)
    assert cached and len(calls) == 1 and torch.equal(clean, torch.ones(2, 3)) and torch.equal(nus, torch.tensor([1e-3, 1e-4]))
    # Another autoencoder (or data, or windows): encoded again, and the cache follows.
    assert stages.cached_latents(tmp_path, {**key, "autoencoder": "def"}, encode)[3] is False and len(calls) == 2
    assert stages.cached_latents(tmp_path, {**key, "autoencoder": "def"}, encode)[3] is True and len(calls) == 2


def test_evaluate_writes_every_metric(smoke, tmp_path):
    assert cli.main(["evaluate", "--run-dir", str(smoke["run"]), "--data", str(smoke["data"]), "--bundle", str(smoke["bundle"]),
                     "--out", str(tmp_path), "--quick", "--super-res", "32"]) == 0
    res = json.loads((tmp_path / "metrics.json").read_text())
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Forecast vs horizon" in report
    # the picture of solver, ECHO and FNO side by side: a PNG, a row per viscosity, linked from the report
    assert res["forecast_picture"] == "forecast.png" and "](forecast.png)" in report
    import matplotlib.image
    img = matplotlib.image.imread(tmp_path / "forecast.png")
    assert img.shape[1] > img.shape[0] > 200, img.shape
    assert (tmp_path / "example" / "input.pvd").exists() and (tmp_path / "example" / "truth.pvd").exists()
    for key in ("autoencoder", "pod_same_ratio", "forecast", "inverse_interpolation", "generation", "super_resolution"):
        assert key in res, key
    # the autoencoder beside POD per viscosity, both on held-out data, in the report's table
    nus = {f"{nu:g}" for nu in load(smoke["data"] / "test.npz")["nu"]}
    assert set(res["autoencoder_by_viscosity"]) == nus | {"windows"} and set(res["pod_same_ratio"]["by_viscosity"]) == nus
    assert "| viscosity | ECHO AE | POD, same compression | ECHO / POD |" in report
    for method in ("echo_100%", "echo_50%", "echo_20%", "persistence", "fno"):
        errs = list(res["forecast"][method]["all"].values())
        assert errs and all(np.isfinite(errs)), method
    # persistence is exact at horizon 0 and wrong later: its error must grow with the horizon
    pers = res["forecast"]["persistence"]["all"]
    assert pers["1"] < pers[max(pers, key=int)]


@pytest.mark.parametrize("name", ["ns2d-vorticity", "ns2d-v2"])
def test_shipped_bundle_runs_in_the_cli_and_matches_the_reference(name, tmp_path):
    """A pretrained NS2D bundle: valid, runs on its held-out example input (two chained segments,
    conditioned on the viscosity), the Rust output equals the numpy/ONNX Runtime reference for the same
    seed, and it is closer to the solver than persistence after one segment (the example's truth.pvd)."""
    from echo_onnx.reference import forecast as reference_forecast
    bundle = ROOT / "onnx" / "bundles" / name
    r = subprocess.run([str(cli_path()), "doctor", "--bundle", str(bundle)], capture_output=True, text=True)
    assert r.returncode == 0 and "is valid" in r.stdout + r.stderr, r.stderr
    m = load_manifest(bundle)
    horizon = m["time"]["frames"] - 1
    inp = bundle / "example" / "input.pvd"
    r = subprocess.run([str(cli_path()), "forecast", "--bundle", str(bundle), "--input", str(inp), "--horizon", str(2 * horizon),
                        "--seed", "5", "--param", "viscosity=0.001", "--out", str(tmp_path / "out"), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _, _, rust = read_series(tmp_path / "out" / "prediction.pvd", m["fields"])
    _, ref = reference_forecast(bundle, inp, 2 * horizon, 5, params={"viscosity": 0.001})
    assert np.linalg.norm(rust - ref) / np.linalg.norm(ref) < 1e-4
    _, _, context = read_series(inp, m["fields"])
    _, _, truth = read_series(bundle / "example" / "truth.pvd", m["fields"])
    err = np.linalg.norm(rust[horizon - 1] - truth[horizon - 1]) / np.linalg.norm(truth[horizon - 1])
    persistence = np.linalg.norm(context[-1] - truth[horizon - 1]) / np.linalg.norm(truth[horizon - 1])
    assert err < persistence, (err, persistence)


def test_requery_refits_a_continuous_head_the_cli_runs(smoke, tmp_path):
    """`echo-onnx-train requery` on the smoke bundle (issue 15): the new bundle is valid for the Rust
    CLI (manifest digest, stencil 4), its head is continuous where a point crosses a latent-cell
    boundary (the values from both sides agree; the old softmax head's do not), and the CLI's forecast
    with it equals the numpy/ONNX Runtime reference."""
    from echo_onnx.grid import Stencil
    from echo_onnx.reference import Forecaster, Runtime
    from echo_onnx.reference import forecast as reference_forecast
    from echo_onnx.train.requery import Windows, apply, head_from_onnx
    out = tmp_path / "requeried"
    assert cli.main(["requery", "--bundle", str(smoke["bundle"]), "--data", str(smoke["data"]), "--out", str(out),
                     "--minutes", "0.02", "--stencil", "4"]) == 0
    m = load_manifest(out)
    assert m["query"]["stencil"] == 4 and m["provenance"]["model"]["query_window"] is True
    assert m["parameters"][0]["scale"] == "log"  # the smoke preset's: the parity below covers the CLI's log path
    r = subprocess.run([str(cli_path()), "doctor", "--bundle", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and "is valid" in r.stdout + r.stderr, r.stderr
    # Both sides of the boundary x = 5 spacings of the latent grid, at several heights.
    fc = Forecaster(Runtime(out), np.zeros((1, 2)), np.zeros((1, 2)))
    win = Windows(fc, load(smoke["data"] / "test.npz")["w"], every=100)  # one window per trajectory
    h = 1.0 / fc.grid.shape[0]
    ys = np.linspace(0.1, 0.9, 7)
    side = lambda eps: np.stack([np.full_like(ys, 5 * h + eps), ys], axis=1)  # noqa: E731
    G, f = win.features.shape[1], win.features[0][:, 0]
    jumps = {}
    for name, b, s, window in (("old", smoke["bundle"], 2, None), ("new", out, 4, 2.0)):
        head = head_from_onnx(Path(b) / "query.onnx", G, 2, 1, window)
        left, right = (apply(head, f, Stencil(fc.grid, side(eps), s)) for eps in (-1e-7, 1e-7))
        jumps[name] = float(np.abs(left - right).max() / np.abs(left).max())
    assert jumps["new"] < 1e-4 < jumps["old"], jumps
    test = load(smoke["data"] / "test.npz")
    inp = tmp_path / "example"
    write_input(inp, test["w"][0, :1], test["dt"])
    r = subprocess.run([str(cli_path()), "forecast", "--bundle", str(out), "--input", str(inp / "input.pvd"), "--horizon", "3",
                        "--seed", "2", "--param", "viscosity=0.001", "--out", str(tmp_path / "out"), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _, _, rust = read_series(tmp_path / "out" / "prediction.pvd", m["fields"])
    _, ref = reference_forecast(out, inp / "input.pvd", 3, 2, params={"viscosity": 0.001})
    assert np.linalg.norm(rust - ref) / np.linalg.norm(ref) < 1e-4
