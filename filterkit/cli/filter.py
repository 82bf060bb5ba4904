"""``filterkit filter``: apply one filter to image files, folders or glob patterns."""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from filterkit.errors import UserError

HELP = "filter image files or folders (mean, median, gaussian, sobel, ...) into an output folder"

SMOOTHING_OPS = ("mean", "median", "gaussian")
DERIVATIVE_OPS = (
    "sobel", "sobel-x", "sobel-y",
    "scharr", "scharr-x", "scharr-y",
    "prewitt", "prewitt-x", "prewitt-y",
    "laplace",
)  # fmt: skip
OP_ALIASES = {"box": "mean", "blur": "mean", "laplacian": "laplace"}
OPS = SMOOTHING_OPS + DERIVATIVE_OPS
SCALES = ("abs", "clip", "minmax")
BACKENDS = ("auto", "opencv", "scipy", "numba", "torch")

DESCRIPTION = f"""\
Apply one filter to every image given and write the results under OUTDIR.

INPUT may be image files, folders and glob patterns (quote them: "scans/*.png",
"scans/**/*.tif").  Folders and patterns take files with image suffixes only
(.png .jpg .jpeg .tif .tiff .bmp, any case) and quietly ignore other files and
hidden files; an image file named explicitly that cannot be read is an error.
The folder structure below each folder (or below the fixed part of a pattern)
is kept under OUTDIR; a file named directly lands in OUTDIR itself.

operations (--op):
  mean (box)   size x size average                     --size (default 3)
  median       size x size median (salt-and-pepper)    --size (default 3)
  gaussian     Gaussian blur                           --sigma and/or --size
  sobel, scharr, prewitt
               gradient magnitude sqrt(dx^2 + dy^2); the -x / -y variants give
               the signed derivative along x (columns) or y (rows)
  laplace      4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]]

pixels:
  Colour images are filtered per channel.  Alpha is kept untouched (copied to
  the output as it was; with --float its values are stored as floats); only
  the colour channels are filtered.  Grey stays grey.  The output has the input's bit depth: 8-bit stays 8-bit, 16-bit PNG or
  TIFF stays 16-bit, float TIFF stays float.  Smoothing results are rounded
  (half to even).  Derivative results are signed and larger than the input
  range; they are mapped into the bit depth with --scale:
    abs     |value| * gain, saturated (as cv2.convertScaleAbs; default)
    clip    value * gain clipped to [0, max]: negative responses become black
    minmax  each image's [min, max] stretched to [0, max] (per image, so
            brightness is not comparable between files)
  or written unscaled as 32-bit float TIFF with --float.
  JPEG output is lossy (--quality, default 95); 16-bit data written as JPEG or
  BMP is reduced to 8 bits.  JPEG EXIF orientation is applied when reading;
  metadata is not copied.

files:
  An existing output is never overwritten unless --force; it is skipped and
  counted, so rerunning an interrupted batch only does the missing files.
  Every output is written to a temporary file and renamed, so an interrupted
  run leaves no half-written images.  A file that cannot be read (truncated,
  not an image, zero-size, unsupported pixel type, over --max-pixels) gets one
  line naming the file and the reason; the batch goes on.

exit status: 0 all done (or skipped), 1 some files failed, 2 usage error.

example:
  filterkit filter samples/ -o out/ --op median --size 3
  filterkit filter scans/ --op sobel -o edges/ --recursive --jobs 8
  filterkit filter /shared/scans/ --op median -o /shared/out/ --scheduler dask://10.0.0.5:8786
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from filterkit.filters.border import DEFAULT_MODE, MODES
    from filterkit.cli.common import add_device_option
    from filterkit.io import DEFAULT_MAX_PIXELS, IMAGE_FORMATS

    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created if needed)")
    parser.add_argument(
        "--op",
        required=True,
        type=_parse_op,
        metavar="OP",
        help=f"filter: {', '.join(OPS)} (aliases: box = mean, laplacian = laplace)",
    )
    parser.add_argument(
        "--size", type=int, default=None, help="window size in pixels, odd (mean/median default 3; sobel 3 or 5)"
    )
    parser.add_argument(
        "--sigma", type=float, default=None, help="Gaussian standard deviation in pixels (gaussian only; default 1)"
    )
    parser.add_argument(
        "--mode",
        default=DEFAULT_MODE,
        help=f"border handling: {', '.join(MODES)} (see filterkit.filters.border; default {DEFAULT_MODE})",
    )
    parser.add_argument("--cval", type=float, default=0.0, help="border value for --mode constant (default 0)")
    parser.add_argument(
        "--scale",
        choices=SCALES,
        default="abs",
        help="how signed derivative results become pixels of the input's bit depth (default abs; see above)",
    )
    parser.add_argument("--gain", type=float, default=1.0, help="multiply derivative results by this for abs/clip (default 1)")
    parser.add_argument(
        "--float", action="store_true", help="write results unscaled as 32-bit float TIFF (implies --format tiff)"
    )
    parser.add_argument(
        "--format",
        choices=sorted(IMAGE_FORMATS),
        default=None,
        help="output format (default: the input's format, same suffix)",
    )
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100 (default 95; JPEG is lossy)")
    parser.add_argument("-r", "--recursive", action="store_true", help="include images in subfolders of folders")
    parser.add_argument("--force", action="store_true", help="overwrite outputs that already exist")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes (default: 1 for fewer than 16 files, else min(CPU cores, files / 8); "
        "torch backend: always 1)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images with more pixels (decompression bombs; default {DEFAULT_MAX_PIXELS:,}, as Pillow); "
        "0 disables the check",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="filterkit.filters.ndimage backend (auto, opencv, scipy, numba: same pixels, see filterkit.filters.ndimage) or torch "
        "(filterkit.filters.tensor on --device; default auto)",
    )
    add_device_option(parser, default="cpu")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the files on a Dask distributed cluster: dask://HOST:PORT (or tcp://HOST:PORT) of a running "
        "`dask scheduler`; every worker must see INPUT and OUTDIR at the same paths (see filterkit.batch.dask_cluster)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when not a tty)")


def _parse_op(text: str) -> str:
    op = OP_ALIASES.get(text.lower().replace("_", "-"), text.lower().replace("_", "-"))
    if op not in OPS:
        raise argparse.ArgumentTypeError(f"unknown op {text!r}; choose one of {', '.join(OPS)}")
    return op


# ---------------------------------------------------------------- the filtering


@dataclass(frozen=True)
class FilterSpec:
    """Everything that decides the output pixels of one file (picklable, sent to workers)."""

    op: str
    size: int | None = None
    sigma: float | None = None
    mode: str = "reflect"
    cval: float = 0.0
    scale: str = "abs"
    gain: float = 1.0
    float_output: bool = False
    out_format: str | None = None  # None: the input's format
    quality: int = 95
    max_pixels: int | None = None
    backend: str = "auto"
    device: str = "cpu"


def _op_call(spec: FilterSpec) -> tuple[str, dict]:
    """The filter function's name and its op-specific keyword arguments."""
    op = spec.op
    if op in ("mean", "median"):
        return op, {"size": spec.size or 3}
    if op == "gaussian":
        sigma = spec.sigma if (spec.sigma is not None or spec.size is not None) else 1.0
        return op, {"sigma": sigma, **({"size": spec.size} if spec.size is not None else {})}
    if op == "laplace":
        return op, {}
    name, _, axis = op.partition("-")  # sobel, sobel-x, sobel-y, ...
    kw = {"axis": {"": None, "x": 1, "y": 0}[axis]}  # None: gradient magnitude
    if spec.size is not None:
        kw["size"] = spec.size
    return name, kw


