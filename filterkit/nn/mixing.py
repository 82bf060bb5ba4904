"""Mixing two classifiers' probabilities as a weighted geometric mean (a log-linear pool)."""

from __future__ import annotations

import numpy as np

__all__ = ["mix_log_probabilities"]


def mix_log_probabilities(log_p: np.ndarray, log_q: np.ndarray, weight: float) -> np.ndarray:
    """``softmax(weight * log_p + (1 - weight) * log_q)`` row by row: probabilities ``(N, C)``.

    ``weight`` 1 gives ``p``, 0 gives ``q``; both inputs are ``(N, C)`` log-probabilities.
    """
    logits = weight * np.asarray(log_p, dtype=np.float64) + (1.0 - weight) * np.asarray(log_q, dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)
