"""CPU threads vs speed for a small CNN: images/s for training and inference at 1 and 2 torch threads.

Each measurement runs in a fresh subprocess (torch's thread pool is fixed per
process), thread counts alternate within every repeat so they see the same
machine load, and the table reports medians over repeats and the ratio to the
first thread count.  The model is 2 conv layers on 1x28x28 (MNIST-sized),
batch 64, SGD; the result sets ``filterkit.nn.train.DEFAULT_CPU_THREADS``.

    python benchmarks/threads.py                       # table
    python benchmarks/threads.py --repeats 7 --json threads.json --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _model():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )  # fmt: skip


def worker(threads: int, steps: int, batch: int, seed: int) -> dict:
    """Images/s of ``steps`` training and inference steps in this process (after 5 warm-up steps)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def infer_step():
        with torch.inference_mode():
            model(x)

    result = {"threads": torch.get_num_threads()}
    for name, step in (("train", train_step), ("inference", infer_step)):
        model.train(name == "train")
        for _ in range(5):
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        result[name] = steps * batch / (time.perf_counter() - start)
    return result


def measure(threads: int, steps: int, batch: int, seed: int) -> dict:
    """Run :func:`worker` in a fresh python process and return its figures."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", str(threads), "--steps", str(steps), "--batch", str(batch),
           "--seed", str(seed)]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts (default 1,2)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per thread count (default 5)")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per measurement (default 40)")
    parser.add_argument("--batch", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.steps, args.batch, args.seed)))
        return 0

    counts = [int(t) for t in args.threads.split(",")]
    runs: dict[int, list[dict]] = {t: [] for t in counts}
    load_before = os.getloadavg()[0]
    for r in range(args.repeats):
        order = counts if r % 2 == 0 else counts[::-1]  # alternate so neither count always goes first
        for t in order:
            runs[t].append(measure(t, args.steps, args.batch, args.seed + r))
    load_after = os.getloadavg()[0]

    base = counts[0]
    rows = []
    for t in counts:
        row = {"threads": t}
        for kind in ("train", "inference"):
            row[f"{kind}_images_per_s"] = statistics.median(m[kind] for m in runs[t])
            row[f"{kind}_all"] = [m[kind] for m in runs[t]]
        rows.append(row)
    for row in rows:
        for kind in ("train", "inference"):
            ref = next(r for r in rows if r["threads"] == base)[f"{kind}_images_per_s"]
            row[f"{kind}_vs_{base}_thread"] = row[f"{kind}_images_per_s"] / ref

    print(f"small CNN (2 conv, 1x28x28, batch {args.batch}), median of {args.repeats} fresh processes, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")  # fmt: skip
    header = f"{'threads':>7}  {'train img/s':>11}  {f'vs {base}':>6}  {'infer img/s':>11}  {f'vs {base}':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['threads']:>7}  {row['train_images_per_s']:>11.0f}  {row[f'train_vs_{base}_thread']:>6.2f}  "
              f"{row['inference_images_per_s']:>11.0f}  {row[f'inference_vs_{base}_thread']:>6.2f}")  # fmt: skip
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, {
            "benchmark": "threads", "batch": args.batch, "steps": args.steps, "repeats": args.repeats,
            "seed": args.seed, "cpu_count": os.cpu_count(), "load_average": [load_before, load_after], "rows": rows,
        })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
