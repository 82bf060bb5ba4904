"""Game records: SGF in and out (via sgfmill), and the places SGF files come from.

A :class:`GameRecord` holds the main line of one game: board size, komi,
setup stones (handicap AB/AW), moves ``(color, point)`` with passes as
``PASS = size*size``, result and players' ranks.  Points follow
:mod:`filterkit.apps.go.coords`.

Sources (:func:`iter_sgf_bytes`): one ``.sgf`` file, a folder (searched
recursively for ``.sgf`` files and ``.tar.gz``/``.tgz``/``.tar`` archives),
or an archive.  A folder holding ``manifest.csv.gz`` (the shared KGS copy,
see its SOURCE.md) is read by split instead (:func:`iter_split`).
"""

from __future__ import annotations

import csv
import gzip
import importlib
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from filterkit.errors import UserError

from filterkit.apps.go.board import BLACK, WHITE, Board
from filterkit.apps.go.coords import from_sgfmill, to_sgfmill

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MANIFEST = "manifest.csv.gz"
SPLITS = ("train", "val", "test", "future", "ci_subset")
MANIFEST_COLUMNS = ("archive", "member", "split", "ci_subset")
# what a truncated or corrupt .tar.gz / .csv.gz raises while it is read
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


def require_sgfmill():
    """The ``sgfmill`` package; :class:`UserError` naming the extra to install when it is missing."""
    try:
        return importlib.import_module("sgfmill")
    except ImportError:
        raise UserError('reading and writing SGF games needs sgfmill: pip install "filterkit[go]"') from None


class RecordError(ValueError):
    """An SGF file that cannot be read as a go game (message names the problem)."""


@dataclass
class GameRecord:
    """The main line of one game."""

    size: int = 19
    komi: float = 7.5
    setup: list = field(default_factory=list)  # [(color, point)]
    moves: list = field(default_factory=list)  # [(color, point)], pass = size*size
    result: str = ""
    black_rank: str = ""
    white_rank: str = ""
    handicap: int = 0
    name: str = ""

    def board(self, superko: bool = False) -> Board:
        """An empty board with this game's size, komi and setup stones placed."""
        board = Board(self.size, self.komi, superko)
        for color, point in self.setup:
            board.place(color, point)
        return board


def parse_sgf(data: bytes, name: str = "<sgf>") -> GameRecord:
    """Read the main line of an SGF game; :class:`RecordError` naming ``name`` if it is not one."""
    require_sgfmill()
    from sgfmill import sgf, sgf_moves

    try:
        game = sgf.Sgf_game.from_bytes(data)
        size = game.get_size()
        root = game.get_root()
        komi = game.get_komi()
        setup_board, plays = sgf_moves.get_setup_and_moves(game)
    except (ValueError, KeyError) as exc:
        raise RecordError(f"{name}: not a readable SGF game ({exc})") from None
    if not 5 <= size <= 19:
        raise RecordError(f"{name}: board size {size} is not supported (5..19)")
    setup = []
    for colour, move in setup_board.list_occupied_points():
        setup.append((BLACK if colour == "b" else WHITE, from_sgfmill(move, size)))
    setup.sort(key=lambda cp: (cp[0], cp[1]))
    moves = [(BLACK if colour == "b" else WHITE, from_sgfmill(move, size)) for colour, move in plays]

    def prop(key: str) -> str:
        try:
            return str(root.get(key)) if root.has_property(key) else ""
        except ValueError:
            return ""

    handicap = prop("HA")
    return GameRecord(size=size, komi=float(komi), setup=setup, moves=moves, result=prop("RE"),
                      black_rank=prop("BR"), white_rank=prop("WR"),
                      handicap=int(handicap) if handicap.isdigit() else 0, name=name)


