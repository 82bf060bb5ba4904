"""``filterkit filter``: apply one filter to image files, folders or glob patterns (argument parsing,
messages and the summary line; the work is :mod:`filterkit.batch`)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

from filterkit.batch.engine import default_jobs, run_local, try_spec
from filterkit.batch.plan import Plan, make_plan, remove_stale_outputs
from filterkit.batch.pool import usable_cores
from filterkit.batch.spec import BACKENDS, BATCH_OPS, MAX_SIGMA, MAX_SIZE, SCALES, FilterSpec, parse_op, takes_size
from filterkit.cli.common import (
    add_device_option,
    add_force_option,
    add_json_option,
    add_quiet_option,
    float_range,
    int_range,
    show_progress,
)
from filterkit.errors import UserError, one_line, show_path
from filterkit.filters.border import DEFAULT_MODE, MODES, normalize_mode
from filterkit.io import DEFAULT_MAX_PIXELS, IMAGE_FORMATS, refuse_overwrite, write_report

HELP = "filter image files or folders (mean, median, gaussian, sobel, ...) into an output folder"

DESCRIPTION = f"""\
Apply one filter to every image given and write the results under the output
folder -o/--out.

INPUT may be image files, folders and glob patterns (quote them: "scans/*.png",
"scans/**/*.tif").  Folders and patterns take files with image suffixes only
(.png .jpg .jpeg .tif .tiff .bmp, any case) and quietly ignore other files and
hidden files; an image file named explicitly that cannot be read is an error.
The folder structure below each folder (or below the fixed part of a pattern)
is kept under the output folder; a file named directly lands in the folder
itself.  Recursive scans (-r, "**") do not enter symlinked folders.

operations (--op):
  mean (box)   size x size average                     --size (default 3)
  median       size x size median (salt-and-pepper)    --size (default 3)
  gaussian     Gaussian blur                           --sigma and/or --size
  sobel, scharr, prewitt
               gradient magnitude sqrt(dx^2 + dy^2); the -x / -y variants give
               the signed derivative along x (columns) or y (rows)
  laplace      4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]]
  Windows are at most {MAX_SIZE} pixels (--size) and sigma at most {MAX_SIGMA:g}.

pixels:
  Colour images are filtered per channel.  Alpha is kept untouched (copied to
  the output as it was; with --float its values are stored as floats); only
  the colour channels are filtered.  Grey stays grey.  The output has the
  input's bit depth: 8-bit stays 8-bit, 16-bit PNG or TIFF stays 16-bit, float
  TIFF stays float.  Smoothing results are rounded (half to even).  Derivative
  results are signed and larger than the input range; they are mapped into the
  bit depth with --scale:
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
  run leaves no half-written images; hidden .NAME.*.part.EXT temporaries an
  interrupted run left in the output folder are removed by the next run.  A
  file that cannot be read (truncated, not an image, zero-size, unsupported
  pixel type, over --max-pixels) gets one line naming the file and the reason;
  the batch goes on.

stdin/stdout:
  INPUT - with -o - reads one PNG, JPEG, TIFF or BMP image (told by its content,
  at most 1 GiB and --max-pixels) from standard input and writes the result to
  standard output in the same format (or --format); an unreadable input is an
  error (exit 2).

exit status: 0 all done (or skipped), 1 some files failed, 2 usage error,
130 interrupted.

examples:
  filterkit filter samples/ -o out/ --op median --size 3
  filterkit filter scans/ --op sobel -o edges/ --recursive --jobs 8
  filterkit filter /shared/scans/ --op median -o /shared/out/ --scheduler dask://10.0.0.5:8786
  filterkit filter - --op median -o - < in.png > out.png
