"""GPU benchmark: filterkit.filters.tensor filters against the copy floor and kornia, and app training steps.

On a machine with an NVIDIA GPU (H100/H200), one short run::

    python benchmarks/gpu.py --json gpu.json                  # ~1-2 minutes
    python benchmarks/gpu.py --json gpu.json --amp            # adds bf16 autocast training rows

CPU smoke test (tiny sizes, seconds)::

    python benchmarks/gpu.py --device cpu --size 256 --batch 1 --repeats 2

What is measured, side by side in one process on one ``(batch, 1, size, size)`` tensor
(default 4 x 4096 x 4096, float32; also float16 and bfloat16, which filterkit.filters.tensor
accepts and computes in float32 internally):

1. Copy floor: ``dst.copy_(src)`` device to device.  GB/s counts the bytes read and written
   (2 x the tensor's size); GPix/s is what a filter reading and writing each pixel once
   could reach at that bandwidth (8 bytes per pixel for float32, 4 for 16-bit floats).
2. filterkit.filters.tensor: gaussian sigma 1 and 5, mean 3 and 15, sobel magnitude, laplace
   (4-neighbour), median 3.  For each: ms, GPix/s and ``floor`` = GPix/s divided by the
   copy floor's GPix/s for the same dtype, for the torch path and, when Triton is
   installed, again with the fused kernel (filterkit.filters._backends.triton_separable, opt-in) switched
   on.  Target: ``floor >= 0.5`` for the separable filters (gaussian, mean).
3. kornia (optional; the column is n/a when not installed or when an op refuses the
   dtype): gaussian_blur2d, box_blur, sobel, laplacian(3) (8-neighbour, normalised), median_blur;
   ``kornia/ours`` = kornia time / our time (above 1: ours is faster).  Border rules differ
   (see benchmarks/torch_filters.py); the arithmetic is the same.
4. One training step (forward, cross-entropy, backward, Adam step) of each app's model on
   random inputs: speech (``fstack`` on ``(B, 40, 32)`` log-mel features, the app's defaults,
   10 classes), text (Kim CNN, multichannel, 50-d embeddings, ``(B, --text-length)`` token ids,
   2 classes, max-norm after the step), go (PolicyNet, 17 planes, 19x19, ``--go-nets``, e.g.
   6x64 and 13x192) and the lecture MNIST CNN from filterkit.nn.zoo (``(B, 1, 28, 28)``).
   Rows: fp32, and with ``--amp`` bf16 ``torch.autocast``; the 2-D conv nets (go, lecture) are
   also run in ``channels_last`` memory format.  steps/s and samples/s.

Every time is the median of ``--repeats`` runs after one warm-up call (two for training).  On
CUDA each run is bracketed by ``torch.cuda.synchronize()`` and timed with CUDA events; on CPU
with ``time.perf_counter``.  The table prints the device name and torch version; ``--json PATH``
writes every figure plus ``device``, ``command`` and ``seed``.

Results go into benchmarks/README.md (the ``gpu.py`` row and a section of its own).
"""

from __future__ import annotations

import argparse
import math
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filterkit.filters import tensor as T  # noqa: E402
from filterkit.filters._backends import triton_separable as fused  # noqa: E402
from filterkit.errors import UserError  # noqa: E402

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SEPARABLE = ("gaussian s=1", "gaussian s=5", "mean 3", "mean 15")
FLOOR_TARGET = 0.5


# ------------------------------------------------------------------ timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs after ``warmup`` calls (CUDA events on GPU)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            _sync(device)
            start.record()
            fn()
            end.record()
            _sync(device)
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------ filters


def filter_ops() -> list[dict]:
    """Each op: ``name`` and callables ``ours(x)`` and ``kornia(x)`` (None when kornia is absent)."""
    try:
        import kornia.filters as KF
    except ImportError:
        KF = None

    def k(fn):
        return fn if KF is not None else None

    def kgauss(sigma: float):
        r = int(4 * sigma + 0.5)  # our radius rule, so both use the same kernel width
        return k(lambda x: KF.gaussian_blur2d(x, (2 * r + 1, 2 * r + 1), (sigma, sigma)))

    return [
        dict(name="gaussian s=1", ours=lambda x: T.gaussian(x, 1.0), kornia=kgauss(1.0)),
        dict(name="gaussian s=5", ours=lambda x: T.gaussian(x, 5.0), kornia=kgauss(5.0)),
        dict(name="mean 3", ours=lambda x: T.mean(x, 3), kornia=k(lambda x: KF.box_blur(x, (3, 3)))),
        dict(name="mean 15", ours=lambda x: T.mean(x, 15), kornia=k(lambda x: KF.box_blur(x, (15, 15)))),
        dict(name="sobel magnitude", ours=lambda x: T.sobel(x), kornia=k(lambda x: KF.sobel(x))),
        dict(name="laplace", ours=lambda x: T.laplace(x), kornia=k(lambda x: KF.laplacian(x, 3))),
        dict(name="median 3", ours=lambda x: T.median(x, 3), kornia=k(lambda x: KF.median_blur(x, (3, 3)))),
    ]


