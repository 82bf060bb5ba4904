"""Metric functions for :class:`~filterkit.nn.train.Trainer`: ``fn(outputs, targets) -> float`` per batch.

The trainer averages them weighted by the batch size, which is exact for accuracy-like metrics.
"""

from __future__ import annotations

import torch

__all__ = ["accuracy"]


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max over the last axis equals the integer target (0-d float64 tensor)."""
    return (outputs.argmax(dim=-1) == targets).to(torch.float64).mean()
