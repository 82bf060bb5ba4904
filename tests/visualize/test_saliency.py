"""Tests for filterkit.visualize.saliency: gradients, SmoothGrad, integrated gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.visualize.common import load_model
from filterkit.visualize.saliency import input_gradient, integrated_gradients, make_baseline, saliency_maps


@pytest.fixture(scope="module")
def vm():
    return load_model("zoo:lecture_cnn", seed=1)


def test_gradient_matches_finite_differences(vm):
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    vm64 = load_model("zoo:lecture_cnn", seed=1)
    vm64.module.double()
    x64 = x.double()
    _, grad = input_gradient(vm64, x64, 3)
    eps = 1e-6
    for (i, j) in [(10, 10), (14, 5), (20, 22)]:
        dx = torch.zeros_like(x64)
        dx[0, 0, i, j] = eps
        with torch.no_grad():
            fd = (vm64.forward(x64 + dx)[0, 3] - vm64.forward(x64 - dx)[0, 3]) / (2 * eps)
        assert float(grad[0, 0, i, j]) == pytest.approx(float(fd), rel=1e-4, abs=1e-8)


def test_integrated_gradients_are_complete(vm):
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    base = make_baseline(x, "black")
    attribution, error = integrated_gradients(vm, x, 4, base, steps=128)
    with torch.no_grad():
        gap = float(vm.forward(x)[0, 4] - vm.forward(base)[0, 4])
    assert float(attribution.sum()) - gap == pytest.approx(error)
    assert abs(error) < 0.02 * max(abs(gap), 1e-3) + 1e-3


def test_maps_signed_abs_and_deterministic(vm):
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    a = saliency_maps(vm, x, samples=8, steps=16, seed=0)
    b = saliency_maps(vm, x, samples=8, steps=16, seed=0)
    c = saliency_maps(vm, x, samples=8, steps=16, seed=1)
    np.testing.assert_array_equal(a.smoothgrad, b.smoothgrad)
    assert not np.array_equal(a.smoothgrad, c.smoothgrad)
    np.testing.assert_allclose(a.abs_gradient, np.abs(a.gradient))  # one channel: |sum| == sum |.|
    assert (a.abs_smoothgrad >= np.abs(a.smoothgrad) - 1e-12).all()
    assert a.target == int(vm.forward(x).argmax()) and a.gradient.shape == (28, 28)
    for name in ("gradient", "smoothgrad", "integrated"):
        assert np.isfinite(getattr(a, name)).all()
    assert a.to_json()["settings"]["baseline"] == "black"


def test_blur_baseline_and_explicit_baseline(vm):
    x = torch.rand(1, 1, 28, 28)
    blur = make_baseline(x, "blur")
    assert blur.shape == x.shape and float(blur.std()) < float(x.std())
    explicit = make_baseline(x, np.full((28, 28), 0.5, np.float32))
    assert torch.all(explicit == 0.5)
