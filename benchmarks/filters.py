"""Benchmark filterkit's numpy filters against OpenCV, scipy.ndimage, scikit-image and kornia.

Every implementation runs on the same image in the same process, and each time
is the median of several runs (the machines are shared and noisy, so read the
ratio columns, not the absolute times).  filterkit and OpenCV, whose ratio the
targets are about, run alternately (a, b, a, b, ...) so that both meet the same
machine state; the others run one after the other.

    python benchmarks/filters.py                      # full table (slow: scipy medians take minutes)
    python benchmarks/filters.py --quick              # 2048x2048 grey only, fewer repeats
    python benchmarks/filters.py --threads 1 --json out/filters.json

Reference implementations whose estimated run time (from a timed crop) is over
``--max-ref-seconds``, or whose estimated memory is over ``--max-ref-gb``, are
skipped and marked ``skip`` in the table rather than guessed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass
class Case:
    op: str  # mean | median | gaussian | sobel_x | sobel (magnitude) | laplace
    param: float  # size, or sigma for gaussian
    image: str  # e.g. "2048x2048 uint8"
    times_ms: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    max_abs_diff: dict[str, float] = field(default_factory=dict)


def make_image(spec: str, rng: np.random.Generator) -> np.ndarray:
    """``"2048x2048 uint8"`` or ``"2048x2048x3 uint8"`` -> a random image with smooth structure and noise."""
    dims, dtype = spec.split()
    shape = tuple(int(d) for d in dims.split("x"))
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.25 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    if len(shape) == 3:
        base = np.stack([base * (0.6 + 0.2 * c) for c in range(shape[2])], axis=-1)
    img = np.clip(base + rng.normal(0, 0.08, size=shape).astype(np.float32), 0, 1)
    if dtype == "uint8":
        return (img * 255).round().astype(np.uint8)
    if dtype == "uint16":
        return (img * 65535).round().astype(np.uint16)
    return img.astype(dtype)


def time_call(fn: Callable[[], object], repeats: int, budget_s: float) -> tuple[float, object]:
    """Median wall time in ms of ``fn()`` over up to ``repeats`` runs within ``budget_s`` (after one warm-up)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    times = [first]
    if first < budget_s:
        times = []
        start = time.perf_counter()
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - start > budget_s:
                break
    return statistics.median(times) * 1000.0, out


