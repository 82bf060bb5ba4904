"""``filterkit kernel``: printed weights, integer forms, plot and JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from filterkit.cli import main
from filterkit.cli.kernel import integer_form
from filterkit.filters.kernels import gaussian, kernel_names


needs_script = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")


def _cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(["filterkit", "kernel", *map(str, argv)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _rows_after(text: str, header_start: str) -> list[list[str]]:
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[i + 1 :]:
        if not line.startswith("  "):
            break
        rows.append(line.split())
    return rows


def test_gaussian_5x5_sigma1_prints_kernel_and_textbook_273(capsys):
    assert main(["kernel", "gaussian", "--size", "5", "--sigma", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gaussian 5x5, sigma=1")
    printed = np.array(_rows_after(out, "gaussian 5x5"), dtype=float)
    np.testing.assert_allclose(printed, gaussian(1.0, 5), rtol=1e-5)
    textbook = np.array(_rows_after(out, "textbook integer gaussian, divide by 273"), dtype=int)
    assert textbook[2].tolist() == [7, 26, 41, 26, 7]


def test_binomial_gaussian_integer_form_is_the_classic_16():
    sigma = 1 / np.sqrt(2 * np.log(2))  # exp(-1 / (2 sigma^2)) = 1/2: the [1 2 1] binomial
    weights, divisor, error = integer_form(gaussian(sigma, 3))
    assert weights.tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]] and divisor == 16 and error < 1e-12


def test_integer_kernels_print_as_integers(capsys):
    assert main(["kernel", "sobel-x"]) == 0
    out = capsys.readouterr().out
    assert _rows_after(out, "sobel_x 3x3") == [["-1", "0", "1"], ["-2", "0", "2"], ["-1", "0", "1"]]
    assert "integer form" not in out


def test_integer_form_of_wide_gaussian_is_bounded():
    weights, divisor, error = integer_form(gaussian(3.0))
    assert weights.max() == 1000 and divisor == weights.sum() and error < 1e-3


def test_list_and_aliases(capsys):
    assert main(["kernel", "--list"]) == 0
    assert capsys.readouterr().out.split() == kernel_names()
    assert main(["kernel", "laplace"]) == 0
    assert "laplacian4 3x3" in capsys.readouterr().out


@needs_script
@pytest.mark.parametrize(
    "argv, message",
    [
        (["sobel"], "did you mean sobel_x or sobel_y"),
        (["mean", "--sigma", "1"], "--sigma applies to the gaussian kernel only"),
        (["laplacian8", "--size", "5"], "--size does not apply"),
        (["box", "--size", "4"], "odd"),
        (["box", "--size", "2147483649"], "--size: 2147483649 is out of range (>= 1 and <= 99)"),
        (["gaussian", "--sigma", "1e9"], "--sigma: 1e9 is out of range"),
        (["gaussian", "--sigma", "nan"], "--sigma: nan is out of range"),
        (["gaussian", "--sigma", "10", "--truncate", "10"], "larger than the 99x99"),
        ([], "give a kernel NAME"),
    ],
)
def test_mistakes_are_one_line_errors(argv, message):
    proc = _cli(*argv)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1 and proc.stderr.startswith("filterkit")


@needs_script
def test_plot_and_json(tmp_path):
    png, js = tmp_path / "k.png", tmp_path / "k.json"
    proc = _cli("gaussian", "--size", "3", "--plot", png, "--json", js)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(js.read_text())
    np.testing.assert_allclose(report["kernel"], gaussian(size=3))
    assert report["textbook_integer"]["divisor"] == 16 and "environment" in report
    proc = _cli("box", "--plot", png)  # no silent overwrite
    assert proc.returncode == 2 and f"{png}: already exists (use --force to overwrite)" in proc.stderr
    assert _cli("box", "--plot", png, "--force").returncode == 0
    to_stdout = _cli("sobel_x", "--json", "-")
    assert json.loads(to_stdout.stdout)["kernel"][0] == [-1, 0, 1] and "sobel_x 3x3" in to_stdout.stderr


@needs_script
def test_help_exits_0():
    proc = subprocess.run(["filterkit", "kernel", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for option in ("--size", "--sigma", "--truncate", "--plot", "--json", "--list", "--force"):
        assert option in proc.stdout
