"""load / predict / evaluate: a checkpoint alone reproduces the model; bad checkpoints are one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from filterkit.apps.text.data import TextData
from filterkit.apps.text.evaluate import cnn_proba, evaluate, load, predict, predict_parts, predict_proba
from filterkit.errors import UserError


def test_load_folder_or_file_gives_the_same_model(trained_run):
    a, b = load(trained_run), load(trained_run / "best.pt")
    assert a.classes == ["negative", "positive"] and a.ngram is not None and a.config.widths == [2, 3]
    texts = ["a great film", "an awful plot"]
    assert (predict_proba(a, texts) == predict_proba(b, texts)).all()
    probs, cnn, ngram = predict_parts(a, texts)
    assert probs.shape == cnn.shape == ngram.shape == (2, 2)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5) and (cnn == cnn_proba(a, texts)).all()


def test_predict_and_evaluate(trained_run):
    trained = load(trained_run)
    results = predict(trained, ["the movie was awful", "a great film"])
    assert [r["label"] for r in results] == ["negative", "positive"]
    assert list(results[1]["probabilities"])[0] == "positive"
    figures = evaluate(trained, TextData(["a great film", "a boring story", "superb"], [1, 0, 1]))
    assert figures["n"] == 3 and figures["accuracy"] == 1.0 and figures["recall"] == {"negative": 1.0, "positive": 1.0}


def test_last_checkpoint_is_the_cnn_alone(trained_run):
    last = load(trained_run / "last.pt")
    assert last.ngram is None
    assert (predict_proba(last, ["a great film"]) == cnn_proba(last, ["a great film"])).all()


def test_checkpoint_without_config_is_refused(trained_run, tmp_path):
    ckpt = torch.load(trained_run / "best.pt", weights_only=True)
    del ckpt["config"]
    torch.save(ckpt, tmp_path / "noconfig.pt")
    with pytest.raises(UserError, match="without its config"):
        load(tmp_path / "noconfig.pt")
    with pytest.raises(UserError, match="without best.pt"):
        load(tmp_path)
