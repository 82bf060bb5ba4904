"""The one local process-pool fan-out: run ``fn`` over items in worker processes, results as they finish.

Used by the file batch (``filterkit filter --jobs``), cross-validation folds (text), speaker folds
(speech) and the seeds of ``filterkit compare``.  ``jobs <= 1`` runs in this process, in order.
Workers ignore Ctrl-C; on Ctrl-C or any error the pool is terminated at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["fan_out", "usable_cores"]


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _init(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    if initializer is not None:
        initializer(*initargs)


def _call(packed: tuple[int, Callable[[Any], Any], Any]) -> tuple[int, Any]:
    index, fn, item = packed
    return index, fn(item)


def fan_out(
    fn: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    jobs: int = 1,
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    start: str = "spawn",
    chunksize: int = 1,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(item))`` for every item, in completion order.

    Args:
        fn: a picklable module-level function of one argument.
        items: the work; each item is pickled to a worker.
        jobs: worker processes (at most one per item); ``<= 1`` runs inline, in order.
        initializer, initargs: run once in each worker (and once inline when ``jobs <= 1``).
        start: ``"spawn"`` (a clean interpreter: torch threads, CUDA) or ``"fork"`` (inherits the
            imported modules; Linux only, falls back to spawn elsewhere).
        chunksize: items sent to a worker at a time.
    """
    items = list(items)
    jobs = min(int(jobs), len(items))
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    if start == "fork" and sys.platform != "linux":
        start = "spawn"
    context = multiprocessing.get_context(start)
    pool = context.Pool(jobs, initializer=_init, initargs=(initializer, initargs))
    try:
        yield from pool.imap_unordered(_call, [(i, fn, item) for i, item in enumerate(items)], chunksize=chunksize)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
