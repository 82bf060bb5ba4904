"""Who owns each point at the end of a game: dense labels for the ownership and score heads.

A game that was **scored by counting** (its result is ``B+12.5``, not ``B+R``
or ``W+T``) ends in a position where both players agreed who owns what.  The
stones still on the board are not all alive, so GNU Go's own judgement
(``final_status_list dead`` on the final position) removes the dead ones;
then every point is owned by the colour whose stones are on it or who alone
surrounds it (area counting).  That gives one label per point, 361 per game,
instead of one bit for the winner.

Stored beside a prepared split (:mod:`.data`) by :func:`label_split`::

    ownership.npy  (G, n) int8   +1 black, -1 white, 0 neither (dame, seki),
                                 one row per game index of ``game.npy``
    labelled.npy   (G,)   bool   whether that game has labels

Labels are computed once, at ``filterkit go prepare --ownership-games N``
time, by a GNU Go process (``--gnugo``), and read back with the positions.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm import tqdm

from filterkit.errors import UserError
from filterkit.io import atomic_write_bytes

from filterkit.apps.go import records
from filterkit.apps.go.board import BLACK, EMPTY, WHITE, Board, IllegalMove
from filterkit.apps.go.coords import from_gtp
from filterkit.apps.go.gtp import EngineError, GtpClient, GtpError
from filterkit.apps.go.records import GameRecord

COUNTED = re.compile(r"^[BW]\+\d")  # a result decided by counting (not R = resign, T = time, F = forfeit)
DEFAULT_GNUGO = "gnugo --mode gtp --level 1"


def is_counted(result: str) -> bool:
    """Whether an SGF result string says the game was scored by counting."""
    return bool(COUNTED.match(result.strip()))


def area_ownership(stones: np.ndarray, size: int) -> np.ndarray:
    """``(n,)`` int8 owner of every point (+1 black, -1 white, 0 neither) of a position without dead stones.

    A stone owns its point; an empty region belongs to the one colour that borders it, else to nobody.
    """
    stones = np.asarray(stones, dtype=np.uint8).reshape(-1)
    n = size * size
    owner = np.zeros(n, dtype=np.int8)
    owner[stones == BLACK] = 1
    owner[stones == WHITE] = -1
    seen = stones != EMPTY
    for start in np.flatnonzero(~seen):
        if seen[start]:
            continue
        region, borders, stack = [], set(), [int(start)]
        seen[start] = True
        while stack:
            p = stack.pop()
            region.append(p)
            r, c = divmod(p, size)
            for q, ok in ((p - size, r > 0), (p + size, r < size - 1), (p - 1, c > 0), (p + 1, c < size - 1)):
                if not ok:
                    continue
                if stones[q] == EMPTY:
                    if not seen[q]:
                        seen[q] = True
                        stack.append(q)
                else:
                    borders.add(int(stones[q]))
        if len(borders) == 1:
            owner[region] = 1 if borders == {BLACK} else -1
    return owner


def final_board(record: GameRecord) -> Board:
    """The position after the last move of ``record`` (:class:`IllegalMove` if it has an illegal one)."""
    board = record.board()
    for color, point in record.moves:
        board.play(point, color)
    return board


def dead_stones(client: GtpClient, record: GameRecord) -> list[int]:
    """GNU Go's ``final_status_list dead`` for the final position of ``record``, as points."""
    fd, name = tempfile.mkstemp(suffix=".sgf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(records.to_sgf(record))
        client.send(f"loadsgf {name}")
        reply = client.send("final_status_list dead")
    finally:
        os.unlink(name)
    return [from_gtp(v, record.size) for v in reply.split()]


def game_ownership(client: GtpClient, record: GameRecord) -> np.ndarray:
    """``(n,)`` int8 owner of every point at the end of ``record``, dead stones removed by GNU Go."""
    board = final_board(record)
    stones = np.frombuffer(board.stones, dtype=np.uint8).copy()
    stones[dead_stones(client, record)] = EMPTY
    return area_ownership(stones, record.size)


def choose_games(games: Iterable[GameRecord], limit: int | None, seed: int = 0) -> set[int]:
    """Indices (in reading order) of ``limit`` counted games drawn at random (all when ``limit`` is None)."""
    counted = [i for i, record in enumerate(games) if is_counted(record.result)]
    if limit is None or limit >= len(counted):
        return set(counted)
    rng = np.random.default_rng(seed)
    return {counted[i] for i in rng.choice(len(counted), size=limit, replace=False)}


def label_split(data: str | Path, split: str, folder: str | Path, max_games: int | None = None,
                gnugo: str = DEFAULT_GNUGO, timeout: float = 60.0, seed: int = 0, progress: bool = True,
                max_read: int | None = None) -> dict:
    """Write ``ownership.npy``/``labelled.npy`` into the prepared split ``folder`` of ``data``'s ``split``.

    Games are read in the order :func:`filterkit.apps.go.data.prepare` read
    them, so row ``i`` belongs to the positions whose ``game.npy`` is ``i``.
    ``max_read``: only the first games were prepared (``prepare --max-games``).
    Returns a summary (games labelled, skipped, agreement of the area count
    with the recorded winner) that is also stored in ``ownership.json``.
    """

    def games():
        return itertools.islice(records.iter_records(data, split, errors=[]), max_read)

    folder = Path(folder)
    info_path = folder / "info.json"
    if not info_path.is_file():
        raise UserError(f"{folder}: not a prepared go split (run 'filterkit go prepare' first)")
    game_index = np.load(folder / "game.npy", mmap_mode="r")
    total = int(game_index[-1]) + 1 if len(game_index) else 0
    chosen = choose_games(games(), max_games, seed)
    n = json.loads(info_path.read_text())["size"] ** 2
    ownership = np.zeros((total, n), dtype=np.int8)
    labelled = np.zeros(total, dtype=bool)
    agree = scored = 0
    skipped: list[str] = []
    try:
        client = GtpClient(gnugo, timeout=timeout)
    except (FileNotFoundError, EngineError) as exc:
        raise UserError(f"cannot start GNU Go for ownership labels: {exc}") from None
    with client:
        bar = tqdm(total=len(chosen), desc=f"ownership {split}", unit="game", disable=not progress)
        for index, record in enumerate(games()):
            if index not in chosen or index >= total:
                continue
            if record.size ** 2 != n:
                continue  # prepare skipped it too
            try:
                owner = game_ownership(client, record)
            except (IllegalMove, GtpError, ValueError) as exc:
                skipped.append(f"{record.name}: {exc}")
                bar.update()
                continue
            ownership[index], labelled[index] = owner, True
            margin = float(owner.sum()) - record.komi
            winner = record.result.strip()[:1].upper()
            scored += 1
            agree += (margin > 0) == (winner == "B")
            bar.update()
        bar.close()
    summary = {"games": int(labelled.sum()), "chosen": len(chosen), "skipped": skipped, "gnugo": gnugo,
               "winner_agreement": agree / scored if scored else None}
    for name, array in (("ownership.npy", ownership), ("labelled.npy", labelled)):
        buffer = io.BytesIO()
        np.save(buffer, array)
        atomic_write_bytes(folder / name, buffer.getvalue())
    atomic_write_bytes(folder / "ownership.json", json.dumps(summary, indent=1).encode())
    return summary


def read_labels(folder: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(ownership (G, n) int8, labelled (G,) bool)`` of a prepared split, or None when it has none."""
    folder = Path(folder)
    if not (folder / "ownership.npy").is_file():
        return None
    return np.load(folder / "ownership.npy"), np.load(folder / "labelled.npy")


# ------------------------------------------------------------------ training the heads


def labelled_positions(positions, labels: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Indices of the positions whose game has ownership labels."""
    _, labelled = labels
    game = np.asarray(positions.game)
    return np.flatnonzero(labelled[np.minimum(game, len(labelled) - 1)] & (game < len(labelled)))


class OwnershipBatches:
    """Like :class:`~filterkit.apps.go.data.PositionBatches`, with the heads' targets.

    ``ds[indices]`` -> ``((planes, legal), (move, ownership, score))``:
    ownership ``(B, n)`` float32 in {0, 0.5, 1} (1: the player to move owns
    the point at the end; 0.5: nobody), score ``(B,)`` float32 = the final area
    margin of the player to move before komi, both under the same random symmetry as the planes.
    """

    def __init__(self, positions, labels: tuple[np.ndarray, np.ndarray], feature_set: str = "full",
                 augment: bool = False, seed: int = 0):
        self.positions, self.ownership = positions, labels[0]
        self.index = labelled_positions(positions, labels)  # item i is position index[i]
        self.feature_set, self.augment = feature_set, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, indices):
        import torch

        from filterkit.apps.go.features import apply_symmetry, decode, symmetry_permutations

        idx = np.sort(self.index[np.asarray(indices, dtype=np.int64)])
        pos = self.positions
        packed, ko, target = np.asarray(pos.packed[idx]), pos.ko[idx].astype(np.int64), pos.target[idx].astype(np.int64)
        own = self.ownership[pos.game[idx]].astype(np.float32)
        if self.augment:
            sym = self.rng.integers(0, 8, size=len(idx))
            packed, ko, target = apply_symmetry(packed, ko, target, sym, pos.size)
            own = np.take_along_axis(own, symmetry_permutations(pos.size)[sym], axis=1)
        to_play = pos.to_play[idx]
        own *= np.where(to_play == BLACK, 1.0, -1.0).astype(np.float32)[:, None]  # +1: the player to move's
        planes, legal = decode(packed, to_play, ko, pos.size, self.feature_set)
        targets = (torch.from_numpy(target), torch.from_numpy((own + 1) / 2), torch.from_numpy(own.sum(axis=1)))
        return (torch.from_numpy(planes), torch.from_numpy(legal)), targets

    __getitems__ = __getitem__


def heads_loss(ownership_weight: float = 1.0, score_weight: float = 1.0, policy: bool = True):
    """The training loss of a net with heads: policy cross-entropy + ownership BCE + score Huber (in 20-point units)."""
    import torch.nn.functional as F

    def loss(outputs, targets):
        logits, own, score = outputs
        move, own_t, score_t = targets
        total = ownership_weight * F.binary_cross_entropy_with_logits(own, own_t)
        total = total + score_weight * F.smooth_l1_loss(score / 20, score_t / 20)
        if policy:
            total = total + F.cross_entropy(logits, move)
        return total

    return loss


def heads_metrics() -> dict:
    """Metrics of the heads: move top-1, ownership sign accuracy on owned points, score mean absolute error."""
    def top1(outputs, targets):
        return (outputs[0].argmax(1) == targets[0]).double().mean()

    def own_acc(outputs, targets):
        t = targets[1]
        decided = t != 0.5
        hits = ((outputs[1] > 0) == (t > 0.5)) & decided
        return hits.sum().double() / decided.sum().clamp(min=1)

    def score_mae(outputs, targets):
        return (outputs[2] - targets[2]).abs().double().mean()

    return {"top1": top1, "own_acc": own_acc, "score_mae": score_mae}
