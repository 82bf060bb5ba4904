"""Look-ahead for the go player: PUCT tree search over the policy network's moves.

:class:`SearchPlayer` grows a game tree from the position to play, as
AlphaGo Zero does (Silver et al. 2017), with the network of
:mod:`.model` in both roles:

* the **policy** output is the prior ``P`` of each move of a node (the legal
  moves that do not fill one of our own eyes, plus pass);
* at a new leaf, the **score** head (``leaf="score"``) or the sum of the
  **ownership** head (``leaf="ownership"``) estimates the final area margin
  of the player to move; with komi it becomes the value
  ``tanh(margin / VALUE_SCALE)`` in [-1, 1].  A position after two passes is
  a leaf that is never expanded: the heads judge its dead stones, as GNU Go's
  ``final_score`` does at the end of a match game.

Each playout descends by ``argmax Q + c_puct * P * sqrt(N_parent) / (1 + N)``
(``Q`` of an unvisited move: its parent's value less ``FPU_REDUCTION``).
Leaves are evaluated ``batch`` at a time: a *virtual loss* on the way down
spreads one batch's playouts over different leaves, and one forward pass
evaluates them all.  The tree is kept between moves: the next search starts
from the node of the position reached, with its visits.

The search stops after ``playouts`` playouts or ``seconds`` seconds,
whichever comes first (``seconds`` shrinks to what a GTP clock,
:class:`Clock`, leaves for the move).  It plays the most visited move.  It
**passes** when passing is the most visited move, or when the opponent has
just passed and the margin it expects from its best move beats the one from
passing (which ends the game) by less than a point; it **resigns** when the
margin it expects after its best move is below ``-resign_margin * size^2``
points once half the board's points have been played as moves.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from filterkit.apps.go.board import BLACK, EMPTY, Board, IllegalMove, opponent
from filterkit.apps.go.engine import RESIGN
from filterkit.apps.go.features import decode, encode_board


VALUE_SCALE = 10.0  # points of margin that make a value of tanh(1) ~ 0.76
FPU_REDUCTION = 0.2  # an unvisited move starts at its parent's value less this (first-play urgency)
RESERVE = 0.05  # seconds of a move's time kept for choosing the move and replying
LEAVES = ("score", "ownership")


def own_eye_mask(stones: np.ndarray, color: int, size: int) -> np.ndarray:
    """``(n,)`` bool: empty points that are one of ``color``'s own eyes (as ``engine.is_own_eye``)."""
    s = np.asarray(stones, dtype=np.uint8).reshape(size, size)
    edge = 3
    pad = np.pad(s, 1, constant_values=edge)
    mine = (pad == color) | (pad == edge)
    orth = mine[:-2, 1:-1] & mine[2:, 1:-1] & mine[1:-1, :-2] & mine[1:-1, 2:]
    diagonals = (pad[:-2, :-2], pad[:-2, 2:], pad[2:, :-2], pad[2:, 2:])
    enemy = sum((d == opponent(color)).astype(np.int8) for d in diagonals)
    off_board = sum((d == edge).astype(np.int8) for d in diagonals)
    eye = (s == EMPTY) & orth & np.where(off_board > 0, enemy == 0, enemy <= 1)
    return eye.reshape(-1)


class Node:
    """A position in the tree and the statistics of the moves out of it (from its player to move's view)."""

    __slots__ = ("board", "moves", "prior", "visits", "value_sum", "margin_sum", "children", "blocked", "value",
                 "margin", "expanded", "pending")

    def __init__(self, board: Board) -> None:
        self.board = board
        self.value = 0.0  # the network's value of this position for its player to move
        self.margin = 0.0  # the network's expected final margin (points, komi included) for that player
        self.expanded = False  # evaluated: prior, value and margin are set
        self.pending = False  # waiting for evaluation in the current batch

    @property
    def terminal(self) -> bool:
        return self.board.game_over

    def set_evaluation(self, logp: np.ndarray, legal: np.ndarray, value: float, margin: float) -> None:
        board = self.board
        self.value, self.margin, self.expanded, self.pending = value, margin, True, False
        if self.terminal:
            moves = np.zeros(0, dtype=np.int64)
        else:
            allowed = legal & ~own_eye_mask(np.frombuffer(board.stones, dtype=np.uint8), board.to_play, board.size)
            moves = np.append(np.flatnonzero(allowed), board.pass_point)
        self.moves = moves
        if len(moves):
            p = np.exp(logp[moves] - logp[moves].max())
            self.prior = (p / p.sum()).astype(np.float64)
        else:
            self.prior = np.zeros(0)
        k = len(moves)
        self.visits = np.zeros(k, dtype=np.int64)
        self.value_sum = np.zeros(k)
        self.margin_sum = np.zeros(k)
        self.blocked = np.zeros(k, dtype=bool)  # found illegal when played (positional superko)
        self.children: list[Node | None] = [None] * k

    def select(self, c_puct: float) -> int:
        total = self.visits.sum()
        q = np.where(self.visits > 0, self.value_sum / np.maximum(self.visits, 1), self.value - FPU_REDUCTION)
        u = c_puct * self.prior * math.sqrt(total + 1) / (1 + self.visits)
        return int(np.argmax(np.where(self.blocked, -np.inf, q + u)))

    def child(self, index: int) -> "Node | None":
        """The node after move ``index`` (made on first use); None when the move turns out illegal."""
        node = self.children[index]
        if node is None:
            board = self.board.clone()
            try:
                board.play(int(self.moves[index]), board.to_play)
            except IllegalMove:
                self.blocked[index] = True
                return None
            node = self.children[index] = Node(board)
        return node