def _numpy_filter(spec: FilterSpec, image):
    """Run ``spec.op`` with :mod:`filterkit.filters.ndimage` on a grey (H, W) or colour (H, W, C) array."""
    from filterkit.filters import ndimage

    name, kw = _op_call(spec)
    channel_axis = -1 if image.ndim == 3 else None
    fn = getattr(ndimage, name)
    if name in ("sobel", "scharr", "prewitt") and _abs_uint8_output(spec, image.dtype):
        kw["as_uint8"] = True  # the 8-bit result straight away (no float image for the 3x3 magnitude)
    return fn(image, **kw, mode=spec.mode, cval=spec.cval, channel_axis=channel_axis, backend=spec.backend)


def _abs_uint8_output(spec: FilterSpec, dtype) -> bool:
    """True if the derivative of a ``dtype`` image is saved as ``to_uint8(result, "abs")`` (the default)."""
    import numpy as np

    return not spec.float_output and spec.scale == "abs" and spec.gain == 1.0 and np.dtype(dtype) == np.uint8


def _torch_filter(spec: FilterSpec, image):
    """Run ``spec.op`` with :mod:`filterkit.filters.tensor` on ``spec.device``; same dtypes as the numpy API."""
    import numpy as np
    import torch

    from filterkit.filters import tensor

    name, kw = _op_call(spec)
    x = torch.from_numpy(np.ascontiguousarray(image))  # uint8, uint16 and floats are tensor dtypes
    x = (x[None, None] if image.ndim == 2 else x.permute(2, 0, 1)[None]).to(spec.device)
    y = getattr(tensor, name)(x, **kw, mode=spec.mode, cval=spec.cval)
    y = y[0, 0] if image.ndim == 2 else y[0].permute(1, 2, 0)
    out = y.to("cpu").numpy()
    return out.astype(image.dtype) if spec.op in SMOOTHING_OPS else out


