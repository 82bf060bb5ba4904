"""SpeechConfig: a plain dict in checkpoints, rebuilt on load; older checkpoints' dicts still read."""

from __future__ import annotations

import json

import pytest

from filterkit.apps.speech.config import AugmentConfig, FeatureConfig, SpeechConfig


def test_round_trip_through_plain_json():
    config = SpeechConfig(model="trad-fpool3", model_options={"filters": (16, 16)}, mix=0.5,
                          features=FeatureConfig(n_mels=32), augment=AugmentConfig.off(), seed=3)
    data = json.loads(json.dumps(config.to_dict()))  # plain types only
    again = SpeechConfig.from_dict(data)
    assert again.features == config.features and again.augment == config.augment
    assert (again.model, again.mix, again.seed, again.cepstral) == ("trad-fpool3", 0.5, 3, True)
    assert not SpeechConfig().cepstral  # mix 1: the CNN alone


def test_older_dicts_cepstral_weight_becomes_the_cnns():
    data = SpeechConfig().to_dict()
    del data["mix"]
    data["cepstral_mix"] = 0.3  # before: the head's weight
    assert SpeechConfig.from_dict(data).mix == pytest.approx(0.7)


@pytest.mark.parametrize("mix", [0.0, 1.5, -0.1])
def test_mix_out_of_range_is_refused(mix):
    with pytest.raises(ValueError, match="mix"):
        SpeechConfig(mix=mix)


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown settings: colour"):
        SpeechConfig.from_dict({**SpeechConfig().to_dict(), "colour": 1})
