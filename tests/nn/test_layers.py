"""Tests for filterkit.nn.layers: KernelConv2d.from_kernels, FIXED_BANK, nearest_kernels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from filterkit.filters.kernels import get_kernel
from filterkit.nn.layers import FIXED_BANK, KernelConv2d, fit_kernel_size, kernel_bank, nearest_kernels


def test_fixed_bank_has_about_25_distinct_named_kernels_of_the_promised_kinds():
    assert 20 <= len(FIXED_BANK) <= 30 and len(set(FIXED_BANK)) == len(FIXED_BANK)
    bank = kernel_bank(FIXED_BANK)
    assert bank.shape == (len(FIXED_BANK), 3, 3)
    flat = bank.reshape(len(bank), -1)
    assert len({tuple(row) for row in flat}) == len(FIXED_BANK)  # no kernel twice
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    cos = (unit @ unit.T)[np.triu_indices(len(flat), 1)]
    assert cos.max() < 0.99  # nor a scaled copy (negated ones are opposite edges, by design)
    # edges at 8 orientations: sobel_x/sobel_y are edge_0/edge_270
    edges = [get_kernel(f"edge_{a}") for a in range(0, 360, 45)]
    assert all(any(np.array_equal(e, k) for k in bank) for e in edges)
    assert len(FIXED_BANK) == 25
    for name in ("laplacian4", "laplacian8", "line_0", "line_90", "gaussian", "mean", "identity",
                 "kirsch_0", "kirsch_90", "emboss", "dxy"):
        assert name in FIXED_BANK


def test_from_kernels_weights_equal_the_named_kernels():
    names = ["sobel_x", "sobel_y", "laplacian4", "gaussian"]
    layer = KernelConv2d.from_kernels(names, trainable=False)
    assert layer.weight.shape == (4, 1, 3, 3) and layer.kernel_names == names
    for i, name in enumerate(names):
        np.testing.assert_allclose(layer.weight[i, 0].numpy(), get_kernel(name), rtol=0, atol=1e-7)


def test_frozen_layer_gets_no_gradient_and_is_left_out_of_optimizer_params():
    fixed = KernelConv2d.from_kernels(["sobel_x", "mean"], trainable=False, bias=True)
    head = torch.nn.Conv2d(2, 1, 1)
    model = torch.nn.Sequential(fixed, head)
    model(torch.randn(2, 1, 6, 6)).sum().backward()
    assert fixed.weight.grad is None and fixed.bias.grad is None
    assert head.weight.grad is not None
    params = {id(p) for p in model.parameters() if p.requires_grad}
    assert id(fixed.weight) not in params and id(head.weight) in params
    before = fixed.weight.clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    opt.step()
    assert torch.equal(fixed.weight, before)


def test_trainable_layer_learns_and_can_be_frozen_later():
    layer = KernelConv2d.from_kernels(["identity"], trainable=True)
    layer(torch.randn(1, 1, 5, 5)).pow(2).sum().backward()
    assert layer.weight.grad is not None and layer.trainable
    layer.set_trainable(False)
    assert not layer.weight.requires_grad and not layer.trainable


def test_frozen_sobel_layer_equals_scipy_correlation():
    rng = np.random.default_rng(0)
    image = rng.random((9, 11))
    layer = KernelConv2d.from_kernels(["sobel_x"], trainable=False, dtype=torch.float64)
    out = layer(torch.from_numpy(image)[None, None])[0, 0].detach().numpy()
    expected = ndimage.correlate(image, get_kernel("sobel_x"), mode="constant", cval=0.0)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert np.allclose(out[1:-1, 1:-1], ndimage.sobel(image, axis=1)[1:-1, 1:-1])  # interior sign convention


def test_multichannel_mean_and_depthwise_modes():
    grey = torch.rand(1, 1, 7, 7)
    rgb = grey.repeat(1, 3, 1, 1)
    one = KernelConv2d.from_kernels(["sobel_x", "laplacian4"], trainable=False)
    mean = KernelConv2d.from_kernels(["sobel_x", "laplacian4"], in_channels=3, trainable=False)
    torch.testing.assert_close(mean(rgb), one(grey))
    depth = KernelConv2d.from_kernels(["sobel_x", "laplacian4"], in_channels=3, channel_mode="depthwise")
    x = torch.rand(1, 3, 7, 7)
    out = depth(x)
    assert out.shape == (1, 6, 7, 7)
    assert depth.kernel_names[3] == "laplacian4@c1"
    torch.testing.assert_close(out[:, 3:4], one(x[:, 1:2])[:, 1:2])
    with pytest.raises(ValueError, match="channel_mode"):
        KernelConv2d.from_kernels(["mean"], channel_mode="sum")


def test_common_size_pads_and_crops_and_params_are_passed():
    layer = KernelConv2d.from_kernels(["sobel_x", ("gaussian", {"size": 5, "sigma": 1.0})])
    assert layer.weight.shape[-1] == 5
    np.testing.assert_allclose(layer.weight[0, 0, 1:4, 1:4].detach().numpy(), get_kernel("sobel_x"), atol=1e-7)
    assert float(layer.weight.detach()[0, 0].abs()[0].sum()) == 0.0  # zero padding ring
    gaussian5 = get_kernel("gaussian", size=5, sigma=1.0)
    np.testing.assert_allclose(layer.weight[1, 0].detach().numpy(), gaussian5, atol=1e-7)
    assert layer.kernel_names[1] == "gaussian(sigma=1.0, size=5)"
    cropped = fit_kernel_size(get_kernel("gaussian", size=5, sigma=1.0), 3)
    np.testing.assert_array_equal(cropped, get_kernel("gaussian", size=5, sigma=1.0)[1:4, 1:4])
    with pytest.raises(ValueError, match="odd"):
        fit_kernel_size(np.ones((3, 3)), 4)
    with pytest.raises(ValueError, match="unknown kernel"):
        KernelConv2d.from_kernels(["no_such_kernel"])


def test_nearest_kernels_finds_sobel_x_for_a_noisy_sobel_x():
    rng = np.random.default_rng(1)
    noisy = get_kernel("sobel_x") + rng.normal(0.0, 0.3, (3, 3))
    layer = KernelConv2d.from_kernels(["sobel_x", "laplacian8"], trainable=True)
    with torch.no_grad():
        layer.weight[0, 0] = torch.from_numpy(noisy)
    result = nearest_kernels(layer.weight)
    assert [name for name, _ in result] == ["sobel_x", "laplacian8"]
    assert 0.8 < result[0][1] < 1.0 and result[1][1] == pytest.approx(1.0)


def test_nearest_kernels_sign_flip_rule():
    flipped = -get_kernel("laplacian4")
    (name, cos), = nearest_kernels(flipped)
    assert name != "laplacian4" and cos < 0.95
    (name, cos), = nearest_kernels(flipped, allow_sign_flip=True)
    assert name == "laplacian4" and cos == pytest.approx(-1.0)
    # a negated sobel_x is a named kernel of its own (bright-to-dark edge)
    assert nearest_kernels(-get_kernel("sobel_x"))[0] == ("edge_180", pytest.approx(1.0))
    assert nearest_kernels(np.zeros((3, 3)))[0][1] == 0.0


def test_nearest_kernels_on_5x5_and_multichannel_weights():
    layer = KernelConv2d.from_kernels(["line_45", "identity"], in_channels=3, size=5)
    result = nearest_kernels(layer.weight)
    assert [n for n, _ in result] == ["line_45", "identity"]
    assert all(c == pytest.approx(1.0) for _, c in result)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_layer_on_cuda_matches_cpu():
    cpu = KernelConv2d.from_kernels(FIXED_BANK, trainable=False)
    gpu = KernelConv2d.from_kernels(FIXED_BANK, trainable=False, device="cuda")
    x = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), atol=1e-5, rtol=1e-5)
    assert nearest_kernels(gpu.weight)[0] == ("sobel_x", pytest.approx(1.0))