def bench_copy(x: torch.Tensor, repeats: int) -> dict:
    """Device-to-device copy of ``x``: ms, GB/s (read + write) and the GPix/s floor."""
    dst = torch.empty_like(x)
    s = time_call(lambda: dst.copy_(x), x.device, repeats)
    pixels = x.numel()
    return dict(
        dtype=str(x.dtype).replace("torch.", ""),
        ms=1e3 * s,
        gb_per_s=2 * x.element_size() * pixels / s / 1e9,
        bytes_per_pixel=2 * x.element_size(),
        gpix_per_s=pixels / s / 1e9,
    )


def bench_filters(x: torch.Tensor, floor_gpix: float, repeats: int) -> list[dict]:
    """Every op of :func:`filter_ops` on ``x``: ours and kornia, GPix/s and fraction of the floor."""
    rows = []
    pixels = x.numel()
    dtype = str(x.dtype).replace("torch.", "")
    with_fused = fused.available() and x.device.type == "cuda"
    enabled = fused.ENABLED
    with torch.no_grad():
        for op in filter_ops():
            fused.ENABLED = False
            s = time_call(lambda: op["ours"](x), x.device, repeats)
            row = dict(op=op["name"], dtype=dtype, ours_ms=1e3 * s, ours_gpix_per_s=pixels / s / 1e9,
                       fraction_of_floor=pixels / s / 1e9 / floor_gpix, fused_ms=None, fused_fraction_of_floor=None,
                       kornia_ms=None, kornia_over_ours=None, note=None)
            if with_fused:  # the same call with filterkit.filters._backends.triton_separable switched on
                fused.ENABLED = True
                fs = time_call(lambda: op["ours"](x), x.device, repeats)
                row["fused_ms"], row["fused_fraction_of_floor"] = 1e3 * fs, pixels / fs / 1e9 / floor_gpix
                s = min(s, fs)
            fused.ENABLED = enabled
            if op["name"] in SEPARABLE:
                row["meets_floor_target"] = max(row["fraction_of_floor"], row["fused_fraction_of_floor"] or 0) >= FLOOR_TARGET
            if op["kornia"] is None:
                row["note"] = "kornia not installed"
            else:
                try:
                    ks = time_call(lambda: op["kornia"](x), x.device, repeats)
                    row["kornia_ms"], row["kornia_over_ours"] = 1e3 * ks, ks / s
                except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
                    row["note"] = f"kornia: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
            rows.append(row)
    return rows


# ------------------------------------------------------------------ app training steps


def app_models(go_nets: list[tuple[int, int]], text_length: int, text_vocab: int) -> list[dict]:
    """Each: ``name``, ``build()`` -> model, ``inputs(batch, gen)`` -> tensor, ``classes``, ``conv2d``."""
    import numpy as np

    from filterkit.apps.go.features import n_planes
    from filterkit.apps.go.model import PolicyNet
    from filterkit.apps.speech.model import build_model as build_speech
    from filterkit.apps.speech.config import SpeechConfig
    from filterkit.apps.text.config import TextConfig
    from filterkit.apps.text.model import KimCNN
    from filterkit.nn.zoo import build_model as build_zoo

    speech = SpeechConfig()
    n_mels, n_frames = speech.features.n_mels, speech.features.num_frames
    text = TextConfig()
    planes = n_planes("full")

    def kim():
        matrix = np.random.default_rng(0).normal(0, 0.25, (text_vocab, text.dim)).astype(np.float32)
        return KimCNN(matrix, 2, variant=text.variant, widths=text.widths, maps=text.maps, dropout=text.dropout)

    models = [
        dict(name=f"speech {speech.model}", build=lambda: build_speech(speech.model, n_mels, n_frames, 10),
             inputs=lambda b, g: torch.randn(b, n_mels, n_frames, generator=g), classes=10, conv2d=False),
        dict(name=f"text kim {text.variant} d{text.dim}", build=kim,
             inputs=lambda b, g: torch.randint(1, text_vocab, (b, text_length), generator=g), classes=2,
             conv2d=False, max_norm=text.max_norm),
    ]
    for layers, width in go_nets:
        models.append(dict(name=f"go policy {layers}x{width}",
                           build=lambda lw=(layers, width): PolicyNet(planes, 19, lw[0], lw[1]),
                           inputs=lambda b, g: (torch.rand(b, planes, 19, 19, generator=g) < 0.3).float(),
                           classes=19 * 19 + 1, conv2d=True))
    models.append(dict(name="lecture cnn", build=lambda: build_zoo("lecture_cnn"),
                       inputs=lambda b, g: torch.rand(b, 1, 28, 28, generator=g), classes=10, conv2d=True))
    return models


