"""The training loop: :class:`Trainer` trains, evaluates, checkpoints and resumes one ``nn.Module``."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from filterkit.errors import UserError
from filterkit.io import atomic_write
from filterkit.nn.train import distributed, loaders
from filterkit.nn.train.checkpoint import (
    CHECKPOINT_FORMAT,
    RunFolder,
    check_plain,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from filterkit.nn.train.config import EarlyStopping, TrainConfig
from filterkit.nn.train.device import configure_threads, select_device
from filterkit.nn.train.loaders import call_model, to_device

__all__ = ["Trainer"]

MetricFn = Callable[[torch.Tensor, Any], "float | torch.Tensor"]
_AMP_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


def _train_config(config: Any, options: Mapping[str, Any]) -> TrainConfig:
    """The run's :class:`TrainConfig`: ``config`` (if one) with the keyword ``options`` applied.

    The keyword form (no TrainConfig) keeps its old behaviour of writing into ``out_dir`` without a
    refusal unless ``force`` is given.
    """
    if isinstance(config, TrainConfig):
        return config.replace(**options)
    options = dict(options)
    if options.get("out_dir") is not None:
        options.setdefault("force", True)
    return TrainConfig.from_keywords(**options)


def _plain_app_config(app_config: Any) -> dict:
    if app_config is None:
        return {}
    if dataclasses.is_dataclass(app_config) and not isinstance(app_config, type):
        return dataclasses.asdict(app_config)
    return dict(app_config)


class Trainer:
    """Train, evaluate, checkpoint and resume one ``nn.Module`` (see :mod:`filterkit.nn.train`).

    Parameters
    ----------
    model, optimizer, loss_fn:
        ``loss_fn(outputs, targets) -> scalar tensor`` (mean over the batch).
    config:
        A :class:`TrainConfig` (preferred).  Older callers pass the app's configuration here as a
        mapping: that still works and means ``app_config``.
    app:
        Name stored in checkpoints; :meth:`load_checkpoint` refuses another app's.
    app_config, label_names:
        Plain python data (or a dataclass of it) stored in checkpoints (checked here, not at save time).
    scheduler:
        LR scheduler, stepped per ``config.scheduler_interval``.
    metrics:
        ``{name: fn(outputs, targets) -> float}``, averaged over samples.
    after_step:
        ``fn(model)`` called under ``no_grad`` after each optimizer step (the bare model, not the DDP
        wrapper), e.g. a max-norm constraint.
    **options:
        Any :class:`TrainConfig` field, and the older ``max_epochs`` / ``early_stopping``; they fill
        (or override) the TrainConfig.

    Attributes: ``train_config`` (the :class:`TrainConfig`), ``config`` (the app's config dict, as saved),
    ``module`` (the bare model), ``model`` (the DDP wrapper under torchrun, else ``module``),
    ``run_folder`` (a :class:`RunFolder` or None), ``history``, ``epoch``, ``best_epoch``, ``stopped_early``.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Any, Any], torch.Tensor],
        *,
        config: TrainConfig | Mapping[str, Any] | None = None,
        app: str = "filterkit",
        app_config: Mapping[str, Any] | Any = None,
        label_names: Sequence[str] | None = None,
        scheduler: Any = None,
        metrics: Mapping[str, MetricFn] | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        **options: Any,
    ) -> None:
        if config is not None and not isinstance(config, TrainConfig):
            if app_config is not None:
                raise TypeError("config= is either a TrainConfig or (older form) the app's config; "
                                "got a second app config in app_config=")
            config, app_config = None, config
        cfg = self.train_config = _train_config(config, options)
        self.config = _plain_app_config(app_config)  # the app's configuration, saved in checkpoints
        check_plain(self.config, "config")
        self.label_names = list(label_names) if label_names is not None else None
        check_plain(self.label_names, "label_names")
        self.app = str(app)
        self.loss_fn, self.optimizer, self.scheduler = loss_fn, optimizer, scheduler
        self.metrics = dict(metrics or {})
        self.after_step = after_step
        self.early_stopping: EarlyStopping | None = cfg.early_stopping()
        self.max_epochs, self.scheduler_interval, self.grad_clip = int(cfg.epochs), cfg.scheduler_interval, cfg.grad_clip
        self.log_every, self.seed = max(1, int(cfg.log_every)), int(cfg.seed)
        self.out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None

        self.rank, self.world_size, self.local_rank = distributed.distributed_info()
        self.distributed = self.world_size > 1
        self.is_main = self.rank == 0
        self.progress = bool(cfg.progress) and self.is_main
        self.device = select_device(cfg.device)
        # refused before any work (and before joining a process group), on every rank alike
        self.run_folder = RunFolder(self.out_dir, cfg.force, resume=cfg.resume is not None) \
            if self.out_dir is not None else None
        if self.device.type == "cpu":
            configure_threads(cfg.threads)
        elif self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)
        if self.distributed:
            distributed.join_process_group(self.device)

        self.amp_dtype = self._amp_dtype(cfg.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        channels_last = cfg.channels_last
        if channels_last is None:  # auto: 2-D convolutions under autocast on CUDA (NHWC tensor-core kernels)
            channels_last = self.amp_dtype is not None and any(isinstance(m, nn.Conv2d) for m in model.modules())
        self.channels_last = bool(channels_last)
        # the bare model (checkpoints, after_step); self.model is the DDP wrapper under torchrun
        self.module = model.to(self.device, memory_format=torch.channels_last) if self.channels_last \
            else model.to(self.device)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model: nn.Module = nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        else:
            self.model = self.module

        self.epoch = 0  # completed epochs
        self.history: list[dict] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.best_state: dict | None = None
        self.stopped_early = False
        self._loader_generator: torch.Generator | None = None  # the training loader's own generator, if any
        self._pending_generator_state: torch.Tensor | None = None  # from a checkpoint, applied by fit()
        self._tb = self._open_tensorboard() if cfg.tensorboard else None
        if cfg.resume is not None:
            self.load_checkpoint(cfg.resume)

    # -------------------------------------------------------------- setup helpers

    def _amp_dtype(self, amp: bool | str | None) -> torch.dtype | None:
        if not amp or self.device.type != "cuda":
            return None
        if amp is True:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return _AMP_DTYPES[str(amp).lower()]

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def _open_tensorboard(self):
        if self.out_dir is None or not self.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter  # optional dependency
        except ImportError:  # tensorboard not installed: metrics.csv only
            return None
        return SummaryWriter(log_dir=str(self.out_dir / "tensorboard"))

    def _train_loader(self, loader):
        return loaders.train_loader(loader, self.device, self.rank, self.world_size, self.seed)

    def _eval_loader(self, loader):
        return loaders.eval_loader(loader, self.device, self.rank, self.world_size)

    # ------------------------------------------------------------------- training

    def _step(self, inputs: Any, targets: Any) -> tuple[Any, torch.Tensor]:
        with self._autocast():
            outputs = call_model(self.model, inputs)
            loss = self.loss_fn(outputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.after_step is not None:
            with torch.no_grad():
                self.after_step(self.module)
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        return outputs, loss

    def _run_epoch(self, loader, train: bool, desc: str) -> dict[str, float]:
        """One pass; returns sample-weighted mean loss and metrics (summed over processes)."""
        model = self.model if train else self.module  # evaluation shards may differ in length: no DDP collectives
        model.train(train)
        names = list(self.metrics)
        # summed on the device: no host sync per step
        sums = torch.zeros(1 + len(names), dtype=torch.float64, device=self.device)
        count = 0
        bar = tqdm(loader, desc=desc, disable=not self.progress, leave=False, dynamic_ncols=True)
        with torch.enable_grad() if train else torch.no_grad():
            for step, batch in enumerate(bar, 1):
                inputs, targets = loaders.split_batch(batch)
                inputs, targets = to_device(inputs, self.device, self.channels_last), to_device(targets, self.device)
                n = loaders.batch_size(inputs, targets)
                if train:
                    outputs, loss = self._step(inputs, targets)
                else:
                    with self._autocast():
                        outputs = call_model(model, inputs)
                        loss = self.loss_fn(outputs, targets)
                values = [loss.detach()]
                if names:
                    detached = outputs.detach().float() if isinstance(outputs, torch.Tensor) else outputs
                    values += [torch.as_tensor(self.metrics[m](detached, targets), device=self.device) for m in names]
                sums += torch.stack([v.to(torch.float64).reshape(()) for v in values]) * n
                count += n
                if self.progress and step % self.log_every == 0:
                    bar.set_postfix(loss=f"{sums[0].item() / count:.4f}", refresh=False)
        total = sums.tolist() + [float(count)]
        if self.distributed:
            total = distributed.all_sum(total, self.device)
        n_all = total[-1]
        if n_all == 0:
            raise ValueError(f"{desc}: the data loader gave no batches")
        if not math.isfinite(total[0]):
            raise FloatingPointError(
                f"{desc}: the loss is {total[0] / n_all}; training diverged (lower the learning rate?)"
            )
        return {name: total[i] / n_all for i, name in enumerate(["loss"] + names)}

    def fit(self, train_loader, val_loader=None) -> list[dict]:
        """Train from epoch ``self.epoch + 1`` to ``epochs`` (or an early stop); return the history.

        With ``keep_best`` the model ends with the weights of the best epoch.
        """
        es = self.early_stopping
        if es is not None and es.metric.startswith("val_") and val_loader is None:
            raise ValueError(f"monitoring {es.metric!r} (early stopping, best epoch) needs a val_loader")
        self._loader_generator = getattr(train_loader, "generator", None)
        if self._loader_generator is not None and self._pending_generator_state is not None:
            self._loader_generator.set_state(self._pending_generator_state)
        self._pending_generator_state = None
        train = self._train_loader(train_loader)
        val = self._eval_loader(val_loader) if val_loader is not None else None
        self.stopped_early = False
        while self.epoch < self.max_epochs:
            self._fit_epoch(train, val)
            if es is not None and es.should_stop(self.bad_epochs):
                self.stopped_early = True
                break
        if self.train_config.keep_best:
            self.restore_best()
        if self.run_folder is not None:
            self.write_report()  # rank 0; the others wait, so every rank sees the finished run folder
            self._barrier()
        return self.history

    def _fit_epoch(self, train, val) -> dict:
        """Train one epoch (and validate); log it and write the run folder's checkpoints."""
        epoch = self.epoch + 1
        sampler = train.batch_sampler if isinstance(train.batch_sampler, loaders.BatchShard) else train.sampler
        if self.distributed and hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        row: dict[str, float] = {"epoch": epoch}
        stats = self._run_epoch(train, True, f"epoch {epoch}/{self.max_epochs} train")
        row.update({f"train_{k}": v for k, v in stats.items()})
        if val is not None:
            stats = self._run_epoch(val, False, f"epoch {epoch}/{self.max_epochs} val")
            row.update({f"val_{k}": v for k, v in stats.items()})
        row["lr"] = lr
        row["seconds"] = time.perf_counter() - start
        self.epoch = epoch
        self.history.append(row)
        self._step_scheduler_epoch(row)
        improved = self._track_best(row)
        self._log_epoch(row)
        if self.run_folder is not None:
            ckpt = self.checkpoint() if self.is_main else None
            if self.is_main:
                if improved:
                    self.run_folder.save_best(ckpt)
                self.run_folder.save_last(ckpt)
            self._barrier()
        return row

    def _step_scheduler_epoch(self, row: Mapping[str, float]) -> None:
        if self.scheduler is None or self.scheduler_interval != "epoch":
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            key = self.early_stopping.metric if self.early_stopping else "val_loss"
            self.scheduler.step(row.get(key, row["train_loss"]))
        else:
            self.scheduler.step()

    def _track_best(self, row: Mapping[str, float]) -> bool:
        """Whether this epoch is the best so far (without a monitored metric: the latest is the best)."""
        es = self.early_stopping
        if es is None:
            self.best_epoch = int(row["epoch"])
            return True
        if es.metric not in row:
            raise KeyError(f"monitored metric {es.metric!r} is not in the history keys {sorted(row)}")
        value = float(row[es.metric])
        if es.improved(value, self.best_value):
            self.best_value, self.best_epoch, self.bad_epochs = value, int(row["epoch"]), 0
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
            return True
        self.bad_epochs += 1
        return False

    def restore_best(self) -> bool:
        """Load the weights of the best epoch seen (False when no metric is monitored or nothing was seen)."""
        if self.early_stopping is None:
            return False
        state = self.best_state
        if state is None and self.out_dir is not None and (self.out_dir / "best.pt").is_file():
            state = read_checkpoint(self.out_dir / "best.pt", expected_app=self.app)["model"]
        if state is None:
            return False
        self.module.load_state_dict(state)
        return True

    def _barrier(self) -> None:
        if self.distributed:
            distributed.barrier()

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, loader) -> dict[str, float]:
        """Sample-weighted mean loss and metrics over ``loader`` (all processes together)."""
        return self._run_epoch(self._eval_loader(loader), False, "evaluate")

    @torch.no_grad()
    def predict(self, loader) -> torch.Tensor:
        """Model outputs for every batch of ``loader`` (targets ignored), concatenated, float32 on the CPU.

        Runs the whole loader in this process (no sharding under torchrun).
        """
        self.module.eval()
        chunks = []
        for batch in tqdm(loader, desc="predict", disable=not self.progress, leave=False, dynamic_ncols=True):
            inputs = batch[0] if isinstance(batch, (list, tuple)) and len(batch) == 2 else batch
            with self._autocast():
                outputs = call_model(self.module, to_device(inputs, self.device, self.channels_last))
            chunks.append(outputs.float().cpu())
        return torch.cat(chunks) if chunks else torch.empty(0)

    # ------------------------------------------------------------------- logging

    def _log_epoch(self, row: Mapping[str, float]) -> None:
        if not self.is_main:
            return
        if self.progress:
            text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
            tqdm.write(text, file=sys.stderr)  # with the bars, so stdout stays clean for results
        if self.run_folder is not None:
            self.run_folder.set_metrics(self.history)
        if self._tb is not None:
            for key, value in row.items():
                if key != "epoch":
                    self._tb.add_scalar(key, value, int(row["epoch"]))
            self._tb.flush()

    def summary(self) -> dict[str, Any]:
        """What :meth:`write_report` records: app, epochs, best epoch, early stop, options, history."""
        return {
            "app": self.app,
            "epochs": self.epoch,
            "monitor": self.early_stopping.metric if self.early_stopping else None,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "train_config": self.train_config.to_dict(),
            "history": copy.deepcopy(self.history),
        }

    def write_report(self, extra: Mapping[str, Any] | None = None) -> Path | None:
        """Write the run folder's ``report.json`` (:meth:`summary` plus ``extra``; rank 0 only).

        :meth:`fit` writes it at the end; an app calls it again with its own figures (test accuracy...).
        Returns the path on rank 0 (None without a run folder or on other ranks).
        """
        if self.run_folder is None or not self.is_main:
            return None
        threads = torch.get_num_threads() if self.device.type == "cpu" else None
        return self.run_folder.write_report({**self.summary(), **dict(extra or {})}, str(self.device), threads)

    # --------------------------------------------------------------- checkpoints

    def checkpoint(self, extra: Mapping[str, Any] | None = None) -> dict:
        """The checkpoint dict (what :meth:`save_checkpoint` writes)."""
        extra = dict(extra or {})
        check_plain(extra, "extra")
        return {
            "format": CHECKPOINT_FORMAT,
            "app": self.app,
            "config": copy.deepcopy(self.config),
            "label_names": copy.deepcopy(self.label_names),
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.epoch,
            "history": copy.deepcopy(self.history),
            "early_stopping": {
                "best_value": self.best_value,
                "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs,
            },
            "rng": rng_state(),
            "loader_generator": self._loader_generator.get_state() if self._loader_generator is not None else None,
            "world_size": self.world_size,
            "torch_version": str(torch.__version__),
            "extra": extra,
        }

    def save_checkpoint(self, path: str | os.PathLike, extra: Mapping[str, Any] | None = None) -> Path | None:
        """Write the checkpoint atomically (rank 0 only; other ranks wait). Returns the path on rank 0."""
        path = Path(path)
        written = None
        if self.is_main:
            ckpt = self.checkpoint(extra)
            written = atomic_write(path, lambda p: torch.save(ckpt, p))
        self._barrier()
        return written

    def load_checkpoint(
        self, path: str | os.PathLike, expected_app: str | None = None, training_state: bool = True
    ) -> dict:
        """Load a checkpoint into this trainer; returns the checkpoint dict.

        expected_app: defaults to this trainer's ``app``.  training_state:
        also restore optimizer, scheduler, scaler, epoch, history, early
        stopping and RNG so that :meth:`fit` continues the run exactly.
        """
        # loaded on the CPU; load_state_dict copies to the model's (and optimizer's) device
        ckpt = read_checkpoint(path, expected_app=expected_app or self.app)
        try:
            self.module.load_state_dict(ckpt["model"])
        except RuntimeError as exc:
            raise UserError(f"{path}: weights do not fit this model ({str(exc).splitlines()[0]})") from None
        if not training_state:
            return ckpt
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler.is_enabled() and ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch = int(ckpt["epoch"])
        self.history = list(ckpt.get("history") or [])
        es = ckpt.get("early_stopping") or {}
        self.best_value, self.best_epoch = es.get("best_value"), es.get("best_epoch")
        self.bad_epochs = int(es.get("bad_epochs") or 0)
        self.best_state = None  # restore_best() falls back to out_dir/best.pt
        if ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])
        state = ckpt.get("loader_generator")
        self._pending_generator_state = state.cpu() if state is not None else None
        return ckpt

    def close(self) -> None:
        """Close TensorBoard (files are complete after every epoch; the process group is left at exit)."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
