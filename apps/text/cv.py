"""Evaluation protocols: a fixed train/dev/test split, or stratified k-fold cross-validation.

Cross-validation folds run in separate processes (``jobs`` at a time, through
:func:`filterkit.batch.pool.fan_out`), each with one torch thread.  Within each
fold, 10% of the training part (stratified) is the dev set used for early stopping.
"""

from __future__ import annotations

import os
import time

import numpy as np

from filterkit.batch.pool import fan_out, usable_cores
from filterkit.nn.train import configure_threads

from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.data import Corpus, TextData
from filterkit.apps.text.evaluate import predict_parts
from filterkit.apps.text.model import TrainedText
from filterkit.apps.text.train import train

__all__ = ["cross_validate", "fixed_split", "fold_indices"]


def fold_indices(labels: list[int], k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified ``(train_indices, test_indices)`` for each of ``k`` folds."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels))


def _evaluate(trained: TrainedText, data: TextData, prefix: str = "") -> tuple[float, float, dict]:
    """``(accuracy, seconds, parts)``: the prediction is timed; ``parts`` (when mixed) holds the accuracy of
    the CNN alone and of the n-gram model alone, and the mixing weight."""
    start = time.perf_counter()
    probs, cnn, ngram = predict_parts(trained, data.texts)
    seconds = time.perf_counter() - start
    parts = {}
    if ngram is not None:
        parts = {f"cnn_{prefix}accuracy": _accuracy(cnn, data), f"ngram_{prefix}accuracy": _accuracy(ngram, data),
                 "mix": trained.ngram.mix, "ngram_c": trained.ngram.c, "ngram_features": len(trained.ngram.ngrams)}
    return _accuracy(probs, data), seconds, parts


def _accuracy(probs: np.ndarray, data: TextData) -> float:
    return float((probs.argmax(axis=1) == np.asarray(data.labels)).mean())


def _summary(trained: TrainedText) -> dict:
    """Training figures; ``dev_accuracy`` is the CNN's at its best epoch (the dev data also chose the mix)."""
    best = trained.best_epoch or len(trained.history)
    return {
        "dev_accuracy": float(trained.history[best - 1]["val_accuracy"]) if trained.history else float("nan"),
        "epochs": len(trained.history),
        "best_epoch": best,
        "train_seconds": trained.train_seconds,
        "train_sentences_per_second": trained.train_sentences / max(trained.train_seconds, 1e-9),
    }


def _run_fold(job: tuple) -> dict:
    """One fold: ``job = (cfg_dict, classes, data, fold, train_idx, test_idx, seed, device)``."""
    cfg_dict, classes, data, fold, train_idx, test_idx, seed, device = job
    configure_threads(1)
    cpu_start = time.process_time()
    cfg = TextConfig.from_dict(cfg_dict)
    train_part, test = data.subset(train_idx), data.subset(test_idx)
    trained = train(cfg, train_part, classes, None, test.texts, seed=seed + fold, device=device, progress=False)
    accuracy, seconds, parts = _evaluate(trained, test)
    return {"fold": fold, "accuracy": accuracy, **parts, **_summary(trained),
            "predict_sentences_per_second": len(test) / max(seconds, 1e-9),
            "cpu_seconds": time.process_time() - cpu_start}  # CPU time of this fold's process (load-independent)


def cross_validate(
    cfg: TextConfig,
    corpus: Corpus,
    k: int,
    seed: int = 0,
    jobs: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict:
    """k-fold CV over ``corpus.parts["all"]`` (or all parts pooled); folds in ``jobs`` processes.

    Returns ``{"folds": [{"fold", "accuracy", ...}], "mean", "std", "seconds"}``.
    """
    from tqdm.auto import tqdm

    data = corpus.parts.get("all") or TextData(
        [t for p in corpus.parts.values() for t in p.texts], [y for p in corpus.parts.values() for y in p.labels]
    )
    splits = fold_indices(data.labels, k, seed)
    jobs = max(1, min(jobs or usable_cores(), k))
    start = time.perf_counter()
    work = [(cfg.to_dict(), corpus.classes, data, fold, tr, te, seed, device) for fold, (tr, te) in enumerate(splits, 1)]
    results = []
    bar = tqdm(total=k, desc=f"{corpus.name} {k}-fold", disable=not progress, dynamic_ncols=True)
    for _, result in fan_out(_run_fold, work, jobs):  # spawn: a clean interpreter per worker (torch threads)
        results.append(result)
        bar.update(1)
        bar.set_postfix(last=f"{result['accuracy']:.3f}")
    bar.close()
    results.sort(key=lambda r: r["fold"])
    accuracies = np.array([r["accuracy"] for r in results])
    parts = {f"{name}_mean": float(np.mean([r[f"{name}_accuracy"] for r in results]))
             for name in ("cnn", "ngram") if all(f"{name}_accuracy" in r for r in results)}
    return {
        "folds": results,
        "mean": float(accuracies.mean()),
        "std": float(accuracies.std(ddof=1)) if k > 1 else 0.0,
        **parts,
        "seconds": time.perf_counter() - start,
        "jobs": jobs,
    }


def fixed_split(
    cfg: TextConfig, corpus: Corpus, seed: int = 0, device: str = "auto", progress: bool = True,
    out: str | os.PathLike | None = None, force: bool = False,
) -> tuple[TrainedText, dict]:
    """Train on ``train`` (dev: the given one or 10% of train), report dev and test accuracy.

    ``out``, ``force``: the run folder of :func:`~filterkit.apps.text.train.train`.
    """
    train_part, dev, test = corpus.parts["train"], corpus.parts.get("dev"), corpus.parts["test"]
    trained = train(cfg, train_part, corpus.classes, dev, test.texts, seed=seed, device=device, progress=progress,
                    out=out, force=force)
    accuracy, seconds, parts = _evaluate(trained, test, "test_")
    report = {**_summary(trained), "test_accuracy": accuracy, **parts,
              "predict_sentences_per_second": len(test) / max(seconds, 1e-9)}
    return trained, report
