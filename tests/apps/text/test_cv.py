"""Protocols: fixed split figures, k-fold CV through the one process-pool fan-out."""

from __future__ import annotations

import numpy as np
import pytest

from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.cv import cross_validate, fixed_split, fold_indices
from filterkit.apps.text.data import TextData, load_data
from filterkit.apps.text.train import split_dev
from filterkit.errors import UserError

from .conftest import FAST_CONFIG, write_split


def test_fold_indices_are_stratified_and_cover_everything():
    labels = [0, 1] * 10
    folds = fold_indices(labels, 5, seed=0)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(20))
    assert all(np.bincount(np.asarray(labels)[te]).tolist() == [2, 2] for _, te in folds)


def test_fixed_split_report(tmp_path):
    corpus = load_data(str(write_split(tmp_path)))
    trained, report = fixed_split(TextConfig(**FAST_CONFIG), corpus, seed=0, device="cpu", progress=False)
    assert {"dev_accuracy", "test_accuracy", "train_sentences_per_second", "best_epoch"} <= set(report)
    assert report["test_accuracy"] >= 0.8 and trained.history[-1]["epoch"] == report["epochs"]
    assert {"cnn_test_accuracy", "ngram_test_accuracy", "mix"} <= set(report)


def test_cross_validate_in_process(label_text_file):
    corpus = load_data(str(label_text_file))
    cfg = TextConfig(**{**FAST_CONFIG, "ngrams": 0})
    result = cross_validate(cfg, corpus, 2, seed=0, jobs=1, device="cpu", progress=False)
    assert [f["fold"] for f in result["folds"]] == [1, 2] and result["jobs"] == 1
    assert 0.8 <= result["mean"] <= 1.0 and "mix" not in result["folds"][0] and "cnn_mean" not in result


def test_split_dev_of_small_data_keeps_every_class_on_both_sides():
    """10% of 10 examples is 1 dev example, fewer than the 2 classes a stratified split needs: dev grows."""
    for n, classes in ((10, 2), (15, 3), (6, 3)):
        data = TextData([f"s{i}" for i in range(n)], [i % classes for i in range(n)])
        train_part, dev = split_dev(data, 0.1, seed=0)
        assert sorted(set(dev.labels)) == sorted(set(train_part.labels)) == list(range(classes))
        assert len(train_part) + len(dev) == n
    # a class with one example: a plain (unstratified) split, still both sides non-empty
    train_part, dev = split_dev(TextData(["a", "b", "c"], [0, 0, 1]), 0.1, seed=0)
    assert len(dev) == 1 and len(train_part) == 2


def test_split_dev_of_one_example_is_a_user_error():
    with pytest.raises(UserError, match="at least 2"):
        split_dev(TextData(["a"], [0]), 0.1, seed=0)


def test_cross_validate_20_examples_2_folds(tmp_path):
    """Each fold trains on 10 examples: its 10% dev split once failed in scikit-learn (test_size 1 < 2 classes)."""
    path = tmp_path / "few.txt"
    rows = [("pos" if i % 2 else "neg", f"word{i % 2} filler {i}") for i in range(20)]
    path.write_text("".join(f"{y} {t}\n" for y, t in rows), encoding="utf-8")
    corpus = load_data(str(path))
    cfg = TextConfig(**{**FAST_CONFIG, "ngrams": 0, "epochs": 1})
    result = cross_validate(cfg, corpus, 2, seed=0, jobs=1, device="cpu", progress=False)
    assert [f["fold"] for f in result["folds"]] == [1, 2]
