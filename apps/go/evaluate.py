"""Score the policy network on positions: top-1, top-5 and NLL of the played move, beside baselines.

Intervals are 95 % percentile bootstraps over games (:func:`filterkit.apps.go.stats.game_bootstrap`):
positions of one game are correlated, so whole games are resampled.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm import tqdm

from filterkit.errors import UserError
from filterkit.nn.train import select_device

from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.data import PositionBatches, Positions
from filterkit.apps.go.features import decode
from filterkit.apps.go.model import symmetric_logits
from filterkit.apps.go.stats import game_bootstrap

__all__ = ["evaluate", "baselines"]


def _score_batch(logp: np.ndarray, target: np.ndarray):
    rows = np.arange(len(target))
    top = np.argsort(-logp, axis=1)[:, :5]
    return top[:, 0] == target, (top == target[:, None]).any(axis=1), -logp[rows, target]


def _summary(values: dict[str, np.ndarray], games: np.ndarray, seed: int) -> dict:
    report = {}
    for key, v in values.items():
        mean, low, high = game_bootstrap(v, games, seed=seed)
        report[key] = mean
        report[f"{key}_ci95"] = [low, high]
    return report


def baselines(positions: Positions, move_counts: list[int] | None, seed: int = 0, batch: int = 4096) -> dict:
    """Scores of two trivial predictors: a uniform legal move, and the most frequent point.

    ``move_counts`` (``n + 1`` counts of moves played per point, pass last)
    comes from the training split; legal moves are ranked by it, and its
    add-one-smoothed frequencies, renormalised over legal moves, give the
    NLL.  Uniform top-k is the expected score of a random legal move.
    """
    n = positions.size ** 2
    counts = np.asarray(move_counts if move_counts is not None else np.ones(n + 1), dtype=np.float64) + 1.0
    if counts.shape != (n + 1,):
        raise UserError(f"move statistics are for {len(counts) - 1} points, the data's board has {n}")
    uni = {"top1": [], "top5": [], "nll": []}
    freq = {"top1": [], "top5": [], "nll": []}
    for lo in range(0, len(positions), batch):
        sl = slice(lo, lo + batch)
        target = positions.target[sl].astype(np.int64)
        _, legal = decode(np.asarray(positions.packed[sl]), positions.to_play[sl], positions.ko[sl].astype(np.int64),
                          positions.size, "stones")
        legal = np.concatenate([legal, np.ones((len(target), 1), dtype=bool)], axis=1)  # pass
        n_legal = legal.sum(axis=1)
        uni["top1"].append(1.0 / n_legal)
        uni["top5"].append(np.minimum(5, n_legal) / n_legal)
        uni["nll"].append(np.log(n_legal))
        logp = np.where(legal, np.log(counts)[None, :], -np.inf)
        logp = logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)
        t1, t5, nll = _score_batch(logp, target)
        freq["top1"].append(t1)
        freq["top5"].append(t5)
        freq["nll"].append(nll)
    games = positions.game
    return {"uniform_legal": _summary({k: np.concatenate(v) for k, v in uni.items()}, games, seed),
            "most_frequent_point": _summary({k: np.concatenate(v) for k, v in freq.items()}, games, seed)}


def evaluate(model: torch.nn.Module, config: GoConfig, positions: Positions, symmetries: int = 1,
             batch: int = 512, seed: int = 0, progress: bool = True, device: str = "cpu") -> dict:
    """top-1, top-5 and NLL of the model on every position, with 95% game-bootstrap intervals."""
    if positions.size != config.size:
        raise UserError(f"model is for {config.size}x{config.size} boards, data is {positions.size}x{positions.size}")
    dev = select_device(device)
    model = model.to(dev).eval()
    ds = PositionBatches(positions, config.features)
    n = positions.size ** 2
    t1, t5, nll = [], [], []
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in tqdm(range(0, len(positions), batch), desc="eval", unit="batch", disable=not progress):
            (planes, legal), target = ds[list(range(lo, min(lo + batch, len(positions))))]
            logp = symmetric_logits(model, planes.to(dev), legal.to(dev), symmetries)
            logp = logp.float().cpu().numpy().astype(np.float64)
            target = target.numpy()
            if not config.pass_move:  # a pass cannot be predicted: count as a miss with the floor NLL
                logp = np.concatenate([logp, np.full((len(target), 1), -1e9)], axis=1)
            a, b, c = _score_batch(logp, np.minimum(target, n))
            t1.append(a)
            t5.append(b)
            nll.append(c)
    seconds = time.perf_counter() - start
    report = _summary({"top1": np.concatenate(t1), "top5": np.concatenate(t5), "nll": np.concatenate(nll)},
                      positions.game, seed)
    report.update({"positions": len(positions), "games": int(len(np.unique(positions.game))),
                   "symmetries": symmetries, "seconds": seconds, "positions_per_second": len(positions) / seconds,
                   "device": str(dev), "ci": "95% percentile bootstrap over games (1000 resamples)"})
    return report