def time_pair(fa: Callable[[], object], fb: Callable[[], object], repeats: int, budget_s: float):
    """Like :func:`time_call` for two contenders run alternately (a, b, a, b, ...), so that both
    meet the same machine state: ``(ms_a, out_a, ms_b, out_b)``."""
    out_a, out_b = fa(), fb()  # warm-up
    times_a, times_b = [], []
    start = time.perf_counter()
    for _ in range(repeats):
        for fn, times in ((fa, times_a), (fb, times_b)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return statistics.median(times_a) * 1000.0, out_a, statistics.median(times_b) * 1000.0, out_b


def implementations(op: str, p: float, img: np.ndarray) -> dict[str, Callable[[np.ndarray], object] | None]:
    """name -> callable(image) for every library that offers the operation (None where it doesn't)."""
    import cv2
    import scipy.ndimage as ndi

    import filterkit
    from filterkit.filters import kernels

    colour = img.ndim == 3
    ca = -1 if colour else None
    k = int(p)
    impl: dict[str, Callable | None] = {}
    spatial = (k, k, 1) if colour else (k, k)
    if op == "mean":
        impl["filterkit"] = lambda a: filterkit.mean(a, size=k, channel_axis=ca)
        impl["opencv"] = lambda a: cv2.blur(a, (k, k), borderType=cv2.BORDER_REFLECT)
        impl["scipy"] = lambda a: ndi.uniform_filter(a, size=spatial, mode="reflect")
        impl["skimage"] = None  # skimage has no box filter of its own (it wraps scipy)
    elif op == "median":
        impl["filterkit"] = lambda a: filterkit.median(a, size=k, channel_axis=ca)
        supported = img.dtype == np.uint8 or (img.dtype in (np.uint16, np.float32) and k <= 5)
        impl["opencv"] = (lambda a: cv2.medianBlur(a, k)) if supported else None
        impl["scipy"] = lambda a: ndi.median_filter(a, size=spatial, mode="reflect")
        from skimage.filters import median as sk_median

        fp = np.ones(spatial, dtype=bool)
        impl["skimage"] = lambda a: sk_median(a, footprint=fp, mode="reflect")
    elif op == "gaussian":
        sigma = float(p)
        impl["filterkit"] = lambda a: filterkit.gaussian(a, sigma=sigma, channel_axis=ca)
        # the same kernel: ksize (0, 0) would let OpenCV truncate uint8 kernels at 3 sigma (7 taps
        # for sigma 1, 31 for sigma 5) where filterkit, like scipy, uses 4 sigma (9 and 41 taps)
        taps = len(kernels.gaussian_1d(sigma))
        impl["opencv"] = lambda a: cv2.GaussianBlur(a, (taps, taps), sigma, borderType=cv2.BORDER_REFLECT)
        sig = (sigma, sigma, 0) if colour else sigma
        impl["scipy"] = lambda a: ndi.gaussian_filter(a, sig, mode="reflect")
        from skimage.filters import gaussian as sk_gaussian

        impl["skimage"] = lambda a: sk_gaussian(a, sigma=sigma, mode="reflect", channel_axis=ca, preserve_range=True)
    elif op == "sobel_x":
        impl["filterkit"] = lambda a: filterkit.sobel(a, axis=1, channel_axis=ca)
        impl["opencv"] = lambda a: cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
        impl["scipy"] = per_channel(lambda a: ndi.sobel(a, axis=1, mode="reflect", output=np.float32), colour)
        from skimage.filters import sobel as sk_sobel

        impl["skimage"] = None if colour else (lambda a: sk_sobel(a, axis=1, mode="reflect"))
    elif op == "sobel":  # gradient magnitude; a uint8 image gives a uint8 result (as the CLI saves it)
        to_u8 = img.dtype == np.uint8
        impl["filterkit"] = lambda a: filterkit.sobel(a, channel_axis=ca, as_uint8=to_u8)

        def cv_magnitude(a):
            gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
            gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
            m = cv2.magnitude(gx, gy)
            return cv2.convertScaleAbs(m) if to_u8 else m

        impl["opencv"] = cv_magnitude
        def sp_magnitude(a):
            m = np.hypot(ndi.sobel(a, axis=1, mode="reflect", output=np.float32),
                         ndi.sobel(a, axis=0, mode="reflect", output=np.float32))
            return np.clip(np.rint(m), 0, 255).astype(np.uint8) if to_u8 else m

        impl["scipy"] = per_channel(sp_magnitude, colour)
        impl["skimage"] = None
    elif op == "laplace":
        impl["filterkit"] = lambda a: filterkit.laplace(a, channel_axis=ca)
        impl["opencv"] = lambda a: cv2.Laplacian(a, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
        impl["scipy"] = per_channel(lambda a: ndi.laplace(a, mode="reflect", output=np.float32), colour)
        from skimage.filters import laplace as sk_laplace

        impl["skimage"] = None if colour else (lambda a: sk_laplace(a, ksize=3))
    else:
        raise ValueError(op)
    impl["kornia"] = kornia_impl(op, p, img)
    return impl


def per_channel(fn: Callable, colour: bool) -> Callable:
    """``fn`` on each channel of an (H, W, C) image: scipy's N-D sobel and laplace would also
    differentiate and smooth across the channel axis."""
    if not colour:
        return fn
    return lambda a: np.stack([fn(a[..., c]) for c in range(a.shape[-1])], axis=-1)


def kornia_impl(op: str, p: float, img: np.ndarray) -> Callable | None:
    """kornia on a float32 (1, C, H, W) tensor; the tensor conversion is not timed."""
    try:
        import kornia.filters as kf
        import torch
    except ImportError:
        return None
    if img.ndim == 3:
        t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(img, -1, 0))).float()[None]
    else:
        t = torch.from_numpy(img).float()[None, None]
    k = int(p)
    if op == "mean":
        fn = lambda: kf.box_blur(t, (k, k), border_type="reflect")  # noqa: E731
    elif op == "median":
        fn = lambda: kf.median_blur(t, (k, k))  # noqa: E731
    elif op == "gaussian":
        ks = 2 * int(4.0 * p + 0.5) + 1
        fn = lambda: kf.gaussian_blur2d(t, (ks, ks), (p, p), border_type="reflect")  # noqa: E731
    elif op == "sobel_x":
        fn = lambda: kf.spatial_gradient(t, normalized=False)[:, :, 0]  # noqa: E731
    elif op == "sobel":
        fn = lambda: kf.sobel(t, normalized=False)  # noqa: E731
    elif op == "laplace":
        fn = lambda: kf.laplacian(t, 3, normalized=False)  # noqa: E731
    else:
        return None
    return lambda a: fn()


