"""Protocols: fixed split figures, k-fold CV through the one process-pool fan-out."""

from __future__ import annotations

import numpy as np

from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.cv import cross_validate, fixed_split, fold_indices
from filterkit.apps.text.data import load_data

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