def _scale_into(result, dtype, scale: str, gain: float):
    """Map a signed float filter result into integer ``dtype`` (uint8 or uint16) with ``scale``.

    Same numbers as :func:`filterkit.filters.dtypes.to_uint8` (and its uint16
    analogue).  For float32 results with gain 1, ``abs``/``clip`` are computed
    in float32 (exact: rounding a float32 to an integer is exact in float32) and
    8-bit ``abs`` with ``cv2.convertScaleAbs`` (same rounding, half to even,
    tested equal); that is ~10x faster than the float64 route.
    """
    import numpy as np

    from filterkit.filters.dtypes import abs_to_uint8, round_saturate, to_uint8

    dtype = np.dtype(dtype)
    top = float(np.iinfo(dtype).max)
    if result.dtype == np.float32 and gain == 1.0 and scale in ("abs", "clip"):
        if scale == "abs" and dtype == np.uint8:
            return abs_to_uint8(result)
        x = np.abs(result) if scale == "abs" else result.copy()
        np.rint(x, out=x)
        np.clip(x, 0.0, top, out=x)
        return x.astype(dtype)
    if dtype == np.uint8:
        return to_uint8(result, scale=scale, gain=gain)
    x = result.astype(np.float64)
    if scale == "abs":
        np.abs(x, out=x)
        x *= gain
    elif scale == "clip":
        x *= gain
    else:  # minmax
        lo, hi = float(x.min()), float(x.max())
        if hi == lo:
            return np.zeros(x.shape, dtype)
        x -= lo
        x *= top / (hi - lo)
    return round_saturate(x, dtype, overwrite=True)


def filter_array(image, spec: FilterSpec):
    """The output pixels for one image array (what the CLI writes, before encoding).

    Colour channels are filtered; an alpha channel (the last of 2 or 4) is
    copied unchanged.  The result has the input's dtype (derivatives mapped
    with ``spec.scale``) or float32 when ``spec.float_output``.
    """
    import numpy as np

    alpha = None
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image, alpha = image[..., :-1], image[..., -1]
        if image.shape[2] == 1:
            image = image[..., 0]
    run = _torch_filter if spec.backend == "torch" else _numpy_filter
    out = run(spec, np.ascontiguousarray(image))
    if spec.float_output:
        out = out.astype(np.float32, copy=False)
    elif out.dtype != image.dtype:  # a derivative of an integer image: float32
        out = _scale_into(out, image.dtype, spec.scale, spec.gain)
    if alpha is not None:
        out = np.dstack([out, alpha.astype(out.dtype, copy=False)])
    return out


