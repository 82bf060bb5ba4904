import sys

import pytest

from filterkit.apps.go.engine import PolicyPlayer
from filterkit.apps.go.gtp import EngineError, EngineExited
from filterkit.apps.go.match import parse_score, play_match, winner_of
from filterkit.apps.go.model import load
from filterkit.apps.go.records import parse_sgf

RANDOM_ENGINE = """
import sys
import numpy as np
from filterkit.apps.go.engine import gtp_handlers, is_own_eye
from filterkit.apps.go.gtp import GtpServer, GtpError

class RandomPlayer:
    rng = np.random.default_rng(0)
    def genmove(self, board):
        legal = [int(p) for p in np.flatnonzero(board.legal_mask()) if not is_own_eye(board, int(p), board.to_play)]
        return int(self.rng.choice(legal)) if legal else board.pass_point

handlers = gtp_handlers(RandomPlayer(), 9)
if "--refuse" in sys.argv:
    def refuse(args):
        raise GtpError("illegal move")
    handlers["play"] = refuse
if "--crash-once" in sys.argv:  # the first process dies at its 3rd genmove, as GNU Go sometimes does
    import os
    marker = sys.argv[sys.argv.index("--crash-once") + 1]
    genmove, calls = handlers["genmove"], []
    def crashing_genmove(args):
        calls.append(1)
        if len(calls) == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(3)
        return genmove(args)
    handlers["genmove"] = crashing_genmove
GtpServer(handlers, "random", "1").serve(sys.stdin, sys.stdout)
"""


@pytest.fixture
def tiny_player(tiny_checkpoint):
    model, config = load(tiny_checkpoint)
    return PolicyPlayer(model, config)


def test_score_parsing():
    assert parse_score("B+3.5") == "B+3.5" and parse_score("w+r") == "W+R" and parse_score("0") == "0"
    assert parse_score("black wins") is None
    assert winner_of("W+R") == 2 and winner_of("B+0.5") == 1 and winner_of("0") is None


def test_match_against_a_random_gtp_engine(tmp_path, tiny_player):
    engine = [sys.executable, "-c", RANDOM_ENGINE]
    report = play_match(tiny_player, " ".join(f"'{a}'" for a in engine), 2, tmp_path / "games", size=9,
                        komi=7.5, max_moves=120, progress=False)
    assert report["games"] == 2 and report["wins"] + report["losses"] + report["draws"] == 2
    assert report["illegal_moves"] == 0 and report["opponent_illegal_moves"] == 0
    assert 0 <= report["wilson_low"] <= report["win_rate"] <= report["wilson_high"] <= 1
    colors = [g["our_color"] for g in report["per_game"]]
    assert colors == ["black", "white"]
    for game in report["per_game"]:
        rec = parse_sgf(open(game["sgf"], "rb").read())
        assert len(rec.moves) == game["moves"] and rec.result == game["result"]
        board = rec.board()
        for color, point in rec.moves:  # the saved game replays legally
            board.play(point, color)


def test_a_refused_move_is_counted_and_loses(tmp_path, tiny_player):
    engine = " ".join(f"'{a}'" for a in [sys.executable, "-c", RANDOM_ENGINE, "--refuse"])
    report = play_match(tiny_player, engine, 1, tmp_path, size=9, progress=False)
    assert report["illegal_moves"] == 1 and report["losses"] == 1
    assert "refused" in report["per_game"][0]["note"]


def test_an_engine_crash_voids_the_game_and_the_match_goes_on(tmp_path, tiny_player):
    marker = tmp_path / "crashed"
    engine = " ".join(f"'{a}'" for a in [sys.executable, "-c", RANDOM_ENGINE, "--crash-once", str(marker)])
    report = play_match(tiny_player, engine, 2, tmp_path / "games", size=9, max_moves=60, progress=False)
    assert marker.exists()
    assert report["void_games"] == 1 and "void at move" in report["void_notes"][0]
    assert report["games"] == 2 and report["wins"] + report["losses"] + report["draws"] == 2
    assert [g["our_color"] for g in report["per_game"]] == ["black", "white"]  # the void game is replayed
    saved = sorted((tmp_path / "games").glob("*.sgf"))
    assert len(saved) == 3 and parse_sgf(saved[0].read_bytes()).result == "Void"


def test_an_engine_that_exits_or_always_dies_ends_the_match_with_an_error(tmp_path, tiny_player):
    with pytest.raises(EngineExited, match="before answering 'name'"):
        play_match(tiny_player, "false", 1, tmp_path / "a", size=9, progress=False)
    dies = " ".join(f"'{a}'" for a in [sys.executable, "-c", DIES_AT_FIRST_GENMOVE])
    with pytest.raises(EngineError, match="no game could be scored"):
        play_match(tiny_player, dies, 1, tmp_path / "b", size=9, progress=False)
    assert len(list((tmp_path / "b").glob("*.sgf"))) == 2  # both void games are kept


DIES_AT_FIRST_GENMOVE = """
import os, sys
from filterkit.apps.go.gtp import GtpServer
def die(args):
    os._exit(3)
ok = lambda args: ""
GtpServer({"genmove": die, "play": ok, "boardsize": ok, "komi": ok, "clear_board": ok}, "dies", "1").serve(
    sys.stdin, sys.stdout)
"""


def test_margin_of_reads_counted_results_for_either_colour():
    from filterkit.apps.go.board import BLACK, WHITE
    from filterkit.apps.go.match import margin_of

    assert margin_of("B+12.5", BLACK) == 12.5 and margin_of("B+12.5", WHITE) == -12.5
    assert margin_of("W+0.5", WHITE) == 0.5 and margin_of("0", BLACK) == 0.0
    assert margin_of("W+R", BLACK) is None and margin_of("B+T", WHITE) is None and margin_of("Void", BLACK) is None
