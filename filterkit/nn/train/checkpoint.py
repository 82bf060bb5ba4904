"""Checkpoints (plain dicts, read with ``torch.load(weights_only=True)``) and the run folder of a ``train``.

A checkpoint is a plain dict of state_dicts + ``app`` + ``config`` (the app's own configuration as plain
python data) + ``label_names`` + ``epoch`` (completed epochs) + ``history`` + early-stopping state + RNG
states (python, numpy, torch, cuda) + ``extra``.  Resuming from ``last.pt`` restores the global RNGs and
the training loader's own ``generator=`` (if it has one), so the continued run equals an uninterrupted
one; RNGs private to a dataset (e.g. augmentation with its own numpy Generator) are not saved.

A run folder (``--out DIR``) holds ``best.pt``, ``last.pt``, ``metrics.csv`` and ``report.json``::

    run = RunFolder("runs/speech", force=args.force)   # refuses a folder holding an earlier run's files
    run.save_last(ckpt); run.save_best(ckpt)            # atomic writes
    run.append_metrics({"epoch": 1, "train_loss": 0.7})
    run.write_report({"test_accuracy": 0.93})           # adds the ``environment`` block
"""

from __future__ import annotations

import csv
import io
import os
import random
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from filterkit.errors import UserError, show_path
from filterkit.io import atomic_write, refuse_overwrite, write_report

__all__ = ["CHECKPOINT_FORMAT", "RunFolder", "check_plain", "read_checkpoint", "rng_state", "set_rng_state"]

CHECKPOINT_FORMAT = "filterkit-checkpoint-v1"

_PLAIN = (str, int, float, bool, type(None))


def check_plain(value: Any, where: str) -> None:
    """Raise TypeError unless ``value`` is plain python data or tensors (loadable with weights_only).

    Tensors are allowed only under ``extra``.
    """
    if isinstance(value, _PLAIN) or (where.startswith("extra") and isinstance(value, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: dict keys must be str or int, got {type(key).__name__}")
            check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__name__}; a checkpoint's config and extra must be plain python "
        "(str, int, float, bool, None, list, tuple, dict; extra may also hold tensors)"
    )


def _load_failure(path: Path, exc: Exception) -> str:
    """A short reason for a failed ``torch.load(weights_only=True)`` (torch's own text is a paragraph)."""
    with open(path, "rb") as f:
        legacy_pickle = f.read(1) == b"\x80"
    if not (zipfile.is_zipfile(path) or legacy_pickle):
        return "not a file written by torch.save"
    text = str(exc).strip()
    if "Weights only load failed" in text:
        return "holds Python objects other than tensors and plain data; refused for safety"
    return text.splitlines()[0] if text else type(exc).__name__


#: the largest checkpoint file read (bytes); filterkit's own are far smaller
MAX_CHECKPOINT_BYTES = 4 * 2**30


def read_checkpoint(
    path: str | os.PathLike, expected_app: str | None = None, map_location: str | torch.device = "cpu"
) -> dict:
    """Load a filterkit checkpoint with ``torch.load(weights_only=True)``.

    Raises :class:`UserError` naming the file when it is missing, larger than
    :data:`MAX_CHECKPOINT_BYTES`, not a filterkit checkpoint, or (``expected_app`` given) made by
    another app.
    """
    path = Path(path)
    shown = show_path(path)
    if not path.is_file():
        raise UserError(f"{shown}: checkpoint not found")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise UserError(f"{shown}: {size / 2**30:.1f} GiB is larger than a checkpoint may be "
                        f"({MAX_CHECKPOINT_BYTES / 2**30:.0f} GiB)")
    try:
        with warnings.catch_warnings():
            # a plain pickle (not torch's zip format) makes torch warn "Detected pickle protocol N" on stderr
            # beside our one-line refusal; the refusal says what matters
            warnings.filterwarnings("ignore", message=r".*pickle protocol", category=UserWarning)
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise UserError(f"{shown}: not a loadable filterkit checkpoint ({_load_failure(path, exc)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{shown}: not a filterkit checkpoint (no '{CHECKPOINT_FORMAT}' format key)")
    if expected_app is not None and ckpt.get("app") != expected_app:
        raise UserError(
            f"{shown}: checkpoint was trained by app {ckpt.get('app')!r}, not {expected_app!r}; "
            f"pass a checkpoint made by 'filterkit {expected_app} train'"
        )
    return ckpt


def rng_state() -> dict:
    """The global RNG states (python, numpy, torch, cuda) as tensors and plain types (weights_only-safe)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where the device count matches)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    keys = npst["keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, npst["pos"], npst["has_gauss"], npst["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


class RunFolder:
    """The run folder of one ``train``: ``best.pt``, ``last.pt``, ``metrics.csv``, ``report.json``.

    ``RunFolder(out, force)`` refuses (:func:`filterkit.io.refuse_overwrite`, one :class:`UserError`)
    when ``out`` already holds one of these files and ``force`` is off; ``resume=True`` (continuing the
    run whose ``last.pt`` is there) never refuses.  The folder is created at the first write.  Every
    file is written atomically.
    """

    NAMES = ("best.pt", "last.pt", "metrics.csv", "report.json")

    def __init__(self, out: str | os.PathLike, force: bool = False, resume: bool = False) -> None:
        self.path = Path(out)
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path}: not a folder (--out names the run folder)")
        for name in self.NAMES:
            refuse_overwrite(self.path / name, force or resume)
        self.rows: list[dict] = []

    @property
    def best(self) -> Path:
        return self.path / "best.pt"

    @property
    def last(self) -> Path:
        return self.path / "last.pt"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def report(self) -> Path:
        return self.path / "report.json"

    def save_best(self, checkpoint: Mapping[str, Any]) -> Path:
        """Write ``best.pt`` (a plain checkpoint dict)."""
        return atomic_write(self.best, lambda p: torch.save(dict(checkpoint), p))

    def save_last(self, checkpoint: Mapping[str, Any]) -> Path:
        """Write ``last.pt`` (a plain checkpoint dict)."""
        return atomic_write(self.last, lambda p: torch.save(dict(checkpoint), p))

    def set_metrics(self, rows: list[Mapping[str, Any]]) -> Path:
        """Rewrite ``metrics.csv`` with ``rows`` (e.g. the history of a resumed run); columns in order seen."""
        self.rows = [dict(r) for r in rows]
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        text = buf.getvalue()
        return atomic_write(self.metrics, lambda p: p.write_text(text, encoding="utf-8"))

    def append_metrics(self, row: Mapping[str, Any]) -> Path:
        """Add one row (one epoch) to ``metrics.csv``; a new key adds a column (earlier rows leave it empty)."""
        return self.set_metrics(self.rows + [dict(row)])

    def write_report(self, data: Mapping[str, Any], device: str | None = None, threads: int | None = None) -> Path:
        """Write ``report.json``: ``data`` plus the ``environment`` block (:func:`filterkit.io.write_report`)."""
        write_report(self.report, dict(data), force=True, device=device, threads=threads)
        return self.report
