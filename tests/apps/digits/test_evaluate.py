"""Tests for filterkit.apps.digits.evaluate: load a checkpoint, predict, evaluate."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.apps.digits.config import DigitsConfig
from filterkit.apps.digits.data import load_builtin_digits
from filterkit.apps.digits.evaluate import evaluate, load, predict
from filterkit.apps.digits.train import train

from filterkit.errors import UserError


def test_loaded_checkpoint_predicts_and_scores_like_the_trained_model(tmp_path):
    data = load_builtin_digits().limit(192)
    trainer = train(data, DigitsConfig(epochs=1, batch_size=32, device="cpu", threads=1), "fixed", seed=1,
                    out=tmp_path / "run")
    trainer.close()
    model, config = load(tmp_path / "run" / "last.pt")
    assert config.epochs == 1 and config.batch_size == 32
    scores = evaluate(model, data)
    assert scores["n"] == len(data.test_labels)
    assert scores["accuracy"] == pytest.approx(trainer.history[-1]["val_accuracy"])
    assert scores["loss"] == pytest.approx(trainer.history[-1]["val_loss"], rel=1e-5)
    labels = predict(model, data.test_images)
    assert labels.shape == data.test_labels.shape and labels.dtype == np.int64
    assert np.mean(labels == data.test_labels) == pytest.approx(scores["accuracy"])


def test_load_refuses_another_apps_checkpoint(tmp_path):
    torch.save({"format": 1, "app": "text", "model": {}, "config": {"x": 1}}, tmp_path / "t.pt")
    with pytest.raises(UserError):
        load(tmp_path / "t.pt")
