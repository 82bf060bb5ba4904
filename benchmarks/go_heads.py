"""How well the go net's ownership and score heads judge positions, by stage of the game.

On the labelled games of a prepared split (``filterkit go prepare --ownership-games N``), for
positions drawn at random in each band of move numbers:

* **ownership accuracy**: points whose final owner (dame excluded) the ownership head gives to
  the right side;
* **score MAE**: mean absolute error of the score head's final area margin, in points, and of the
  summed ownership head's (the area margin of the player to move, before komi).

Usage::

    python benchmarks/go_heads.py go-data --split ci_subset --json heads.json

Figures: apps/go/README.md (ownership and score heads).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

BANDS = ((0, 50), (50, 100), (100, 150), (150, 200), (200, 250), (250, 1000))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a folder made by 'filterkit go prepare --ownership-games N'")
    parser.add_argument("--split", default="ci_subset", help="labelled split (default ci_subset)")
    parser.add_argument("--model", default=None, help="a checkpoint with heads (default: the bundled go model)")
    parser.add_argument("--positions", type=int, default=1000, help="positions per band (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from filterkit.io import write_report
    from filterkit.models import resolve

    from filterkit.apps.go.data import load_positions
    from filterkit.apps.go.ownership import OwnershipBatches, read_labels

    torch.set_num_threads(1)
    from filterkit.apps.go.model import load

    model, _ = load(resolve(args.model, "go"))
    labels = read_labels(args.data / args.split)
    if labels is None or not model.has_heads:
        print(f"go_heads.py: error: {args.data / args.split} has no ownership labels or the model no heads",
              file=sys.stderr)
        return 2
    positions = load_positions(args.data, args.split, progress=False)
    ds = OwnershipBatches(positions, labels)
    game = np.asarray(positions.game)
    first = np.searchsorted(game, np.arange(game.max() + 2))
    move_number = ds.index - first[game[ds.index]]
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"{'moves':>10}{'positions':>11}{'ownership acc':>15}{'score MAE':>11}{'own-sum MAE':>13}")
    for lo, hi in BANDS:
        band = np.flatnonzero((move_number >= lo) & (move_number < hi))
        if not len(band):
            continue
        pick = rng.choice(band, size=min(args.positions, len(band)), replace=False)
        (planes, legal), (_, own_t, score_t) = ds[pick]
        with torch.inference_mode():
            _, own, score = model.evaluate(planes, legal)
        decided = own_t != 0.5
        acc = (((own > 0) == (own_t > 0.5)) & decided).sum().item() / decided.sum().item()
        own_sum = torch.tanh(own / 2).sum(dim=1)
        row = {"moves": [lo, hi], "positions": len(pick), "ownership_accuracy": acc,
               "score_mae": (score - score_t).abs().mean().item(),
               "ownership_sum_mae": (own_sum - score_t).abs().mean().item()}
        rows.append(row)
        print(f"{lo:>4}-{hi:<5}{len(pick):>11}{acc:>15.1%}{row['score_mae']:>11.1f}{row['ownership_sum_mae']:>13.1f}")
    if args.json:
        write_report(args.json, {"data": str(args.data), "split": args.split, "model": str(resolve(args.model, "go")),
                                 "bands": rows}, device="cpu", threads=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
