"""The one training engine used by every filterkit model (apps write no loop of their own).

Usage::

    from filterkit.nn.train import Trainer, accuracy, configure_threads, read_checkpoint, seed_everything

    configure_threads()                      # 1 torch thread on CPU unless told otherwise (the Trainer does it too)
    seed_everything(0)                       # before building the model: same seed -> same weights
    model = MyCNN(n_classes=10)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    trainer = Trainer(
        model, optimizer, torch.nn.functional.cross_entropy,
        app="speech",                        # stored in checkpoints; another app's checkpoint is refused
        config={"n_mels": 40, "lr": 1e-3},   # plain python types only (checked), stored in checkpoints
        label_names=["yes", "no"],
        device="auto",                       # "cpu", "cuda", "cuda:1" or "auto"
        metrics={"accuracy": accuracy},      # fn(outputs, targets) -> float, averaged over samples
        max_epochs=20,
        early_stopping=("val_accuracy", "max", 3),   # (metric, "max"|"min", patience) or None
        out_dir="runs/speech",               # metrics.csv, metrics.jsonl, last.pt, best.pt (rank 0 only)
        after_step=None,                     # e.g. a max-norm constraint: fn(model) after each step
    )
    history = trainer.fit(train_loader, val_loader)   # list of per-epoch dicts
    trainer.restore_best()                   # weights of the best epoch (when monitoring a metric)
    trainer.evaluate(test_loader)            # {"loss": ..., "accuracy": ...}
    logits = trainer.predict(test_loader)    # model outputs, concatenated, on the CPU

    # resume an interrupted run (model, optimizer, scheduler, scaler, epoch, history, RNG):
    trainer.load_checkpoint("runs/speech/last.pt"); trainer.fit(train_loader, val_loader)
    # read a checkpoint before building the model (config, label names):
    ckpt = read_checkpoint("runs/speech/best.pt", expected_app="speech")
    # the same script under `torchrun --nproc_per_node=2 script.py` trains with DDP (see below)
    trainer.close()                          # TensorBoard writer, process group

Batches are ``(inputs, targets)``.  ``inputs`` may be a tensor (``model(x)``),
a tuple/list (``model(*inputs)``, e.g. tokens and lengths) or a dict
(``model(**inputs)``); ``targets`` may be a tensor, tuple or dict and is given
to ``loss_fn(outputs, targets)`` and to every metric as is.  Everything is
moved to the trainer's device.

Choices, stated once:

* **Metrics** are called per batch and averaged weighted by the batch size,
  which is exact for accuracy-like metrics (fraction correct, top-k) and keeps
  no outputs in memory.  For metrics that do not decompose over samples (F1,
  AUC) use :meth:`Trainer.predict`.  History keys are ``train_loss``,
  ``train_<metric>``, ``val_loss``, ``val_<metric>``, ``lr``, ``epoch``,
  ``seconds``.
* **Mixed precision** (``amp=True``) is used on CUDA only: bf16 autocast where
  the GPU supports it (no scaler needed), otherwise fp16 autocast with a
  ``GradScaler``.  ``amp="fp16"``/``"bf16"`` forces one; on CPU AMP is off
  (float32 keeps CPU runs exact and reproducible).
* **Channels-last** (``channels_last``): the model's 4-D weights and every 4-D
  float input batch in ``torch.channels_last`` memory format.  Default (None):
  on where AMP is on (CUDA) and the model has a ``Conv2d`` - the layout cuDNN's
  tensor-core convolutions use; ``benchmarks/gpu.py`` times both layouts.
* **Pinned memory**: on CUDA the trainer rebuilds a loader that is not pinned
  with ``pin_memory=True`` (same sampler, collate and generator), and batches
  go to the GPU with ``non_blocking=True``.
* **CPU threads**: on CPU the trainer calls :func:`configure_threads`, which
  uses ``DEFAULT_CPU_THREADS = 1`` torch thread unless told otherwise
  (``threads=``, env ``FILTERKIT_NUM_THREADS`` or an explicit
  ``OMP_NUM_THREADS``).  Measured with ``python benchmarks/threads.py
  --repeats 5`` on this 2-core machine while other jobs shared it (load
  average ~10): 2-conv CNN, 1x28x28, batch 64, median of 5 fresh processes:
  training 1413 images/s with 1 thread vs 171 with 2 (1 thread 8.3x faster),
  inference 2581 vs 506 (5.1x).  An idle machine was not available to
  measure; rerun the benchmark where cores are free before raising threads.
* **Checkpoints** are a plain dict of state_dicts + ``app`` + ``config`` +
  ``label_names`` + ``epoch`` + ``history`` + early-stopping state + RNG
  states (python, numpy, torch, cuda) + ``extra``, and load with
  ``torch.load(weights_only=True)``.  ``epoch`` counts completed epochs.
  Resuming from ``last.pt`` restores the global RNGs and the training
  loader's own ``generator=`` (if it has one) so the continued run equals an
  uninterrupted one (same data order, same dropout masks).  RNGs private to
  a dataset (e.g. augmentation with its own numpy Generator) are not saved.
* **Distributed**: started under ``torchrun`` (env ``WORLD_SIZE`` > 1) the
  trainer joins the process group (gloo on CPU, NCCL on CUDA), wraps the
  model in ``DistributedDataParallel`` and re-creates the loaders with a
  distributed sampler: ``DistributedSampler`` for training (each process
  gets ``batch_size`` samples, so the global batch is ``world_size`` times
  larger), an un-padded shard for evaluation (metrics are exact).  Loaders
  built with a ``batch_sampler`` (e.g. length buckets) give every process
  every ``world_size``-th batch instead (training drops the last few so all
  take the same number of steps; the batch order must not depend on the
  rank: seed alike).  Metrics are summed over processes; only rank 0 shows
  progress, writes files and checkpoints; :meth:`Trainer.close` leaves the
  process group.  BatchNorm statistics are not synchronised.
"""

