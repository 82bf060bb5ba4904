"""Tests for filterkit.visualize.dream."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.errors import UserError
from filterkit.visualize.common import load_image, load_model
from filterkit.visualize.config import DreamConfig
from filterkit.visualize.dream import deep_dream


def test_dream_raises_the_layer_objective_in_range_and_repeatable():
    vm = load_model("zoo:lecture_cnn", seed=0)
    image = load_image("skimage:camera", size=48)
    cfg = DreamConfig(octaves=3, steps=6, lr=0.01)
    a = deep_dream(vm, image, "conv2", cfg, seed=0)
    b = deep_dream(vm, image, "conv2", cfg, seed=0)
    assert a.image.shape == (1, 48, 48)
    assert np.isfinite(a.image).all() and a.image.min() >= 0 and a.image.max() <= 1
    assert a.final_objective > 1.5 * a.start_objective
    assert [s[0] for s in a.octave_sizes] == sorted(s[0] for s in a.octave_sizes) and a.octave_sizes[-1] == (48, 48)
    np.testing.assert_array_equal(a.image, b.image)


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError):
        DreamConfig(octave_scale=1.0)
