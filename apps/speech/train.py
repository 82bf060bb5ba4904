"""Train speech classifiers through the shared training engine: one model (:func:`train`) or many folds.

:func:`train` fits a :class:`~filterkit.apps.speech.model.SpeechClassifier` from
scratch (one-cycle AdamW, label smoothing) and, when ``config.mix < 1``, the
cepstral head after it.  With ``out_dir`` the engine's run folder
(:class:`~filterkit.nn.train.RunFolder`) gets ``metrics.csv`` and ``last.pt`` per
epoch and ``report.json`` at the end; then ``last.pt`` and ``best.pt`` are written
again with the head (``best.pt``: the best validation epoch, or the last one when
there is no validation data).  The caller adds its figures with
``trainer.write_report(figures)``.

Folds (leave one speaker out, or one job per seed) go through
:func:`filterkit.batch.pool.fan_out`: :func:`run_folds`.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from filterkit.apps.speech.cepstral import fit_cepstral_head
from filterkit.apps.speech.config import SpeechConfig
from filterkit.apps.speech.data import ClipDataset, make_loader
from filterkit.apps.speech.evaluate import APP, evaluate
from filterkit.apps.speech.model import SpeechClassifier
from filterkit.batch.pool import fan_out
from filterkit.nn.train import RunFolder, TrainConfig, Trainer, accuracy, seed_everything

__all__ = ["train", "fit_and_evaluate", "run_folds", "loso_summary", "write_fold_run"]


def train(
    train_waves: list[np.ndarray],
    train_targets: list[int],
    labels: list[str],
    config: SpeechConfig,
    *,
    val_waves: list[np.ndarray] | None = None,
    val_targets: list[int] | None = None,
    noise: list[np.ndarray] | None = None,
    device: str = "auto",
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    extra: dict | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> Trainer:
    """Train a :class:`SpeechClassifier` from scratch; returns the engine's ``Trainer`` (best weights restored).

    ``out_dir``: the run folder (:class:`~filterkit.nn.train.RunFolder`; its files are refused unless
    ``force``).  ``extra``: plain data stored in the checkpoints next to the cepstral head (e.g. the data's
    path).  The app's figures go into ``report.json`` with ``trainer.write_report(figures)``.
    """
    seed_everything(config.seed)
    model = SpeechClassifier(config, len(labels))
    model.generator = torch.Generator().manual_seed(config.seed)
    train_ds = ClipDataset(train_waves, train_targets, model.frontend, train=True, augment=config.augment,
                           noise=noise, seed=config.seed)
    train_loader = make_loader(train_ds, config.batch_size, True, config.seed)
    val_loader = None
    if val_waves:
        val_loader = make_loader(ClipDataset(val_waves, val_targets, model.frontend), 256, False, 0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    smoothing = config.label_smoothing

    def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(outputs, targets, label_smoothing=smoothing)

    monitor = "val_accuracy" if val_loader is not None else None
    run = TrainConfig(
        epochs=config.epochs, monitor=monitor, patience=None,  # the one-cycle schedule runs every epoch
        device=device, threads=threads, seed=config.seed, scheduler_interval="step",
        out_dir=None if out_dir is None else str(out_dir), force=force, progress=progress, tensorboard=False,
    )
    trainer = Trainer(model, optimizer, loss_fn, config=run, app=APP, app_config=config.to_dict(),
                      label_names=labels, scheduler=scheduler, metrics={"accuracy": accuracy})
    trainer.fit(train_loader, val_loader)
    if config.cepstral:
        trainer.module.cepstral = fit_cepstral_head(train_waves, train_targets, len(labels), config.features,
                                                    config.mix, seed=config.seed)
    head = trainer.module.cepstral
    extra = {**(extra or {}), **({"cepstral": head.to_dict()} if head is not None else {})}
    folder = trainer.run_folder
    if folder is not None:  # the engine's checkpoints again, with the head (every rank calls; rank 0 writes)
        trainer.save_checkpoint(folder.last, extra=extra)
    trainer.restore_best()  # the best validation epoch (nothing to do without validation data)
    if folder is not None:
        trainer.save_checkpoint(folder.best, extra=extra)
    return trainer


def write_fold_run(out_dir: str | os.PathLike, rows: list[dict], report: dict, force: bool = False,
                   device: str | None = None) -> RunFolder:
    """The run folder of a fold run (no model kept): ``metrics.csv`` (one row per fold) and ``report.json``."""
    folder = RunFolder(out_dir, force)
    folder.set_metrics([{k: r[k] for k in ("seed", "speaker", "accuracy", "n", "train_s")} for r in rows])
    folder.write_report(report, device=device)
    return folder


def fit_and_evaluate(job: dict) -> dict:
    """Train on a fold's training side and score its test side; picklable for a process pool.

    ``job``: train_waves, train_targets, test_waves, test_clips, labels, config (a dict),
    noise, threads.  Returns :func:`~filterkit.apps.speech.evaluate.evaluate`'s result plus
    ``train_s`` (seconds of training).
    """
    config = SpeechConfig.from_dict(job["config"])
    start = time.perf_counter()
    trainer = train(job["train_waves"], job["train_targets"], job["labels"], config, noise=job["noise"],
                    device="cpu", progress=False, threads=job.get("threads", 1))
    seconds = time.perf_counter() - start
    result = evaluate(trainer.module, job["test_waves"], job["test_clips"], job["labels"])
    result["train_s"] = seconds
    return result


def run_folds(jobs: list[dict], workers: int = 1) -> Iterator[tuple[int, dict]]:
    """``(job_index, result)`` of :func:`fit_and_evaluate` as jobs finish, in ``workers`` processes."""
    return fan_out(fit_and_evaluate, jobs, workers)


def loso_summary(rows: list[dict], seeds: list[int]) -> dict[str, Any]:
    """Mean, worst speaker, spreads of leave-one-speaker-out ``rows`` (``speaker``, ``seed``, ``accuracy``)."""
    per_seed = [statistics.fmean(r["accuracy"] for r in rows if r["seed"] == s) for s in seeds]
    accs = [r["accuracy"] for r in rows]
    speakers = list(dict.fromkeys(r["speaker"] for r in rows))
    fold_means = {spk: statistics.fmean(r["accuracy"] for r in rows if r["speaker"] == spk) for spk in speakers}
    return {
        "mean": statistics.fmean(accs),
        "min": min(fold_means.values()),
        "std": statistics.pstdev(accs),
        "per_speaker_mean": fold_means,
        "seed_means": per_seed,
        "seed_std": statistics.pstdev(per_seed) if len(per_seed) > 1 else 0.0,
    }
