"""Tests for ``filterkit visualize`` (random-weight zoo models and tiny inputs).

The kernels, style and mistake checks run the installed console script; the slower techniques
(maximize, features, saliency, dream) run in this process on the same arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("torch")

from filterkit.cli import main  # noqa: E402
from filterkit.io import write_image  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODEL = "lecture_cnn"  # a zoo model name: random weights from --seed
needs_script = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")


@pytest.fixture()
def digit(tmp_path):
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255  # a "1"
    return str(write_image(tmp_path / "one.png", image))


def _run(*argv) -> int:
    return main(["visualize", *map(str, argv), "--quiet"])


def _cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(["filterkit", "visualize", *map(str, argv)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _outputs(tmp_path, name):
    return tmp_path / f"{name}.png", tmp_path / f"{name}.json"


@needs_script
def test_kernels_writes_png_json_and_npy(tmp_path):
    png, js = _outputs(tmp_path, "k")
    proc = _cli("kernels", "--model", MODEL, "--compare", "--max", "6", "-o", png, "--json", js,
                "--npy", tmp_path / "k.npy")
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes().startswith(PNG_MAGIC)
    data = json.loads(js.read_text())
    assert data["layer"] == "conv1" and len(data["kernels"]) == 25 and data["seed"] == 0 and "environment" in data
    assert np.load(tmp_path / "k.npy").shape == (25, 1, 3, 3)
    assert "nearest" in proc.stdout


def test_list_layers_prints_module_paths(capsys):
    assert _run("maximize", "--model", f"zoo:{MODEL}", "--list-layers") == 0
    out = capsys.readouterr().out
    assert "conv2" in out and "fc1" in out and "output" in out


def test_maximize_class_json_has_the_figures(tmp_path):
    png, js = _outputs(tmp_path, "m")
    assert _run("maximize", "--model", MODEL, "--class", "1,2", "--steps", "5", "-o", png, "--json", js,
                "--seed", "3") == 0
    data = json.loads(js.read_text())
    assert data["seed"] == 3 and len(data["results"]) == 2
    row = data["results"][0]
    for key in ("start_objective", "final_objective", "probability", "sparsity"):
        assert key in row
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_features_saliency_dream(tmp_path, digit):
    for name, extra in [("features", ["--layer", "conv2", "--max", "6"]),
                        ("saliency", ["--samples", "4", "--steps", "8"]),
                        ("dream", ["--layer", "conv2", "--octaves", "2", "--steps", "2"])]:
        png, js = _outputs(tmp_path, name)
        assert _run(name, "--model", MODEL, digit, *extra, "-o", png, "--json", js) == 0, name
        assert png.read_bytes().startswith(PNG_MAGIC)
        assert json.loads(js.read_text())
    sal = json.loads((tmp_path / "saliency.json").read_text())
    assert sal["settings"]["baseline"] == "black" and "completeness_error" in sal


@needs_script
def test_style_texture_from_skimage_sample(tmp_path):
    png, js = _outputs(tmp_path, "t")
    proc = _cli("style", "noise", "skimage:brick", "--size", "24", "--steps", "10", "--filters", "4",
                "--levels", "2", "-o", png, "--json", js)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(js.read_text())
    assert data["mode"] == "texture" and data["final_gram_distance"] < data["start_gram_distance"]


@needs_script
@pytest.mark.parametrize("argv, message", [
    (["style", "noise", "skimage:brick", "--size", "0", "-o", "s.png"], "--size: 0 is out of range (>= 16"),
    (["maximize", "--model", MODEL, "--class", "1", "--steps", "0", "-o", "m.png"], "--steps: 0 is out of range"),
    (["kernels", "lecture_cnn.pt", "-o", "k.png"], "unrecognized arguments: lecture_cnn.pt"),  # --model NAME|PATH
])
def test_parse_time_mistakes_are_one_line(tmp_path, argv, message):
    proc = subprocess.run(["filterkit", "visualize", *argv], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_user_mistakes_are_one_line_errors(tmp_path, digit, capsys):
    png = tmp_path / "x.png"
    png.write_bytes(b"old")
    assert _run("kernels", "--model", MODEL, "-o", png) == 2
    assert f"{png}: already exists (use --force to overwrite)" in capsys.readouterr().err
    assert _run("kernels", "--model", MODEL, "--layer", "fc1", "-o", tmp_path / "y.png") == 2
    assert "not a 2-D convolution" in capsys.readouterr().err
    assert _run("maximize", "--model", MODEL, "--layer", "conv1", "--channel", "99", "-o", tmp_path / "z.png") == 2
    assert "valid range" in capsys.readouterr().err
    assert _run("saliency", "--model", tmp_path / "missing.pt", digit, "-o", tmp_path / "s.png") == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert _run("features", "--model", MODEL, "-o", tmp_path / "f.png") == 2
    assert "give an IMAGE" in capsys.readouterr().err
    assert _run("dream", "--model", MODEL, "skimage:camera", "--layer", "fc1", "--size", "64",
                "-o", tmp_path / "d.png") == 2
    assert "does not reach layer(s) fc1" in capsys.readouterr().err
    assert _run("maximize", "--model", MODEL, "--class", "1", "--size", "40", "-o", tmp_path / "m.png") == 2
    assert "cannot take (1, 40, 40) inputs" in capsys.readouterr().err
    assert png.read_bytes() == b"old"


@needs_script
def test_train_writes_a_run_folder_that_the_other_commands_load(tmp_path):
    run = tmp_path / "cnn"
    proc = _cli("train", "--data", "builtin", "--epochs", "1", "-o", run, "--quiet", "--json", tmp_path / "t.json")
    assert proc.returncode == 0, proc.stderr
    assert {"best.pt", "last.pt", "metrics.csv", "report.json"} <= {p.name for p in run.iterdir()}
    assert "environment" in json.loads((tmp_path / "t.json").read_text())
    again = _cli("train", "--data", "builtin", "--epochs", "1", "-o", run, "--quiet")
    assert again.returncode == 2 and "already exists (use --force to overwrite)" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    shown = _cli("kernels", "--model", run / "best.pt", "-o", tmp_path / "k.png", "--quiet")
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "k.png").read_bytes().startswith(PNG_MAGIC)
