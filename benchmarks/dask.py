"""Scale-out: ``filterkit filter`` on a 2-worker Dask cluster, and blockwise filtering of one huge image.

    python benchmarks/dask.py                              # 2,000 images of 128x128; a 16k x 16k image
    python benchmarks/dask.py --n 200 --side 4096 --repeats 1   # quick run
    python benchmarks/dask.py --json out/dask.json --seed 1

Files (``--n`` colour PNGs of ``--image-side`` pixels, generated in a temporary
folder), images per second, side by side in the same run (median of
``--repeats``, the order of the contenders alternating):

* ``local-1``: ``filterkit filter DIR -o OUT --op OP --jobs 1`` in this process.
* ``local-2``: the same with ``--jobs 2`` (the CLI's own process pool).
* ``dask-2``: the same with ``--scheduler`` pointing at a ``LocalCluster`` of 2
  worker processes (1 thread each) on loopback; cluster start-up excluded (it
  is started once and warmed up with one file), connecting included.

Blockwise (one ``--side`` x ``--side`` uint8 image generated lazily with
``dask.array.random``, ``--chunk`` pixel chunks; the result is reduced to its
sum, which must be equal for every contender):

* ``source``: generate and sum only (the floor: what the filter adds is the rest).
* ``blockwise-threads``: :func:`filterkit.filters.blockwise.gaussian` on dask's threaded
  scheduler in this process (``--threads``, default the CPU count).
* ``blockwise-dask-2``: the same graph on the 2-worker cluster.
* ``in-memory``: the image computed into one numpy array, then
  :func:`filterkit.filters.ndimage.gaussian` on it (skipped with ``--no-in-memory``).

Peak memory is the largest sum of the resident set sizes (RSS) of this process
and all its child processes (the cluster's workers), sampled every 20 ms with
psutil while the contender runs; ``base`` is the sum just before it starts.
"""

from __future__ import annotations

import os
import sys

# this file is called dask.py: keep its own folder off sys.path so that `import dask` finds the library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


