"""The torchrun runtime: environment detection, joining/leaving the process group, collectives.

Started under ``torchrun`` (env ``WORLD_SIZE`` > 1) a :class:`~filterkit.nn.train.Trainer` joins the
default process group (gloo on CPU, NCCL on CUDA) once per process and leaves it at interpreter exit.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

__all__ = ["all_sum", "barrier", "distributed_info", "join_process_group"]


def distributed_info() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (``(0, 1, 0)`` when absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, world, local


def _leave_process_group() -> None:
    """Destroy the default process group at interpreter exit (registered by :func:`join_process_group`).

    Every process waits at a barrier first: a rank that tore its gloo connections down while the
    other was still using them aborted now and then ("terminate called without an active exception").
    """
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except Exception:  # another rank is gone already (torchrun stops the rest); nothing left to wait for
            pass
        dist.destroy_process_group()


def join_process_group(device: torch.device) -> None:
    """Join the default process group (NCCL on CUDA, gloo otherwise) unless this process has already.

    Joined once per process and left at exit: destroying and re-creating the default group (a second
    Trainer in the same torchrun process: seeds, folds) can meet the first group's stale rendezvous keys
    in the shared store and hang in gloo.
    """
    if dist.is_initialized():
        return
    rank, world, _ = distributed_info()
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    atexit.register(_leave_process_group)


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """``values`` summed over every process (as float64); unchanged when not distributed."""
    if not (dist.is_available() and dist.is_initialized()):
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier() -> None:
    """Wait for every process (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