class Clock:
    """What a GTP controller's ``time_settings`` / ``time_left`` leave for one move.

    No time settings, or byo-yomi time with 0 stones (GTP: no time limit):
    no limit.  Otherwise the time left is shared over the move's stones in
    byo-yomi, or over an estimate of the moves still to play in main time, with
    a safety share kept back for the engine's own overheads.
    """

    SAFETY = 0.8  # use this share of the computed budget
    OVERHEAD = 0.05  # seconds kept for encoding, I/O and the reply

    def __init__(self) -> None:
        self.settings: tuple[float, float, int] | None = None
        self.left: dict[int, tuple[float, int]] = {}

    def time_settings(self, main: float, byo_time: float, byo_stones: int) -> None:
        if min(main, byo_time, byo_stones) < 0 or not all(map(math.isfinite, (main, byo_time))):
            raise ValueError("time settings must be finite and non-negative")
        self.settings, self.left = (main, byo_time, int(byo_stones)), {}

    def time_left(self, color: int, seconds: float, stones: int) -> None:
        if seconds < 0 or stones < 0 or not math.isfinite(seconds):
            raise ValueError("time left must be finite and non-negative")
        self.left[color] = (seconds, int(stones))

    def budget(self, color: int, moves_played: int, points: int) -> float | None:
        """Seconds for the next move of ``color``, or None for no limit."""
        if self.settings is None:
            return None
        main, byo_time, byo_stones = self.settings
        if byo_time > 0 and byo_stones == 0:
            return None
        remaining_moves = max(20, (points - moves_played) // 3)  # our share of the moves a game still has
        left, stones = self.left.get(color, (main, 0))
        if stones > 0:
            seconds = left / stones
        else:
            seconds = left / remaining_moves + (byo_time / byo_stones if byo_stones else 0.0)
        return max(0.0, self.SAFETY * seconds - self.OVERHEAD)


class SearchPlayer:
    """Choose moves by PUCT search with a :class:`~filterkit.apps.go.model.PolicyNet` that has heads."""

    def __init__(self, model: torch.nn.Module, config, playouts: int = 1000, seconds: float | None = 1.0,
                 leaf: str = "score", c_puct: float = 1.5, batch: int = 8, resign_margin: float = 0.25) -> None:
        if not getattr(model, "has_heads", False):
            raise ValueError("search needs a network with ownership/score heads (train it with --heads)")
        if leaf not in LEAVES:
            raise ValueError(f"leaf must be one of {', '.join(LEAVES)}, got {leaf!r}")
        if playouts < 1 or batch < 1 or c_puct <= 0 or (seconds is not None and seconds <= 0):
            raise ValueError("playouts, batch, c_puct and seconds must be positive")
        self.model, self.config = model.eval(), config
        self.playouts, self.seconds, self.leaf = playouts, seconds, leaf
        self.c_puct, self.batch, self.resign_margin = c_puct, batch, resign_margin
        self.clock = Clock()
        self.root: Node | None = None
        self.last: dict = {}  # statistics of the last search (playouts, seconds, value, margin)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, nodes: list[Node]) -> None:
        """Run the network once on ``nodes`` and store their priors, values and margins."""
        boards = [node.board for node in nodes]
        size = boards[0].size
        packed = np.stack([encode_board(b) for b in boards])
        to_play = np.array([b.to_play for b in boards])
        ko = np.array([b.ko if b.ko is not None else -1 for b in boards])
        planes, legal = decode(packed, to_play, ko, size, self.config.features)
        with torch.inference_mode():
            logits, own, score = self.model.evaluate(torch.from_numpy(planes), torch.from_numpy(legal))
            logp = torch.log_softmax(logits, dim=1).numpy()
            if self.leaf == "ownership":
                score = torch.tanh(own / 2).sum(dim=1)  # E[owner] per point = 2 sigmoid - 1
            score = score.double().numpy()
        for i, (node, board) in enumerate(zip(nodes, boards)):
            margin = float(score[i]) + (-board.komi if board.to_play == BLACK else board.komi)
            if logp.shape[1] == board.n:  # a net without a pass output: passing is never proposed
                row = np.append(logp[i], -np.inf)
            else:
                row = logp[i]
            node.set_evaluation(row, legal[i], math.tanh(margin / VALUE_SCALE), margin)

    # ------------------------------------------------------------------ search

    def _descend(self, root: Node) -> tuple[list[tuple[Node, int]], Node] | None:
        """One playout's path from ``root`` to a leaf, virtual loss applied; None when it met a pending leaf."""
        path: list[tuple[Node, int]] = []
        node = root
        while node.expanded and not node.terminal and len(node.moves):
            index = node.select(self.c_puct)
            child = node.child(index)
            while child is None:  # that move repeats a position (superko): try the next best
                if node.blocked.all():
                    break
                index = node.select(self.c_puct)
                child = node.child(index)
            if child is None:
                break
            path.append((node, index))
            node.visits[index] += 1
            node.value_sum[index] -= 1.0  # virtual loss, removed at backup
            if child.pending:
                self._backup(path, None)
                return None
            node = child
        return path, node

    @staticmethod
    def _backup(path: list[tuple[Node, int]], leaf: Node | None) -> None:
        """Add ``leaf``'s value along ``path`` (None: only take the virtual loss back, and the visit)."""
        value = margin = 0.0
        if leaf is not None:
            value, margin = leaf.value, leaf.margin
        for node, index in reversed(path):
            value, margin = -value, -margin  # the parent's player is the other one
            node.value_sum[index] += 1.0
            if leaf is None:
                node.visits[index] -= 1
            else:
                node.value_sum[index] += value
                node.margin_sum[index] += margin

    def search(self, root: Node, playouts: int, deadline: float | None) -> int:
        """Run playouts from ``root`` until ``playouts`` run out or the next batch would end after ``deadline``.

        ``deadline``: a :func:`time.perf_counter` time, or None for no limit.  Returns the playouts run.
        """
        if not root.expanded:
            self.evaluate([root])
        done, last = 0, 0.0  # last: seconds the previous batch took
        while done < playouts and not root.terminal and len(root.moves):
            begun = time.perf_counter()
            if deadline is not None and begun + last >= deadline:
                break
            batch: list[tuple[list, Node]] = []
            judged = 0  # playouts that ended in a terminal position evaluated before
            for _ in range(min(self.batch, playouts - done)):
                found = self._descend(root)
                if found is None:  # met a leaf of this batch: evaluate what we have
                    break
                path, leaf = found
                if not path:  # no move can be played from the root
                    break
                if leaf.expanded:
                    self._backup(path, leaf)
                    judged += 1
                    continue
                leaf.pending = True
                batch.append((path, leaf))
            if batch:
                self.evaluate([leaf for _, leaf in batch])
                for path, leaf in batch:
                    self._backup(path, leaf)
            elif not judged:
                break
            done += len(batch) + judged
            last = time.perf_counter() - begun
        return done

    def _root_for(self, board: Board) -> Node:
        """The kept node of ``board``'s position when the tree has it, else a new root."""
        root = self.root
        if root is not None:
            old, new = root.board.moves, board.moves
            if (root.board.size == board.size and root.board.komi == board.komi and len(new) >= len(old)
                    and new[:len(old)] == old and root.board.setup == board.setup):
                for color, point in new[len(old):]:
                    if not root.expanded or root.board.to_play != color:
                        root = None
                        break
                    hits = np.flatnonzero(root.moves == point)
                    root = root.children[hits[0]] if len(hits) else None
                    if root is None:
                        break
                if root is not None and root.board.to_play == board.to_play and not root.board.game_over:
                    return root
        fresh = board.clone()
        fresh.consecutive_passes = min(board.consecutive_passes, 1)
        fresh.resigned = None
        return Node(fresh)

    def genmove(self, board: Board) -> int:
        """A point, ``board.pass_point``, or :data:`RESIGN`. Does not play it."""
        if board.game_over:
            return board.pass_point
        start = time.perf_counter()
        root = self.root = self._root_for(board)
        seconds = self.seconds
        budget = self.clock.budget(board.to_play, len(board.moves), board.n)
        if budget is not None:
            seconds = budget if seconds is None else min(seconds, budget)
        reused = int(root.visits.sum()) if root.expanded else 0
        done = self.search(root, self.playouts, None if seconds is None else start + max(0.0, seconds - RESERVE))
        if not len(root.moves):
            return board.pass_point
        visits = root.visits
        best = int(np.lexsort((root.prior, visits))[-1])  # most visits, then the highest prior
        n = max(int(visits[best]), 1)
        value, margin = root.value_sum[best] / n, root.margin_sum[best] / n
        if visits[best] == 0:
            value, margin = root.value, root.margin
        self.last = {"playouts": done, "reused": reused, "seconds": time.perf_counter() - start,
                     "value": float(value), "margin": float(margin)}
        if (self.resign_margin > 0 and len(board.moves) >= board.n // 2
                and margin < -self.resign_margin * board.n):
            return RESIGN
        passed = bool(board.moves) and board.moves[-1][1] == board.pass_point
        stop = len(root.moves) - 1  # pass is the last candidate
        if passed and best != stop and visits[stop] > 0 and margin <= root.margin_sum[stop] / visits[stop] + 1.0:
            return board.pass_point  # the opponent passed and playing on gains less than a point: end the game
        return int(root.moves[best])
