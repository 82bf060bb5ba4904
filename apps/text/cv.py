"""Evaluation protocols: a fixed train/dev/test split, or stratified k-fold cross-validation.

Cross-validation folds run in separate processes (``jobs`` at a time), each
with one torch thread: on a small CPU machine that is much faster than one
process with several threads.  Within each fold, 10% of the training part
(stratified) is the dev set used for early stopping.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from filterkit.apps.text.data import Corpus, TextData
from filterkit.apps.text.pipeline import TextConfig, TrainedText, predict_parts, train_text

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


def _run_fold(cfg_dict: dict, classes, data: TextData, fold: int, train_idx, test_idx, seed: int, device: str):
    from filterkit.nn.train import configure_threads

    configure_threads(1)
    cpu_start = time.process_time()
    cfg = TextConfig.from_dict(cfg_dict)
    train, test = data.subset(train_idx), data.subset(test_idx)
    trained = train_text(cfg, train, classes, None, test.texts, seed=seed + fold, device=device, progress=False)
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
    jobs = max(1, min(jobs or os.cpu_count() or 1, k))
    start = time.perf_counter()
    results = []
    bar = tqdm(total=k, desc=f"{corpus.name} {k}-fold", disable=not progress, dynamic_ncols=True)
    if jobs == 1:
        for fold, (tr, te) in enumerate(splits, 1):
            results.append(_run_fold(cfg.to_dict(), corpus.classes, data, fold, tr, te, seed, device))
            bar.update(1)
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a clean interpreter per worker (torch threads, no fork)
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = [
                pool.submit(_run_fold, cfg.to_dict(), corpus.classes, data, fold, tr, te, seed, device)
                for fold, (tr, te) in enumerate(splits, 1)
            ]
            for future in as_completed(futures):
                results.append(future.result())
                bar.update(1)
                bar.set_postfix(last=f"{results[-1]['accuracy']:.3f}")
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
    cfg: TextConfig, corpus: Corpus, seed: int = 0, device: str = "auto", progress: bool = True
) -> tuple[TrainedText, dict]:
    """Train on ``train`` (dev: the given one or 10% of train), report dev and test accuracy."""
    train, dev, test = corpus.parts["train"], corpus.parts.get("dev"), corpus.parts["test"]
    unlabelled = test.texts
    trained = train_text(cfg, train, corpus.classes, dev, unlabelled, seed=seed, device=device, progress=progress)
    accuracy, seconds, parts = _evaluate(trained, test, "test_")
    report = {**_summary(trained), "test_accuracy": accuracy, **parts,
              "predict_sentences_per_second": len(test) / max(seconds, 1e-9)}
    return trained, report