def estimate(fn: Callable, img: np.ndarray, crop: int = 256) -> float:
    """Seconds ``fn`` would take on ``img``, extrapolated by pixel count from a crop."""
    small = np.ascontiguousarray(img[:crop, :crop])
    t0 = time.perf_counter()
    fn(small)
    dt = time.perf_counter() - t0
    return dt * (img.shape[0] * img.shape[1]) / (small.shape[0] * small.shape[1])


def set_threads(n: int) -> None:
    import cv2
    import torch

    cv2.setNumThreads(n)
    torch.set_num_threads(n)
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except Exception:
        pass


IMAGES = ["2048x2048 uint8", "2048x2048 float32", "4096x4096 uint8", "4096x4096 float32", "2048x2048x3 uint8"]


def run_cases(args: argparse.Namespace, threads: int) -> list[Case]:
    rng = np.random.default_rng(args.seed)
    set_threads(threads)
    images = IMAGES[:2] if args.quick else list(IMAGES)
    if args.images:
        images = [spec for spec in IMAGES if spec.replace(" ", "-") in args.images]
    ops = [("mean", 3), ("mean", 5), ("mean", 15), ("median", 3), ("median", 5), ("median", 15),
           ("gaussian", 1.0), ("gaussian", 5.0), ("sobel_x", 3), ("sobel", 3), ("laplace", 3)]
    if args.ops:
        ops = [(op, p) for op, p in ops if op in args.ops]
    cases: list[Case] = []
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = lambda x, **_: x  # noqa: E731
    work = [(spec, op, p) for spec in images for op, p in ops]
    for spec, op, p in tqdm(work, desc=f"threads={threads}", file=sys.stderr):
        img = make_image(spec, rng)
        case = Case(op, p, spec)
        impls = implementations(op, p, img)
        ref_out = None
        paired = {}
        if impls.get("filterkit") is not None and impls.get("opencv") is not None:  # the ratio the target is on
            fk, cv = impls["filterkit"], impls["opencv"]
            ms_fk, out_fk, ms_cv, out_cv = time_pair(lambda: fk(img), lambda: cv(img), args.repeats,
                                                     2 * max(args.budget, 1.0))
            paired = {"filterkit": (ms_fk, out_fk), "opencv": (ms_cv, out_cv)}
        for name in ("filterkit", "opencv", "scipy", "skimage", "kornia"):
            fn = impls.get(name)
            if fn is None:
                case.times_ms[name] = None
                case.notes[name] = "n/a"
                continue
            if name == "kornia" and op == "median":
                need_gb = img.shape[0] * img.shape[1] * p * p * 4 * 2 / 1e9 * (img.shape[2] if img.ndim == 3 else 1)
                if need_gb > args.max_ref_gb:
                    case.times_ms[name] = None
                    case.notes[name] = f"skip (~{need_gb:.0f} GB)"
                    continue
            if name != "filterkit":
                est = estimate(fn, img)
                if est > args.max_ref_seconds:
                    case.times_ms[name] = None
                    case.notes[name] = f"skip (~{est:.0f} s)"
                    continue
            budget = args.budget if name != "filterkit" else max(args.budget, 1.0)
            ms, out = paired[name] if name in paired else time_call(lambda: fn(img), args.repeats, budget)
            case.times_ms[name] = ms
            if name == "filterkit":
                ref_out = np.asarray(out)
            elif name in ("opencv", "scipy") and ref_out is not None and out is not None:
                o = np.asarray(out)
                if o.shape == ref_out.shape:
                    case.max_abs_diff[name] = float(np.max(np.abs(o.astype(np.float64) - ref_out.astype(np.float64))))
        cases.append(case)
    return cases


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def print_table(cases: list[Case], threads: int) -> None:
    print(f"\nthreads = {threads}   (times: median ms; fk/cv = filterkit time / OpenCV time; "
          f"sp/fk = scipy time / filterkit time)")
    head = f"{'op':<9}{'p':>5}  {'image':<19}" + "".join(f"{n:>11}" for n in
                                                       ("filterkit", "opencv", "scipy", "skimage", "kornia"))
    head += f"{'fk/cv':>8}{'sp/fk':>8}{'|d| cv':>9}{'|d| sp':>9}"
    print(head)
    print("-" * len(head))
    for c in cases:
        row = f"{c.op:<9}{c.param:>5g}  {c.image:<19}"
        for n in ("filterkit", "opencv", "scipy", "skimage", "kornia"):
            t = c.times_ms.get(n)
            row += f"{t:>11.1f}" if t is not None else f"{c.notes.get(n, '-')[:10]:>11}"
        r1 = ratio(c.times_ms.get("filterkit"), c.times_ms.get("opencv"))
        r2 = ratio(c.times_ms.get("scipy"), c.times_ms.get("filterkit"))
        row += f"{r1:>8.2f}" if r1 is not None else f"{'-':>8}"
        row += f"{r2:>8.1f}" if r2 is not None else f"{'-':>8}"
        for n in ("opencv", "scipy"):
            d = c.max_abs_diff.get(n)
            row += f"{d:>9.2g}" if d is not None else f"{'-':>9}"
        print(row)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2048x2048 grey images only")
    ap.add_argument("--threads", choices=["1", "all", "both"], default="both",
                    help="run single-threaded, with all cores, or both (default both)")
    ap.add_argument("--repeats", type=int, default=7, help="runs per measurement, median reported (default 7)")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per measurement at most (default 3)")
    ap.add_argument("--max-ref-seconds", type=float, default=30.0,
                    help="skip a reference implementation estimated to take longer than this per run (default 30)")
    ap.add_argument("--max-ref-gb", type=float, default=6.0,
                    help="skip kornia's median when its unfold would need more memory than this (default 6)")
    ap.add_argument("--ops", nargs="+", choices=["mean", "median", "gaussian", "sobel_x", "sobel", "laplace"], default=None,
                    help="time only these operations (default: all)")
    ap.add_argument("--images", nargs="+", choices=[spec.replace(" ", "-") for spec in IMAGES], default=None,
                    help="time only these images (default: all; --quick: the 2048x2048 grey ones)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random test images (default 0)")
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)

    thread_counts = {"1": [1], "all": [os.cpu_count() or 1], "both": [1, os.cpu_count() or 1]}[args.threads]
    results = {}
    for n in thread_counts:
        cases = run_cases(args, n)
        print_table(cases, n)
        results[str(n)] = [c.__dict__ for c in cases]
    if args.json:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from filterkit.io import write_report

        import cv2
        import scipy

        write_report(args.json, {
            "benchmark": "filters",
            "command": " ".join(["python", "benchmarks/filters.py", *(argv if argv is not None else sys.argv[1:])]),
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "versions": {"opencv": cv2.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
            "seed": args.seed,
            "results_by_threads": results,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
