"""A go player driven by the policy network, and its GTP command handlers.

:class:`PolicyPlayer` picks the legal move with the highest network
probability (optionally averaged over the 8 symmetries), skipping moves that
fill one of its own eyes and moves that leave 2 or more of its own stones in
atari without capturing (``max_self_atari``; None turns the check off).
With ``tactics=N`` it first reads ataris and ladders
(:mod:`filterkit.apps.go.tactics`): it saves or captures N or more stones
when it can, and skips moves that run into a ladder that works.  It
**passes** when no such move remains, when the network gives passing more
than ``pass_threshold``, or when the opponent has just passed and it is ahead
on area score counting every stone alive; with ``play_out`` only the first of
these (the game is played out until the dead stones are captured, so that no
dead-stone judgement decides it);
it **resigns** when, after half the board's points have been played as
moves, its area score is behind by more than ``resign_margin`` x the number
of points (a crude "hopeless" test: the policy net has no value head).

:func:`gtp_handlers` exposes a player as the engine-side commands of
:class:`filterkit.apps.go.gtp.GtpServer`.
"""

from __future__ import annotations

import numpy as np
import torch

from filterkit.apps.go import tactics
from filterkit.apps.go.board import BLACK, EMPTY, Board, IllegalMove, opponent, parse_color
from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.coords import check_size, from_gtp, to_gtp
from filterkit.apps.go.features import decode, encode_board
from filterkit.apps.go.gtp import GtpError
from filterkit.apps.go.model import symmetric_logits

RESIGN = -1


def is_own_eye(board: Board, point: int, color: int) -> bool:
    """An empty point surrounded by ``color`` whose diagonals it mostly controls (playing there is wasteful)."""
    size, stones = board.size, board.stones
    if stones[point] != EMPTY:
        return False
    r, c = divmod(point, size)
    for q in board._nbrs[point]:
        if stones[q] != color:
            return False
    diagonals = [(r + dr, c + dc) for dr in (-1, 1) for dc in (-1, 1)]
    on_board = [rr * size + cc for rr, cc in diagonals if 0 <= rr < size and 0 <= cc < size]
    enemy = sum(stones[q] == opponent(color) for q in on_board)
    return enemy == 0 if len(on_board) < 4 else enemy <= 1


def self_atari_stones(board: Board, point: int, color: int) -> int:
    """Stones left with one liberty if ``color`` plays ``point`` and captures nothing (0: not a self-atari)."""
    stones, groups = board.stones, board.groups
    liberties, members, seen = set(), 1, set()
    for q in board._nbrs[point]:
        s = stones[q]
        if s == EMPTY:
            liberties.add(q)
        elif s == color:
            g = groups[q]
            if id(g) not in seen:
                seen.add(id(g))
                members += len(g.stones)
                liberties |= g.liberties
        elif len(groups[q].liberties) == 1:
            return 0  # captures: gains liberties
    liberties.discard(point)
    return members if len(liberties) == 1 else 0


class PolicyPlayer:
    """Choose moves with a trained :class:`~filterkit.apps.go.model.PolicyNet`."""

    def __init__(self, model: torch.nn.Module, config: GoConfig, symmetries: int = 1, resign_margin: float = 0.25,
                 pass_threshold: float = 0.5, max_self_atari: int | None = 2, play_out: bool = False,
                 tactics: int = 0) -> None:
        if symmetries not in (1, 8):
            raise ValueError("symmetries must be 1 or 8")
        if tactics < 0:
            raise ValueError("tactics must be 0 (off) or a number of stones")
        self.model, self.config = model, config
        # read ataris and ladders (filterkit.apps.go.tactics): save or capture this many stones or more
        # before anything else, and never run into a working ladder; 0 turns the reading off
        self.tactics = tactics
        self.play_out = play_out  # pass only when no sensible move is left (dead stones get captured)
        self.max_self_atari = max_self_atari  # skip moves leaving this many own stones or more in atari
        self.symmetries, self.resign_margin, self.pass_threshold = symmetries, resign_margin, pass_threshold

    def move_log_probs(self, board: Board) -> np.ndarray:
        """``(n + 1,)`` log-probabilities of every point and pass (illegal moves ~ -inf)."""
        ko = board.ko if board.ko is not None else -1
        planes, legal = decode(encode_board(board)[None], np.array([board.to_play]), np.array([ko]), board.size,
                               self.config.features)
        with torch.inference_mode():
            logp = symmetric_logits(self.model, torch.from_numpy(planes), torch.from_numpy(legal), self.symmetries)
        logp = logp[0].numpy()
        if logp.shape[0] == board.n:  # a net without a pass output
            logp = np.append(logp, -np.inf)
        return logp

    def hopeless(self, board: Board) -> bool:
        if self.resign_margin <= 0 or len(board.moves) < board.n // 2:
            return False
        score = board.score() if board.to_play == BLACK else -board.score()
        return score < -self.resign_margin * board.n

    def genmove(self, board: Board) -> int:
        """A point, ``board.pass_point``, or :data:`RESIGN`. Does not play it."""
        color = board.to_play
        if board.game_over:
            return board.pass_point
        if self.hopeless(board):
            return RESIGN
        opponent_passed = bool(board.moves) and board.moves[-1][1] == board.pass_point
        if opponent_passed and not self.play_out:
            ahead = board.score() > 0 if color == BLACK else board.score() < 0
            if ahead:
                return board.pass_point
        logp = self.move_log_probs(board)
        if not self.play_out and np.exp(logp[board.pass_point]) > self.pass_threshold:
            return board.pass_point
        if self.tactics:
            urgent = [(stake, move) for stake, move in tactics.urgent_moves(board, color)
                      if stake >= self.tactics and not is_own_eye(board, move, color)]
            if urgent:  # the most stones at stake; among equal stakes, the network's favourite
                top = urgent[0][0]
                return max((move for stake, move in urgent if stake == top), key=lambda m: logp[m])
        order = np.argsort(-logp, kind="stable")
        for point in order:
            point = int(point)
            if point == board.pass_point:
                continue
            if not np.isfinite(logp[point]) or logp[point] < -1e8:
                break  # only masked (illegal) moves are left
            if is_own_eye(board, point, color):
                continue
            if board.is_legal(point, color):  # also checks positional superko when the board uses it
                if self.max_self_atari and self_atari_stones(board, point, color) >= self.max_self_atari:
                    continue  # would put a group of our stones in atari without capturing
                if self.tactics and tactics.runs_into_ladder(board, point, color):
                    continue  # the group would be captured in a ladder
                return point
        return board.pass_point


