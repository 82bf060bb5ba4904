"""load / predict / evaluate on a tiny untrained model saved through the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from filterkit.apps.speech.cepstral import fit_cepstral_head
from filterkit.apps.speech.config import AugmentConfig, SpeechConfig
from filterkit.apps.speech.data import Clip
from filterkit.apps.speech.evaluate import evaluate, load, predict
from filterkit.apps.speech.model import SpeechClassifier
from filterkit.errors import UserError
from filterkit.nn.train import Trainer

from .conftest import word


def _waves(n: int = 6) -> tuple[list[np.ndarray], list[int]]:
    return [word(k % 2, 0, k) for k in range(n)], [k % 2 for k in range(n)]


def _save(tmp_path, config: SpeechConfig, head=None, app_config=None):
    model = SpeechClassifier(config, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.functional.cross_entropy,
                      app="speech", app_config=config.to_dict() if app_config is None else app_config,
                      label_names=["a", "b"], device="cpu", progress=False, tensorboard=False)
    extra = {"cepstral": head.to_dict()} if head is not None else {}
    return trainer.save_checkpoint(tmp_path / "m.pt", extra=extra), model


def test_load_predict_and_evaluate(tmp_path):
    config = SpeechConfig(model="fpool", augment=AugmentConfig.off(), mix=0.5)
    waves, targets = _waves()
    head = fit_cepstral_head(waves, targets, 2, config.features, config.mix)
    path, original = _save(tmp_path, config, head)
    model, ckpt = load(path)
    assert ckpt["label_names"] == ["a", "b"] and model.cepstral is not None and model.cepstral.mix == 0.5
    probs = predict(model, waves)
    assert probs.shape == (6, 2)
    np.testing.assert_allclose(probs.sum(dim=1).numpy(), 1.0, rtol=1e-5)
    cnn = predict(model, waves, cnn_only=True)
    np.testing.assert_allclose(cnn.numpy(), predict(original.eval(), waves, cnn_only=True).numpy(), rtol=1e-5)
    clips = [Clip(tmp_path / f"{k}.wav", "ab"[t], "s1" if k < 3 else "s2") for k, t in enumerate(targets)]
    result = evaluate(model, waves, clips, ["a", "b"])
    assert result["n"] == 6 and np.array(result["confusion"]).sum() == 6 and result["mix"] == 0.5
    assert set(result["per_speaker"]) == {"s1", "s2"} and 0 <= result["cnn_accuracy"] <= 1
    with pytest.raises(UserError, match="labels not known to the model: c"):
        evaluate(model, waves[:1], [Clip(tmp_path / "x.wav", "c")], ["a", "b"])


def test_load_refuses_checkpoints_without_config(tmp_path):
    _save(tmp_path, SpeechConfig(model="fpool"), app_config={})
    with pytest.raises(UserError, match="has no config"):
        load(tmp_path / "m.pt")
    with pytest.raises(UserError, match="best.pt: checkpoint not found"):
        load(tmp_path)  # a folder means its best.pt