def to_sgf(record: GameRecord, black: str = "", white: str = "", comment: str = "") -> bytes:
    """Serialise a record as an SGF (FF[4]) file."""
    require_sgfmill()
    from sgfmill import sgf

    game = sgf.Sgf_game(size=record.size)
    root = game.get_root()
    root.set("KM", record.komi)
    root.set("RU", "Chinese")
    if record.result:
        root.set("RE", record.result)
    if black:
        root.set("PB", black)
    if white:
        root.set("PW", white)
    if comment:
        root.set("GC", comment)
    if record.handicap:
        root.set("HA", record.handicap)
    ab = {to_sgfmill(p, record.size) for c, p in record.setup if c == BLACK}
    aw = {to_sgfmill(p, record.size) for c, p in record.setup if c == WHITE}
    if ab or aw:
        root.set_setup_stones(ab, aw)
    node = root
    for color, point in record.moves:
        node = node.new_child()
        node.set_move("b" if color == BLACK else "w", to_sgfmill(point, record.size))
    return game.serialise()


def _archive_members(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile() and member.name.lower().endswith(".sgf"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield f"{path.name}:{member.name}", handle.read()
    except _READ_ERRORS as exc:
        raise UserError(f"{path}: cannot read archive ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return text or type(exc).__name__


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def iter_sgf_bytes(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, sgf_bytes)`` for every SGF in a file, folder or archive (sorted, reproducible)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix.lower() == ".sgf" or is_archive(p)))
        if not files:
            raise UserError(f"{path}: no .sgf files or archives of them found")
        for f in files:
            yield from iter_sgf_bytes(f)
    elif is_archive(path):
        yield from _archive_members(path)
    elif path.suffix.lower() == ".sgf":
        yield str(path), path.read_bytes()
    else:
        raise UserError(f"{path}: expected an .sgf file, a folder of them or a .tar.gz archive")


def has_manifest(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> list[dict]:
    """Rows of ``manifest.csv.gz`` (dicts of strings); :class:`UserError` if it is unreadable."""
    path = Path(folder) / MANIFEST
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
    except _READ_ERRORS as exc:
        raise UserError(f"{path}: cannot read the manifest ({_reason(exc)})") from None
    missing = [c for c in MANIFEST_COLUMNS if c not in columns]
    if missing:
        raise UserError(f"{path}: manifest lacks the column(s) {', '.join(missing)}")
    return rows


def split_members(folder: str | Path, split: str) -> dict[str, set[str]]:
    """archive name -> set of member names in ``split`` (``ci_subset`` = the flagged test games)."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    chosen: dict[str, set[str]] = {}
    for row in read_manifest(folder):
        keep = row["ci_subset"] == "1" if split == "ci_subset" else row["split"] == split
        if keep and row["archive"] and row["member"]:
            chosen.setdefault(row["archive"], set()).add(row["member"])
    return chosen


def iter_split(folder: str | Path, split: str) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, sgf_bytes)`` for the games of one split of a manifest folder, in manifest order."""
    folder = Path(folder)
    for archive, members in split_members(folder, split).items():
        path = folder / "kgs" / archive
        if not path.is_file():
            path = folder / archive
        if not path.is_file():
            raise UserError(f"{folder}: archive {archive} listed in {MANIFEST} is missing")
        try:
            with tarfile.open(path) as tar:
                for member in tar:
                    if member.name in members:
                        handle = tar.extractfile(member)
                        if handle is not None:
                            yield f"{archive}:{member.name}", handle.read()
        except _READ_ERRORS as exc:
            raise UserError(f"{path}: cannot read archive ({_reason(exc)})") from None


def iter_records(path: str | Path, split: str | None = None, errors: list | None = None) -> Iterator[GameRecord]:
    """Parsed games from ``path`` (by ``split`` when it has a manifest); unreadable ones go to ``errors``."""
    path = Path(path)
    if has_manifest(path):
        source = iter_split(path, split or "train")
    else:
        if split not in (None, "all"):
            raise UserError(f"{path}: has no {MANIFEST}, so it has no split {split!r} (use 'all')")
        source = iter_sgf_bytes(path)
    for name, data in source:
        try:
            yield parse_sgf(data, name)
        except RecordError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