"""


def _op_type(text: str) -> str:
    try:
        return parse_op(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_op_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--op", required=True, type=_op_type, metavar="OP",
                        help=f"filter: {', '.join(BATCH_OPS)} (aliases: box = mean, laplacian = laplace)")
    parser.add_argument("--size", type=int_range(1, MAX_SIZE), default=None,
                        help=f"window size in pixels, odd, at most {MAX_SIZE} (mean/median default 3; sobel 3 or 5)")
    parser.add_argument("--sigma", type=float_range(0, MAX_SIGMA, lo_open=True), default=None,
                        help=f"Gaussian standard deviation in pixels, > 0 and <= {MAX_SIGMA:g} (gaussian only; "
                        "default 1)")
    parser.add_argument("--mode", default=DEFAULT_MODE,
                        help=f"border handling: {', '.join(MODES)} (see filterkit.filters.border; default {DEFAULT_MODE})")
    parser.add_argument("--cval", type=float_range(), default=0.0, help="border value for --mode constant (default 0)")
    parser.add_argument("--scale", choices=SCALES, default="abs",
                        help="how signed derivative results become pixels of the input's bit depth (default abs; "
                        "see above)")
    parser.add_argument("--gain", type=float_range(0, lo_open=True), default=1.0,
                        help="multiply derivative results by this (> 0) for abs/clip (default 1)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--float", action="store_true",
                        help="write results unscaled as 32-bit float TIFF (implies --format tiff)")
    parser.add_argument("--format", choices=sorted(IMAGE_FORMATS), default=None,
                        help="output format (default: the input's format, same suffix)")
    parser.add_argument("--quality", type=int_range(1, 100), default=95,
                        help="JPEG quality 1-100 (default 95; JPEG is lossy)")
    parser.add_argument("-r", "--recursive", action="store_true", help="include images in subfolders of folders")
    add_force_option(parser, "outputs (without it they are skipped) and the --json file")
    parser.add_argument("--max-pixels", type=int_range(0), default=DEFAULT_MAX_PIXELS,
                        help=f"refuse images with more pixels (decompression bombs; default {DEFAULT_MAX_PIXELS:,}, "
                        "as Pillow); 0 disables the check")
    add_json_option(parser)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    cores = usable_cores()
    parser.add_argument("-j", "--jobs", type=int_range(1, 4 * cores), default=None,
                        help=f"worker processes, 1 to {4 * cores} (4 x the {cores} usable cores; default: 1 for fewer "
                        "than 16 files, else min(cores, files / 8); torch backend: always 1)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="filterkit.filters.ndimage backend (auto, opencv, scipy, numba: same pixels) or torch "
                        "(filterkit.filters.tensor on --device; default auto)")
    add_device_option(parser)
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run the files on a Dask distributed cluster: dask://HOST:PORT (or tcp://HOST:PORT) of a "
                        "running `dask scheduler`; every worker must see INPUT and the output folder at the same "
                        "paths (see docs/scale.md; needs the dask extra)")
    add_quiet_option(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or glob patterns; - reads one image from standard input")
    parser.add_argument("-o", "--out", required=True, metavar="OUTDIR",
                        help="output folder (created if needed); - writes to standard output (with INPUT -)")
    _add_op_options(parser)
    _add_output_options(parser)
    _add_run_options(parser)


# ---------------------------------------------------------------------- checks


def _check_options(args: argparse.Namespace) -> FilterSpec:
    """The :class:`FilterSpec` of the options; :class:`UserError` for combinations that cannot work."""
    try:
        mode = normalize_mode(args.mode)
    except ValueError as exc:
        raise UserError(f"--mode: {exc}") from None
    if args.size is not None and args.size % 2 == 0:
        raise UserError(f"--size must be a positive odd number of pixels, got {args.size}")
    if args.sigma is not None and args.op != "gaussian":
        raise UserError(f"--sigma applies to --op gaussian only, not {args.op}")
    if args.size is not None and not takes_size(args.op):
        raise UserError(f"--size does not apply to --op {args.op} (its kernel is 3x3)")
    out_format = args.format
    if args.float:
        if out_format not in (None, "tiff"):
            raise UserError(f"--float writes 32-bit float TIFF; it cannot be combined with --format {out_format}")
        out_format = "tiff"
    if args.backend == "torch" and (args.jobs or 1) > 1:
        raise UserError("--backend torch runs in one process (the device does the parallel work); drop --jobs")
    if args.backend != "torch" and args.device not in ("cpu", "auto"):
        raise UserError(f"--device {args.device} needs --backend torch")
    if args.scheduler is not None and args.jobs is not None:
        raise UserError("--jobs is for local runs; with --scheduler the Dask workers run the files")
    return FilterSpec(op=args.op, size=args.size, sigma=args.sigma, mode=mode, cval=args.cval, scale=args.scale,
                      gain=args.gain, float_output=args.float, out_format=out_format, quality=args.quality,
                      max_pixels=args.max_pixels or None, backend=args.backend, device=_device(args))


def _device(args: argparse.Namespace) -> str:
    if args.backend != "torch":
        return "cpu"
    import torch  # the torch backend only

    device = args.device
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device is available (use --device cpu)")
    return device


# ---------------------------------------------------------------------- running


def _results(args: argparse.Namespace, plan: Plan, spec: FilterSpec) -> tuple:
    """The result stream (``(status, message)`` per file) and a one-item list holding the worker count."""
    if args.scheduler:
        from filterkit.batch import dask_cluster  # needs distributed (the dask extra)

        workers = [0]
        stream = dask_cluster.run_on_cluster(plan.todo, spec, args.scheduler,
                                             on_connect=lambda n: workers.__setitem__(0, n))
        return stream, workers
    jobs = min(args.jobs or default_jobs(len(plan.todo), spec.backend), max(1, len(plan.todo)))
    return run_local(plan.todo, spec, jobs), [jobs]


def _run_plan(args: argparse.Namespace, plan: Plan, spec: FilterSpec) -> tuple[int, list[str], int]:
    """Run the plan with a progress bar; returns (written, failure lines, workers)."""
    from tqdm import tqdm

    failures = list(plan.failed)
    done = 0
    stream, workers = _results(args, plan, spec)
    if not plan.todo:
        return 0, failures, workers[0] or 1
    with tqdm(total=len(plan.todo), unit="img", disable=not show_progress(args), file=sys.stderr,
              dynamic_ncols=True) as bar:
        try:
            for status, message in stream:
                bar.update()
                if status == "done":
                    done += 1
                else:
                    failures.append(one_line(message or ""))
                    bar.write(f"filterkit: {failures[-1]}", file=sys.stderr)
        except KeyboardInterrupt:
            stream.close()  # terminates the worker processes now
            remove_stale_outputs(args.out)  # and removes the temporaries they were writing
            raise
    return done, failures, workers[0] or 1


def _check_stream(args: argparse.Namespace) -> None:
    """:class:`UserError` unless the options fit one image from standard input to standard output."""
    if args.inputs != ["-"]:
        raise UserError("- (standard input) must be the only INPUT" if "-" in args.inputs
                        else "-o - (standard output) takes the image of INPUT - (standard input) only")
    if args.out != "-":
        raise UserError("INPUT - (standard input) needs -o - (standard output)")
    if args.scheduler is not None:
        raise UserError("--scheduler runs files on a cluster; it cannot read standard input")
    if args.json == "-":
        raise UserError("-o - already writes the image to standard output; give --json a file name")
    if sys.stdin.isatty():
        raise UserError("INPUT -: standard input is a terminal; pipe an image in (... < in.png)")
    if sys.stdout.isatty():
        raise UserError("-o -: standard output is a terminal; redirect it to a file (... > out.png)")


def _run_stream(args: argparse.Namespace, spec: FilterSpec) -> int:
    """``filterkit filter - ... -o -``: one image from standard input to standard output."""
    from filterkit.batch.stream import filter_bytes, read_stream

    _check_stream(args)
    refuse_overwrite(args.json, args.force)
    start = time.perf_counter()
    data = read_stream(sys.stdin.buffer)
    try:
        out, fmt = filter_bytes(data, spec)
    except ValueError as exc:
        raise UserError(f"--op {spec.op}: {exc}") from None
    except MemoryError:
        raise UserError("<stdin>: out of memory") from None
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if args.json:
        report = {"command": "filter", "op": spec.op, "spec": asdict(spec), "input": "-", "out": "-",
                  "format": fmt, "bytes_in": len(data), "bytes_out": len(out),
                  "seconds": time.perf_counter() - start}
        write_report(args.json, report, force=args.force, device=spec.device)
    return 0


def run(args: argparse.Namespace) -> int:
    spec = _check_options(args)
    if "-" in args.inputs or args.out == "-":
        return _run_stream(args, spec)
    refuse_overwrite(args.json, args.force)
    if args.scheduler is not None:
        try:
            from filterkit.batch.dask_cluster import scheduler_address
        except ModuleNotFoundError as exc:
            raise UserError(f"--scheduler needs Dask distributed ({exc.name} is missing): "
                            "pip install 'filterkit[dask]'") from None
        args.scheduler = scheduler_address(args.scheduler)
    try:
        try_spec(spec)
    except ValueError as exc:
        raise UserError(f"--op {spec.op}: {exc}") from None
    plan = make_plan(args.inputs, args.out, recursive=args.recursive, force=args.force, out_format=spec.out_format)
    stale = remove_stale_outputs(args.out)
    start = time.perf_counter()
    for line in plan.failed:
        print(f"filterkit: {one_line(line)}", file=sys.stderr)
    done, failures, workers = _run_plan(args, plan, spec)
    seconds = time.perf_counter() - start
    parts = [f"{done} written"]
    if plan.skipped:
        parts.append(f"{len(plan.skipped)} skipped (output exists; --force overwrites)")
    parts.append(f"{len(failures)} failed")
    if plan.ignored:
        parts.append(f"{plan.ignored} non-image files ignored")
    if stale:
        parts.append(f"{stale} stale temporary file{'s' * (stale > 1)} of an interrupted run removed")
    unit = "Dask worker" if args.scheduler else "job"
    summary = (f"filter {spec.op}: {', '.join(parts)} -> {show_path(args.out)} ({seconds:.1f} s, {workers} "
               f"{unit}{'s' * (workers > 1)})")
    print(summary, file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        report = {"command": "filter", "op": spec.op, "spec": asdict(spec),
                  "out": str(args.out), "written": done, "skipped": len(plan.skipped), "failed": failures,
                  "ignored": plan.ignored, "stale_removed": stale, "seconds": seconds, "workers": workers,
                  "scheduler": args.scheduler}
        write_report(args.json, report, force=args.force, device=spec.device)
    return 1 if failures else 0


__all__ = ["add_arguments", "run", "HELP", "DESCRIPTION"]
