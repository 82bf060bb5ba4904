"""Train the lecture CNN on digits through the shared engine (:mod:`filterkit.nn.train`): :func:`train`.

    >>> from filterkit.apps.digits.data import load_digits_data
    >>> trainer = train(load_digits_data("builtin"), DigitsConfig(epochs=1), out="runs/digits")

The recipe: Adam over the trainable parameters with a one-cycle (or constant)
learning rate, batches from :func:`filterkit.apps.digits.data.make_loaders`
(pixels / 255 normalised with the MNIST mean and std).  The test set is
evaluated after every epoch and never used to choose anything (the last epoch
is the model).  With ``out`` the run folder holds ``best.pt``, ``last.pt``,
``metrics.csv`` and ``report.json``; the checkpoint's ``config`` is
:meth:`DigitsConfig.to_dict` plus ``variant``, ``seed`` and ``data``, so
:func:`filterkit.visualize.load_model` and :func:`filterkit.apps.digits.evaluate.load`
can rebuild the network.
"""

from __future__ import annotations

import os

import torch
from filterkit.apps.digits.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LR,
    SCHEDULES,
    DigitsConfig,
)
from filterkit.apps.digits.data import DigitsData, make_loaders
from filterkit.apps.digits.model import build_variant

from filterkit.nn.train import TrainConfig, Trainer, accuracy

__all__ = ["APP", "make_optimizer", "train", "train_digits_cnn"]

#: The app name stored in checkpoints.
APP = "digits"
LABEL_NAMES = [str(i) for i in range(10)]


def make_optimizer(model, lr: float, epochs: int, steps_per_epoch: int, schedule: str = "onecycle"):
    """``(optimizer, scheduler, interval)``: Adam over the trainable parameters and its LR schedule.

    ``"onecycle"``: :class:`torch.optim.lr_scheduler.OneCycleLR` with peak ``lr``
    over ``epochs * steps_per_epoch`` steps (interval ``"step"``); ``"constant"``:
    no scheduler.
    """
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    if schedule == "constant":
        return optimizer, None, "epoch"
    if schedule == "onecycle":
        total = max(1, int(epochs) * int(steps_per_epoch))
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total), "step"
    raise ValueError(f"unknown schedule {schedule!r} (choose from {', '.join(SCHEDULES)})")


def train(
    data: DigitsData,
    config: DigitsConfig | None = None,
    variant: str = "learned",
    seed: int = 0,
    *,
    out: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
) -> Trainer:
    """Train one ``variant`` with one ``seed``; returns the :class:`~filterkit.nn.train.Trainer` after ``fit``.

    ``trainer.history`` holds one row per epoch (``val_accuracy`` / ``val_loss`` are on the test set);
    ``trainer.module`` is the trained network.  ``out``: the run folder (refused if it holds an earlier
    run's files, unless ``force``).
    """
    config = config or DigitsConfig()
    model = build_variant(variant, seed)
    train_loader, test_loader = make_loaders(data, config.batch_size, seed)
    optimizer, scheduler, interval = make_optimizer(
        model, config.lr, config.epochs, len(train_loader), config.schedule
    )
    run = TrainConfig(epochs=config.epochs, device=config.device, threads=config.threads, seed=seed,
                      scheduler_interval=interval, out_dir=None if out is None else os.fspath(out), force=force,
                      progress=progress, tensorboard=False)
    trainer = Trainer(
        model, optimizer, torch.nn.functional.cross_entropy, config=run, app=APP,
        app_config={**config.to_dict(), "variant": variant, "seed": int(seed), "data": data.name},
        label_names=LABEL_NAMES, scheduler=scheduler, metrics={"accuracy": accuracy},
    )
    trainer.fit(train_loader, test_loader)
    return trainer


def train_digits_cnn(data: DigitsData, epochs: int = 1, seed: int = 0, lr: float | None = None,
                     batch_size: int | None = None, device: str = "auto", progress: bool = False) -> Trainer:
    """The ``learned`` lecture CNN trained with the default recipe (used by ``filterkit visualize train``)."""
    config = DigitsConfig(
        epochs=epochs, seeds=(seed,), variants=("learned",), device=device,
        lr=DEFAULT_LR if lr is None else lr, batch_size=DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
    )
    return train(data, config, "learned", seed, progress=progress)
