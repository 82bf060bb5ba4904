"""Run ``filterkit filter`` over many files on a Dask distributed cluster.

One task per few files (:func:`default_batch`): a worker reads each source, filters it with
:func:`filterkit.batch.engine.process_file` (the very code of a local
run, so the bytes written are the same) and writes the output itself with
:func:`filterkit.io.atomic_write`.  Only file names and a short status go
over the network; every worker must therefore see the input and output
folders at the same paths (one machine, or a shared file system), and have
filterkit installed.

Tasks are idempotent: the output paths are fixed before the task is sent, and
a task run twice (a worker died and the scheduler ran it again elsewhere)
writes the same bytes to the same path; the rename is atomic, so the output
folder never holds a half-written image and never two copies.  A worker
killed in the middle of a write leaves its temporary ``.NAME.*.part.SUFFIX``
file behind; those of this run's outputs are removed when the run ends.

The client is passed explicitly everywhere (``as_completed`` on the client's own loop): it never
needs to be Dask's default client, so a client that ``filterkit filter --scheduler`` creates for a
separate ``dask scheduler`` process works (tested end to end with real ``dask scheduler`` and
``dask worker`` processes).

Python API::

    from distributed import Client
    from filterkit.batch import FilterSpec
    from filterkit.batch.dask_cluster import filter_files

    with Client("tcp://10.0.0.5:8786") as client:
        report = filter_files([(src, dst), ...], FilterSpec(op="median", size=5), client)
"""

from __future__ import annotations

import contextlib
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from filterkit.batch.engine import process_file
from filterkit.batch.spec import FilterSpec
from filterkit.errors import UserError, show_path

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = [
    "scheduler_address",
    "connect",
    "map_files",
    "default_batch",
    "filter_files",
    "FilesReport",
    "remove_partial_files",
    "run_on_cluster",
]

#: seconds to wait for the scheduler to answer and for a first worker to join
CONNECT_TIMEOUT_S = 30


def scheduler_address(text: str) -> str:
    """The Dask address for ``--scheduler``: ``dask://HOST:PORT`` or ``HOST:PORT`` -> ``tcp://HOST:PORT``.

    Addresses with a Dask protocol (``tcp://``, ``tls://``, ``ucx://``, ``inproc://``) are kept.
    """
    given = text.strip()
    address = given
    if address.startswith("dask://"):
        address = "tcp://" + address[len("dask://") :]
    elif "://" not in address:
        address = "tcp://" + address
    protocol, _, rest = address.partition("://")
    if protocol not in ("tcp", "tls", "ucx", "inproc") or not rest:
        raise UserError(f"--scheduler {given}: expected dask://HOST:PORT (or tcp://HOST:PORT)")
    if protocol in ("tcp", "tls") and not rest.rpartition(":")[2].isdigit():
        raise UserError(f"--scheduler {given}: no port; the scheduler prints its address (default port 8786)")
    return address