class PeakRSS:
    """Context manager: peak of RSS(this process + all children), in bytes, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self.interval = interval
        self.me = psutil.Process()
        self.base = self.peak = self._sample()
        self._stop = threading.Event()

    def _sample(self) -> int:
        import psutil

        total = 0
        for proc in [self.me, *self.me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> "PeakRSS":
        self.base = self.peak = self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def make_images(folder: Path, n: int, side: int, seed: int) -> None:
    """``n`` colour PNGs, ``side`` x ``side``: smooth random colour fields plus noise."""
    import cv2

    from filterkit.io import write_image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        field = cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        noise = rng.integers(-12, 13, (side, side, 3), dtype=np.int16)
        write_image(folder / f"img_{i:05d}.png", np.clip(field + noise, 0, 255).astype(np.uint8))


def run_cli(src: Path, out: Path, op_args: list[str], extra: list[str]) -> float:
    """Seconds for ``filterkit filter`` in this process (output folder emptied first)."""
    from filterkit.cli import main

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["filter", str(src), "-o", str(out), *op_args, "--force", "--quiet", *extra])
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"filterkit filter failed with exit status {rc}")
    return seconds


def bench_files(args, cluster, tmp: Path) -> list[dict]:
    src = tmp / "images"
    make_images(src, args.n, args.image_side, args.seed)
    op_args = ["--op", "gaussian", "--sigma", str(args.sigma)]
    address = cluster.scheduler_address
    contenders = {
        "local-1": ["--jobs", "1"],
        "local-2": ["--jobs", "2"],
        "dask-2": ["--scheduler", address],
    }
    warm = tmp / "warm"  # enough files for every worker of the pool and of the cluster
    warm.mkdir()
    for path in sorted(src.iterdir())[:16]:
        shutil.copy(path, warm)
    for name, extra in contenders.items():  # imports, pools and workers warmed up once, untimed
        run_cli(warm, tmp / "warm-out", op_args, extra)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    peaks: dict[str, list[int]] = {name: [] for name in contenders}
    bases: dict[str, list[int]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            with PeakRSS() as mem:
                times[name].append(run_cli(src, tmp / f"out-{name}", op_args, contenders[name]))
            peaks[name].append(mem.peak)
            bases[name].append(mem.base)
    # the cluster's files are the local run's files, byte for byte
    local = {p.name: p.read_bytes() for p in (tmp / "out-local-1").iterdir()}
    remote = {p.name: p.read_bytes() for p in (tmp / "out-dask-2").iterdir()}
    if local != remote:
        raise SystemExit("dask-2 output differs from local-1 output")
    t1 = statistics.median(times["local-1"])
    rows = []
    for name in names:
        t = statistics.median(times[name])
        rows.append({
            "part": "files", "contender": name, "seconds": t, "images_per_second": args.n / t,
            "speedup_vs_local_1": t1 / t, "peak_rss_bytes": max(peaks[name]), "base_rss_bytes": min(bases[name]),
            "times": times[name],
        })  # fmt: skip
    return rows


def _source(args, side: int | None = None):
    import dask.array as da

    rng = da.random.default_rng(args.seed)
    side = side or args.side
    return rng.integers(0, 256, (side, side), dtype=np.uint8, chunks=min(args.chunk, side))


def bench_blockwise(args, client) -> list[dict]:
    import dask

    import filterkit.filters.blockwise as fd
    from filterkit.filters import ndimage

    def source(side=None):
        return int(_source(args, side).sum(dtype=np.uint64).compute(scheduler="threads", num_workers=args.threads))

    def threads(side=None):
        y = fd.gaussian(_source(args, side), args.sigma)
        return int(y.sum(dtype=np.uint64).compute(scheduler="threads", num_workers=args.threads))

    def cluster(side=None):
        y = fd.gaussian(_source(args, side), args.sigma)
        return int(client.compute(y.sum(dtype=np.uint64)).result())

    def in_memory(side=None):
        image = _source(args, side).compute(scheduler="threads", num_workers=args.threads)
        out = ndimage.gaussian(image, args.sigma)
        del image
        return int(out.sum(dtype=np.uint64))

    contenders = {"source": source, "blockwise-threads": threads, "blockwise-dask-2": cluster}
    if not args.no_in_memory:
        contenders["in-memory"] = in_memory
    for run in contenders.values():  # imports and workers warmed up, untimed
        run(min(args.side, 2 * args.chunk))
    with dask.config.set({"array.slicing.split_large_chunks": False}):
        results: dict[str, list] = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(args.repeats):
            for name in names if r % 2 == 0 else names[::-1]:
                with PeakRSS() as mem:
                    start = time.perf_counter()
                    total = contenders[name]()
                    seconds = time.perf_counter() - start
                results[name].append((seconds, total, mem.peak, mem.base))
    filtered = {results[n][0][1] for n in names if n != "source"}
    if len(filtered) != 1:
        raise SystemExit(f"blockwise results differ between contenders: {filtered}")
    t_threads = statistics.median(s for s, *_ in results["blockwise-threads"])
    rows = []
    for name in names:
        t = statistics.median(s for s, *_ in results[name])
        rows.append({
            "part": "blockwise", "contender": name, "seconds": t, "megapixels_per_second": args.side**2 / t / 1e6,
            "ratio_vs_blockwise_threads": t / t_threads, "sum": results[name][0][1],
            "peak_rss_bytes": max(p for *_, p, _ in results[name]),
            "base_rss_bytes": min(b for *_, b in results[name]), "times": [s for s, *_ in results[name]],
        })  # fmt: skip
    return rows


def print_table(rows: list[dict], args) -> None:
    mib = 2**20
    parts = {r["part"] for r in rows}
    if "files" in parts:
        _print_files(rows, args, mib)
    if "blockwise" in parts:
        _print_blockwise(rows, args, mib)


def _print_files(rows: list[dict], args, mib: int) -> None:
    print(f"\nfiles: {args.n} PNGs {args.image_side}x{args.image_side} RGB, gaussian sigma {args.sigma}, "
          f"median of {args.repeats}")  # fmt: skip
    print(f"{'contender':<20}{'seconds':>10}{'images/s':>10}{'speedup':>9}{'peak MiB':>10}{'base MiB':>10}")
    for r in (r for r in rows if r["part"] == "files"):
        print(f"{r['contender']:<20}{r['seconds']:>10.2f}{r['images_per_second']:>10.0f}{r['speedup_vs_local_1']:>9.2f}"
              f"{r['peak_rss_bytes'] / mib:>10.0f}{r['base_rss_bytes'] / mib:>10.0f}")  # fmt: skip


def _print_blockwise(rows: list[dict], args, mib: int) -> None:
    print(f"\nblockwise: {args.side}x{args.side} uint8, chunks {args.chunk}, gaussian sigma {args.sigma}, "
          f"{args.threads} threads locally, median of {args.repeats}")  # fmt: skip
    print(f"{'contender':<20}{'seconds':>10}{'MP/s':>10}{'ratio':>9}{'peak MiB':>10}{'base MiB':>10}")
    for r in (r for r in rows if r["part"] == "blockwise"):
        print(f"{r['contender']:<20}{r['seconds']:>10.2f}{r['megapixels_per_second']:>10.1f}"
              f"{r['ratio_vs_blockwise_threads']:>9.2f}{r['peak_rss_bytes'] / mib:>10.0f}{r['base_rss_bytes'] / mib:>10.0f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="number of images for the files part (default 2000)")
    parser.add_argument("--image-side", type=int, default=128, help="side of each image in pixels (default 128)")
    parser.add_argument("--side", type=int, default=16384, help="side of the blockwise image (default 16384)")
    parser.add_argument("--chunk", type=int, default=2048, help="chunk side of the blockwise image (default 2048)")
    parser.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma in pixels (default 2)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of the local scheduler")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender (median; default 3)")
    parser.add_argument("--no-in-memory", action="store_true", help="skip the in-memory contender (needs ~side^2 x 6 bytes)")
    parser.add_argument("--skip", choices=["files", "blockwise"], action="append", default=[], help="leave a part out")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="filterkit-dask-bench-") as tmp, LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        if "files" not in args.skip:
            rows += bench_files(args, cluster, Path(tmp))
        if "blockwise" not in args.skip:
            rows += bench_blockwise(args, client)
    print_table(rows, args)
    if args.json:
        import dask
        import distributed

        from filterkit.io import write_report

        meta = {
            "args": vars(args), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform(), "python": platform.python_version(),
            "dask": dask.__version__, "distributed": distributed.__version__,
        }  # fmt: skip
        write_report(args.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