def _fit_format(image, fmt: str):
    """Reduce 16-bit data to 8 bits for the formats that only hold 8 (JPEG, BMP)."""
    import numpy as np

    if fmt in ("jpeg", "bmp") and image.dtype == np.uint16:
        from filterkit.filters.dtypes import round_saturate

        return round_saturate(image / 257.0, np.uint8, overwrite=True)
    return image


def process_file(src: Path, dst: Path, spec: FilterSpec) -> tuple[str, str | None]:
    """Read, filter, write one file.  Returns ``("done", None)`` or ``("failed", reason line)``."""
    from filterkit.io import ImageError, atomic_write_bytes, encode_image, image_format, read_image

    try:
        # channels are filtered independently, so OpenCV's BGR order is kept end to end (no swaps)
        image = read_image(src, max_pixels=spec.max_pixels, bgr=True)
        out = filter_array(image, spec)
        fmt = spec.out_format or image_format(dst)
        data = encode_image(_fit_format(out, fmt), fmt, quality=spec.quality, path=dst, bgr=True)
        atomic_write_bytes(dst, data)
    except ImageError as exc:
        return "failed", str(exc)
    except MemoryError:
        return "failed", f"{src}: out of memory"
    except OSError as exc:
        return "failed", f"{src}: cannot write {dst} ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return "failed", f"{src}: {type(exc).__name__}: {exc}"
    return "done", None


# --------------------------------------------------------------- finding inputs


@dataclass
class Plan:
    """What to do: (source, destination) pairs, plus what was set aside."""

    todo: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ignored: int = 0  # non-image files in folders / pattern matches


def _is_hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def _scan_folder(folder: Path, recursive: bool, outdir: Path) -> tuple[list[Path], int]:
    from filterkit.io import is_image_path

    pattern = "**/*" if recursive else "*"
    images, ignored = [], 0
    for p in sorted(folder.glob(pattern)):
        if not p.is_file() or _is_hidden(p, folder) or _inside(p, outdir):
            continue
        if is_image_path(p):
            images.append(p)
        else:
            ignored += 1
    return images, ignored


