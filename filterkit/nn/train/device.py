"""Where and how a run computes: device choice, CPU threads, seeding."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from filterkit.errors import UserError
from filterkit.nn.train.distributed import distributed_info

__all__ = ["DEFAULT_CPU_THREADS", "configure_threads", "seed_everything", "select_device"]

#: torch threads used on CPU unless overridden (chosen with benchmarks/threads.py; figures in benchmarks/README.md).
DEFAULT_CPU_THREADS = 1


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
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    if not text.startswith("cuda"):
        raise UserError(f"--device {name}: unknown device (use cpu, cuda, cuda:N or auto)")
    if not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)")
    if text == "cuda":
        _, world, local_rank = distributed_info()
        return torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UserError(f"--device {name}: not a device name (use cpu, cuda, cuda:N or auto)") from None
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device


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
