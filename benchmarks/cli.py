"""Folder throughput of ``filterkit filter`` against plain decode + encode of the same files.

    python benchmarks/cli.py                      # 1,000 JPEGs of 1 MP (1000x1000 RGB)
    python benchmarks/cli.py --n 100 --repeats 1  # quick run
    python benchmarks/cli.py --jobs 1 2 4 --ops median sobel --json cli.json

For each worker count and op, side by side in the same run (medians over
``--repeats``, the order of the contenders alternating):

* ``codec``: each worker reads a file, ``cv2.imdecode``, ``cv2.imencode``
  (JPEG quality 95, as the CLI), writes it -- the floor for any tool that has to
  decode and encode every image; same process pool and chunking as the CLI.
* ``cli``: ``filterkit.cli.main(["filter", DIR, "-o", OUT, "--op", OP, "--jobs", J, "--force"])``
  in this process (argument parsing, planning, pool start, progress, summary
  included; interpreter start-up excluded).
* ``cli-process`` (with ``--subprocess``): the ``filterkit`` console script as a
  new process, interpreter start-up and imports included.

``ratio`` = cli / codec; the target is <= 1.3.  The last column times the
stages of one image in this process (read, filter + scaling, encode; median
of 15), which tells how much of the ratio is the filter's own arithmetic.  Images are generated in a
temporary folder (smooth random colour fields plus noise, seeded), deleted after.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_images(folder: Path, n: int, height: int, width: int, seed: int) -> None:
    """``n`` photo-like colour JPEGs (quality 95): low-frequency colour fields plus noise."""
    import cv2

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        field = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        noise = rng.integers(-12, 13, (height, width, 3), dtype=np.int16)
        image = np.clip(field.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        (folder / f"img_{i:05d}.jpg").write_bytes(buf.tobytes())


def _codec_one(task: tuple[Path, Path]) -> None:
    import cv2

    src, dst = task
    image = cv2.imdecode(np.frombuffer(src.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    dst.write_bytes(buf.tobytes())


def _init_codec_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def run_codec(src: Path, out: Path, jobs: int) -> float:
    """Seconds to decode + encode every file with ``jobs`` processes (the CLI's pool layout)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = sorted(src.glob("*.jpg"))
    tasks = [(f, out / f.name) for f in files]
    start = time.perf_counter()
    if jobs == 1:
        _init_codec_worker()
        for task in tasks:
            _codec_one(task)
    else:
        chunk = max(1, min(32, len(tasks) // (jobs * 8)))
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_init_codec_worker) as pool:
            for _ in pool.imap_unordered(_codec_one, tasks, chunksize=chunk):
                pass
    return time.perf_counter() - start


def run_cli(src: Path, out: Path, jobs: int, op: str) -> float:
    """Seconds for ``filterkit filter`` in this process."""
    from filterkit.cli import main

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the one-line summary
        rc = main(["filter", str(src), "-o", str(out), "--op", op, "--jobs", str(jobs), "--force", "--quiet"])
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"filterkit filter failed with exit status {rc}")
    return seconds


def run_cli_process(src: Path, out: Path, jobs: int, op: str) -> float:
    """Seconds for the ``filterkit`` console script as a new process."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "filterkit.cli", "filter", str(src), "-o", str(out), "--op", op]
    start = time.perf_counter()
    subprocess.run(cmd + ["--jobs", str(jobs), "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - start


def stage_times(path: Path, op: str, repeats: int = 15) -> dict[str, float]:
    """Median milliseconds of each stage for one image in this process: read, filter (+ scaling), encode."""
    from filterkit.batch import FilterSpec, filter_array
    from filterkit.io import encode_image, read_image

    spec = FilterSpec(op=op)
    image = read_image(path, bgr=True)
    out = filter_array(image, spec)
    stages = {
        "read_ms": lambda: read_image(path, bgr=True),
        "filter_ms": lambda: filter_array(image, spec),
        "encode_ms": lambda: encode_image(out, "jpeg", bgr=True),
    }
    result = {}
    for name, fn in stages.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        result[name] = 1000 * statistics.median(times)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="number of images (default 1000)")
    parser.add_argument("--height", type=int, default=1000, help="image height in pixels (default 1000)")
    parser.add_argument("--width", type=int, default=1000, help="image width in pixels (default 1000)")
    parser.add_argument("--ops", nargs="+", default=["median", "sobel"], help="filter ops (default median sobel)")
    parser.add_argument(
        "--jobs", nargs="+", type=int, default=None, help="worker counts (default: 1 and the CLI's default)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender (median; default 3)")
    parser.add_argument("--subprocess", action="store_true", help="also time the console script as a new process")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the images (default: a temp dir)")
    args = parser.parse_args(argv)

    from filterkit.batch import default_jobs

    jobs_list = args.jobs or sorted({1, default_jobs(args.n, "auto")})
    root = Path(tempfile.mkdtemp(prefix="fk_cli_bench_", dir=args.tmp))
    rows = []
    try:
        src = root / "in"
        start = time.perf_counter()
        make_images(src, args.n, args.height, args.width, args.seed)
        print(f"made {args.n} JPEGs of {args.height}x{args.width} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for jobs in jobs_list:
            for op in args.ops:
                times: dict[str, list[float]] = {"codec": [], "cli": []}
                if args.subprocess:
                    times["cli-process"] = []
                run_cli(src, root / "cli", jobs, op)  # warm-up: page cache, imports
                for r in range(args.repeats):
                    order = list(times) if r % 2 == 0 else list(reversed(times))
                    for name in order:
                        if name == "codec":
                            times[name].append(run_codec(src, root / "codec", jobs))
                        elif name == "cli":
                            times[name].append(run_cli(src, root / "cli", jobs, op))
                        else:
                            times[name].append(run_cli_process(src, root / "proc", jobs, op))
                med = {k: statistics.median(v) for k, v in times.items()}
                row = {
                    "op": op,
                    "jobs": jobs,
                    "n": args.n,
                    "codec_s": med["codec"],
                    "cli_s": med["cli"],
                    "ratio": med["cli"] / med["codec"],
                    "cli_ms_per_image": 1000 * med["cli"] / args.n,
                    "codec_ms_per_image": 1000 * med["codec"] / args.n,
                    "runs": times,
                    **stage_times(src / "img_00000.jpg", op),
                }
                if args.subprocess:
                    row["cli_process_s"] = med["cli-process"]
                    row["ratio_process"] = med["cli-process"] / med["codec"]
                rows.append(row)
                print(f"  done: op={op} jobs={jobs}", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nfilterkit filter on {args.n} JPEGs of {args.height}x{args.width}, {cores} cores, median of {args.repeats}")
    header = f"{'op':8} {'jobs':>4} {'codec s':>8} {'cli s':>8} {'ratio':>6} {'ms/img':>7}  read/filter/encode ms"
    if args.subprocess:
        header += f" {'process s':>9} {'ratio':>6}"
    print(header)
    for row in rows:
        line = (
            f"{row['op']:8} {row['jobs']:>4} {row['codec_s']:>8.2f} {row['cli_s']:>8.2f} "
            f"{row['ratio']:>6.2f} {row['cli_ms_per_image']:>7.2f}"
            f"  {row['read_ms']:.1f}/{row['filter_ms']:.1f}/{row['encode_ms']:.1f}"
        )
        if args.subprocess:
            line += f" {row['cli_process_s']:>9.2f} {row['ratio_process']:>6.2f}"
        print(line)
    if args.json:
        from filterkit.io import write_report

        write_report(
            args.json,
            {
                "benchmark": "cli",
                "n": args.n,
                "height": args.height,
                "width": args.width,
                "cores": cores,
                "repeats": args.repeats,
                "seed": args.seed,
                "rows": rows,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
