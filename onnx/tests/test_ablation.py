"""The autoencoder ablation (issue 14): the variants' ends, their training run, POD and the table."""

import json

import numpy as np
import torch

from echo_onnx.model import ModelConfig
from echo_onnx.train import cli
from echo_onnx.train.ablation import VARIANTS, AblationAE, compression, depth_to_space, space_to_depth


def small_config() -> ModelConfig:
    # 16^2 data on an 8^2 grid: 2 x 2 lattice points per node, so the grid ends fold and unfold
    return ModelConfig(**{**cli.PRESETS["smoke"]["model"], "grid": [8, 8]})


def test_space_to_depth_is_a_lossless_fold_onto_the_nodes():
    w = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    x = space_to_depth(w, 2)
    assert x.shape == (2, 4, 3, 8, 8)
    # channel a r + b of node (j, i) is the lattice value (2 j + a, 2 i + b)
    assert x[1, 2 * 1 + 0, 2, 5, 3] == w[1, 2, 2 * 5 + 1, 2 * 3 + 0]
    assert torch.equal(depth_to_space(x, 2), w)


def test_every_variant_maps_windows_to_windows_and_learns():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only add contention (10x slower on a loaded machine)
    try:
        every_variant_learns()
    finally:
        torch.set_num_threads(threads)


def every_variant_learns():
    cfg = small_config()
    g = torch.Generator().manual_seed(0)
    c = torch.arange(16) / 16
    phase = torch.rand(2, cfg.frames, 1, 1, generator=g)
    # smooth periodic windows, as the flows are (noise would take the tiny trunks far longer)
    x = torch.sin(2 * torch.pi * (c[None, None, None, :] + phase)) * torch.cos(2 * torch.pi * (c[None, None, :, None] - phase))
    for name, ends in VARIANTS.items():
        torch.manual_seed(0)
        model = AblationAE(cfg, 16, ends)
        assert model(x).shape == (2, cfg.frames, 256), name
        pts = torch.tensor([0, 17, 255])
        assert torch.allclose(model(x, pts), model(x)[:, :, pts], atol=1e-6), name
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        first = None
        for _ in range(60):
            loss = ((model(x) - x.reshape(2, cfg.frames, -1)) ** 2).mean()
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert loss.item() < 0.7 * first, (name, first, loss.item())


def test_ablate_command_writes_results_pod_and_table(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    assert cli.main(["generate-data", "--preset", "smoke", "--out", str(data)]) == 0
    assert cli.main(["ablate", "--data", str(data), "--preset", "smoke", "--pod", "--variant", "grid", "lift+query",
                     "--steps", "3", "--batch", "2", "--out", str(out)]) == 0
    cfg = ModelConfig(**cli.PRESETS["smoke"]["model"])
    pod = json.loads((out / "pod.json").read_text())
    assert pod["modes"] == round(16 * 16 / compression(cfg, 16)) and pod["ratio"] == compression(cfg, 16)
    for name in ("grid", "lift+query"):
        r = json.loads((out / f"{name}.json").read_text())
        assert r["steps"] == 3 and r["held_out"]["windows"] > 0
        assert all(0 < v < 10 for k, v in r["held_out"].items() if k != "windows"), r
    run = tmp_path / "run"
    assert cli.main(["train", "--stage", "1", "--preset", "smoke", "--data", str(data), "--run-dir", str(run), "--steps", "2"]) == 0
    assert cli.main(["ablate", "--data", str(data), "--preset", "smoke", "--stage1-run", str(run), "--out", str(out)]) == 0
    r = json.loads((out / "stage1-recipe.json").read_text())
    assert r["steps"] == 2 and r["held_out"]["windows"] == json.loads((out / "grid.json").read_text())["held_out"]["windows"]
    capsys.readouterr()
    assert cli.main(["ablate", "--table", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| grid | grid | grid |" in table and "| lift+query | lift | query |" in table and "| POD |" in table
    assert "| lift+query, stage-1 recipe | lift | query |" in table
    assert np.isfinite(pod["held_out"]["0.001"])


def test_ablate_without_data_or_work_says_what_is_missing(tmp_path):
    import pytest
    with pytest.raises(SystemExit, match="need --data"):
        cli.main(["ablate", "--variant", "grid", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="give --variant"):
        cli.main(["ablate", "--out", str(tmp_path)])
