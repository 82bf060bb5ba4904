"""Tile sizes of the fused CUDA kernel (filterkit.filters._backends.triton_separable): time each against the copy floor.

On a machine with an NVIDIA GPU::

    python benchmarks/gpu_tiles.py --json tiles.json

For every separable filter of benchmarks/gpu.py's target (gaussian sigma 1 and 5,
mean 3 and 15) and every tile (columns per program x output rows per program x
warps), on one ``(batch, size, size)`` tensor: median ms over ``--repeats`` runs
(CUDA events), GPix/s, ``floor`` = GPix/s over the device-to-device copy's
GPix/s, and the largest difference from the torch path (``FILTERKIT_TRITON``
off) relative to its largest value.  The torch path's own time is the first
row of each op.  ``best`` in the JSON (and the last line) is the tile with the
highest geometric-mean floor fraction over the ops: the value for
``filterkit.filters._backends.triton_separable.TILE``.

CPU smoke test (Triton's interpreter, tiny sizes)::

    TRITON_INTERPRET=1 python benchmarks/gpu_tiles.py --device cpu --size 40 --batch 1 --repeats 1 --tiles 16x8x1
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gpu import DTYPES, bench_copy, device_name, time_call  # noqa: E402
from filterkit.filters import kernels as K  # noqa: E402
from filterkit.filters import tensor as T  # noqa: E402
from filterkit.filters._backends import triton_separable as fused  # noqa: E402

OPS = {
    "gaussian s=1": K.gaussian_1d(1.0),
    "gaussian s=5": K.gaussian_1d(5.0),
    "mean 3": K.box_1d(3),
    "mean 15": K.box_1d(15),
}
DEFAULT_TILES = [f"{w}x{r}x{n}" for w in (128, 256, 512) for r in (64, 256) for n in (1, 2, 4) if w >= 32 * n]


def _tile(text: str) -> tuple[int, int, int]:
    try:
        block_w, rows, warps = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"tile {text!r}: expected COLUMNSxROWSxWARPS, e.g. 256x128x2") from None
    if block_w < 1 or block_w & (block_w - 1) or rows < 1 or warps not in (1, 2, 4, 8):
        raise argparse.ArgumentTypeError(f"tile {text!r}: columns a power of two, rows >= 1, warps 1, 2, 4 or 8")
    return block_w, rows, warps


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="cuda, cuda:N, or cpu under TRITON_INTERPRET=1 (default: cuda)")
    p.add_argument("--size", type=int, default=4096, help="image side in pixels (default 4096)")
    p.add_argument("--batch", type=int, default=4, help="images per call (default 4)")
    p.add_argument("--dtype", default="float32", choices=list(DTYPES), help="input dtype (default float32)")
    p.add_argument("--tiles", nargs="+", type=_tile, default=[_tile(t) for t in DEFAULT_TILES],
                   help="tiles as COLUMNSxROWSxWARPS (default: 128/256/512 x 64/256 x 1/2/4)")
    p.add_argument("--repeats", type=int, default=20, help="timed runs per figure, median reported (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device or "cuda")
    if not fused.available():
        raise SystemExit("benchmarks/gpu_tiles.py: error: needs Triton (pip install triton)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu_tiles.py: error: no CUDA device here; for a CPU smoke test use "
                         "--device cpu with TRITON_INTERPRET=1")
    if device.type == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
        raise SystemExit("benchmarks/gpu_tiles.py: error: --device cpu runs only under Triton's interpreter "
                         "(TRITON_INTERPRET=1)")
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.rand(args.batch, args.size, args.size, generator=gen).to(device=device, dtype=DTYPES[args.dtype])
    copy = bench_copy(x, args.repeats)
    report = dict(device=str(device), device_name=device_name(device), torch=torch.__version__,
                  triton=fused.triton.__version__, command=" ".join(shlex.quote(a) for a in sys.argv),
                  seed=args.seed, shape=list(x.shape), dtype=args.dtype, repeats=args.repeats, copy=copy, rows=[])
    pixels = x.numel()
    with torch.no_grad():
        for name, k1 in OPS.items():
            fused.ENABLED = False
            reference = T.correlate(x.float(), K.Separable(rows=k1, cols=k1))
            s = time_call(lambda: T.correlate(x.float(), K.Separable(rows=k1, cols=k1)), device, args.repeats)
            report["rows"].append(dict(op=name, tile="torch path", ms=1e3 * s, gpix_per_s=pixels / s / 1e9,
                                       fraction_of_floor=pixels / s / 1e9 / copy["gpix_per_s"], rel_diff=0.0))
            fused.ENABLED = True
            scale = reference.abs().max().item()
            for block_w, rows, warps in args.tiles:
                def call():
                    return fused.separable(x, k1, k1, "reflect", block_w=block_w, rows_per_program=rows,
                                           num_warps=warps)
                diff = (call().float() - reference).abs().max().item() / scale
                s = time_call(call, device, args.repeats)
                report["rows"].append(dict(op=name, tile=f"{block_w}x{rows}x{warps}", ms=1e3 * s,
                                           gpix_per_s=pixels / s / 1e9,
                                           fraction_of_floor=pixels / s / 1e9 / copy["gpix_per_s"], rel_diff=diff))
    tiles = [f"{w}x{r}x{n}" for w, r, n in args.tiles]
    score = {t: math.exp(sum(math.log(r["fraction_of_floor"]) for r in report["rows"] if r["tile"] == t) / len(OPS))
             for t in tiles}
    report["geomean_floor"] = score
    report["best"] = max(score, key=score.get)
    return report


def print_report(report: dict) -> None:
    c = report["copy"]
    print(f"device: {report['device_name']}; torch {report['torch']}; triton {report['triton']}; "
          f"tensor {report['shape']} {report['dtype']}; copy {c['ms']:.3f} ms = {c['gb_per_s']:.0f} GB/s "
          f"({c['gpix_per_s']:.1f} GPix/s)")
    print(f"{'op':<14} {'tile':<12} {'ms':>8} {'GPix/s':>8} {'floor':>6} {'rel diff':>9}")
    for r in report["rows"]:
        print(f"{r['op']:<14} {r['tile']:<12} {r['ms']:>8.3f} {r['gpix_per_s']:>8.2f} {r['fraction_of_floor']:>6.2f} "
              f"{r['rel_diff']:>9.1e}")
    print("geometric-mean floor fraction: " + ", ".join(f"{t} {v:.2f}" for t, v in report["geomean_floor"].items()))
    print(f"best {report['best']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print_report(report)
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, report)
    worst = max(r["rel_diff"] for r in report["rows"])
    return 0 if worst < 1e-5 or args.dtype != "float32" else 1


if __name__ == "__main__":
    sys.exit(main())