from __future__ import annotations

import atexit
import copy
import csv
import io
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from filterkit.errors import UserError
from filterkit.io import atomic_write

__all__ = [
    "DEFAULT_CPU_THREADS",
    "CHECKPOINT_FORMAT",
    "EarlyStopping",
    "Trainer",
    "accuracy",
    "configure_threads",
    "distributed_info",
    "read_checkpoint",
    "seed_everything",
    "select_device",
]

#: torch threads used on CPU unless overridden; chosen from benchmarks/threads.py (see module docstring).
DEFAULT_CPU_THREADS = 1
CHECKPOINT_FORMAT = "filterkit-checkpoint-v1"

Batch = Any
MetricFn = Callable[[torch.Tensor, Any], "float | torch.Tensor"]


# ------------------------------------------------------------------- environment


def _leave_process_group() -> None:
    """Destroy the default process group at interpreter exit (registered by the Trainer that joined it).

    Every process waits at a barrier first: a rank that tore its gloo connections down while the
    other was still using them aborted now and then ("terminate called without an active exception").
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except Exception:  # another rank is gone already (torchrun stops the rest); nothing left to wait for
            pass
        dist.destroy_process_group()


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python's ``random``, numpy and torch (CPU and every CUDA device).

    deterministic: also ask torch for deterministic algorithms (slower on
    CUDA; warns instead of failing for ops without a deterministic version).
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)


def select_device(name: str | torch.device | None = "auto") -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available) -> ``torch.device``.

    Under ``torchrun`` with CUDA, ``"auto"``/``"cuda"`` mean ``cuda:LOCAL_RANK``.
    Raises :class:`UserError` for an unknown name or CUDA that is not there.
    """
    if isinstance(name, torch.device):
        name = str(name)  # checked like a name; a bare "cuda" gets its index
    text = (name or "auto").strip().lower()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)")
        if text == "cuda":
            return torch.device("cuda", local_rank if distributed_info()[1] > 1 else torch.cuda.current_device())
        try:
            device = torch.device(text)
        except RuntimeError:
            raise UserError(f"--device {name}: not a device name (use cpu, cuda, cuda:N or auto)") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
        return device
    raise UserError(f"--device {name}: unknown device (use cpu, cuda, cuda:N or auto)")


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads and return the number in use.

    n=None: env ``FILTERKIT_NUM_THREADS`` if set; else leave an explicit
    ``OMP_NUM_THREADS`` alone; else :data:`DEFAULT_CPU_THREADS`.
    """
    if n is None:
        env = os.environ.get("FILTERKIT_NUM_THREADS")
        if env:
            if not env.strip().isdigit():
                raise UserError(f"FILTERKIT_NUM_THREADS={env!r}: expected a positive whole number of threads")
            n = int(env)
        elif os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        else:
            n = DEFAULT_CPU_THREADS
    n = int(n)
    if n < 1:
        raise UserError(f"threads must be at least 1, got {n}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def distributed_info() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (``(0, 1, 0)`` when absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, world, local


# ----------------------------------------------------------------------- metrics


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max over the last axis equals the integer target (0-d float64 tensor)."""
    return (outputs.argmax(dim=-1) == targets).to(torch.float64).mean()


