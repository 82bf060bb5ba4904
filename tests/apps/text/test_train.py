"""train(): the run folder, the best epoch kept, the checkpoint's contents, tokens capped per sentence."""

from __future__ import annotations

import torch

from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.data import TextData
from filterkit.apps.text.train import split_dev, train

from .conftest import FAST_CONFIG, synthetic_sentences


def _data(n: int = 160) -> tuple[TextData, list[str]]:
    rows = synthetic_sentences(n)
    return TextData([t for _, t in rows], [int(y == "pos") for y, _ in rows]), ["neg", "pos"]


def test_run_folder_holds_the_best_epoch_with_the_ngram_model(trained_run):
    assert sorted(p.name for p in trained_run.iterdir()) == ["best.pt", "last.pt", "metrics.csv", "report.json"]
    best = torch.load(trained_run / "best.pt", weights_only=True)
    last = torch.load(trained_run / "last.pt", weights_only=True)
    assert best["config"]["variant"] == "rand" and best["label_names"] == ["negative", "positive"]
    assert best["config"]["vocab"]["tokens"][0] != "<pad>"  # specials are implicit
    assert "ngram_model" in best["extra"] and "ngram_model" not in last["extra"]
    epochs = [row["val_accuracy"] for row in best["history"]]
    assert best["early_stopping"]["best_value"] == max(epochs)


def test_train_without_folder_keeps_best_dev_epoch():
    data, classes = _data()
    trained = train(TextConfig(**{**FAST_CONFIG, "ngrams": 0}), data, classes, seed=0, device="cpu", progress=False)
    assert trained.ngram is None and trained.trainer.run_folder is None
    scores = [row["val_accuracy"] for row in trained.history]
    assert trained.best_epoch == scores.index(max(scores)) + 1


def test_tokens_are_capped_per_sentence():
    data, classes = _data(80)
    data.texts[0] = "great " * 100_000
    cfg = TextConfig(**{**FAST_CONFIG, "epochs": 1, "ngrams": 0, "max_tokens": 30})
    trained = train(cfg, data, classes, seed=0, device="cpu", progress=False)
    assert [len(t) for t in trained.tokens([data.texts[0], "a b"])] == [30, 2]
    assert max(len(ids) for ids in trained.encode(data.texts)) == 30


def test_split_dev_is_stratified():
    data, _ = _data(100)
    train_part, dev = split_dev(data, 0.2, seed=0)
    assert len(dev) == 20 and sorted(dev.labels).count(1) == 10 and len(train_part) == 80
