"""Tests for filterkit.apps.digits.config: one dataclass, validated, round-tripped through plain data."""

from __future__ import annotations

import json

import pytest
from filterkit.apps.digits.config import DigitsConfig

from filterkit.errors import UserError


def test_config_rejects_unknown_variant_and_bad_numbers():
    with pytest.raises(UserError, match="unknown variant 'sobel'"):
        DigitsConfig(variants=("learned", "sobel"))
    with pytest.raises(UserError, match="--epochs"):
        DigitsConfig(epochs=0)
    with pytest.raises(UserError, match="--lr"):
        DigitsConfig(lr=0.0)


def test_config_round_trips_through_plain_json():
    config = DigitsConfig(epochs=3, seeds=(4, 1), variants=("fixed",), lr=1e-3, threads=2)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["seeds"] == [4, 1] and data["model"] == "lecture_cnn"
    assert DigitsConfig.from_dict({**data, "variant": "fixed", "seed": 4}) == config
    with pytest.raises(UserError, match="--threads"):
        DigitsConfig(threads=0)
    assert DigitsConfig().threads is None  # the training engine's default
