"""Benchmark filterkit.filters.tensor (torch CPU) against kornia and OpenCV on one grey float32 image.

    python benchmarks/torch_filters.py                       # 2048x2048, 1 and 2 threads
    python benchmarks/torch_filters.py --size 512 --repeats 3 --no-median15   # quick look
    python benchmarks/torch_filters.py --json out/torch_filters.json --seed 1

Ops: gaussian sigma 1 and 5, box 3/5/15, Sobel magnitude, Laplacian (4- and
8-neighbour), median 3 and 15, on a ``(1, 1, S, S)`` float32 tensor.  For each
thread count (``torch.set_num_threads`` and ``cv2.setNumThreads``) the three
implementations run side by side in the same process, the order rotating on
every repeat; each time is the median of ``--repeats`` runs after one warm-up (median 15:
``--slow-repeats`` runs, no warm-up).
Ratios: ``kornia/ours`` (target >= 2 for the linear filters) and
``ours/opencv`` (target <= 5).  The machines are shared and noisy: read the
ratios, which are measured under the same load, rather than absolute times.

The contenders do the same arithmetic but not always the same border rule:
ours and OpenCV use ``reflect`` (scipy's, ``BORDER_REFLECT``); kornia uses
its defaults (``reflect`` = reflect-101 for blurs, ``replicate`` for sobel and
laplacian).  kornia's sobel normalises the kernel and adds eps under the square
root, its ``laplacian(3)`` is the 8-neighbour kernel (normalised).  OpenCV's
``medianBlur`` refuses float32 windows over 5, so median 15 has no OpenCV time.
A ``max|ours-cv2|`` column checks that ours and OpenCV computed the same thing.

``--keep-freed-memory`` calls :func:`filterkit.filters.tensor.keep_freed_memory` before
anything is timed: glibc's malloc then reuses freed large blocks instead of
``mmap``-ing fresh (page-faulting) ones on every call.  It changes the allocator of
the whole process, so OpenCV and kornia run with the same allocator as ours; the
JSON records whether it was applied (``keep_freed_memory``: true, false where the
platform has no glibc ``mallopt``, null without the flag).

Peak memory of median 15 is measured in a fresh child process per contender
(after a warm-up call, the peak resident size is reset through
``/proc/self/clear_refs``; the figure is ``VmHWM`` after the op minus the
resident size just before it; torch's CPU allocations are invisible to
tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
import numpy as np


def build_ops(include_median15: bool) -> list[dict]:
    """Each op: ``name``, and callables ``ours(x)``, ``kornia(x)``, ``opencv(a)`` (None if absent)."""
    import cv2
    import kornia.filters as KF

    from filterkit.filters import kernels
    from filterkit.filters import tensor as T

    def gauss_cv(sigma):
        k = 2 * kernels.gaussian_radius(sigma) + 1
        return lambda a: cv2.GaussianBlur(a, (k, k), sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)

    def gauss_kornia(sigma):
        k = 2 * kernels.gaussian_radius(sigma) + 1
        return lambda x: KF.gaussian_blur2d(x, (k, k), (float(sigma), float(sigma)))

    lap8 = kernels.laplacian(8).astype(np.float32)
    ops = [
        dict(name="gaussian s=1", ours=lambda x: T.gaussian(x, 1.0), kornia=gauss_kornia(1.0), opencv=gauss_cv(1.0)),
        dict(name="gaussian s=5", ours=lambda x: T.gaussian(x, 5.0), kornia=gauss_kornia(5.0), opencv=gauss_cv(5.0)),
    ]
    for size in (3, 5, 15):
        ops.append(
            dict(
                name=f"box {size}",
                ours=lambda x, s=size: T.mean(x, s),
                kornia=lambda x, s=size: KF.box_blur(x, (s, s)),
                opencv=lambda a, s=size: cv2.blur(a, (s, s), borderType=cv2.BORDER_REFLECT),
            )
        )
    ops += [
        dict(
            name="sobel magnitude",
            ours=lambda x: T.sobel(x),
            kornia=lambda x: KF.sobel(x),
            opencv=lambda a: cv2.magnitude(
                cv2.Sobel(a, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT),
                cv2.Sobel(a, cv2.CV_32F, 0, 1, borderType=cv2.BORDER_REFLECT),
            ),
        ),
        dict(
            name="laplace 4",
            ours=lambda x: T.laplace(x),
            kornia=None,
            opencv=lambda a: cv2.Laplacian(a, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT),
        ),
        dict(
            name="laplace 8",
            ours=lambda x: T.laplace(x, neighbours=8),
            kornia=lambda x: KF.laplacian(x, 3),
            opencv=lambda a: cv2.filter2D(a, cv2.CV_32F, lap8, borderType=cv2.BORDER_REFLECT),
        ),
        dict(
            name="median 3",
            ours=lambda x: T.median(x, 3),
            kornia=lambda x: KF.median_blur(x, (3, 3)),
            opencv=lambda a: _opencv_median_reflect(a, 3),
        ),
    ]
    if include_median15:
        ops.append(dict(name="median 15", ours=lambda x: T.median(x, 15), kornia=lambda x: KF.median_blur(x, (15, 15)), opencv=None))
    return ops


def _opencv_median_reflect(a: np.ndarray, size: int) -> np.ndarray:
    """medianBlur only replicates the border: pad by reflect first, then crop (the fair equivalent)."""
    import cv2

    r = size // 2
    padded = cv2.copyMakeBorder(a, r, r, r, r, cv2.BORDER_REFLECT)
    return cv2.medianBlur(padded, size)[r:-r, r:-r]


def run_threads(ops: list[dict], x, threads: int, repeats: int, slow_repeats: int) -> list[dict]:
    """Time every op with ``threads`` threads; the three contenders alternate."""
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    a = x[0, 0].numpy()
    rows = []
    for op in ops:
        reps = slow_repeats if op["name"] == "median 15" else repeats
        contenders = {"ours": lambda: op["ours"](x)}
        if op["kornia"] is not None:
            contenders["kornia"] = lambda: op["kornia"](x)
        if op["opencv"] is not None:
            contenders["opencv"] = lambda: op["opencv"](a)
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        with torch.no_grad():
            for name, fn in contenders.items():
                if op["name"] != "median 15":  # the slow op is not worth a full warm-up call
                    fn()
            for rep in range(reps):
                names = list(contenders)
                names = names[rep % len(names) :] + names[: rep % len(names)]
                for name in names:
                    start = time.perf_counter()
                    contenders[name]()
                    samples[name].append(time.perf_counter() - start)
            diff = None
            if op["opencv"] is not None:
                diff = float(np.abs(op["ours"](x)[0, 0].numpy() - op["opencv"](a)).max())
        t = {name: statistics.median(s) for name, s in samples.items()}
        rows.append(
            dict(
                op=op["name"],
                threads=threads,
                repeats=reps,
                ours_ms=1e3 * t["ours"],
                kornia_ms=1e3 * t["kornia"] if "kornia" in t else None,
                opencv_ms=1e3 * t["opencv"] if "opencv" in t else None,
                kornia_over_ours=t["kornia"] / t["ours"] if "kornia" in t else None,
                ours_over_opencv=t["ours"] / t["opencv"] if "opencv" in t else None,
                max_abs_diff_vs_opencv=diff,
            )
        )
        print(_format_row(rows[-1]), flush=True)
    return rows


def _fmt(value, spec: str) -> str:
    if value is None:
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return "-".rjust(int(width) if width else 1)
    return format(value, spec)


HEADER = f"{'op':<16} {'thr':>3} {'ours ms':>9} {'kornia ms':>10} {'opencv ms':>10} {'kornia/ours':>12} {'ours/cv2':>9} {'max|ours-cv2|':>14}"


def _format_row(r: dict) -> str:
    return (
        f"{r['op']:<16} {r['threads']:>3} {_fmt(r['ours_ms'], '9.1f')} {_fmt(r['kornia_ms'], '10.1f')} "
        f"{_fmt(r['opencv_ms'], '10.1f')} {_fmt(r['kornia_over_ours'], '12.2f')} {_fmt(r['ours_over_opencv'], '9.2f')} "
        f"{_fmt(r['max_abs_diff_vs_opencv'], '14.2e')}"
    )


# ------------------------------------------------------------------ peak memory


def _child_peak(impl: str, size: int, seed: int, median: int) -> None:
    """(child process) run one median and print its peak extra resident memory as JSON."""
    import psutil
    import torch

    torch.set_num_threads(1)
    x = torch.from_numpy(np.random.default_rng(seed).random((1, 1, size, size), dtype=np.float32))
    if impl == "ours":
        from filterkit.filters import tensor as T

        fn = lambda: T.median(x, median)  # noqa: E731
    else:
        import kornia.filters as KF

        fn = lambda: KF.median_blur(x, (median, median))  # noqa: E731
    with torch.no_grad():  # warm-up on a corner: lazy imports and start-up are not the op's memory
        (T.median(x[..., :64, :64], median) if impl == "ours" else KF.median_blur(x[..., :64, :64], (median, median)))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # Linux: reset the peak resident size (VmHWM) to the current one
    before = psutil.Process().memory_info().rss
    with torch.no_grad():
        fn()
    peak = _vm_hwm_bytes()
    print(json.dumps({"impl": impl, "peak_extra_bytes": max(0, peak - before)}))


def _vm_hwm_bytes() -> int:
    """Peak resident size of this process since the last reset (``VmHWM``, Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_memory(impl: str, size: int, seed: int, median: int) -> int | None:
    """Peak extra RSS (bytes) of one median in a fresh process; None if the child failed."""
    cmd = [sys.executable, __file__, "--_child-peak", impl, "--size", str(size), "--seed", str(seed), "--median", str(median)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {impl}: child failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["peak_extra_bytes"])


# -------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048, help="image side in pixels (default 2048)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to run (default 1 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per op and contender (default 5)")
    p.add_argument("--slow-repeats", type=int, default=1, help="timed runs for median 15 (default 1)")
    p.add_argument("--no-median15", action="store_true", help="skip median 15 timing and its memory measurement")
    p.add_argument("--no-memory", action="store_true", help="skip the median-15 peak-memory child processes")
    p.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="call filterkit.filters.tensor.keep_freed_memory() first (glibc: reuse freed large blocks; whole process)",
    )
    p.add_argument("--median", type=int, default=15, help=argparse.SUPPRESS)
    p.add_argument("--_child-peak", dest="child_peak", choices=["ours", "kornia"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help="random seed of the test image (default 0)")
    p.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    args = p.parse_args(argv)
    if args.size < 16 or args.repeats < 1 or args.slow_repeats < 1 or min(args.threads) < 1:
        p.error("--size must be >= 16; --repeats, --slow-repeats and --threads must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child_peak:
        _child_peak(args.child_peak, args.size, args.seed, args.median)
        return 0
    import cv2
    import kornia
    import torch

    from filterkit.filters import tensor as T

    kept = T.keep_freed_memory() if args.keep_freed_memory else None
    x = torch.from_numpy(np.random.default_rng(args.seed).random((1, 1, args.size, args.size), dtype=np.float32))
    ops = build_ops(include_median15=not args.no_median15)
    print(f"{args.size}x{args.size} float32, torch {torch.__version__}, kornia {kornia.__version__}, OpenCV {cv2.__version__}")
    if kept is not None:
        print(f"keep_freed_memory: {'applied' if kept else 'not available here (no glibc mallopt)'}")
    print(HEADER)
    rows = []
    for threads in args.threads:
        rows += run_threads(ops, x, threads, args.repeats, args.slow_repeats)
    memory = {}
    if not args.no_median15 and not args.no_memory:
        for impl in ("ours", "kornia"):
            memory[impl] = peak_memory(impl, args.size, args.seed, 15)
        ours, theirs = memory["ours"], memory["kornia"]
        print(
            f"median 15 peak extra memory: ours {_fmt(ours and ours / 2**20, '.0f')} MiB, "
            f"kornia {_fmt(theirs and theirs / 2**20, '.0f')} MiB, "
            f"ratio ours/kornia {_fmt(ours / theirs if ours and theirs else None, '.3f')}"
        )
    if args.json:
        from filterkit.io import write_report

        write_report(
            args.json,
            dict(
                benchmark="torch_filters",
                size=args.size,
                dtype="float32",
                seed=args.seed,
                repeats=args.repeats,
                slow_repeats=args.slow_repeats,
                keep_freed_memory=kept,
                versions=dict(torch=torch.__version__, kornia=kornia.__version__, opencv=cv2.__version__, python=platform.python_version()),
                machine=dict(platform=platform.platform(), cpu_count=__import__("os").cpu_count()),
                rows=rows,
                median15_peak_extra_bytes=memory,
            ),
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
