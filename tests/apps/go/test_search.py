"""The tree-search player: legal moves, its time limits, tree reuse, passing and resigning from its own estimate."""

import time

import numpy as np
import pytest
import torch

from filterkit.apps.go.board import BLACK, WHITE, Board, from_ascii
from filterkit.apps.go.engine import RESIGN, gtp_handlers, is_own_eye
from filterkit.apps.go.gtp import GtpServer
from filterkit.apps.go.model import load
from filterkit.apps.go.search import Clock, SearchPlayer, own_eye_mask

from .conftest import random_game


def searcher(ckpt, **kw):
    model, config = load(ckpt)
    kw.setdefault("seconds", None)
    return SearchPlayer(model, config, **kw)


class StoneCounter(torch.nn.Module):
    """A stand-in network whose heads see the board plainly: every stone alive, its owner's.

    Move logits are uniform; the score is own minus opponent stones (planes 0 and 1 of the
    'full' features are the player to move's and the opponent's stones); the ownership
    logits are +-5 on stones, 0 elsewhere.
    """

    has_heads = True

    def evaluate(self, planes, legal):
        mine, theirs = planes[:, 0].flatten(1), planes[:, 1].flatten(1)
        logits = torch.zeros(planes.shape[0], legal.shape[1] + 1)
        return logits, 5 * (mine - theirs), (mine - theirs).sum(dim=1)


def test_own_eye_mask_agrees_with_the_policy_player_s_test():
    for seed in range(5):
        board = random_game(9, 70, seed).board()
        for color, point in random_game(9, 70, seed).moves:
            board.play(point, color)
        stones = np.frombuffer(board.stones, dtype=np.uint8)
        for color in (BLACK, WHITE):
            expected = [is_own_eye(board, p, color) for p in range(board.n)]
            assert own_eye_mask(stones, color, 9).tolist() == expected


def test_a_whole_game_of_search_moves_is_legal_and_ends(tiny_checkpoint):
    p = searcher(tiny_checkpoint, playouts=12, batch=4, resign_margin=0)
    for seed in range(3):
        board = Board(9, 7.5)
        for color, point in random_game(9, 20, seed).moves:
            board.play(point, color)
        while not board.game_over and len(board.moves) < 300:
            move = p.genmove(board)
            assert move != RESIGN and board.is_legal(move), move
            assert move == board.pass_point or not is_own_eye(board, move, board.to_play)
            board.play(move)
            assert p.last["playouts"] == 12
        assert board.game_over  # passes end it before the limit: eyes are never filled


def test_the_tree_is_kept_between_moves(tiny_checkpoint):
    p = searcher(tiny_checkpoint, playouts=64, batch=8)
    board = Board(9, 7.5)
    board.play(p.genmove(board))
    reply = int(np.argmax(p.root.children[int(np.argmax(p.root.visits))].visits))  # the reply searched most
    board.play(int(p.root.children[int(np.argmax(p.root.visits))].moves[reply]))
    p.genmove(board)
    assert p.last["reused"] > 0 and p.last["playouts"] == 64
    other = Board(9, 7.5)  # a different game: a fresh tree
    other.play(40)
    p.genmove(other)
    assert p.last["reused"] == 0


def test_the_search_stops_at_its_time_limit(tiny_checkpoint):
    p = searcher(tiny_checkpoint, playouts=10**6, seconds=0.3)
    start = time.perf_counter()
    move = p.genmove(Board(9, 7.5))
    assert time.perf_counter() - start < 3.0  # generous: a shared machine; the limit is what is checked
    assert Board(9).is_legal(move) and 0 < p.last["playouts"] < 10**6


def test_passes_when_the_opponent_passed_and_it_is_ahead_and_resigns_when_hopeless():
    from filterkit.apps.go.config import GoConfig

    ahead = from_ascii("""
        .X.X.O.
        XXXXOOO
        XXXX.O.
        XXXXOOO
        XXXXO..
        XXXXOOO
        .X.XO..""", komi=0.5)
    p = SearchPlayer(StoneCounter(), GoConfig(size=7), playouts=200, seconds=None, resign_margin=0.1)
    ahead.play(ahead.pass_point, WHITE)  # white passes; black (more stones) is ahead
    assert p.genmove(ahead) == ahead.pass_point
    assert p.last["margin"] > 0

    behind = from_ascii("""
        .O.O.O.
        OOOOOOO
        OOOOOOO
        OOOOOOO
        XXX.OOO
        X.XXOOO
        XX.XO..""", komi=7.5)
    behind.moves = [(BLACK, behind.pass_point)] * 30  # past half the board's points in moves
    behind.to_play = BLACK
    assert p.genmove(behind) == RESIGN and p.last["margin"] < -0.1 * 49
    never = SearchPlayer(StoneCounter(), GoConfig(size=7), playouts=50, seconds=None, resign_margin=0)
    assert never.genmove(behind) != RESIGN


def test_a_network_without_heads_cannot_search(policy_only_checkpoint):
    model, config = load(policy_only_checkpoint)
    with pytest.raises(ValueError, match="heads"):
        SearchPlayer(model, config)


def test_clock_budgets_follow_gtp_time_settings():
    clock = Clock()
    assert clock.budget(BLACK, 0, 361) is None  # no settings: no limit
    clock.time_settings(0, 5, 0)
    assert clock.budget(BLACK, 0, 361) is None  # byo-yomi time with 0 stones: GTP's "no time limit"
    clock.time_settings(600, 0, 0)
    assert clock.budget(BLACK, 0, 361) == pytest.approx(0.8 * 600 / 120 - 0.05)
    clock.time_left(BLACK, 10, 5)  # byo-yomi: 10 s for 5 stones
    assert clock.budget(BLACK, 200, 361) == pytest.approx(0.8 * 2 - 0.05)
    assert clock.budget(WHITE, 200, 361) == pytest.approx(0.8 * 600 / 53 - 0.05)
    clock.time_left(BLACK, 0, 0)
    assert clock.budget(BLACK, 200, 361) == 0.0
    with pytest.raises(ValueError):
        clock.time_settings(float("inf"), 0, 0)


def test_gtp_time_commands_set_the_player_s_clock(tiny_checkpoint):
    p = searcher(tiny_checkpoint, playouts=10**6, seconds=30.0)
    s = GtpServer(gtp_handlers(p, 9), "filterkit-go", "0")
    assert s.handle("time_settings 0 1 1") == "=\n\n"  # one second per move
    assert s.handle("time_left b 0.5 1") == "=\n\n"
    start = time.perf_counter()
    assert s.handle("genmove b").startswith("= ")
    assert time.perf_counter() - start < 5.0 and p.last["seconds"] < 1.0
    for bad in ("time_settings 1 2", "time_settings a 1 1", "time_settings -1 0 0", "time_left x 1 1",
                "time_left b inf 0"):
        assert s.handle(bad) == "? syntax error\n\n", bad
