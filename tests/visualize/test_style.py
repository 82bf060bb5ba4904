"""Tests for filterkit.visualize.style: Gram matrices, texture synthesis, style transfer."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.errors import UserError
from filterkit.visualize.common import load_image, load_model
from filterkit.visualize.config import StyleConfig
from filterkit.visualize.style import ModelFeatures, RandomFilterFeatures, gram_matrix, synthesize


def test_gram_matrix_formula_and_gradcheck():
    f = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    g = gram_matrix(f)
    flat = f.detach().reshape(2, 3, 20)
    torch.testing.assert_close(g.detach(), torch.einsum("nci,ndi->ncd", flat, flat) / 20)
    assert torch.autograd.gradcheck(gram_matrix, (f,))


def test_random_features_are_seeded_multiscale_and_brightness_blind():
    a, b = RandomFilterFeatures(1, filters=4, seed=0), RandomFilterFeatures(1, filters=4, seed=0)
    x = torch.rand(1, 1, 32, 32)
    maps = a(x)
    assert len(maps) == 3 * 4 and [m.shape[-1] for m in maps[::3]] == [32, 16, 8, 4]
    for m1, m2 in zip(maps, b(x)):
        torch.testing.assert_close(m1, m2)
    for m1, m2 in zip(maps, a(x + 0.3)):  # zero-mean filters: a brightness offset changes nothing
        torch.testing.assert_close(m1, m2, atol=1e-5, rtol=1e-5)


def test_texture_synthesis_drops_gram_distance_tenfold():
    style = load_image("skimage:brick", size=32)
    extractor = RandomFilterFeatures(1, filters=16, levels=3, seed=0)
    result = synthesize(extractor, style, None, size=(32, 32), config=StyleConfig(steps=60), seed=0)
    assert result.start_gram_distance > 10 * result.final_gram_distance
    assert result.final_loss < result.start_loss
    assert result.image.shape == (1, 32, 32) and np.isfinite(result.image).all()
    assert result.image.min() >= 0 and result.image.max() <= 1
    again = synthesize(extractor, style, None, size=(32, 32), config=StyleConfig(steps=60), seed=0)
    np.testing.assert_array_equal(result.image, again.image)


def test_style_transfer_with_adam_and_a_zoo_model():
    vm = load_model("zoo:lecture_cnn", seed=0)
    extractor = ModelFeatures(vm, ["relu1", "relu2"])
    style = load_image("skimage:gravel", size=32)
    content = load_image("skimage:camera", size=32)
    result = synthesize(extractor, style, content, config=StyleConfig(steps=40, optimizer="adam", lr=0.02))
    assert result.mode == "transfer"
    assert result.final_gram_distance < result.start_gram_distance
    assert result.start_content_distance == pytest.approx(0.0)
    assert result.final_loss < result.start_loss


def test_bad_style_settings_are_user_errors():
    with pytest.raises(UserError):
        StyleConfig(optimizer="sgd")
    with pytest.raises(UserError):
        RandomFilterFeatures(1, scales=(4,))
    with pytest.raises(UserError):
        ModelFeatures(load_model("zoo:lecture_cnn"), ["conv7"])
