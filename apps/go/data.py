"""Game records turned into training positions: ``prepare`` once, then memory-mapped batches.

A prepared split is a folder::

    positions.u8   (N, n) uint8, the packed encoding of :mod:`.features`
    to_play.npy    (N,) uint8   colour to move (1 black, 2 white)
    ko.npy         (N,) int16   ko point or -1
    target.npy     (N,) int16   the move played (n = pass)
    game.npy       (N,) int32   index of the game each position comes from
    info.json      size, counts, source, skipped games

:func:`prepare` writes one such folder per split of the raw data (SGF files,
folders, archives or the KGS manifest, read by :mod:`.records`).
``positions.u8`` is opened with ``np.memmap`` so a split of millions of
positions is read from disk in batches, never loaded whole (the KGS training
split is 1.6 GB).  Batches are decoded and given a random board symmetry on
the fly (:class:`PositionBatches`).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler
from tqdm import tqdm

from filterkit.errors import UserError
from filterkit.io import refuse_overwrite

from filterkit.apps.go import records
from filterkit.apps.go.board import IllegalMove
from filterkit.apps.go.features import apply_symmetry, decode, encode_board
from filterkit.apps.go.records import GameRecord

FORMAT = "filterkit-go-positions-1"


@dataclass
class Positions:
    """Arrays of one split (``packed`` may be a memmap)."""

    packed: np.ndarray
    to_play: np.ndarray
    ko: np.ndarray
    target: np.ndarray
    game: np.ndarray
    size: int

    def __len__(self) -> int:
        return len(self.target)


def encode_game(record: GameRecord):
    """``(packed (m, n) uint8, to_play (m,), ko (m,), target (m,))`` for every move of a game.

    Raises :class:`IllegalMove` if the record contains an illegal move.
    """
    board = record.board()
    m, n = len(record.moves), record.size * record.size
    packed = np.empty((m, n), dtype=np.uint8)
    to_play = np.empty(m, dtype=np.uint8)
    ko = np.empty(m, dtype=np.int16)
    target = np.empty(m, dtype=np.int16)
    for i, (color, point) in enumerate(record.moves):
        packed[i] = encode_board(board)
        to_play[i] = color
        ko[i] = board.ko if (board.ko is not None and color == board.to_play) else -1
        target[i] = point
        board.play(point, color)
    return packed, to_play, ko, target


def _games(games: Iterable[GameRecord], size: int, skipped: list, progress: bool):
    for index, record in enumerate(tqdm(games, desc="games", unit="game", disable=not progress)):
        if record.size != size:
            skipped.append(f"{record.name}: board size {record.size}, expected {size}")
            continue
        try:
            yield index, encode_game(record)
        except IllegalMove as exc:
            skipped.append(f"{record.name}: illegal move ({exc})")


def encode_games(games: Iterable[GameRecord], size: int = 19, progress: bool = False,
                 skipped: list | None = None) -> Positions:
    """Convert games in memory (for evaluation sets of up to ~10^5 positions)."""
    skipped = [] if skipped is None else skipped
    parts, indices = [], []
    for index, arrays in _games(games, size, skipped, progress):
        parts.append(arrays)
        indices.append(np.full(len(arrays[3]), index, dtype=np.int32))
    if not parts:
        raise UserError("no usable games found")
    packed, to_play, ko, target = (np.concatenate(a) for a in zip(*parts))
    return Positions(packed, to_play, ko, target, np.concatenate(indices), size)


def write_positions(games: Iterable[GameRecord], out: str | Path, size: int = 19, force: bool = False,
                    progress: bool = True, source: str = "") -> dict:
    """Stream games into a prepared split folder ``out`` (atomically); return its info dict."""
    out = Path(out)
    refuse_overwrite(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        skipped: list[str] = []
        meta = {"to_play": [], "ko": [], "target": [], "game": []}
        n_games = 0
        counts = np.zeros(size * size + 1, dtype=np.int64)
        with open(tmp / "positions.u8", "wb") as fh:
            for index, (packed, to_play, ko, target) in _games(games, size, skipped, progress):
                fh.write(packed.tobytes())
                meta["to_play"].append(to_play)
                meta["ko"].append(ko)
                meta["target"].append(target)
                meta["game"].append(np.full(len(target), index, dtype=np.int32))
                counts += np.bincount(target, minlength=size * size + 1)
                n_games += 1
        if not n_games:
            raise UserError(f"{source or out}: no usable games found")
        for key, parts in meta.items():
            np.save(tmp / f"{key}.npy", np.concatenate(parts))
        info = {"format": FORMAT, "size": size, "games": n_games, "positions": int(counts.sum()),
                "skipped": skipped, "source": source, "move_counts": counts.tolist()}
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def read_info(folder: str | Path) -> dict:
    """The ``info.json`` of a prepared split; :class:`UserError` if ``folder`` is not one."""
    path = Path(folder) / "info.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        raise UserError(f"{folder}: not a prepared go split (no readable info.json; run 'filterkit go prepare')") \
            from None
    if info.get("format") != FORMAT:
        raise UserError(f"{folder}: unknown prepared-data format {info.get('format')!r}")
    return info


def open_positions(folder: str | Path) -> Positions:
    """Memory-map a prepared split."""
    folder = Path(folder)
    info = read_info(folder)
    n = info["size"] ** 2
    packed = np.memmap(folder / "positions.u8", dtype=np.uint8, mode="r", shape=(info["positions"], n))
    arrays = {k: np.load(folder / f"{k}.npy") for k in ("to_play", "ko", "target", "game")}
    return Positions(packed, size=info["size"], **arrays)


class PositionBatches:
    """A map-style dataset whose items are whole batches: ``ds[list_of_indices]``.

    Returns ``((planes, legal), target)`` as torch tensors, planes
    ``(B, C, size, size)`` float32, legal ``(B, n)`` bool, target ``(B,)``
    int64.  With ``augment=True`` each position gets one of the 8 board
    symmetries at random (numpy ``Generator`` seeded by ``seed``).
    """

    def __init__(self, positions: Positions, feature_set: str = "full", augment: bool = False, seed: int = 0):
        self.positions, self.feature_set, self.augment = positions, feature_set, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, indices):
        idx = np.sort(np.asarray(indices, dtype=np.int64))  # sorted reads are kinder to the page cache
        pos = self.positions
        packed, ko, target = np.asarray(pos.packed[idx]), pos.ko[idx].astype(np.int64), pos.target[idx].astype(np.int64)
        if self.augment:
            sym = self.rng.integers(0, 8, size=len(idx))
            packed, ko, target = apply_symmetry(packed, ko, target, sym, pos.size)
        planes, legal = decode(packed, pos.to_play[idx], ko, pos.size, self.feature_set)
        return (torch.from_numpy(planes), torch.from_numpy(legal)), torch.from_numpy(target)

    __getitems__ = __getitem__  # DataLoader with a batch_sampler hands over the whole index list


def keep_batch(batch):
    """``collate_fn`` for :class:`PositionBatches`: its items are already batches."""
    return batch


def position_loader(dataset: PositionBatches, batches, workers: int = 0, generator=None):
    """A ``DataLoader`` yielding one decoded batch per index list of ``batches`` (a batch sampler).

    Built with ``batch_sampler=`` so the shared Trainer can shard it under DDP.
    """
    return DataLoader(dataset, batch_sampler=batches, collate_fn=keep_batch, num_workers=workers,
                      persistent_workers=workers > 0, generator=generator)


def batch_loader(dataset: PositionBatches, batch_size: int, shuffle: bool, seed: int = 0, workers: int = 0):
    """A ``DataLoader`` over :class:`PositionBatches` (random batches when ``shuffle``)."""
    generator = torch.Generator().manual_seed(seed)
    base = RandomSampler(range(len(dataset)), generator=generator) if shuffle else SequentialSampler(range(len(dataset)))
    return position_loader(dataset, BatchSampler(base, batch_size, drop_last=False), workers, generator)


# ------------------------------------------------------------------ prepare


def prepare(data: str | Path, out: str | Path, splits: list[str] | None = None, max_games: int | None = None,
            size: int = 19, force: bool = False, progress: bool = True, ownership_games: int = 0,
            gnugo: str | None = None, seed: int = 0) -> dict:
    """Convert the games of ``data`` into ``out/<split>/`` folders; return ``{split: info}``.

    ``data`` with a manifest is read by split (default train, val, ci_subset);
    any other folder/archive/file becomes the single split ``all``.
    ``ownership_games``: also label that many counted games per split with
    their final ownership (:func:`filterkit.apps.go.ownership.label_split`,
    dead stones judged by the GNU Go command ``gnugo``).
    """
    data, out = Path(data), Path(out)
    if records.has_manifest(data):
        splits = splits or ["train", "val", "ci_subset"]
    else:
        if splits and splits != ["all"]:
            raise UserError(f"{data}: has no {records.MANIFEST}, so its only split is 'all'")
        splits = ["all"]
    for split in splits:  # refuse before any work
        refuse_overwrite(out / split, force)
    infos = {}
    for split in splits:
        errors: list[str] = []
        games = records.iter_records(data, split, errors=errors)
        if max_games:
            games = itertools.islice(games, max_games)
        info = write_positions(games, out / split, size=size, force=force, progress=progress,
                               source=f"{data} [{split}]")
        info["skipped"] = errors + info["skipped"]
        if ownership_games:
            from filterkit.apps.go.ownership import DEFAULT_GNUGO, label_split

            info["ownership"] = label_split(data, split, out / split, ownership_games, gnugo or DEFAULT_GNUGO,
                                            seed=seed, progress=progress, max_read=max_games)
        infos[split] = info
    return infos


def load_positions(data: str | Path, split: str, size: int = 19, progress: bool = True) -> Positions:
    """Positions of ``split`` from a prepared root (``data/split``), a prepared split, or raw games."""
    data = Path(data)
    if (data / split / "info.json").is_file():
        return open_positions(data / split)
    if (data / "info.json").is_file():
        return open_positions(data)
    if not data.exists():
        raise UserError(f"{data}: no such file or folder")
    skipped: list[str] = []
    return encode_games(records.iter_records(data, split, errors=skipped), size=size, progress=progress,
                        skipped=skipped)