def gtp_handlers(player, size: int = 19, komi: float = 7.5, superko: bool = False) -> dict:
    """GTP engine commands for ``player`` (board state lives in this closure).

    ``player``: a :class:`PolicyPlayer` or a :class:`~filterkit.apps.go.search.SearchPlayer`
    (whose clock ``time_settings`` and ``time_left`` set; the policy player accepts and ignores them).
    """
    state = {"board": Board(size, komi, superko)}

    def board() -> Board:
        return state["board"]

    def new_board(n: int) -> None:
        state["board"] = Board(n, board().komi, superko)

    def one_arg(args: list[str]) -> str:
        if len(args) != 1:
            raise GtpError("syntax error")
        return args[0]

    def boardsize(args):
        text = one_arg(args)
        try:
            n = check_size(int(text))
        except ValueError:
            raise GtpError("unacceptable size") from None
        new_board(n)
        return ""

    def clear_board(args):
        new_board(board().size)
        return ""

    def komi_cmd(args):
        try:
            value = float(one_arg(args))
        except ValueError:
            raise GtpError("syntax error") from None
        if not np.isfinite(value):
            raise GtpError("syntax error")
        board().komi = value
        return ""

    def parse_move(args):
        if len(args) != 2:
            raise GtpError("syntax error")
        try:
            return parse_color(args[0]), from_gtp(args[1], board().size)
        except ValueError:
            raise GtpError("syntax error") from None

    def play(args):
        color, point = parse_move(args)
        b = board()
        b.consecutive_passes = min(b.consecutive_passes, 1)  # the controller, not two passes, ends a GTP game
        b.resigned = None
        if point == b.pass_point:
            b.play(point, color)
            return ""
        if not b.is_legal(point, color):
            raise GtpError("illegal move")
        try:
            b.play(point, color)
        except IllegalMove:
            raise GtpError("illegal move") from None
        return ""

    def genmove(args):
        try:
            color = parse_color(one_arg(args))
        except ValueError:
            raise GtpError("syntax error") from None
        b = board()
        b.consecutive_passes = min(b.consecutive_passes, 1)
        b.resigned = None
        b.to_play = color
        point = player.genmove(b)
        if point == RESIGN:
            return "resign"
        b.play(point, color)
        return to_gtp(point, b.size)

    def undo(args):
        b = board()
        if not b.moves:
            raise GtpError("cannot undo")
        fresh = Board(b.size, b.komi, b.superko)
        fresh.replay(b.setup, b.moves[:-1])
        fresh.to_play = b.moves[-1][0]
        state["board"] = fresh
        return ""

    def showboard(args):
        return "\n" + str(board())

    def final_score(args):
        return board().result()

    return {"boardsize": boardsize, "clear_board": clear_board, "komi": komi_cmd, "play": play,
            "genmove": genmove, "undo": undo, "showboard": showboard, "final_score": final_score,
            **_time_handlers(player)}


def _numbers(args: list[str], count: int) -> list[float]:
    """``count`` finite non-negative numbers, else the GTP 'syntax error'."""
    if len(args) != count:
        raise GtpError("syntax error")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise GtpError("syntax error") from None
    if not all(np.isfinite(values)) or min(values) < 0:
        raise GtpError("syntax error")
    return values


def _time_handlers(player) -> dict:
    """GTP ``time_settings``/``time_left``: they set a searching player's clock; the policy player needs none."""
    clock = getattr(player, "clock", None)

    def time_settings(args):
        main, byo_time, byo_stones = _numbers(args, 3)
        if clock is not None:
            clock.time_settings(main, byo_time, int(byo_stones))
        return ""

    def time_left(args):
        if len(args) != 3:
            raise GtpError("syntax error")
        try:
            color = parse_color(args[0])
        except ValueError:
            raise GtpError("syntax error") from None
        seconds, stones = _numbers(args[1:], 2)
        if clock is not None:
            clock.time_left(color, seconds, int(stones))
        return ""

    return {"time_settings": time_settings, "time_left": time_left}
