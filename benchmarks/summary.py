"""Time ``filterkit summary`` for every zoo model: shape-only tracing against a real forward.

    python benchmarks/summary.py                       # all models, 5 repeats, with the real-forward baseline
    python benchmarks/summary.py --no-real --repeats 9 # meta tracing only
    python benchmarks/summary.py --models vgg16 resnet50 --json out/summary.json

For each model, side by side in the same run (medians over ``--repeats``):

* ``empty``: what the CLI does: build the model under ``torch.device("meta")``
  and :func:`filterkit.nn.summary.summarize` it with ``trace="empty"`` (hooks, a
  forward of a zero-sample batch, table rows).  The target is under 2 s.
* ``meta``: the same model traced with one sample of meta tensors
  (``trace="meta"``).
* ``real`` (unless ``--no-real``): build the model on the CPU (allocating and
  initialising every weight) and summarise it with a real forward of one zero
  sample (``trace="real"``): the naive way to get the same table.

``real/empty`` and ``meta/empty`` are the ratios.  All give the same figures
(checked here: totals equal).  Times are in-process after one warm-up call;
with ``--cold`` each model is also timed as a fresh ``filterkit summary``
process (interpreter start-up and ``import torch`` included), next to a bare
``python -c "import torch"`` for reference.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def time_median(fn, repeats: int) -> tuple[float, object]:
    """Median wall time in ms of ``fn()`` over ``repeats`` runs (after one warm-up) and its last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0, result


def time_process(argv: list[str], repeats: int) -> float:
    """Median wall time in ms of running ``argv`` as a new process (output discarded)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None, metavar="NAME", help="zoo models (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and contender (default 5)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-forward baseline")
    parser.add_argument("--cold", action="store_true",
                        help="also time each model as a fresh `filterkit summary` process (slow)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)

    import torch

    from filterkit.io import write_report
    from filterkit.nn.summary import summarize
    from filterkit.nn.zoo import build_model, default_input, model_names

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    names = args.models or model_names()
    cold_repeats = max(1, min(3, args.repeats))
    import_ms = time_process([sys.executable, "-c", "import torch"], cold_repeats) if args.cold else None
    results = []
    header = (f"{'model':<16} {'params':>12} {'MACs':>15} {'empty ms':>9} {'meta ms':>9} {'real ms':>9} "
              f"{'meta/empty':>10} {'real/empty':>10} {'cold ms':>9}")
    print(header)
    print("-" * len(header))
    for name in names:
        shape = default_input(name)

        def shape_only(trace: str, name=name, shape=shape):
            with torch.device("meta"):
                model = build_model(name)
            return summarize(model, shape, trace=trace)

        def real_summary(name=name, shape=shape):
            return summarize(build_model(name), shape, trace="real")

        empty_ms, empty = time_median(lambda: shape_only("empty"), args.repeats)
        meta_ms, meta = time_median(lambda: shape_only("meta"), args.repeats)
        real_ms, real = (None, None) if args.no_real else time_median(real_summary, args.repeats)
        figures = {(s.total_params, s.total_macs) for s in (empty, meta, real) if s is not None}
        if len(figures) != 1 or empty.trace != "empty":
            print(f"{name}: the traces disagree or fell back: {figures}, {empty.trace}", file=sys.stderr)
            return 1
        cold_ms = None
        if args.cold:
            cold_ms = time_process([sys.executable, "-m", "filterkit.cli", "summary", name], cold_repeats)
        row = {"model": name, "input": list(shape), "params": empty.total_params, "macs": empty.total_macs,
               "empty_ms": empty_ms, "meta_ms": meta_ms, "real_ms": real_ms,
               "meta_over_empty": meta_ms / empty_ms,
               "real_over_empty": None if real_ms is None else real_ms / empty_ms,
               "cold_process_ms": cold_ms}
        results.append(row)
        fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
        print(f"{name:<16} {empty.total_params:>12,} {empty.total_macs:>15,} {empty_ms:9.1f} {meta_ms:9.1f} "
              f"{fmt(real_ms, '9.1f'):>9} {row['meta_over_empty']:10.1f} {fmt(row['real_over_empty'], '10.1f'):>10} "
              f"{fmt(cold_ms, '9.0f'):>9}", flush=True)
    slowest = max(results, key=lambda r: r["empty_ms"])
    print(f"slowest summary (in process): {slowest['model']} {slowest['empty_ms']:.1f} ms (target < 2000 ms)")
    if import_ms is not None:
        print(f"fresh process `python -c 'import torch'`: {import_ms:.0f} ms (included in the cold column)")
    if args.json:
        write_report(args.json, {
            "benchmark": "summary",
            "repeats": args.repeats,
            "threads": args.threads,
            "seed": args.seed,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "env": {k: os.environ.get(k) for k in THREAD_ENV},
            "import_torch_process_ms": import_ms,
            "results": results,
        })
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
