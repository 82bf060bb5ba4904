"""Tests for filterkit.visualize.kernels: nearest fixed kernels and grids."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from filterkit.errors import UserError
from filterkit.nn.layers import kernel_bank
from filterkit.visualize.common import load_model
from filterkit.visualize.kernels import kernel_table, plot_kernel_comparison, plot_kernels, summarize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_known_kernels_are_named_with_cosine_one():
    vm = load_model("zoo:lecture_cnn")
    with torch.no_grad():
        vm.module.conv1.weight[:3, 0] = torch.as_tensor(kernel_bank(["sobel_x", "laplacian4", "line_45"]))
        vm.module.conv1.weight[3, 0] = -2.5 * torch.as_tensor(kernel_bank(["sobel_x"])[0])
    rows = kernel_table(vm, "conv1")
    assert len(rows) == 25
    assert [r["nearest"] for r in rows[:3]] == ["sobel_x", "laplacian4", "line_45"]
    assert all(r["cosine"] == pytest.approx(1.0) for r in rows[:3])
    assert rows[3]["nearest"] == "edge_180" and rows[3]["cosine"] == pytest.approx(1.0)  # -sobel_x
    assert summarize(rows)["max_cosine"] == pytest.approx(1.0)


def test_grids_are_pngs_for_grey_and_rgb_kernels(tmp_path):
    vm = load_model("zoo:lecture_cnn")
    assert plot_kernels(vm, "conv2", tmp_path / "k.png", max_kernels=8).read_bytes().startswith(PNG_MAGIC)
    assert plot_kernel_comparison(vm, "conv1", tmp_path / "c.png", max_kernels=6).read_bytes().startswith(PNG_MAGIC)
    rgb = load_model("zoo:allcnn_c")
    assert plot_kernels(rgb, "conv1", tmp_path / "rgb.png", max_kernels=6).stat().st_size > 0


def test_non_conv_layer_is_a_user_error():
    with pytest.raises(UserError, match="not a 2-D convolution"):
        kernel_table(load_model("zoo:lecture_cnn"), "fc1")
