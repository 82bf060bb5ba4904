"""Planning a folder run: which files, where their outputs go, what is skipped.

INPUTs are image files, folders and glob patterns.  The folder structure below each folder (or
below the fixed part of a pattern) is kept under the output folder; a file named directly lands in
the output folder itself.  Recursive scans and ``**`` patterns never descend into symlinked
folders (a symlink loop would never end); symlinked files are read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from filterkit.errors import UserError, show_path
from filterkit.io import IMAGE_FORMATS, is_image_path, remove_stale_temporaries

__all__ = ["Plan", "check_output_folder", "collect_sources", "make_plan", "remove_stale_outputs"]

SUFFIXES = ".png .jpg .jpeg .tif .tiff .bmp"


@dataclass
class Plan:
    """What to do: (source, destination) pairs, plus what was set aside."""

    todo: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one reason line per named non-image file
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
    """Image files in ``folder`` (``**`` in pathlib does not follow symlinked folders), ignored count."""
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


def _split_pattern(pattern: str) -> tuple[Path, str]:
    """``"t/**/*.png"`` -> ``(Path("t"), "**/*.png")``: the folder before the first wildcard, and the rest."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    rest = parts[len(fixed):]
    return (Path(*fixed) if fixed else Path(".")), str(Path(*rest))


def _expand_pattern(text: str, recursive: bool, outdir: Path) -> tuple[list[tuple[Path, Path]], int]:
    base, rest = _split_pattern(text)
    pairs: list[tuple[Path, Path]] = []
    ignored = 0
    if not base.is_dir():
        return pairs, ignored
    for m in sorted(base.glob(rest)):  # pathlib: "**" skips symlinked folders (no endless loops)
        if m.is_dir():
            images, n_ignored = _scan_folder(m, recursive, outdir)
            pairs += [(p, p.relative_to(base)) for p in images]
            ignored += n_ignored
        elif not m.is_file() or _is_hidden(m, base) or _inside(m, outdir):
            continue
        elif is_image_path(m):
            pairs.append((m, m.relative_to(base)))
        else:
            ignored += 1
    return pairs, ignored


def collect_sources(inputs: Sequence[str], recursive: bool, outdir: Path) -> tuple[list[tuple[Path, Path]], int, list[str]]:
    """Expand INPUTs into ``(file, path relative to the output folder)`` pairs.

    Returns the pairs, the number of ignored non-image files, and reason lines for explicitly
    named files that are not images.
    """
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
                raise UserError(f"{path}: folder holds no images ({SUFFIXES}){hint}")
            pairs += [(p, p.relative_to(path)) for p in images]
            ignored += n_ignored
        elif path.is_file():
            if is_image_path(path):
                pairs.append((path, Path(path.name)))
            else:
                bad.append(f"{show_path(path)}: not an image file name (expected {SUFFIXES})")
        elif glob.has_magic(text):
            found, n_ignored = _expand_pattern(text, recursive, out_resolved)
            if not found:
                raise UserError(f"{text}: no image files match this pattern")
            pairs += found
            ignored += n_ignored
        else:
            raise UserError(f"{path}: no such file or folder")
    return pairs, ignored, bad


def check_output_folder(outdir: Path, inputs: Sequence[str]) -> None:
    """Refuse output folders that cannot be meant: a file, an image file name, an input folder."""
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"{outdir}: output exists and is not a folder (-o/--out names the output folder)")
    if not outdir.exists() and is_image_path(outdir):
        raise UserError(f"-o {outdir}: filter writes into an output folder and {outdir} looks like an image file "
                        f"name; give a folder such as -o {outdir.with_suffix('')}/ (or create the folder first)")
    out_resolved = outdir.resolve()
    for text in inputs:
        path = Path(text)
        if path.is_dir() and path.resolve() == out_resolved:
            raise UserError(f"-o {outdir}: the output folder is the input folder {path}; the outputs would "
                            "replace the inputs, choose another output folder")


def make_plan(inputs: Sequence[str], outdir: str | os.PathLike, *, recursive: bool = False, force: bool = False,
              out_format: str | None = None) -> Plan:
    """Sources, destinations, collisions and already-finished outputs (skipped unless ``force``)."""
    outdir = Path(outdir)
    check_output_folder(outdir, inputs)
    pairs, ignored, bad = collect_sources(inputs, recursive, outdir)
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
            raise UserError(f"{src}: the output would overwrite the input; choose another output folder")
        if dst.exists() and not force:
            plan.skipped.append(dst)
        else:
            plan.todo.append((src, dst))
    return plan


def remove_stale_outputs(outdir: str | os.PathLike) -> int:
    """Remove the ``.NAME.*.part.EXT`` temporaries an interrupted run left anywhere in ``outdir``.

    Walks the tree without following symlinked folders; returns how many files were removed.
    Two runs writing into the same output folder at once would remove each other's temporaries.
    """
    removed = 0
    if not Path(outdir).is_dir():
        return 0
    for folder, _, _ in os.walk(outdir, followlinks=False):
        removed += remove_stale_temporaries(folder)
    return removed