@contextlib.contextmanager
def connect(scheduler: "str | Client") -> Iterator["Client"]:
    """A connected Client: ``scheduler`` itself if it is one, else a new one closed on exit.

    Waits (up to :data:`CONNECT_TIMEOUT_S`) for at least one worker.
    Raises :class:`~filterkit.errors.UserError` when the scheduler cannot be reached.
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    address = scheduler_address(scheduler)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise UserError(
                f"--scheduler {address}: no Dask worker joined within {CONNECT_TIMEOUT_S} s (start one with "
                f"`dask worker {address}`)"
            ) from None
        yield client
    finally:
        client.close()


_THREADS_SET = False


def _process(files: list[tuple[str, str]], spec: FilterSpec) -> list[tuple[str, str | None]]:
    """The task run on a worker: a few files, each as in a local run (OpenCV single-threaded per task)."""
    global _THREADS_SET
    if not _THREADS_SET:
        import cv2

        cv2.setNumThreads(1)  # parallelism comes from the worker's task threads
        _THREADS_SET = True
    return [process_file(Path(src), Path(dst), spec) for src, dst in files]


def default_batch(n_files: int, n_threads: int) -> int:
    """Files per task: enough to hide Dask's per-task cost, small enough to keep every thread busy.

    The local pool's rule (``n / (8 * workers)``, at most 32).
    """
    return max(1, min(32, n_files // (8 * max(1, n_threads))))


def _partial_files(dst: Path) -> list[Path]:
    """Temporary files that :func:`filterkit.io.atomic_write` may leave for ``dst`` when killed."""
    if not dst.parent.is_dir():
        return []
    return list(dst.parent.glob(f".{glob.escape(dst.stem)}.*.part{glob.escape(dst.suffix)}"))


def remove_partial_files(destinations: Sequence[Path]) -> int:
    """Remove leftover temporary files of interrupted writes to ``destinations``; returns how many."""
    removed = 0
    for dst in destinations:
        for part in _partial_files(Path(dst)):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
                removed += 1
    return removed


def map_files(
    todo: Sequence[tuple[Path, Path]], spec: FilterSpec, client: "Client", batch: int | None = None
) -> Iterator[tuple[tuple[Path, Path], str, str | None]]:
    """Filter ``(source, destination)`` pairs on the cluster; yield ``(pair, status, message)`` as tasks finish.

    status is ``"done"`` or ``"failed"`` (message: one line naming the file and
    the reason).  batch: files per task (default :func:`default_batch` of the
    cluster's thread count).  Paths are sent as absolute paths; messages name
    the paths as given.  Leaving the loop early cancels the tasks not yet run;
    leftover temporary files of these destinations are removed at the end either way.
    """
    from distributed import as_completed

    pairs = [(Path(s), Path(d)) for s, d in todo]
    absolute = [(str(s.absolute()), str(d.absolute())) for s, d in pairs]
    if batch is None:
        batch = default_batch(len(pairs), sum(client.nthreads().values()))
    starts = range(0, len(pairs), max(1, batch))
    futures = client.map(_process, [absolute[i : i + batch] for i in starts], spec=spec, pure=False)
    first = {f.key: i for i, f in zip(starts, futures)}
    try:
        for future in as_completed(futures, loop=client.loop):  # not Dask's default client: ours
            i0 = first[future.key]
            n = min(batch, len(pairs) - i0)
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task killed its workers repeatedly
                why = f"lost on the Dask cluster ({type(exc).__name__}: {exc})"
                results = [("failed", f"{show_path(absolute[i][0])}: {why}") for i in range(i0, i0 + n)]
            for i, (status, message) in zip(range(i0, i0 + n), results):
                if message is not None:  # name the files as the user gave them (raw or as messages show paths)
                    for full, given in zip(absolute[i], pairs[i]):
                        message = message.replace(full, str(given)).replace(show_path(full), show_path(given))
                yield pairs[i], status, message
    finally:
        client.cancel(futures)
        remove_partial_files([d for _, d in pairs])


@dataclass
class FilesReport:
    """What :func:`filter_files` did: outputs written and one reason line per failed file."""

    done: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def filter_files(todo: Sequence[tuple[Path, Path]], spec: FilterSpec, client: "str | Client") -> FilesReport:
    """Filter every ``(source, destination)`` pair on a Dask cluster (a Client or its address)."""
    report = FilesReport()
    with connect(client) as c:
        for (_, dst), status, message in map_files(todo, spec, c):
            if status == "done":
                report.done.append(dst)
            else:
                report.failed.append(message or "")
    return report


def run_on_cluster(todo: Sequence[tuple[Path, Path]], spec: FilterSpec, scheduler: str,
                   on_connect=None) -> Iterator[tuple[str, str | None]]:
    """For ``filterkit filter --scheduler``: yield ``(status, message)`` per file, as
    :func:`filterkit.batch.engine.run_local` does locally.

    on_connect: called with the number of workers once connected.
    """
    with connect(scheduler) as client:
        if on_connect is not None:
            on_connect(len(client.nthreads()))
        for _, status, message in map_files(todo, spec, client):
            yield status, message
