"""The probes evaluation's pieces that need no CLI run: the CSV it feeds `echo-onnx reconstruct`, the
interpolation baselines, and the REPORT.md section (rendered, spliced in place)."""

import numpy as np

from echo_onnx.probes_eval import ECHO, METHODS, interpolators, probes_section, splice, write_csv


def test_csv_has_vector_columns_and_times(tmp_path):
    path = tmp_path / "p.csv"
    write_csv(path, np.array([[0.0, 1.0], [2.0, 3.0]]), {"U": np.ones((2, 2, 2)), "p": np.zeros((2, 2))}, [0.5, 1.0])
    lines = path.read_text().splitlines()
    assert lines[0] == "x,y,U_x,U_y,p,time"
    assert len(lines) == 5 and lines[-1].endswith(",1.0")


def test_interpolators_are_exact_for_a_linear_field_and_periodic_images_help():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 1, (64, 2))
    at = rng.uniform(0.2, 0.8, (50, 2))
    f = lambda p: 2 * p[:, 0] - p[:, 1]  # noqa: E731
    out = interpolators(pos, f(pos), at, periodic=False)
    for m in METHODS:
        assert np.allclose(out[m], f(at), atol=1e-6), m
    g = lambda p: np.sin(2 * np.pi * p[:, 0])  # noqa: E731
    edge = np.array([[0.01, 0.5], [0.99, 0.5]])
    plain = interpolators(pos, g(pos), edge, periodic=False)["rbf"]
    tiled = interpolators(pos, g(pos), edge, periodic=True)["rbf"]
    assert np.abs(tiled - g(edge)).max() < np.abs(plain - g(edge)).max()


def rows():
    row = {m: 0.5 for m in ECHO + METHODS}
    row.update(echo_after=0.2, spread_skill_before=0.1, spread_skill_after=0.3)
    return {"probes": {"rows": {"16": row}, "cases": 16, "ensemble": 8, "command": "cmd", "seconds": 10}}


def test_section_renders_the_verdict_and_is_spliced_once(tmp_path):
    section = probes_section(rows()["probes"], "ns2d")
    text = "\n".join(section)
    assert "16 probes: ECHO wins (0.200 against 0.500, 0.40x)" in text and "| 16 | 0.500 | 0.500 | **0.200** |" in text
    report = tmp_path / "REPORT.md"
    report.write_text("# r\n\n## A\n\nx\n\nEvaluation wall time: 1 s.\n")
    splice(report, section, "Evaluation wall time")
    once = report.read_text()
    assert once.index("## Full fields from probes") < once.index("Evaluation wall time")
    splice(report, section, "Evaluation wall time")
    assert report.read_text() == once
