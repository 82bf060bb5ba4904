"""Lecture CNN on MNIST: training/inference images per second on 1 and 2 threads, and accuracy per epoch.

Everything goes through the one training engine (:class:`filterkit.nn.train.Trainer`).

1. Speed, measured side by side in this run (modes alternate inside each
   repeat; the median over repeats is reported):

   * ``1 proc x 1 thread`` and ``1 proc x 2 threads``: one training epoch over
     the first ``--speed-images`` training images (batch ``--batch-size``), and
     inference over the first ``--speed-images`` test images (batch 1000);
   * ``2 proc x 1 thread``: two processes train at the same time (started
     together at a barrier); images/s is the total over both processes.
     This is what ``filterkit compare --jobs 2`` does.

2. Accuracy: the lecture CNN trained for ``--epochs`` epochs on the full
   training set (Adam with peak lr ``--lr``, batch ``--batch-size``; one thread),
   with the test accuracy after every epoch; the speed runs use the same
   recipe (Adam + one-cycle schedule, :func:`filterkit.apps.digits.train.make_optimizer`).  Target: >= 99.0 % within 3 epochs.

    python benchmarks/mnist.py --data ../shared/data/mnist --json out/mnist.json
    python benchmarks/mnist.py --data builtin --quick          # seconds, for a smoke test
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time

from filterkit.apps.digits.config import DEFAULT_LR, SCHEDULES

TARGET_ACCURACY = 0.99
TARGET_EPOCHS = 3


def _train_loader(data, n_images: int, batch_size: int, seed: int):
    from filterkit.apps.digits.data import make_loaders

    return make_loaders(data.limit(n_images), batch_size, seed)[0]


def _test_loader(data, n_images: int):
    from filterkit.apps.digits.data import make_loaders

    subset = type(data)(
        train_images=data.train_images[:1],
        train_labels=data.train_labels[:1],
        test_images=data.test_images[:n_images],
        test_labels=data.test_labels[:n_images],
        name=data.name,
        description=data.description,
    )
    return make_loaders(subset, 1, 0)[1]


def _trainer(threads: int, lr: float, seed: int, steps_per_epoch: int, epochs: int = 1, schedule: str = "onecycle"):
    """A Trainer for the lecture CNN with the compare recipe (:func:`filterkit.apps.digits.train.make_optimizer`)."""
    import torch
    from filterkit.apps.digits.train import make_optimizer

    from filterkit.nn.train import TrainConfig, Trainer, accuracy, seed_everything
    from filterkit.nn.zoo import build_model

    seed_everything(seed)
    model = build_model("lecture_cnn")
    optimizer, scheduler, interval = make_optimizer(model, lr, epochs, steps_per_epoch, schedule)
    config = TrainConfig(epochs=epochs, device="cpu", threads=threads, scheduler_interval=interval,
                         progress=False, tensorboard=False)
    return Trainer(model, optimizer, torch.nn.functional.cross_entropy, config=config, app="benchmark-mnist",
                   scheduler=scheduler, metrics={"accuracy": accuracy})


def measure_train(data, threads: int, n_images: int, batch_size: int, lr: float, seed: int) -> float:
    """Training images per second over one epoch of ``n_images`` images (engine's own epoch timer)."""
    loader = _train_loader(data, n_images, batch_size, seed)
    trainer = _trainer(threads, lr, seed, len(loader))
    history = trainer.fit(loader)
    return min(n_images, len(data.train_labels)) / history[-1]["seconds"]


def measure_inference(data, threads: int, n_images: int, seed: int) -> float:
    """Inference images per second (``Trainer.evaluate``, batch 1000, no gradients)."""
    trainer = _trainer(threads, 1e-3, seed, 1)
    loader = _test_loader(data, n_images)
    start = time.perf_counter()
    trainer.evaluate(loader)
    return len(loader.dataset) / (time.perf_counter() - start)


def _parallel_worker(data, n_images, batch_size, lr, seed, barrier, queue) -> None:
    loader = _train_loader(data, n_images, batch_size, seed)
    trainer = _trainer(1, lr, seed, len(loader))
    barrier.wait()
    start = time.time()
    trainer.fit(loader)
    queue.put((start, time.time(), len(loader.dataset)))


def measure_train_two_processes(data, n_images: int, batch_size: int, lr: float, seed: int) -> float:
    """Total training images per second of two 1-thread processes training at the same time."""
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_parallel_worker, args=(data, n_images, batch_size, lr, seed + i, barrier, queue))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"benchmark worker failed with exit code {p.exitcode}")
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    return sum(r[2] for r in results) / (end - start)


