"""Train the policy network on prepared splits with the shared engine (:mod:`filterkit.nn.train`).

``train(data, out, config)`` writes the run folder ``out``: ``best.pt`` (the epoch with the best
validation top-1, or training top-1 when there is no validation split), ``last.pt``,
``metrics.csv`` and ``report.json``.  Checkpoints hold ``config.to_dict()`` (see
:mod:`filterkit.apps.go.config`) and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler

from filterkit.errors import UserError
from filterkit.nn.train import TrainConfig, Trainer, accuracy, seed_everything

from filterkit.apps.go.config import MODEL_KEYS, GoConfig
from filterkit.apps.go.data import PositionBatches, open_positions, position_loader, read_info
from filterkit.apps.go.model import APP, build, load
from filterkit.apps.go.ownership import OwnershipBatches, heads_loss, heads_metrics, read_labels

__all__ = ["train", "top5"]


def top5(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose target is among the 5 highest logits."""
    return (outputs.topk(5, dim=1).indices == targets[:, None]).any(dim=1).to(torch.float64).mean()


def _start_from(model: torch.nn.Module, init: str | Path, config: GoConfig) -> None:
    """Load ``init``'s weights; a net without heads may start a run that adds them (the heads start fresh)."""
    start, start_config = load(init)
    for key in MODEL_KEYS:
        if key == "heads" and config.heads:
            continue
        if getattr(start_config, key) != getattr(config, key):
            raise UserError(f"{init}: its {key} is {getattr(start_config, key)!r}, "
                            f"this run's is {getattr(config, key)!r}")
    model.load_state_dict(start.state_dict(), strict=start_config.heads == config.heads)


def _datasets(config: GoConfig, data: Path, train_pos, val_pos):
    """Training and validation datasets: all positions, or with --heads those of games with ownership labels."""
    if not config.heads:
        val = PositionBatches(val_pos, config.features) if val_pos is not None else None
        return PositionBatches(train_pos, config.features, augment=config.augment, seed=config.seed), val
    labels = read_labels(data / config.train_split)
    if labels is None or not labels[1].any():
        raise UserError(f"{data / config.train_split}: no ownership labels; prepare with --ownership-games N "
                        "to train the heads")
    train_ds = OwnershipBatches(train_pos, labels, config.features, augment=config.augment, seed=config.seed)
    val_labels = read_labels(data / config.val_split) if val_pos is not None else None
    val_ds = None
    if val_labels is not None and val_labels[1].any():
        val_ds = OwnershipBatches(val_pos, val_labels, config.features)
    return train_ds, val_ds


def _loaders(config: GoConfig, train_ds, val_ds, generator: torch.Generator):
    n_epoch = min(config.epoch_positions or len(train_ds), len(train_ds))
    train_loader = position_loader(
        train_ds, BatchSampler(RandomSampler(range(len(train_ds)), num_samples=n_epoch, generator=generator),
                               config.batch_size, drop_last=False), config.workers, generator)
    val_loader = None
    if val_ds is not None:
        n_val = min(config.val_positions or len(val_ds), len(val_ds))
        # an evenly spaced fixed subset: the same positions every epoch
        subset = np.linspace(0, len(val_ds) - 1, n_val).astype(np.int64).tolist()
        val_loader = position_loader(val_ds, BatchSampler(subset, config.batch_size * 4, False))
    return train_loader, val_loader, n_epoch


def train(data: str | Path, out: str | Path, config: GoConfig | None = None, *, device: str = "auto",
          progress: bool = True, resume: str | Path | None = None, init: str | Path | None = None,
          force: bool = False) -> dict:
    """Train on the prepared splits under ``data``; write the run folder ``out``; return the report.

    ``force``: overwrite an earlier run's files in ``out`` (refused otherwise, unless resuming).
    ``config.size`` and the move statistics are taken from the training split.
    ``init``: a checkpoint whose weights start this run (same network fields;
    fresh optimiser and schedule: fine-tuning, e.g. a longer run at a lower lr).
    ``resume``: a ``last.pt`` to continue from (model, optimiser, epoch, RNG
    and data order restored by the Trainer); ``config.epochs`` is the total count.
    """
    data, out, config = Path(data), Path(out), config or GoConfig()
    train_info = read_info(data / config.train_split)
    config = dataclasses.replace(config, size=train_info["size"],
                                 move_counts=train_info["move_counts"], init=str(init) if init else None)
    train_pos = open_positions(data / config.train_split)
    val_dir = data / config.val_split
    val_pos = open_positions(val_dir) if (val_dir / "info.json").is_file() else None
    config.train_positions = len(train_pos)
    seed_everything(config.seed)
    model = build(config)
    if init:
        _start_from(model, init, config)
    if config.freeze_trunk:
        if not (config.heads and init):
            raise UserError("--freeze-trunk trains only the heads: it needs --heads and --init CKPT")
        model.freeze_trunk()
    generator = torch.Generator().manual_seed(config.seed)
    train_ds, val_ds = _datasets(config, data, train_pos, val_pos)
    train_loader, val_loader, n_epoch = _loaders(config, train_ds, val_ds, generator)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.lr_schedule == "cosine":  # decay to 0 over every step of the run
        total_steps = config.epochs * -(-n_epoch // config.batch_size)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    loss_fn, metrics = torch.nn.functional.cross_entropy, {"top1": accuracy, "top5": top5}
    monitor = "val_top1" if val_loader is not None else "train_top1"
    if config.heads:
        model.outputs = "all"
        loss_fn = heads_loss(config.ownership_weight, config.score_weight, policy=not config.freeze_trunk)
        metrics = heads_metrics()
        monitor = "val_loss" if val_loader is not None else "train_loss"
    run = TrainConfig(epochs=config.epochs, monitor=monitor, patience=None, device=device, seed=config.seed,
                      scheduler_interval="step", out_dir=str(out), force=force,
                      resume=str(resume) if resume else None, progress=progress, tensorboard=False)
    trainer = Trainer(model, optimizer, loss_fn, config=run, app=APP,
                      app_config=config.to_dict(), scheduler=scheduler, metrics=metrics)
    first_epoch = trainer.epoch
    start = time.perf_counter()
    try:
        trainer.fit(train_loader, val_loader)
    finally:
        trainer.close()
    seconds = time.perf_counter() - start
    seen = n_epoch * (trainer.epoch - first_epoch)
    report = {**trainer.summary(), "seconds": seconds, "train_positions_seen": seen,
              "positions_per_second": seen / seconds if seconds > 0 else None, "out": str(out),
              "device": str(trainer.device),
              "config": {k: v for k, v in config.to_dict().items() if k != "move_counts"}}
    trainer.write_report(report)
    return report