@dataclass(frozen=True)
class EarlyStopping:
    """Stop after ``patience`` epochs in a row in which ``metric`` did not improve.

    metric: a history key such as ``"val_accuracy"`` or ``"val_loss"``.
    mode: ``"max"`` or ``"min"``.  min_delta: smallest change that counts.
    """

    metric: str = "val_loss"
    mode: str = "min"
    patience: int = 5
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise ValueError(f"early stopping mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience < 0:
            raise ValueError(f"early stopping patience must be >= 0, got {self.patience}")

    def improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return not math.isnan(value)
        if self.mode == "max":
            return value > best + self.min_delta
        return value < best - self.min_delta


# ---------------------------------------------------------------- checkpoint I/O

_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Raise TypeError unless ``value`` is plain python data or tensors (loadable with weights_only)."""
    if isinstance(value, _PLAIN) or (where.startswith("extra") and isinstance(value, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: dict keys must be str or int, got {type(key).__name__}")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__name__}; a checkpoint's config and extra must be plain python "
        "(str, int, float, bool, None, list, tuple, dict; extra may also hold tensors)"
    )


def _load_failure(path: Path, exc: Exception) -> str:
    """A short reason for a failed ``torch.load(weights_only=True)`` (torch's own text is a paragraph)."""
    import zipfile

    with open(path, "rb") as f:
        legacy_pickle = f.read(1) == b"\x80"
    if not (zipfile.is_zipfile(path) or legacy_pickle):
        return "not a file written by torch.save"
    text = str(exc).strip()
    if "Weights only load failed" in text:
        return "holds Python objects other than tensors and plain data; refused for safety"
    return text.splitlines()[0] if text else type(exc).__name__


def read_checkpoint(
    path: str | os.PathLike, expected_app: str | None = None, map_location: str | torch.device = "cpu"
) -> dict:
    """Load a filterkit checkpoint with ``torch.load(weights_only=True)``.

    Raises :class:`UserError` naming the file when it is missing, not a
    filterkit checkpoint, or (``expected_app`` given) made by another app.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise UserError(f"{path}: not a loadable filterkit checkpoint ({_load_failure(path, exc)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path}: not a filterkit checkpoint (no '{CHECKPOINT_FORMAT}' format key)")
    if expected_app is not None and ckpt.get("app") != expected_app:
        raise UserError(
            f"{path}: checkpoint was trained by app {ckpt.get('app')!r}, not {expected_app!r}; "
            f"pass a checkpoint made by 'filterkit {expected_app} train'"
        )
    return ckpt


def _rng_state() -> dict:
    """RNG states as tensors/plain types (weights_only-safe)."""
    np_state = np.random.get_state()
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            npst["keys"].cpu().numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ------------------------------------------------------------------ batch helpers


def _to_device(obj: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Tensors in ``obj`` on ``device``; with ``channels_last`` 4-D float tensors in that memory format."""
    if isinstance(obj, torch.Tensor):
        if channels_last and obj.dim() == 4 and obj.is_floating_point():
            return obj.to(device, non_blocking=True, memory_format=torch.channels_last)
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device, channels_last) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device, channels_last) for v in obj)
    return obj


def _first_tensor(obj: Any) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    values = obj.values() if isinstance(obj, Mapping) else obj if isinstance(obj, (list, tuple)) else ()
    for v in values:
        t = _first_tensor(v)
        if t is not None:
            return t
    return None


