"""``filterkit compare``: fixed vs learned first layer of the lecture CNN, over several seeds."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from filterkit.batch.pool import usable_cores
from filterkit.cli.common import (
    add_device_option,
    add_force_option,
    add_json_option,
    add_quiet_option,
    add_seed_option,
    float_range,
    int_range,
    show_progress,
)
from filterkit.errors import UserError
from filterkit.io import refuse_overwrite, write_report

HELP = "train the lecture CNN with a learned, fixed-bank or random frozen first layer and compare"
DESCRIPTION = """\
Train the lecture CNN (conv 25@3x3, pool, conv 50@3x3, pool, dense 100, dense 10)
on handwritten digits with three kinds of first layer, over several seeds:

  learned  conv1 trained from its default random init
  fixed    conv1 = the fixed filter bank (filterkit.nn.layers.FIXED_BANK), frozen
  random   conv1 left at its random init, frozen

The rest of the network is trained in every variant.  Seed s gives every
variant the same init of the trainable layers and the same batch order.
Test accuracy is measured after every epoch; the report gives mean and sample
standard deviation over seeds, parameter counts (total and trainable), and a
figure with the learned kernels beside their nearest fixed kernels.

Data: --data DIR reads the MNIST IDX .gz files in DIR (or DIR/mnist), checked
against known checksums; the rebuilt training-image file
train-images-idx3-ubyte.recon.gz is accepted under its own name.  Without
--data the folder in $FILTERKIT_DATA is used, else ../shared/data/mnist next
to the repository.  --data builtin uses 1,797
scikit-learn 8x8 digits upsampled to 28x28 (offline, seconds per epoch).

examples:
  filterkit compare --data builtin --epochs 3 -o runs/compare-builtin
  filterkit compare --data ../shared/data/mnist --seeds 3 --epochs 2 --jobs 2 -o runs/compare
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from filterkit.apps.digits.config import DEFAULT_BATCH_SIZE, DEFAULT_LR, SCHEDULES
    from filterkit.apps.digits.data import DATA_ENV_VAR

    parser.add_argument(
        "--data",
        metavar="DIR|builtin",
        default=None,
        help=f"folder with the MNIST .gz files, or 'builtin' (default: ${DATA_ENV_VAR}, else ../shared/data/mnist)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the checksum check of the MNIST files")
    parser.add_argument("--epochs", type=int_range(1, 1000), default=2, help="training epochs per run (default 2)")
    parser.add_argument(
        "--seeds",
        default="3",
        metavar="N|LIST",
        help="number of seeds (counting up from --seed) or a comma-separated list, e.g. 0,1,2 (default 3)",
    )
    add_seed_option(parser)
    parser.add_argument(
        "--variants",
        default="learned,fixed,random",
        metavar="LIST",
        help="comma-separated subset of learned,fixed,random (default all three)",
    )
    parser.add_argument(
        "--batch-size", type=int_range(1, 65536), default=DEFAULT_BATCH_SIZE, help=f"training batch size (default {DEFAULT_BATCH_SIZE})"
    )
    parser.add_argument(
        "--lr", type=float_range(0, 10, lo_open=True), default=DEFAULT_LR, help=f"Adam (peak) learning rate (default {DEFAULT_LR:g})"
    )
    parser.add_argument(
        "--schedule",
        choices=list(SCHEDULES),
        default="onecycle",
        help="learning-rate schedule: " + "; ".join(f"{k}: {v}" for k, v in SCHEDULES.items()) + " (default onecycle)",
    )
    add_device_option(parser)
    cores = usable_cores()
    parser.add_argument("--jobs", type=int_range(1, 4 * cores), default=1,
                        help=f"runs trained in parallel, one process each, 1 to {4 * cores} (default 1; "
                        "benchmarks/mnist.py times it)")
    parser.add_argument("--threads", type=int_range(1, 256), default=1,
                        help="torch CPU threads per process (default 1)")
    parser.add_argument("--limit", type=int_range(1), default=None, metavar="N",
                        help="use only the first N training images (quick runs)")
    parser.add_argument("-o", "--out", metavar="OUTDIR", default=None,
                        help="write report.md, compare.png and compare.json to OUTDIR")
    add_json_option(parser)
    add_force_option(parser, "output files")
    add_quiet_option(parser)


def _check_outputs(args: argparse.Namespace) -> None:
    from filterkit.apps.digits.compare import OUTPUT_NAMES

    targets: list = [args.json]
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UserError(f"{out}: exists and is not a folder")
        targets += [out / name for name in OUTPUT_NAMES]
    for path in targets:
        refuse_overwrite(path, args.force)


def _command_line(args: argparse.Namespace, config) -> str:
    """The run's settings written out as one explicit ``filterkit compare`` command."""
    parts = ["filterkit", "compare"]
    if args.data is not None:
        parts += ["--data", str(args.data)]
    if args.no_verify:
        parts.append("--no-verify")
    parts += ["--epochs", str(config.epochs), "--seeds", ",".join(map(str, config.seeds))]
    parts += ["--variants", ",".join(config.variants), "--batch-size", str(config.batch_size)]
    parts += ["--lr", f"{config.lr:g}", "--schedule", config.schedule, "--device", config.device]
    parts += ["--jobs", str(config.jobs), "--threads", str(config.threads)]
    if args.limit is not None:
        parts += ["--limit", str(args.limit)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    from filterkit.apps.digits.compare import CompareConfig, parse_seeds, render_report, run_compare, write_outputs
    from filterkit.apps.digits.data import load_digits_data

    config = CompareConfig(
        epochs=args.epochs,
        seeds=parse_seeds(args.seeds, args.seed),
        variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()),
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        device=args.device,
        jobs=args.jobs,
        threads=args.threads,
    )
    _check_outputs(args)
    from filterkit.nn.train import select_device

    select_device(args.device)  # a bad device name fails now, not after loading data
    data = load_digits_data(args.data, verify=not args.no_verify).limit(args.limit)
    result = run_compare(data, config, progress=show_progress(args))
    command = _command_line(args, config)
    print(render_report(result, command=command), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.out:
        for path in write_outputs(result, args.out, command=command):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        written = write_report(args.json, result.to_json(), force=args.force, device=args.device)
        if written is not None:
            print(f"wrote {written}", file=sys.stderr)
    return 0
