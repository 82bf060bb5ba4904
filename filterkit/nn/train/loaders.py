"""Batches and data loaders: moving batches to the device, pinning, and sharding loaders under DDP.

Batches are ``(inputs, targets)``.  ``inputs`` may be a tensor (``model(x)``), a tuple/list
(``model(*inputs)``, e.g. tokens and lengths) or a dict (``model(**inputs)``); ``targets`` may be a
tensor, tuple or dict and is given to ``loss_fn(outputs, targets)`` and to every metric as is.

Under DDP a loader with a ``batch_size`` gets a ``DistributedSampler`` for training (each process takes
``batch_size`` samples, so the global batch is ``world_size`` times larger) and an un-padded shard for
evaluation (summed metrics are exact).  A loader built with a ``batch_sampler`` (e.g. length buckets)
gives every process every ``world_size``-th batch instead (training drops the last few so all take the
same number of steps; the batch order must not depend on the rank: seed alike).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, RandomSampler, Sampler
from torch.utils.data.distributed import DistributedSampler

__all__ = ["batch_size", "call_model", "eval_loader", "pinned", "split_batch", "to_device", "train_loader"]


# ------------------------------------------------------------------ batches


def to_device(obj: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Tensors in ``obj`` on ``device``; with ``channels_last`` 4-D float tensors in that memory format."""
    if isinstance(obj, torch.Tensor):
        if channels_last and obj.dim() == 4 and obj.is_floating_point():
            return obj.to(device, non_blocking=True, memory_format=torch.channels_last)
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: to_device(v, device, channels_last) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device, channels_last) for v in obj)
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


def batch_size(inputs: Any, targets: Any) -> int:
    """Samples in a batch: the first dimension of the first batched tensor in targets, else in inputs."""
    t = _first_tensor(targets)
    if t is None or t.ndim == 0:
        t = _first_tensor(inputs)
    if t is None or t.ndim == 0:
        raise ValueError("cannot tell the batch size: no batched tensor in (inputs, targets)")
    return int(t.shape[0])


def call_model(model: nn.Module, inputs: Any) -> Any:
    """``model(**inputs)``, ``model(*inputs)`` or ``model(inputs)`` for a dict, a tuple/list or a tensor."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (list, tuple)):
        return model(*inputs)
    return model(inputs)


def split_batch(batch: Any) -> tuple[Any, Any]:
    """``(inputs, targets)`` of a batch; ValueError for anything that is not a pair."""
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        raise ValueError("each batch must be a pair (inputs, targets)")
    return batch[0], batch[1]


# ------------------------------------------------------------------ samplers


class _ShardSampler(Sampler):
    """Indices ``rank, rank + world, ...`` of an un-shuffled dataset, without padding (exact evaluation)."""

    def __init__(self, n: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, n, world))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class BatchShard(Sampler):
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


# ------------------------------------------------------------------- loaders


def _rebuild(loader: DataLoader, sampler: Sampler | None = None, batch_sampler: Sampler | None = None,
             pin_memory: bool | None = None) -> DataLoader:
    """The same DataLoader with another (batch) sampler; collate, workers, generator and pinning kept
    (``pin_memory`` overrides the pinning)."""
    if isinstance(loader.dataset, IterableDataset):
        raise ValueError("distributed training needs map-style datasets (not IterableDataset)")
    batching = {"batch_sampler": batch_sampler} if batch_sampler is not None else {
        "batch_size": loader.batch_size, "sampler": sampler, "drop_last": loader.drop_last}
    return DataLoader(
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


def pinned(loader: DataLoader, device: torch.device) -> DataLoader:
    """``loader`` with ``pin_memory=True`` on CUDA (rebuilt only if it is not pinned already)."""
    if device.type != "cuda" or loader.pin_memory:
        return loader
    if loader.batch_size is None:
        return _rebuild(loader, batch_sampler=loader.batch_sampler, pin_memory=True)
    return _rebuild(loader, sampler=loader.sampler, pin_memory=True)


def _pin(device: torch.device) -> bool | None:
    """True on CUDA (page-locked batches, copied to the GPU asynchronously); None keeps the loader's own."""
    return True if device.type == "cuda" else None


def train_loader(loader: DataLoader, device: torch.device, rank: int, world: int, seed: int) -> DataLoader:
    """The training loader for this process: pinned on CUDA; under DDP (``world > 1``) a
    ``DistributedSampler`` (batch_size loaders) or every world-th batch (batch_sampler loaders)."""
    if world <= 1:
        return pinned(loader, device)
    if loader.batch_size is None:
        return _rebuild(loader, batch_sampler=BatchShard(loader.batch_sampler, rank, world, even=True),
                        pin_memory=_pin(device))
    shuffle = isinstance(loader.sampler, RandomSampler)
    sampler = DistributedSampler(loader.dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
    return _rebuild(loader, sampler=sampler, pin_memory=_pin(device))


def eval_loader(loader: DataLoader, device: torch.device, rank: int, world: int) -> DataLoader:
    """The evaluation loader for this process: pinned on CUDA; under DDP an un-padded shard."""
    if world <= 1:
        return pinned(loader, device)
    if loader.batch_size is None:
        return _rebuild(loader, batch_sampler=BatchShard(loader.batch_sampler, rank, world, even=False),
                        pin_memory=_pin(device))
    return _rebuild(loader, sampler=_ShardSampler(len(loader.dataset), rank, world), pin_memory=_pin(device))
