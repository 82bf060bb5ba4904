"""Benchmark of the go app: rules-engine replay, feature encoding, data loading, training, genmove.

Measured in one run, on one core (``OMP_NUM_THREADS=1``, one torch thread):

* **replay**: SGF parsing and board replay (captures, ko) of the games of a
  split (default ``ci_subset``; ``--replay all`` = every game of every archive),
  moves/s and the number of illegal moves met (must be 0);
* **encode**: positions/s of converting replayed games into packed arrays;
* **loading**: positions/s of random batches read from a memory-mapped
  prepared split, with and without the random symmetry (decode included);
* **training**: positions/s of the shared Trainer for each net (``--nets``);
* **genmove**: median latency of one move of :class:`PolicyPlayer` on
  mid-game 19x19 positions, 1 and 8 symmetries, for each net (untrained
  weights: the cost does not depend on them);
* **search**: playouts/s of :class:`SearchPlayer` (the 6x48 net with its
  heads) from move-100 positions, leaves evaluated 1, 8 or 16 at a time.

Medians over ``--repeats``; ratios are between rows of the same run.

Figures: benchmarks/README.md (Go).

Usage::

    python benchmarks/go.py --json bench_go.json
    python benchmarks/go.py --replay all --json replay_all.json     # every game of the KGS copy
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "go"
NETS = {"tiny-3x16": (3, 16), "cpu-6x64": (6, 64)}


def bench_replay(data: Path, split: str, max_games: int | None) -> dict:
    from filterkit.apps.go.board import IllegalMove
    from filterkit.apps.go.records import iter_records, iter_sgf_bytes, parse_sgf

    if split == "all":
        sources = iter_sgf_bytes(data / "kgs")
        games = (parse_sgf(b, name) for name, b in sources)
    else:
        games = iter_records(data, split)
    t0 = time.perf_counter()
    records = list(itertools.islice(games, max_games) if max_games else games)
    parse_s = time.perf_counter() - t0
    illegal, moves = [], 0
    t0 = time.perf_counter()
    for rec in records:
        board = rec.board()
        try:
            for color, point in rec.moves:
                board.play(point, color)
        except IllegalMove as exc:
            illegal.append(f"{rec.name}: move {len(board.moves) + 1}: {exc}")
        moves += len(rec.moves)
    replay_s = time.perf_counter() - t0
    return {"split": split, "games": len(records), "moves": moves, "illegal_moves": len(illegal),
            "illegal_examples": illegal[:10], "parse_s": parse_s, "replay_s": replay_s,
            "replay_moves_per_s": moves / replay_s, "parse_games_per_s": len(records) / parse_s}, records


def bench_encode(records) -> tuple[dict, object]:
    from filterkit.apps.go.data import encode_games

    t0 = time.perf_counter()
    pos = encode_games(records, size=19)
    s = time.perf_counter() - t0
    return {"positions": len(pos), "seconds": s, "positions_per_s": len(pos) / s}, pos


def bench_loading(records, tmp: Path, batch: int, repeats: int, seed: int) -> dict:
    import numpy as np

    from filterkit.apps.go.data import PositionBatches, open_positions, write_positions

    write_positions(records, tmp / "split", size=19, progress=False)
    pos = open_positions(tmp / "split")
    rng = np.random.default_rng(seed)
    out = {"bytes_per_position": int(pos.packed.shape[1]) + 5}
    for name, augment in (("plain", False), ("augmented", True)):
        ds = PositionBatches(pos, "full", augment=augment, seed=seed)
        times = []
        for _ in range(repeats):
            idx = rng.integers(0, len(pos), batch).tolist()
            t0 = time.perf_counter()
            ds[idx]
            times.append(time.perf_counter() - t0)
        out[f"{name}_positions_per_s"] = batch / statistics.median(times)
    out["augment_cost_ratio"] = out["plain_positions_per_s"] / out["augmented_positions_per_s"]
    return out


def bench_training(tmp: Path, nets: list[str], positions: int, batch: int, seed: int) -> dict:
    from filterkit.apps.go.config import GoConfig
    from filterkit.apps.go.train import train

    out = {}
    for name in nets:
        layers, width = NETS[name]
        config = GoConfig(layers=layers, width=width, epochs=1, epoch_positions=positions, batch_size=batch,
                          seed=seed, train_split="split", val_split="none")
        report = train(tmp, tmp / f"run-{name}", config, device="cpu", progress=False)
        out[name] = {"positions": report["train_positions_seen"], "seconds": report["seconds"],
                     "positions_per_s": report["positions_per_second"]}
    return out


def bench_genmove(records, nets: list[str], repeats: int, seed: int) -> dict:
    import torch

    from filterkit.apps.go.config import GoConfig
    from filterkit.apps.go.engine import PolicyPlayer
    from filterkit.apps.go.model import PolicyNet
    from filterkit.nn.summary import summarize

    torch.set_num_threads(1)
    boards = []
    for rec in records[:repeats]:
        board = rec.board()
        for color, point in rec.moves[: min(100, len(rec.moves))]:
            board.play(point, color)
        boards.append(board)
    out = {}
    for name in nets:
        layers, width = NETS[name]
        torch.manual_seed(seed)
        net = PolicyNet(17, 19, layers, width).eval()
        row = {"params": summarize(net, (17, 19, 19)).total_params}
        for sym in (1, 8):
            player = PolicyPlayer(net, GoConfig(features="full"), symmetries=sym, resign_margin=0, pass_threshold=1.0)
            player.genmove(boards[0])  # warm-up
            times = []
            for board in boards:
                t0 = time.perf_counter()
                player.genmove(board)
                times.append(time.perf_counter() - t0)
            row[f"sym{sym}_median_ms"] = 1000 * statistics.median(times)
        row["sym8_over_sym1"] = row["sym8_median_ms"] / row["sym1_median_ms"]
        out[name] = row
    return out


def bench_search(records, repeats: int, seed: int, playouts: int = 256) -> dict:
    """Playouts/s of the tree search with the shipped 6x48 layout (heads on), batches of 1, 8 and 16 leaves."""
    import torch

    from filterkit.apps.go.config import GoConfig
    from filterkit.apps.go.model import PolicyNet
    from filterkit.apps.go.search import SearchPlayer

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net = PolicyNet(17, 19, 6, 48, heads=True).eval()
    boards = []
    for rec in records[: max(1, repeats // 3)]:
        board = rec.board()
        for color, point in rec.moves[: min(100, len(rec.moves))]:
            board.play(point, color)
        boards.append(board)
    out = {"playouts": playouts, "positions": len(boards)}
    for batch in (1, 8, 16):
        rates = []
        for board in boards:
            player = SearchPlayer(net, GoConfig(features="full", heads=True), playouts=playouts, seconds=None,
                                  batch=batch, resign_margin=0)
            t0 = time.perf_counter()
            player.genmove(board)
            rates.append(player.last["playouts"] / (time.perf_counter() - t0))
        out[f"batch{batch}_playouts_per_s"] = statistics.median(rates)
    out["batch8_over_batch1"] = out["batch8_playouts_per_s"] / out["batch1_playouts_per_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="KGS folder with manifest.csv.gz")
    parser.add_argument("--replay", default="ci_subset", help="split to replay, or 'all' (default ci_subset)")
    parser.add_argument("--max-games", type=int, default=None, help="replay at most N games (default: all)")
    parser.add_argument("--encode-games", type=int, default=60, help="games encoded/loaded/trained on (default 60)")
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS), help="nets to time")
    parser.add_argument("--train-positions", type=int, default=2048, help="positions per training timing")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--repeats", type=int, default=30, help="repeats for medians (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    data = Path(args.data)
    if not (data / "manifest.csv.gz").is_file():
        print(f"benchmarks/go.py: error: {data}: KGS data not found", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    report = {"threads": torch.get_num_threads(), "seed": args.seed}
    report["replay"], records = bench_replay(data, args.replay, args.max_games)
    r = report["replay"]
    print(f"replay {r['split']}: {r['games']} games, {r['moves']} moves, {r['illegal_moves']} illegal; "
          f"parse {r['parse_games_per_s']:.0f} games/s, replay {r['replay_moves_per_s']:.0f} moves/s")
    sample = [rec for rec in records if rec.size == 19][: args.encode_games]
    report["encode"], _ = bench_encode(sample)
    print(f"encode: {report['encode']['positions_per_s']:.0f} positions/s ({report['encode']['positions']} positions)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report["loading"] = bench_loading(sample, tmp, args.batch_size, args.repeats, args.seed)
        lo = report["loading"]
        print(f"loading (memmap, batch {args.batch_size}): {lo['plain_positions_per_s']:.0f} positions/s plain, "
              f"{lo['augmented_positions_per_s']:.0f} with symmetries (x{lo['augment_cost_ratio']:.2f} cost)")
        report["training"] = bench_training(tmp, args.nets, args.train_positions, args.batch_size, args.seed)
    report["genmove"] = bench_genmove(sample, args.nets, args.repeats, args.seed)
    print(f"\n{'net':<12}{'params':>9}{'train pos/s':>13}{'genmove ms':>12}{'8-sym ms':>10}{'ratio':>7}")
    for name in args.nets:
        g, t = report["genmove"][name], report["training"][name]
        print(f"{name:<12}{g['params']:>9}{t['positions_per_s']:>13.0f}{g['sym1_median_ms']:>12.1f}"
              f"{g['sym8_median_ms']:>10.1f}{g['sym8_over_sym1']:>7.2f}")
    report["search"] = se = bench_search(sample, args.repeats, args.seed)
    print(f"\nsearch (6x48 + heads, {se['playouts']} playouts from move 100, median of {se['positions']}): "
          + ", ".join(f"batch {b}: {se[f'batch{b}_playouts_per_s']:.0f} playouts/s" for b in (1, 8, 16))
          + f" (batch 8 / batch 1: x{se['batch8_over_batch1']:.2f})")
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, report, device="cpu", threads=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