def _glob_base(pattern: str) -> Path:
    """The folder part of ``pattern`` before its first wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def collect_sources(inputs: list[str], recursive: bool, outdir: Path) -> tuple[list[tuple[Path, Path]], int, list[str]]:
    """Expand INPUTs into ``(file, path relative to OUTDIR)`` pairs.

    Returns the pairs, the number of ignored non-image files, and reason lines
    for explicitly named files that are not images.
    """
    from filterkit.io import is_image_path

    pairs: list[tuple[Path, Path]] = []
    ignored = 0
    bad: list[str] = []
    out_resolved = outdir.resolve()
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            images, n_ignored = _scan_folder(path, recursive, out_resolved)
            if not images:
                hint = "" if recursive else " (use --recursive to include subfolders)"
                raise UserError(f"{path}: folder holds no images (.png .jpg .jpeg .tif .tiff .bmp){hint}")
            pairs += [(p, p.relative_to(path)) for p in images]
            ignored += n_ignored
        elif path.is_file():
            if is_image_path(path):
                pairs.append((path, Path(path.name)))
            else:
                bad.append(f"{path}: not an image file name (expected .png .jpg .jpeg .tif .tiff .bmp)")
        elif glob.has_magic(text):
            base = _glob_base(text)
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            n_before = len(pairs)
            for m in matches:
                if m.is_dir():
                    images, n_ignored = _scan_folder(m, recursive, out_resolved)
                    pairs += [(p, p.relative_to(base)) for p in images]
                    ignored += n_ignored
                elif _inside(m, out_resolved) or m.name.startswith("."):
                    continue
                elif is_image_path(m):
                    pairs.append((m, m.relative_to(base)))
                else:
                    ignored += 1
            if len(pairs) == n_before:
                raise UserError(f"{text}: no image files match this pattern")
        else:
            raise UserError(f"{path}: no such file or folder")
    return pairs, ignored, bad


def make_plan(args: argparse.Namespace, out_format: str | None) -> Plan:
    """Sources, destinations, collisions and already-finished outputs."""
    from filterkit.io import IMAGE_FORMATS

    outdir = Path(args.output)
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"{outdir}: output exists and is not a folder")
    pairs, ignored, bad = collect_sources(args.inputs, args.recursive, outdir)
    plan = Plan(failed=bad, ignored=ignored)
    seen: dict[Path, Path] = {}
    sources: set[Path] = set()
    for src, rel in pairs:
        key = src.resolve()
        if key in sources:  # the same file named twice (e.g. a file and its folder)
            continue
        sources.add(key)
        if out_format is not None:
            rel = rel.with_suffix(IMAGE_FORMATS[out_format][0])
        dst = outdir / rel
        if dst in seen:
            raise UserError(f"{seen[dst]} and {src} would both be written to {dst}; filter them in separate runs")
        seen[dst] = src
        if dst.resolve() == key:
            raise UserError(f"{src}: the output would overwrite the input; choose another --output folder")
        if dst.exists() and not args.force:
            plan.skipped.append(dst)
        else:
            plan.todo.append((src, dst))
    return plan


# ---------------------------------------------------------------------- running


def _check_options(args: argparse.Namespace) -> FilterSpec:
    from filterkit.filters.border import normalize_mode

    try:
        mode = normalize_mode(args.mode)
    except ValueError as exc:
        raise UserError(f"--mode: {exc}") from None
    if args.size is not None and (args.size < 1 or args.size % 2 == 0):
        raise UserError(f"--size must be a positive odd number of pixels, got {args.size}")
    if args.sigma is not None and args.op != "gaussian":
        raise UserError(f"--sigma applies to --op gaussian only, not {args.op}")
    if args.sigma is not None and not args.sigma > 0:
        raise UserError(f"--sigma must be a positive number of pixels, got {args.sigma}")
    if args.size is not None and args.op in ("laplace",) + tuple(o for o in DERIVATIVE_OPS if "scharr" in o or "prewitt" in o):
        raise UserError(f"--size does not apply to --op {args.op} (its kernel is 3x3)")
    if not 1 <= args.quality <= 100:
        raise UserError(f"--quality must be 1..100, got {args.quality}")
    if args.max_pixels < 0:
        raise UserError(f"--max-pixels must be >= 0 (0 disables the check), got {args.max_pixels}")
    out_format = args.format
    if args.float:
        if out_format not in (None, "tiff"):
            raise UserError(f"--float writes 32-bit float TIFF; it cannot be combined with --format {out_format}")
        out_format = "tiff"
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    if args.backend == "torch" and (args.jobs or 1) > 1:
        raise UserError("--backend torch runs in one process (the device does the parallel work); drop --jobs")
    if args.backend != "torch" and args.device not in ("cpu", "auto"):
        raise UserError(f"--device {args.device} needs --backend torch")
    device = args.device
    if args.backend == "torch":
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"--device {device}: no CUDA device is available (use --device cpu)")
    return FilterSpec(
        op=args.op,
        size=args.size,
        sigma=args.sigma,
        mode=mode,
        cval=args.cval,
        scale=args.scale,
        gain=args.gain,
        float_output=args.float,
        out_format=out_format,
        quality=args.quality,
        max_pixels=args.max_pixels or None,
        backend=args.backend,
        device=device,
    )


def _try_spec(spec: FilterSpec) -> None:
    """Run the filter once on a tiny image so bad option combinations fail before the batch."""
    import numpy as np

    probe = np.zeros((8, 8, 3), np.uint8)
    try:
        filter_array(probe, spec)
    except ValueError as exc:
        raise UserError(f"--op {spec.op}: {exc}") from None


def default_jobs(n_files: int, backend: str) -> int:
    """Worker processes when --jobs is not given (see benchmarks/cli.py for the measurement)."""
    if backend == "torch" or n_files < 16:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_files // 8))


_WORKER_SPEC: FilterSpec | None = None


def _init_worker(spec: FilterSpec) -> None:
    """Per worker process: remember the spec, one thread per process, heavy imports once.

    Also lets malloc keep freed large blocks (:func:`filterkit.filters.memory.keep_freed_memory`):
    every image of a folder allocates the same few megabyte-sized planes, and fresh
    ``mmap`` blocks cost page faults on each one (``benchmarks/cli.py`` times the whole
    CLI).  The trade-off: the process keeps its peak memory until it exits.
    """
    global _WORKER_SPEC
    import cv2

    import filterkit  # noqa: F401 - import the filters once, not per file
    from filterkit.filters.memory import keep_freed_memory

    cv2.setNumThreads(1)
    keep_freed_memory()
    _WORKER_SPEC = spec


def _work(task: tuple[Path, Path]) -> tuple[str, str | None]:
    assert _WORKER_SPEC is not None
    return process_file(task[0], task[1], _WORKER_SPEC)


def _run_tasks(todo: list[tuple[Path, Path]], spec: FilterSpec, jobs: int, progress: bool):
    """Yield ``(status, message)`` per task, in completion order."""
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="img", disable=not progress or None, file=sys.stderr, dynamic_ncols=True)
    try:
        if jobs == 1:
            _init_worker(spec)
            for task in todo:
                result = _work(task)
                bar.update()
                yield result, bar
            return
        import multiprocessing

        # fork: workers inherit the imported modules (elsewhere spawn, the safe default there)
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        chunk = max(1, min(32, len(todo) // (jobs * 8)))
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(spec,)) as pool:
            for result in pool.imap_unordered(_work, todo, chunksize=chunk):
                bar.update()
                yield result, bar
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    spec = _check_options(args)
    if args.scheduler is not None:
        from filterkit.batch.dask_cluster import scheduler_address

        args.scheduler = scheduler_address(args.scheduler)
        if args.jobs is not None:
            raise UserError("--jobs is for local runs; with --scheduler the Dask workers run the files")
    _try_spec(spec)
    plan = make_plan(args, spec.out_format)
    start = time.perf_counter()
    for line in plan.failed:
        print(f"filterkit: {line}", file=sys.stderr)
    jobs = args.jobs or default_jobs(len(plan.todo), spec.backend)
    done, failed = 0, len(plan.failed)
    if plan.todo:
        if args.scheduler:
            from filterkit.batch import dask_cluster as distributed

            def workers(n: int) -> None:
                nonlocal jobs
                jobs = n

            tasks = distributed.run_tasks(plan.todo, spec, args.scheduler, not args.no_progress, on_connect=workers)
        else:
            tasks = _run_tasks(plan.todo, spec, min(jobs, len(plan.todo)), not args.no_progress)
        for (status, message), bar in tasks:
            if status == "done":
                done += 1
            else:
                failed += 1
                bar.write(f"filterkit: {message}", file=sys.stderr)
    seconds = time.perf_counter() - start
    parts = [f"{done} written"]
    if plan.skipped:
        parts.append(f"{len(plan.skipped)} skipped (output exists; --force overwrites)")
    parts.append(f"{failed} failed")
    if plan.ignored:
        parts.append(f"{plan.ignored} non-image files ignored")
    unit = "Dask worker" if args.scheduler else "job"
    print(f"filter {spec.op}: {', '.join(parts)} -> {args.output} ({seconds:.1f} s, {jobs} {unit}{'s' * (jobs > 1)})")
    return 1 if failed else 0


__all__ = ["FilterSpec", "filter_array", "process_file", "collect_sources", "default_jobs"]