def measure_accuracy(
    data, epochs: int, batch_size: int, lr: float, schedule: str, seed: int, progress: bool
) -> list[dict]:
    """Per-epoch test accuracy and seconds of a full training run (1 thread)."""
    from filterkit.apps.digits.data import make_loaders

    train, test = make_loaders(data, batch_size, seed)
    trainer = _trainer(1, lr, seed, len(train), epochs=epochs, schedule=schedule)
    trainer.progress = progress
    return [
        {"epoch": int(r["epoch"]), "test_accuracy": r["val_accuracy"], "train_loss": r["train_loss"],
         "seconds": r["seconds"]}
        for r in trainer.fit(train, test)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", default=None, help="MNIST folder or 'builtin' (default: $FILTERKIT_DATA, else ../shared/data/mnist)"
    )
    parser.add_argument("--epochs", type=int, default=TARGET_EPOCHS, help="epochs of the accuracy run (default 3)")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    parser.add_argument(
        "--lr", type=float, default=DEFAULT_LR, help=f"Adam peak learning rate (default {DEFAULT_LR:g})"
    )
    parser.add_argument("--schedule", choices=list(SCHEDULES), default="onecycle",
                        help="learning-rate schedule of the accuracy run (default onecycle)")
    parser.add_argument("--speed-images", type=int, default=6400, help="images per speed measurement (default 6400)")
    parser.add_argument("--repeats", type=int, default=3, help="speed repeats; the median is reported (default 3)")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the accuracy run")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 1280 images, 1 epoch (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    parser.add_argument("--progress", action="store_true", help="show the accuracy run's progress bars")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.speed_images, args.epochs = 1, 1280, 1

    from filterkit.apps.digits.data import load_digits_data

    from filterkit.errors import UserError

    try:
        data = load_digits_data(args.data)
    except UserError as exc:
        print(f"mnist benchmark: error: {exc}", file=sys.stderr)
        return 2

    modes = {
        "1 proc x 1 thread": lambda: measure_train(data, 1, args.speed_images, args.batch_size, args.lr, args.seed),
        "1 proc x 2 threads": lambda: measure_train(data, 2, args.speed_images, args.batch_size, args.lr, args.seed),
        "2 proc x 1 thread": lambda: measure_train_two_processes(
            data, args.speed_images, args.batch_size, args.lr, args.seed
        ),
    }
    infer_modes = {
        "1 proc x 1 thread": lambda: measure_inference(data, 1, args.speed_images, args.seed),
        "1 proc x 2 threads": lambda: measure_inference(data, 2, args.speed_images, args.seed),
    }
    measure_train(data, 1, min(640, args.speed_images), args.batch_size, args.lr, args.seed)  # warm-up
    train_runs: dict[str, list[float]] = {m: [] for m in modes}
    infer_runs: dict[str, list[float]] = {m: [] for m in infer_modes}
    for r in range(args.repeats):
        for name, fn in modes.items():
            train_runs[name].append(fn())
        for name, fn in infer_modes.items():
            infer_runs[name].append(fn())
        print(f"speed repeat {r + 1}/{args.repeats} done", file=sys.stderr)

    train_med = {m: statistics.median(v) for m, v in train_runs.items()}
    infer_med = {m: statistics.median(v) for m, v in infer_runs.items()}
    base_train, base_infer = train_med["1 proc x 1 thread"], infer_med["1 proc x 1 thread"]
    print(f"\nlecture CNN, {data.name}: images/s (median of {args.repeats}; batch {args.batch_size} training, "
          f"1000 inference; {args.speed_images} images each)")
    print(f"{'mode':<20} {'train img/s':>12} {'x 1-thread':>11} {'infer img/s':>12} {'x 1-thread':>11}")
    for mode in modes:
        infer = infer_med.get(mode)
        infer_cells = f"{infer:>12.0f} {infer / base_infer:>11.2f}" if infer else f"{'-':>12} {'-':>11}"
        print(f"{mode:<20} {train_med[mode]:>12.0f} {train_med[mode] / base_train:>11.2f} {infer_cells}")

    accuracy_rows: list[dict] = []
    reached = None
    if not args.no_accuracy:
        print(f"\naccuracy run: {args.epochs} epoch(s), Adam {args.schedule} lr {args.lr:g}, "
              f"batch {args.batch_size}, 1 thread, "
              f"{len(data.train_labels)} training / {len(data.test_labels)} test images", file=sys.stderr)
        accuracy_rows = measure_accuracy(
            data, args.epochs, args.batch_size, args.lr, args.schedule, args.seed, args.progress
        )
        print(f"\n{'epoch':>5} {'test acc %':>10} {'train loss':>10} {'seconds':>8}")
        for row in accuracy_rows:
            print(f"{row['epoch']:>5} {100 * row['test_accuracy']:>10.2f} {row['train_loss']:>10.4f} "
                  f"{row['seconds']:>8.1f}")
        reached = next((r["epoch"] for r in accuracy_rows if r["test_accuracy"] >= TARGET_ACCURACY), None)
        verdict = (f"reached at epoch {reached}" if reached is not None and reached <= TARGET_EPOCHS
                   else f"NOT reached within {min(args.epochs, TARGET_EPOCHS)} epoch(s)")
        print(f"target {100 * TARGET_ACCURACY:.1f}% test accuracy within {TARGET_EPOCHS} epochs: {verdict}")

    if args.json:
        import torch

        from filterkit.io import write_report

        write_report(args.json, {
            "benchmark": "mnist",
            "dataset": data.summary(),
            "model": "lecture_cnn",
            "seed": args.seed,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "optimizer": "Adam",
            "schedule": args.schedule,
            "speed_images": args.speed_images,
            "repeats": args.repeats,
            "train_images_per_s": {"median": train_med, "runs": train_runs},
            "inference_images_per_s": {"median": infer_med, "runs": infer_runs},
            "accuracy_per_epoch": accuracy_rows,
            "target": {"accuracy": TARGET_ACCURACY, "epochs": TARGET_EPOCHS, "reached_at_epoch": reached},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
        })
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