def _batch_size(inputs: Any, targets: Any) -> int:
    t = _first_tensor(targets)
    if t is None or t.ndim == 0:
        t = _first_tensor(inputs)
    if t is None or t.ndim == 0:
        raise ValueError("cannot tell the batch size: no batched tensor in (inputs, targets)")
    return int(t.shape[0])


def _call(model: nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (list, tuple)):
        return model(*inputs)
    return model(inputs)


def _split_batch(batch: Batch) -> tuple[Any, Any]:
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        raise ValueError("each batch must be a pair (inputs, targets)")
    return batch[0], batch[1]


class _ShardSampler(torch.utils.data.Sampler):
    """Indices ``rank, rank + world, ...`` of an un-shuffled dataset, without padding (exact evaluation)."""

    def __init__(self, n: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, n, world))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class _BatchShard(torch.utils.data.Sampler):
    """Batches ``rank, rank + world, ...`` of a batch sampler (e.g. length-bucketed batches).

    even=True (training) first drops the last ``len % world`` batches so that
    every process takes the same number of steps (DDP needs that).
    """

    def __init__(self, batches: Any, rank: int, world: int, even: bool) -> None:
        self.batches, self.rank, self.world, self.even = batches, rank, world, even

    def set_epoch(self, epoch: int) -> None:
        for inner in (self.batches, getattr(self.batches, "sampler", None)):
            if hasattr(inner, "set_epoch"):
                inner.set_epoch(epoch)

    def _usable(self, n: int) -> int:
        return n - n % self.world if self.even else n

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(self.batches)  # the same order on every process when their RNGs are seeded alike
        return iter(batches[self.rank : self._usable(len(batches)) : self.world])

    def __len__(self) -> int:
        return len(range(self.rank, self._usable(len(self.batches)), self.world))


def _rebuild_loader(loader: torch.utils.data.DataLoader, sampler: torch.utils.data.Sampler | None = None,
                    batch_sampler: torch.utils.data.Sampler | None = None, pin_memory: bool | None = None):
    """The same DataLoader with another (batch) sampler; collate, workers, generator and pinning kept
    (``pin_memory`` overrides the pinning)."""
    if isinstance(loader.dataset, torch.utils.data.IterableDataset):
        raise ValueError("distributed training needs map-style datasets (not IterableDataset)")
    batching = {"batch_sampler": batch_sampler} if batch_sampler is not None else {
        "batch_size": loader.batch_size, "sampler": sampler, "drop_last": loader.drop_last}
    return torch.utils.data.DataLoader(
        loader.dataset,
        **batching,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory if pin_memory is None else pin_memory,
        generator=loader.generator,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        persistent_workers=loader.persistent_workers if loader.num_workers > 0 else False,
    )


# ------------------------------------------------------------------------- engine


