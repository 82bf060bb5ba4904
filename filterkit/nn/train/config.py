"""What a training run is asked to do, as plain data: :class:`TrainConfig` (and :class:`EarlyStopping`).

Objects that are code, not data (model, optimizer, loss, scheduler, metric functions, ``after_step``)
are given to the :class:`~filterkit.nn.train.Trainer` itself; everything else lives here.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["EarlyStopping", "TrainConfig"]

_AMP_NAMES = ("bf16", "bfloat16", "fp16", "float16")


@dataclass(frozen=True)
class EarlyStopping:
    """Track ``metric``; stop after ``patience`` epochs in a row without improvement (None: never stop).

    metric: a history key such as ``"val_accuracy"`` or ``"val_loss"``.
    mode: ``"max"`` or ``"min"``.  min_delta: smallest change that counts.
    """

    metric: str = "val_loss"
    mode: str = "min"
    patience: int | None = 5
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise ValueError(f"early stopping mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"early stopping patience must be >= 0 or None, got {self.patience}")

    def improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return not math.isnan(value)
        if self.mode == "max":
            return value > best + self.min_delta
        return value < best - self.min_delta

    def should_stop(self, bad_epochs: int) -> bool:
        return self.patience is not None and bad_epochs >= self.patience


@dataclass(frozen=True)
class TrainConfig:
    """Options of one training run (plain data: ``to_dict()`` goes into reports).

    epochs:
        Total epochs, counting epochs done before a resume.
    monitor, mode, min_delta:
        The history key that decides the best epoch (e.g. ``"val_accuracy"``; None: the best epoch is
        the last one), ``"max"`` or ``"min"`` (None: ``"min"`` for a key containing ``loss``, else
        ``"max"``), and the smallest change that counts as better.
    patience:
        Stop after this many epochs in a row without improvement of ``monitor``; None: never stop early.
    keep_best:
        After :meth:`Trainer.fit`, load the weights of the best epoch (needs ``monitor``).  Together with
        ``patience=None`` this trains every epoch and keeps the best one.
    device, amp, channels_last, threads:
        ``"auto"``/``"cpu"``/``"cuda"``/``"cuda:N"``; mixed precision on CUDA (``True``: bf16 where
        supported, else fp16 + GradScaler; ``"bf16"``/``"fp16"`` force one; off on CPU); 4-D weights and
        batches channels-last (None: where AMP is on and the model has a ``Conv2d``); torch CPU threads
        (None: :func:`~filterkit.nn.train.configure_threads`' default; ignored on CUDA).
    seed:
        Seed of the distributed sampler's shuffling.
    scheduler_interval:
        The LR scheduler is stepped every ``"epoch"`` or every ``"step"``.  ``ReduceLROnPlateau`` is
        stepped with ``monitor`` (or ``val_loss``).
    grad_clip:
        Max global gradient norm (None: no clipping).
    out_dir, force, resume:
        The run folder (:class:`~filterkit.nn.train.RunFolder`: ``best.pt``, ``last.pt``,
        ``metrics.csv``, ``report.json``; None writes nothing); overwrite an earlier run's files there;
        a checkpoint (e.g. ``OUT/last.pt``) to continue from.
    progress, log_every, tensorboard:
        tqdm bars and a one-line summary per epoch on stderr (rank 0); the running loss every
        ``log_every`` steps; TensorBoard logs in ``out_dir/tensorboard`` when it is installed.
    """

    epochs: int = 10
    monitor: str | None = None
    mode: str | None = None
    patience: int | None = None
    min_delta: float = 0.0
    keep_best: bool = False
    device: str = "auto"
    amp: bool | str = True
    channels_last: bool | None = None
    threads: int | None = None
    seed: int = 0
    scheduler_interval: str = "epoch"
    grad_clip: float | None = None
    out_dir: str | None = None
    force: bool = False
    resume: str | None = None
    progress: bool = True
    log_every: int = 10
    tensorboard: bool = True

    def __post_init__(self) -> None:
        def normalise(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if isinstance(self.device, torch.device):
            normalise("device", str(self.device))
        for name in ("out_dir", "resume"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                normalise(name, os.fspath(value))
        if self.monitor is not None and self.mode is None:
            normalise("mode", "min" if "loss" in self.monitor else "max")
        if int(self.epochs) < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if self.mode is not None and self.mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"patience must be >= 0 or None (never stop early), got {self.patience}")
        if self.monitor is None and (self.patience is not None or self.keep_best):
            raise ValueError("patience and keep_best need a monitored metric (monitor='val_accuracy', ...)")
        if self.scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {self.scheduler_interval!r}")
        if not isinstance(self.amp, (bool, type(None))) and str(self.amp).lower() not in _AMP_NAMES:
            raise ValueError(f"amp must be True, False, 'bf16' or 'fp16', got {self.amp!r}")

    # ------------------------------------------------------------------ views

    def early_stopping(self) -> EarlyStopping | None:
        """The monitored metric as an :class:`EarlyStopping` (None when nothing is monitored)."""
        if self.monitor is None:
            return None
        return EarlyStopping(self.monitor, self.mode, self.patience, self.min_delta)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes``; accepts the Trainer's older keyword names too (see :meth:`from_keywords`)."""
        return TrainConfig.from_keywords(self, **changes)

    @classmethod
    def from_keywords(cls, base: TrainConfig | None = None, **keywords: Any) -> TrainConfig:
        """``base`` (default: the defaults) with ``keywords`` applied.

        Besides the field names this takes the Trainer's older keywords: ``max_epochs`` (= ``epochs``)
        and ``early_stopping`` (``(metric, mode, patience)``, an :class:`EarlyStopping` or None).
        """
        changes = dict(keywords)
        if "max_epochs" in changes:
            changes["epochs"] = changes.pop("max_epochs")
        if "early_stopping" in changes:
            es = changes.pop("early_stopping")
            if isinstance(es, (tuple, list)):
                es = EarlyStopping(*es)
            if es is None:
                changes.update(monitor=None, mode=None, patience=None)
            else:
                changes.update(monitor=es.metric, mode=es.mode, patience=es.patience, min_delta=es.min_delta)
        if "monitor" in changes and "mode" not in changes:
            changes["mode"] = None  # inferred again from the new metric's name
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown training option(s) {', '.join(unknown)}; TrainConfig takes {sorted(names)}")
        return dataclasses.replace(base or cls(), **changes)