def bench_train_step(spec: dict, device: torch.device, batch: int, repeats: int, amp: bool,
                     channels_last: bool, seed: int) -> dict:
    """Median seconds of one forward + backward + Adam step; steps/s and samples/s."""
    from filterkit.apps.text.model import max_norm_

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = spec["build"]().to(device).train()
    x = spec["inputs"](batch, gen).to(device)
    y = torch.randint(0, spec["classes"], (batch,), generator=gen).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if spec.get("max_norm"):
            max_norm_(model, spec["max_norm"])

    s = time_call(step, device, repeats, warmup=2)
    return dict(model=spec["name"], precision="bf16 autocast" if amp else "fp32",
                layout="channels_last" if channels_last else "contiguous", batch=batch,
                params=sum(p.numel() for p in model.parameters()),
                step_ms=1e3 * s, steps_per_s=1 / s, samples_per_s=batch / s)


def bench_training(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Every app model, fp32 (and bf16 with ``--amp``), contiguous and channels_last for 2-D convs."""
    rows = []
    for spec in app_models(args.go_nets, args.text_length, args.text_vocab):
        for amp in (False, True) if args.amp else (False,):
            for cl in (False, True) if spec["conv2d"] else (False,):
                rows.append(bench_train_step(spec, device, args.app_batch, args.repeats, amp, cl, args.seed))
    return rows


# ------------------------------------------------------------------ report


def device_name(device: torch.device) -> str:
    """``torch.cuda.get_device_name`` on CUDA, else the CPU platform."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.processor() or platform.machine()} ({platform.platform()})"


def _fmt(value, spec: str, width: int) -> str:
    return f"{value:{width}{spec}}" if value is not None else f"{'n/a':>{width}}"


def print_report(report: dict) -> None:
    """The figures as plain-text tables."""
    tile = report["fused_kernel"]
    fused_text = (f"fused Triton {report['triton']} kernel, tile {tile['block_w']}x{tile['rows']}x{tile['num_warps']}"
                  if tile else "torch path only (no Triton or not CUDA)")
    print(f"device: {report['device_name']} ({report['device']}); torch {report['torch']}; "
          f"kornia {report['kornia'] or 'not installed'}; tensor {report['shape']}; repeats {report['repeats']}; "
          f"separable filters: {fused_text}")
    print(f"\n{'copy floor':<16} {'dtype':<9} {'ms':>9} {'GB/s':>9} {'B/pix':>6} {'GPix/s':>9}")
    for c in report["copy"]:
        print(f"{'':<16} {c['dtype']:<9} {c['ms']:>9.3f} {c['gb_per_s']:>9.1f} {c['bytes_per_pixel']:>6} "
              f"{c['gpix_per_s']:>9.2f}")
    print(f"\n{'op':<16} {'dtype':<9} {'ours ms':>9} {'GPix/s':>9} {'floor':>6} {'fused ms':>9} {'floor':>6} "
          f"{'kornia ms':>10} {'kornia/ours':>12}"
          f"  (ours: torch path; fused: Triton kernel; floor = fraction of the copy floor, target >= {FLOOR_TARGET} "
          f"for gaussian/mean; kornia/ours against the faster of the two)")
    for r in report["filters"]:
        note = f"  {r['note']}" if r["note"] else ""
        print(f"{r['op']:<16} {r['dtype']:<9} {r['ours_ms']:>9.3f} {r['ours_gpix_per_s']:>9.2f} "
              f"{r['fraction_of_floor']:>6.2f} {_fmt(r['fused_ms'], '.3f', 9)} {_fmt(r['fused_fraction_of_floor'], '.2f', 6)} "
              f"{_fmt(r['kornia_ms'], '.3f', 10)} {_fmt(r['kornia_over_ours'], '.2f', 12)}{note}")
    if report["training"]:
        print(f"\n{'model':<26} {'precision':<14} {'layout':<14} {'batch':>6} {'params':>10} {'step ms':>9} "
              f"{'steps/s':>9} {'samples/s':>11}")
        for t in report["training"]:
            print(f"{t['model']:<26} {t['precision']:<14} {t['layout']:<14} {t['batch']:>6} {t['params']:>10} "
                  f"{t['step_ms']:>9.2f} {t['steps_per_s']:>9.1f} {t['samples_per_s']:>11.0f}")


def _go_net(text: str) -> tuple[int, int]:
    try:
        layers, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--go-nets {text!r}: expected LAYERSxWIDTH, e.g. 6x64") from None
    return layers, width


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="cuda, cuda:N or cpu (default: cuda when available)")
    p.add_argument("--size", type=int, default=4096, help="image side in pixels (default 4096)")
    p.add_argument("--batch", type=int, default=4, help="images per filter call (default 4)")
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES),
                   help="filter input dtypes (default: all three)")
    p.add_argument("--repeats", type=int, default=20, help="timed runs per figure, median reported (default 20)")
    p.add_argument("--app-batch", type=int, default=None,
                   help="samples per training step (default 256 on CUDA, 4 on CPU)")
    p.add_argument("--go-nets", nargs="+", type=_go_net, default=[(6, 64), (13, 192)],
                   help="Go PolicyNets as LAYERSxWIDTH (default 6x64 13x192)")
    p.add_argument("--text-length", type=int, default=64, help="tokens per sentence (default 64)")
    p.add_argument("--text-vocab", type=int, default=20000, help="vocabulary size (default 20000)")
    p.add_argument("--no-apps", action="store_true", help="skip the training steps")
    p.add_argument("--amp", action="store_true", help="also time training under bf16 torch.autocast")
    p.add_argument("--tile", metavar="COLSxROWSxWARPS", default=None,
                   help="tile of the fused CUDA kernel (filterkit.filters._backends.triton_separable.TILE; "
                        "benchmarks/gpu_tiles.py prints the best), e.g. 256x128x2")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    return p.parse_args(argv)