class Trainer:
    """Train, evaluate, checkpoint and resume one ``nn.Module`` (see the module docstring).

    Parameters
    ----------
    model, optimizer, loss_fn:
        ``loss_fn(outputs, targets) -> scalar tensor`` (mean over the batch).
    app:
        Name stored in checkpoints; :meth:`load_checkpoint` refuses another app's.
    config, label_names:
        Plain python data stored in checkpoints (checked here, not at save time).
    device:
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a ``torch.device``.
    amp:
        ``True`` (bf16 if supported, else fp16 + GradScaler; CUDA only), ``False``,
        ``"bf16"`` or ``"fp16"``.
    scheduler, scheduler_interval:
        LR scheduler stepped every ``"epoch"`` (default) or ``"step"``.
        ``ReduceLROnPlateau`` is stepped with the early-stopping metric (or val_loss).
    metrics:
        ``{name: fn(outputs, targets) -> float}``, averaged over samples.
    out_dir:
        Folder for ``metrics.csv``, ``metrics.jsonl``, ``last.pt``, ``best.pt``
        and TensorBoard logs (if ``tensorboard`` is installed); None writes nothing.
    max_epochs:
        Total epochs, counting epochs done before a resume.
    early_stopping:
        ``(metric, mode, patience)``, an :class:`EarlyStopping` or None.
        The metric is also what ``best.pt`` tracks.
    grad_clip:
        Max global gradient norm (None: no clipping).
    after_step:
        ``fn(model)`` called under ``no_grad`` after each optimizer step
        (the bare model, not the DDP wrapper), e.g. a max-norm constraint.
    progress, log_every:
        tqdm bar per epoch and a one-line epoch summary, both on stderr (rank 0
        only); the running loss is shown every ``log_every`` steps.
    threads:
        CPU threads (see :func:`configure_threads`); ignored on CUDA.
    seed:
        Seed of the distributed sampler's shuffling.
    channels_last:
        4-D weights and input batches in channels-last memory format; None
        (default): where AMP is on and the model has a ``Conv2d``.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Any, Any], torch.Tensor],
        *,
        app: str = "filterkit",
        config: Mapping[str, Any] | None = None,
        label_names: Sequence[str] | None = None,
        device: str | torch.device | None = "auto",
        amp: bool | str = True,
        scheduler: Any = None,
        scheduler_interval: str = "epoch",
        metrics: Mapping[str, MetricFn] | None = None,
        out_dir: str | os.PathLike | None = None,
        max_epochs: int = 10,
        early_stopping: EarlyStopping | tuple | None = None,
        grad_clip: float | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        progress: bool = True,
        log_every: int = 10,
        tensorboard: bool = True,
        threads: int | None = None,
        seed: int = 0,
        channels_last: bool | None = None,
    ) -> None:
        self.config = dict(config or {})
        _check_plain(self.config, "config")
        self.label_names = list(label_names) if label_names is not None else None
        _check_plain(self.label_names, "label_names")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
        if isinstance(early_stopping, tuple):
            early_stopping = EarlyStopping(*early_stopping)
        self.app = str(app)
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.metrics = dict(metrics or {})
        self.max_epochs = int(max_epochs)
        self.early_stopping = early_stopping
        self.grad_clip = grad_clip
        self.after_step = after_step
        self.log_every = max(1, int(log_every))
        self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None

        self.rank, self.world_size, self.local_rank = distributed_info()
        self.distributed = self.world_size > 1
        self.device = select_device(device)
        if self.device.type == "cpu":
            configure_threads(threads)
        elif self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)
        if self.distributed:
            self._init_process_group()
        self.is_main = self.rank == 0
        self.progress = bool(progress) and self.is_main

        self.amp_dtype = self._amp_dtype(amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        if channels_last is None:  # auto: 2-D convolutions under autocast on CUDA (NHWC tensor-core kernels)
            channels_last = self.amp_dtype is not None and any(isinstance(m, nn.Conv2d) for m in model.modules())
        self.channels_last = bool(channels_last)
        # the bare model (checkpoints, after_step)
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
        self._tb = self._open_tensorboard() if tensorboard else None

    # -------------------------------------------------------------- setup helpers

    def _init_process_group(self) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            # joined once per process and left at exit: destroying and re-creating the default group
            # (a second Trainer in the same torchrun process: seeds, folds) can meet the first
            # group's stale rendezvous keys in the shared store and hang in gloo
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, rank=self.rank, world_size=self.world_size)
            atexit.register(_leave_process_group)

    def _amp_dtype(self, amp: bool | str | None) -> torch.dtype | None:
        table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
        if not isinstance(amp, (bool, type(None))) and str(amp).lower() not in table:
            raise ValueError(f"amp must be True, False, 'bf16' or 'fp16', got {amp!r}")
        if not amp or self.device.type != "cuda":
            return None
        if amp is True:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return table[str(amp).lower()]

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def _open_tensorboard(self):
        if self.out_dir is None or not self.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard not installed: CSV/JSONL only
            return None
        return SummaryWriter(log_dir=str(self.out_dir / "tensorboard"))

    def _pin(self) -> bool | None:
        """True on CUDA (page-locked batches, copied to the GPU asynchronously); None keeps the loader's own."""
        return True if self.device.type == "cuda" else None

    def _pinned(self, loader):
        """``loader`` with ``pin_memory=True`` on CUDA (rebuilt only if it is not pinned already)."""
        if self._pin() is None or loader.pin_memory:
            return loader
        if loader.batch_size is None:
            return _rebuild_loader(loader, batch_sampler=loader.batch_sampler, pin_memory=True)
        return _rebuild_loader(loader, sampler=loader.sampler, pin_memory=True)

    def _train_loader(self, loader):
        """Under DDP: ``DistributedSampler`` (batch_size loaders) or every world-th batch (batch_sampler loaders).

        Pinned on CUDA (:meth:`_pin`).
        """
        if not self.distributed:
            return self._pinned(loader)
        from torch.utils.data.distributed import DistributedSampler

        if loader.batch_size is None:
            shard = _BatchShard(loader.batch_sampler, self.rank, self.world_size, even=True)
            return _rebuild_loader(loader, batch_sampler=shard, pin_memory=self._pin())
        shuffle = isinstance(loader.sampler, torch.utils.data.RandomSampler)
        sampler = DistributedSampler(
            loader.dataset, num_replicas=self.world_size, rank=self.rank, shuffle=shuffle, seed=self.seed
        )
        return _rebuild_loader(loader, sampler=sampler, pin_memory=self._pin())

    def _eval_loader(self, loader):
        """Under DDP: an un-padded shard per process, so summed metrics are exact.  Pinned on CUDA."""
        if not self.distributed:
            return self._pinned(loader)
        if loader.batch_size is None:
            shard = _BatchShard(loader.batch_sampler, self.rank, self.world_size, even=False)
            return _rebuild_loader(loader, batch_sampler=shard, pin_memory=self._pin())
        return _rebuild_loader(loader, sampler=_ShardSampler(len(loader.dataset), self.rank, self.world_size),
                               pin_memory=self._pin())

    def _all_sum(self, values: list[float]) -> list[float]:
        if not self.distributed:
            return values
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def _barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    # ------------------------------------------------------------------- training

    def _step(self, inputs: Any, targets: Any) -> tuple[Any, torch.Tensor]:
        with self._autocast():
            outputs = _call(self.model, inputs)
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
        from tqdm.auto import tqdm

        model = self.model if train else self.module  # evaluation shards may differ in length: no DDP collectives
        model.train(train)
        names = list(self.metrics)
        # summed on the device: no host sync per step
        sums = torch.zeros(1 + len(names), dtype=torch.float64, device=self.device)
        count = 0
        bar = tqdm(loader, desc=desc, disable=not self.progress, leave=False, dynamic_ncols=True)
        context = torch.enable_grad() if train else torch.no_grad()
        with context:
            for step, batch in enumerate(bar, 1):
                inputs, targets = _split_batch(batch)
                inputs, targets = _to_device(inputs, self.device, self.channels_last), _to_device(targets, self.device)
                n = _batch_size(inputs, targets)
                if train:
                    outputs, loss = self._step(inputs, targets)
                else:
                    with self._autocast():
                        outputs = _call(model, inputs)
                        loss = self.loss_fn(outputs, targets)
                values = [loss.detach()]
                if names:
                    detached = outputs.detach().float() if isinstance(outputs, torch.Tensor) else outputs
                    values += [torch.as_tensor(self.metrics[m](detached, targets), device=self.device) for m in names]
                sums += torch.stack([v.to(torch.float64).reshape(()) for v in values]) * n
                count += n
                if self.progress and step % self.log_every == 0:
                    bar.set_postfix(loss=f"{sums[0].item() / count:.4f}", refresh=False)
        total = self._all_sum(sums.tolist() + [float(count)])
        n_all = total[-1]
        if n_all == 0:
            raise ValueError(f"{desc}: the data loader gave no batches")
        if not math.isfinite(total[0]):
            raise FloatingPointError(
                f"{desc}: the loss is {total[0] / n_all}; training diverged (lower the learning rate?)"
            )
        return {name: total[i] / n_all for i, name in enumerate(["loss"] + names)}

    def fit(self, train_loader, val_loader=None) -> list[dict]:
        """Train from epoch ``self.epoch + 1`` to ``max_epochs`` (or an early stop); return the history."""
        es = self.early_stopping
        if es is not None and es.metric.startswith("val_") and val_loader is None:
            raise ValueError(f"early stopping on {es.metric!r} needs a val_loader")
        self._loader_generator = getattr(train_loader, "generator", None)
        if self._loader_generator is not None and self._pending_generator_state is not None:
            self._loader_generator.set_state(self._pending_generator_state)
        self._pending_generator_state = None
        train = self._train_loader(train_loader)
        val = self._eval_loader(val_loader) if val_loader is not None else None
        self.stopped_early = False
        while self.epoch < self.max_epochs:
            epoch = self.epoch + 1
            sampler = train.batch_sampler if isinstance(train.batch_sampler, _BatchShard) else train.sampler
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
            if self.out_dir is not None:
                if improved:
                    self.save_checkpoint(self.out_dir / "best.pt")
                self.save_checkpoint(self.out_dir / "last.pt")
            if es is not None and self.bad_epochs >= es.patience:
                self.stopped_early = True
                break
        return self.history

    def _step_scheduler_epoch(self, row: Mapping[str, float]) -> None:
        if self.scheduler is None or self.scheduler_interval != "epoch":
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            key = self.early_stopping.metric if self.early_stopping else "val_loss"
            self.scheduler.step(row.get(key, row["train_loss"]))
        else:
            self.scheduler.step()

    def _track_best(self, row: Mapping[str, float]) -> bool:
        es = self.early_stopping
        if es is None:
            return False
        if es.metric not in row:
            raise KeyError(f"early stopping metric {es.metric!r} is not in the history keys {sorted(row)}")
        value = float(row[es.metric])
        if es.improved(value, self.best_value):
            self.best_value, self.best_epoch, self.bad_epochs = value, int(row["epoch"]), 0
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
            return True
        self.bad_epochs += 1
        return False

    def restore_best(self) -> bool:
        """Load the weights of the best epoch seen (False when nothing was tracked)."""
        state = self.best_state
        if state is None and self.out_dir is not None and (self.out_dir / "best.pt").is_file():
            state = read_checkpoint(self.out_dir / "best.pt", expected_app=self.app)["model"]
        if state is None:
            return False
        self.module.load_state_dict(state)
        return True

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, loader) -> dict[str, float]:
        """Sample-weighted mean loss and metrics over ``loader`` (all processes together)."""
        return self._run_epoch(self._eval_loader(loader), False, "evaluate")

    @torch.no_grad()
    def predict(self, loader) -> torch.Tensor:
        """Model outputs for every batch of ``loader`` (targets ignored), concatenated, float32 on the CPU.

        Runs the whole loader in this process (no sharding under torchrun).
        """
        from tqdm.auto import tqdm

        self.module.eval()
        chunks = []
        for batch in tqdm(loader, desc="predict", disable=not self.progress, leave=False, dynamic_ncols=True):
            inputs = batch[0] if isinstance(batch, (list, tuple)) and len(batch) == 2 else batch
            with self._autocast():
                outputs = _call(self.module, _to_device(inputs, self.device, self.channels_last))
            chunks.append(outputs.float().cpu())
        return torch.cat(chunks) if chunks else torch.empty(0)

    # ------------------------------------------------------------------- logging

    def _log_epoch(self, row: Mapping[str, float]) -> None:
        if not self.is_main:
            return
        if self.progress:
            from tqdm.auto import tqdm

            text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
            tqdm.write(text, file=sys.stderr)  # with the bars, so stdout stays clean for results
        if self.out_dir is not None:
            self._write_metrics()
        if self._tb is not None:
            for key, value in row.items():
                if key != "epoch":
                    self._tb.add_scalar(key, value, int(row["epoch"]))
            self._tb.flush()

    def _write_metrics(self) -> None:
        columns: list[str] = []
        for row in self.history:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        csv_text = buf.getvalue()
        jsonl_text = "".join(json.dumps(row) + "\n" for row in self.history)
        atomic_write(self.out_dir / "metrics.csv", lambda p: p.write_text(csv_text, encoding="utf-8"))
        atomic_write(self.out_dir / "metrics.jsonl", lambda p: p.write_text(jsonl_text, encoding="utf-8"))

    # --------------------------------------------------------------- checkpoints

    def checkpoint(self, extra: Mapping[str, Any] | None = None) -> dict:
        """The checkpoint dict (what :meth:`save_checkpoint` writes)."""
        extra = dict(extra or {})
        _check_plain(extra, "extra")
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
            "rng": _rng_state(),
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
            _set_rng_state(ckpt["rng"])
        state = ckpt.get("loader_generator")
        self._pending_generator_state = state.cpu() if state is not None else None
        return ckpt

    def close(self) -> None:
        """Close TensorBoard (files are complete after every epoch; the process group is left at exit)."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
