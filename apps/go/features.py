"""Input planes for the policy network, stored compactly and decoded per batch.

Storage: one **uint8 per point** per position (``encode_board``)::

    bits 0-1  stone   0 empty, 1 black, 2 white
    bits 2-3  liberties of the stone's group, clipped to 3 (0 on empty points)
    bits 4-7  turns since the stone was played, clipped to 15
              (1 = the last move; 15 also for setup/handicap stones; 0 on empty)

plus per position the colour to move and the ko point (``-1``: none).  A
19x19 position is 361 bytes + 3; the ko, liberty and history planes and the
legal-move mask are rebuilt from these on the fly (:func:`decode`).

Feature sets (planes are relative to the player to move):

* ``full`` (17 planes): own / opponent / empty; own liberties 1, 2, 3+;
  opponent liberties 1, 2, 3+; ko point; stones played 1, 2, 3, 4, 5+ turns
  ago; legal moves; a constant plane of ones.
* ``stones`` (3 planes): own / opponent stones and the constant plane.

Symmetries: the 8 rotations/reflections of the square act on the flat point
axis as index permutations (:func:`symmetry_permutations`), so a batch is
transformed with one gather on the packed bytes before decoding.
"""

from __future__ import annotations

import functools

import numpy as np

from filterkit.apps.go.board import EMPTY, Board, legal_points

FEATURE_SETS = {"full": 17, "stones": 3}
HISTORY = 5  # planes for stones played 1..4 and 5+ turns ago
SETUP_AGE = 15


def n_planes(feature_set: str) -> int:
    """Number of input planes of a feature set."""
    try:
        return FEATURE_SETS[feature_set]
    except KeyError:
        raise ValueError(f"unknown feature set {feature_set!r}; choose from {', '.join(FEATURE_SETS)}") from None


def encode_board(board: Board) -> np.ndarray:
    """The packed ``(n,)`` uint8 encoding of ``board`` (see the module docstring)."""
    stones = np.frombuffer(board.stones, dtype=np.uint8)
    libs = np.minimum(np.frombuffer(board.libs, dtype=np.uint8), 3)
    placed = np.frombuffer(board.placed_at, dtype=np.int32)
    age = np.where(placed >= 0, np.minimum(len(board.moves) - placed, SETUP_AGE), SETUP_AGE)
    age = np.where(stones != EMPTY, age, 0).astype(np.uint8)
    return stones | (libs << 2) | (age << 4)


@functools.lru_cache(maxsize=None)
def symmetry_permutations(size: int) -> np.ndarray:
    """``(8, n)`` int64: ``new.flat[j] = old.flat[perm[k, j]]`` for symmetry k (0 = identity).

    k = 0..3 rotate by k quarter turns (``np.rot90``); 4..7 transpose first.
    """
    idx = np.arange(size * size).reshape(size, size)
    perms = []
    for k in range(8):
        t = idx.T if k >= 4 else idx
        perms.append(np.rot90(t, k % 4).reshape(-1))
    return np.stack(perms)


@functools.lru_cache(maxsize=None)
def inverse_permutations(size: int) -> np.ndarray:
    """``(8, n)``: ``inv[k, p]`` = where point p goes under symmetry k."""
    perm = symmetry_permutations(size)
    inv = np.empty_like(perm)
    rows = np.arange(8)[:, None]
    inv[rows, perm] = np.arange(size * size)[None, :]
    return inv


def apply_symmetry(packed: np.ndarray, ko: np.ndarray, target: np.ndarray | None, sym: np.ndarray, size: int):
    """Transform a batch: packed ``(B, n)``, ko ``(B,)``, target ``(B,)`` (pass = n kept) by ``sym`` ``(B,)``."""
    n = size * size
    perm = symmetry_permutations(size)[sym]
    inv = inverse_permutations(size)[sym]
    packed = np.take_along_axis(packed, perm, axis=1)
    rows = np.arange(len(sym))
    ko = np.where(ko >= 0, inv[rows, np.clip(ko, 0, n - 1)], -1)
    if target is not None:
        target = np.where(target < n, inv[rows, np.clip(target, 0, n - 1)], target)
    return packed, ko, target


def decode(packed: np.ndarray, to_play: np.ndarray, ko: np.ndarray, size: int, feature_set: str = "full"):
    """Planes ``(B, C, size, size)`` float32 and legal mask ``(B, n)`` bool from packed positions.

    ``packed`` ``(B, n)`` uint8, ``to_play`` ``(B,)`` (1 black / 2 white),
    ``ko`` ``(B,)`` point or -1.  Legality ignores superko.
    """
    packed = np.asarray(packed, dtype=np.uint8)
    b, n = packed.shape
    stones = packed & 3
    libs = (packed >> 2) & 3
    age = packed >> 4
    me = np.asarray(to_play, dtype=np.uint8).reshape(b, 1)
    own = stones == me
    opp = (stones != me) & (stones != EMPTY)
    legal = legal_points(stones, libs, me.reshape(b), size)
    rows = np.nonzero(ko >= 0)[0]
    legal[rows, ko[rows]] = False
    ones = np.ones((b, n), dtype=bool)
    if feature_set == "stones":
        planes = [own, opp, ones]
    elif feature_set == "full":
        planes = [own, opp, stones == EMPTY]
        for side in (own, opp):
            planes += [side & (libs == 1), side & (libs == 2), side & (libs >= 3)]
        ko_plane = np.zeros((b, n), dtype=bool)
        ko_plane[rows, ko[rows]] = True
        planes.append(ko_plane)
        planes += [age == a for a in range(1, HISTORY)] + [age >= HISTORY]
        planes += [legal, ones]
    else:
        n_planes(feature_set)  # raises
    out = np.stack(planes, axis=1).astype(np.float32).reshape(b, len(planes), size, size)
    return out, legal
