"""``filterkit visualize`` speed: class maximisation of the 10 digits, and 128x128 style transfer.

Measured side by side in this run (modes alternate inside each repeat; medians over ``--repeats``):

1. Activation maximisation of all 10 classes of a lecture-CNN checkpoint
   (default settings, ``MaximizeConfig()``), **batched** (one batch of 10
   images) vs **one class at a time**; also the worst class probability and
   the smallest fraction of zero pixels.  Target: all 10 digits in < 60 s on CPU,
   every probability > 0.99, every image >= 50 % zero pixels.
2. Style transfer, ``skimage:camera`` content x ``skimage:gravel`` style at
   ``--size`` (128) px, random multi-scale filter features: **L-BFGS** vs
   **Adam**, the same number of loss evaluations (``--style-steps``); seconds
   and the Gram distance ratio (start / final).  Target: < 120 s on CPU.

    python benchmarks/visualize.py --checkpoint mnist_cnn/best.pt --json out/visualize.json
    python benchmarks/visualize.py --quick                 # trains on the built-in digits first; seconds

Without ``--checkpoint`` the lecture CNN is first trained for 2 epochs on the
built-in digits (the table says so).  ``--device cuda`` times the GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time


def _maximize_runs(vm, batched: bool, seed: int):
    from filterkit.visualize.common import OUTPUT
    from filterkit.visualize.config import MaximizeConfig
    from filterkit.visualize.maximize import Target, maximize

    targets = [Target("class", OUTPUT, c) for c in range(10)]
    start = time.perf_counter()
    if batched:
        results = [maximize(vm, targets, MaximizeConfig(), seed=seed)]
    else:
        results = [maximize(vm, [t], MaximizeConfig(), seed=seed) for t in targets]
    seconds = time.perf_counter() - start
    probs = [float(p) for r in results for p in r.probability]
    sparsity = [float(s) for r in results for s in r.sparsity]
    return seconds, min(probs), min(sparsity)


def _style_run(optimizer: str, size: int, steps: int, seed: int, device):
    from filterkit.visualize.common import load_image
    from filterkit.visualize.config import StyleConfig
    from filterkit.visualize.style import RandomFilterFeatures, synthesize

    extractor = RandomFilterFeatures(1, seed=seed).to(device)
    style = load_image("skimage:gravel", size=size).to(device)
    content = load_image("skimage:camera", size=size).to(device)
    start = time.perf_counter()
    result = synthesize(extractor, style, content, config=StyleConfig(steps=steps, optimizer=optimizer), seed=seed)
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return seconds, result.start_gram_distance / result.final_gram_distance, len(result.loss_history)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="lecture-CNN checkpoint (default: train on built-in digits)")
    parser.add_argument("--size", type=int, default=128, help="style transfer image side (px)")
    parser.add_argument("--style-steps", type=int, default=200, help="loss evaluations per style run")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (median reported)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 64 px, 50 style evaluations")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.size, args.style_steps = 1, 64, 50

    import torch

    from filterkit.io import write_report
    from filterkit.nn.train import configure_threads, select_device
    from filterkit.visualize.common import load_model

    threads = configure_threads(args.threads)
    device = select_device(args.device)
    checkpoint, trained_here = args.checkpoint, False
    if checkpoint is None:
        from filterkit.apps.digits.data import load_builtin_digits
        from filterkit.apps.digits.train import train_digits_cnn

        with tempfile.TemporaryDirectory(prefix="fk-vis-bench-") as tmp:
            path = train_digits_cnn(load_builtin_digits(), epochs=2, seed=args.seed).save_checkpoint(
                os.path.join(tmp, "digits.pt"))
            vm = load_model(path, device=device)
        checkpoint, trained_here = "built-in digits, 2 epochs", True
    else:
        vm = load_model(checkpoint, device=device)

    rows: dict[str, list] = {"maximize 10 classes, batched": [], "maximize 10 classes, one at a time": [],
                             f"style {args.size}px, lbfgs": [], f"style {args.size}px, adam": []}
    extra: dict[str, list] = {k: [] for k in rows}
    for _ in range(args.repeats):
        for batched, key in ((True, "maximize 10 classes, batched"), (False, "maximize 10 classes, one at a time")):
            seconds, pmin, smin = _maximize_runs(vm, batched, args.seed)
            rows[key].append(seconds)
            extra[key].append({"min_probability": pmin, "min_sparsity": smin})
        for opt in ("lbfgs", "adam"):
            key = f"style {args.size}px, {opt}"
            seconds, ratio, evals = _style_run(opt, args.size, args.style_steps, args.seed, device)
            rows[key].append(seconds)
            extra[key].append({"gram_distance_ratio": ratio, "evaluations": evals})

    medians = {k: statistics.median(v) for k, v in rows.items()}
    source = f"{checkpoint} (trained in this run)" if trained_here else checkpoint
    print(f"device {device}, {threads} thread(s), {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}; checkpoint {source}; median of {args.repeats}")
    print(f"{'run':42s} {'seconds':>9s}  figures (last repeat)")
    for key, value in medians.items():
        figures = ", ".join(f"{k} {v:.4g}" for k, v in extra[key][-1].items())
        print(f"{key:42s} {value:9.2f}  {figures}")
    batched, single = medians["maximize 10 classes, batched"], medians["maximize 10 classes, one at a time"]
    lbfgs, adam = medians[f"style {args.size}px, lbfgs"], medians[f"style {args.size}px, adam"]
    print(f"ratio one-at-a-time / batched maximisation: {single / batched:.2f}x; "
          f"adam / lbfgs time: {adam / lbfgs:.2f}x")
    if args.json:
        write_report(args.json, {
            "device": str(device), "threads": threads, "torch": torch.__version__, "checkpoint": source,
            "repeats": args.repeats, "seed": args.seed, "size": args.size, "style_steps": args.style_steps,
            "seconds": rows, "median_seconds": medians, "figures": extra,
            "ratios": {"maximize_single_over_batched": single / batched, "style_adam_over_lbfgs": adam / lbfgs},
            "load_average": os.getloadavg()[0],
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