def _check(args: argparse.Namespace) -> torch.device:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.app_batch is None:
        args.app_batch = 256 if device.type == "cuda" else 4
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {args.device}: CUDA is not available (torch {torch.__version__}); use --device cpu")
    for name in ("size", "batch", "repeats", "app_batch", "text_length", "text_vocab"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    if args.text_length < 5:
        raise UserError(f"--text-length {args.text_length}: the Kim CNN needs at least 5 tokens")
    if any(layers < 2 or width < 1 for layers, width in args.go_nets):
        raise UserError("--go-nets: need at least 2 layers and width 1 (e.g. 6x64)")
    if args.tile:
        try:
            block_w, rows, warps = (int(v) for v in args.tile.lower().split("x"))
        except ValueError:
            raise UserError(f"--tile {args.tile}: expected COLSxROWSxWARPS, e.g. 256x128x2") from None
        fused.TILE.update(block_w=block_w, rows=rows, num_warps=warps)
    return device


def run(args: argparse.Namespace) -> dict:
    """All figures for parsed ``args`` (see the module docstring)."""
    device = _check(args)
    try:
        import kornia

        kornia_version = kornia.__version__
    except ImportError:
        kornia_version = None
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    base = torch.rand(args.batch, 1, args.size, args.size, generator=gen)
    fused_kernel = fused.available() and device.type == "cuda"
    report = dict(device=str(device), device_name=device_name(device), torch=torch.__version__, kornia=kornia_version,
                  triton=fused.triton.__version__ if fused.available() else None,
                  fused_kernel=dict(fused.TILE) if fused_kernel else None,
                  command=" ".join(shlex.quote(a) for a in sys.argv), seed=args.seed,
                  shape=[args.batch, 1, args.size, args.size], repeats=args.repeats, amp=args.amp,
                  floor_target=FLOOR_TARGET, copy=[], filters=[], training=[])
    for name in args.dtypes:
        x = base.to(device=device, dtype=DTYPES[name])
        copy = bench_copy(x, args.repeats)
        report["copy"].append(copy)
        report["filters"] += bench_filters(x, copy["gpix_per_s"], args.repeats)
        del x
    del base
    if device.type == "cuda":
        torch.cuda.empty_cache()
    if not args.no_apps:
        report["training"] = bench_training(args, device)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except UserError as e:
        print(f"benchmarks/gpu.py: error: {e}", file=sys.stderr)
        return 1
    print_report(report)
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, report)
    bad = [r for r in report["filters"] + report["training"] + report["copy"]
           if not all(math.isfinite(v) and v > 0 for k, v in r.items() if k.endswith("ms") and v is not None)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
