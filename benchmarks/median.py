"""Benchmark filterkit.filters._backends.median_numba.median_filter against scipy.ndimage (and OpenCV where it applies).

For every dtype x window size: median wall time of repeated runs of ours (1 thread and
``--threads``), scipy.ndimage.median_filter (timed fewer times when slow, see the
``scipy_runs`` column; with ``--scipy-crop N`` it runs on an N x N crop and its time is
scaled by the pixel ratio, which the ``scipy_on`` column says), OpenCV's medianBlur where
it supports the case (uint8 any odd size, uint16/float32 3 and 5; replicate border only,
so it is compared with our ``mode="nearest"``), whether our output is identical to
scipy's bit for bit, and the extra peak memory of one call (tracemalloc: numpy
allocations, i.e. the output and the per-strip buffers; numba's small work arrays are
not seen) as a multiple of the image's size.

    python benchmarks/median.py                       # 2048 x 2048, float32/uint16/float64, sizes 3 7 15
    python benchmarks/median.py --side 512 --repeats 3 --json out/median.json --seed 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np


def make_image(side: int, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    """A smooth random scene plus noise, scaled to the dtype (0..1 floats, full range for integers)."""
    import scipy.ndimage as ndi

    scene = ndi.gaussian_filter(rng.standard_normal((side, side)), 8) * 8 + rng.standard_normal((side, side)) * 0.3
    scene = (scene - scene.min()) / (scene.max() - scene.min())
    if dtype.kind == "f":
        return scene.astype(dtype)
    info = np.iinfo(dtype)
    return (info.min + scene * (info.max - info.min)).round().astype(dtype)


def time_runs(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def peak_extra_bytes(fn) -> int:
    """Peak bytes allocated through Python/numpy during ``fn()`` (tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def opencv_supports(dtype: np.dtype, size: int) -> bool:
    if size % 2 == 0 or size < 3:
        return False
    if dtype == np.uint8:
        return True
    return dtype in (np.uint16, np.float32) and size in (3, 5)


def bench_case(image: np.ndarray, size: int, args, mode: str) -> dict:
    import scipy.ndimage as ndi

    from filterkit.filters import border
    from filterkit.filters._backends.median_numba import default_method, median_filter

    dtype = image.dtype
    ours = lambda threads=1: median_filter(image, size, mode, threads=threads)  # noqa: E731
    ours(1)  # compile / load the numba cache outside the timings
    ours_times = time_runs(ours, args.repeats)
    threaded = time_runs(lambda: ours(args.threads), args.repeats) if args.threads > 1 else []

    scipy_input = image if not args.scipy_crop else image[: args.scipy_crop, : args.scipy_crop]
    scale = image.size / scipy_input.size
    start = time.perf_counter()
    reference = ndi.median_filter(scipy_input, size=size, mode=border.scipy_mode(mode))
    scipy_times = [time.perf_counter() - start]
    if scipy_times[0] * scale < args.scipy_repeat_below:
        scipy_times += time_runs(
            lambda: ndi.median_filter(scipy_input, size=size, mode=border.scipy_mode(mode)), args.repeats - 1
        )
    ours_on_scipy_input = ours() if scipy_input is image else median_filter(scipy_input, size, mode)
    identical = ours_on_scipy_input.dtype == reference.dtype and ours_on_scipy_input.tobytes() == reference.tobytes()

    opencv_s = None
    opencv_identical_to_nearest = None
    if opencv_supports(dtype, size):
        import cv2

        cv2.setNumThreads(1)
        opencv_s = statistics.median(time_runs(lambda: cv2.medianBlur(image, size), args.repeats))
        opencv_identical_to_nearest = bool(
            np.array_equal(cv2.medianBlur(image, size), median_filter(image, size, "nearest"))
        )

    memory = peak_extra_bytes(lambda: median_filter(image, size, mode))
    scipy_memory = peak_extra_bytes(lambda: ndi.median_filter(scipy_input, size=size, mode=border.scipy_mode(mode)))
    ours_s = statistics.median(ours_times)
    scipy_s = statistics.median(scipy_times) * scale
    return {
        "dtype": str(dtype),
        "size": size,
        "mode": mode,
        "method": default_method(size, dtype),
        "ours_s": ours_s,
        "ours_runs": len(ours_times),
        f"ours_threads{args.threads}_s": statistics.median(threaded) if threaded else None,
        "scipy_s": scipy_s,
        "scipy_runs": len(scipy_times),
        "scipy_on": "full image" if scipy_input is image else f"{args.scipy_crop}x{args.scipy_crop} crop x{scale:.1f}",
        "speedup_vs_scipy": scipy_s / ours_s,
        f"speedup_vs_scipy_threads{args.threads}": scipy_s / statistics.median(threaded) if threaded else None,
        "identical_to_scipy": bool(identical),
        "opencv_s": opencv_s,
        "opencv_identical_to_ours_nearest": opencv_identical_to_nearest,
        "ours_peak_extra_x_image": memory / image.nbytes,
        "scipy_peak_extra_x_image": scipy_memory / scipy_input.nbytes,
    }


def format_table(rows: list[dict], threads: int) -> str:
    def f(value, spec):
        return "-" if value is None else format(value, spec)

    head = (
        f"{'dtype':8} {'size':>4} {'method':9} {'ours s':>8} {f'ours x{threads} s':>10} {'scipy s':>8} "
        f"{'scipy on':18} {'speedup':>8} {f'spd x{threads}':>8} {'opencv s':>8} {'identical':>9} {'mem xI':>6} {'scipy mem':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['dtype']:8} {r['size']:>4} {r['method']:9} {r['ours_s']:8.4f} {f(r[f'ours_threads{threads}_s'], '10.4f')} "
            f"{r['scipy_s']:8.3f} {r['scipy_on'] + ' (' + str(r['scipy_runs']) + ' run' + ('s' if r['scipy_runs'] > 1 else '') + ')':18} "
            f"{r['speedup_vs_scipy']:8.1f} {f(r[f'speedup_vs_scipy_threads{threads}'], '8.1f')} "
            f"{f(r['opencv_s'], '8.4f')} {str(r['identical_to_scipy']):>9} {r['ours_peak_extra_x_image']:6.2f} "
            f"{r['scipy_peak_extra_x_image']:9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=2048, help="image side in pixels (default 2048)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "uint16", "float64"], help="sample types")
    parser.add_argument("--sizes", nargs="+", type=int, default=[3, 7, 15], help="window sides (default 3 7 15)")
    parser.add_argument("--mode", default="reflect", help="border mode (default reflect)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of ours per case (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="threads for the multi-threaded column (default 2)")
    parser.add_argument(
        "--scipy-crop",
        type=int,
        default=0,
        metavar="N",
        help="time scipy on an N x N crop and scale by the pixel ratio (default 0: the full image)",
    )
    parser.add_argument(
        "--scipy-repeat-below",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="repeat scipy --repeats times only when one run takes less than this (default 2.0)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random test image (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    if args.side < 1 or args.repeats < 1 or args.threads < 1 or args.scipy_crop < 0:
        parser.error("--side, --repeats and --threads must be >= 1 and --scipy-crop >= 0")

    import numba
    import scipy

    from filterkit.filters.border import normalize_mode

    try:
        mode = normalize_mode(args.mode)
        dtypes = [np.dtype(d) for d in args.dtypes]
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    rng = np.random.default_rng(args.seed)
    rows = []
    for dtype in dtypes:
        image = make_image(args.side, dtype, rng)
        for size in args.sizes:
            row = bench_case(image, size, args, mode)
            rows.append(row)
            print(
                f"{row['dtype']} {size}x{size}: ours {row['ours_s']:.4f} s, scipy {row['scipy_s']:.3f} s "
                f"({row['scipy_on']}), x{row['speedup_vs_scipy']:.1f}, identical={row['identical_to_scipy']}",
                file=sys.stderr,
                flush=True,
            )
    print(f"median filter, {args.side}x{args.side}, mode={mode}, seed={args.seed}, cpus={os.cpu_count()}, "
          f"medians of {args.repeats} runs (scipy: see 'scipy on')")
    print(format_table(rows, args.threads))
    if args.json:
        from filterkit.io import write_report

        meta = {
            "side": args.side,
            "mode": mode,
            "seed": args.seed,
            "repeats": args.repeats,
            "threads": args.threads,
            "scipy_crop": args.scipy_crop,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "numba": numba.__version__,
        }
        write_report(args.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
