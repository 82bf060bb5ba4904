"""Confidence intervals for the go app's reports (95% unless told)."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: float, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``(0, 1)`` when ``trials == 0``)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def game_bootstrap(values: np.ndarray, groups: np.ndarray, resamples: int = 1000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-position ``values`` and a percentile interval resampling whole games.

    Positions of one game are correlated, so games (``groups``) are drawn
    with replacement, not positions.  Returns ``(mean, low, high)``.
    """
    values = np.asarray(values, dtype=np.float64)
    _, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    counts = np.bincount(inverse).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(low), float(high)


def elo_difference(win_rate: float) -> float | None:
    """Elo difference that predicts ``win_rate`` (logistic, 400 points = 10:1 odds); None at 0 or 1 (infinite)."""
    if not 0.0 < win_rate < 1.0:
        return None
    return -400.0 * math.log10(1.0 / win_rate - 1.0)


def elo_interval(successes: float, trials: int, z: float = Z95) -> tuple[float | None, float | None, float | None]:
    """``(elo, low, high)``: the Elo difference of a win rate and its interval, mapped from the Wilson interval.

    The Elo difference is a monotone function of the win rate, so the Wilson
    bounds map to Elo bounds; a bound at 0 % or 100 % is unbounded (None).
    """
    low, high = wilson_interval(successes, trials, z)
    rate = successes / trials if trials > 0 else 0.5
    return elo_difference(rate), elo_difference(low), elo_difference(high)
