"""Atomic, durable file writes, the one overwrite refusal, and JSON reports with their environment.

Every file filterkit writes goes to a temporary name in the destination folder, is flushed to disk
(``fsync`` of the file, then of the folder after the rename), and only then carries its real name:
an interrupted run leaves either the old file or the new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from filterkit.errors import UserError

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "write_json",
    "write_report",
    "refuse_overwrite",
    "environment",
    "remove_stale_temporaries",
]

STDOUT = "-"
#: where ``write_report(path="-")`` writes; the CLI points it at the real stdout while it sends the
#: command's human-readable lines to stderr, so that ``--json -`` leaves pure JSON on stdout
json_stdout = None


def refuse_overwrite(path: str | os.PathLike | None, force: bool) -> None:
    """The one overwrite refusal: :class:`UserError` if ``path`` exists and ``force`` is off.

    ``None`` and ``"-"`` (stdout) are never refused.
    """
    if path is None or str(path) == STDOUT or force:
        return
    if os.path.lexists(path):
        raise UserError(f"{path}: already exists (use --force to overwrite)")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# files are created with the usual permissions (0o666 minus umask), not mkstemp's 0o600
_FILE_MODE = 0o666 & ~_current_umask()


# ----------------------------------------------------------------- atomic files


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[int, Path]]:
    """``(fd, tmp_path)``: a new file in ``path``'s folder with ``path``'s suffix, closed and renamed
    onto ``path`` when the block ends, removed if the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    tmp_path = Path(tmp)
    try:
        try:
            yield fd, tmp_path
            os.fsync(fd)  # the data is on disk before the name points at it
        finally:
            os.close(fd)
        os.replace(tmp_path, path)
        _fsync_folder(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete the ``.NAME.*.part.EXT`` files an interrupted run left in ``folder``; return how many."""
    n = 0
    for p in Path(folder).glob(".*.part*"):
        if p.is_file() and ".part" in p.name:
            p.unlink(missing_ok=True)
            n += 1
    return n


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, flush it to disk, then rename ``tmp_path`` onto ``path``.

    The temporary file sits in the destination folder (same file system) and
    keeps the destination's suffix, so format-by-extension writers work.  An
    interrupted or failed write leaves no partial file at ``path``.  The file
    gets the usual permissions (``0o666`` minus the umask).
    """
    path = Path(path)
    with _temporary_beside(path) as (_, tmp_path):
        write(tmp_path)
        os.chmod(tmp_path, _FILE_MODE)
        with open(tmp_path, "rb+") as f:  # ``write`` used its own handle: flush what it wrote
            os.fsync(f.fileno())
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, as :func:`atomic_write` does.

    The bytes go straight into the temporary file's descriptor (no second
    open, ``fchmod`` instead of ``chmod``).
    """
    path = Path(path)
    with _temporary_beside(path) as (fd, _):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, _FILE_MODE)
    return path


def _jsonable(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (numpy scalars/arrays allowed)."""
    text = json.dumps(data, indent=2, default=_jsonable, allow_nan=True)
    return atomic_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))




def environment(device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """The versions and machine a figure was produced on (the ``environment`` block of every report)."""
    from importlib import metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    import filterkit

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "filterkit": {"version": filterkit.__version__, "commit": _git_commit()},
    }
    for key, dist in (("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"),
                      ("opencv", "opencv-python-headless"), ("numba", "numba"), ("librosa", "librosa")):
        env[key] = version(dist)
    if env["opencv"] is None:
        env["opencv"] = version("opencv-python")
    if "torch" in sys.modules:
        import torch

        env["threads"] = threads if threads is not None else torch.get_num_threads()
    else:
        env["threads"] = threads
    env["device"] = device
    return env


def _git_commit() -> str | None:
    """The commit of a source checkout filterkit runs from (None for an installed wheel)."""
    import subprocess

    here = Path(__file__).resolve().parents[2]
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()[:40] or None


def write_report(path: str | os.PathLike, data: dict, *, force: bool = True, device: str | None = None,
                 threads: int | None = None) -> Path | None:
    """``--json PATH``: ``data`` plus its ``environment`` block, to ``path`` (atomically) or stdout for ``-``.

    Refuses an existing ``path`` unless ``force`` (:func:`refuse_overwrite`).
    """
    data = {**data, "environment": data.get("environment") or environment(device, threads)}
    if str(path) == STDOUT:
        stream = json_stdout or sys.stdout
        stream.write(json.dumps(data, indent=2, default=_jsonable, allow_nan=True) + "\n")
        stream.flush()
        return None
    refuse_overwrite(path, force)
    return write_json(path, data)
