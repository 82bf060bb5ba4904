import numpy as np

from filterkit.apps.go.data import encode_games
from filterkit.apps.go.evaluate import baselines, evaluate
from filterkit.apps.go.model import load

from .conftest import random_game


def test_scores_intervals_and_baselines(tiny_checkpoint):
    model, config = load(tiny_checkpoint)
    positions = encode_games([random_game(9, 40, seed) for seed in range(3)], size=9)
    report = evaluate(model, config, positions, symmetries=8, batch=50, progress=False)
    assert report["positions"] == len(positions) and report["games"] == 3
    for key in ("top1", "top5", "nll"):
        low, high = report[f"{key}_ci95"]
        assert low <= report[key] <= high
    assert report["top1"] <= report["top5"]
    base = baselines(positions, config.move_counts)
    uniform = base["uniform_legal"]
    assert 0 < uniform["top1"] < uniform["top5"] < 1 and np.isfinite(uniform["nll"])
    assert set(base) == {"uniform_legal", "most_frequent_point"}
