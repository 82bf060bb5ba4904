"""filterkit.apps.go.tactics: ladders and ataris, on hand-drawn positions."""

import pytest

from filterkit.apps.go import tactics
from filterkit.apps.go.board import BLACK, WHITE, Board, from_ascii
from filterkit.apps.go.coords import from_gtp
from filterkit.apps.go.engine import PolicyPlayer
from filterkit.apps.go.model import load

N = 19


def ladder_board(extra=(), to_play=BLACK) -> Board:
    """White K10 with Black K11, J10 and L9: two ladder directions, up-right and down-left."""
    rows = [["."] * N for _ in range(N)]
    for r, c, ch in [(8, 9, "X"), (9, 8, "X"), (10, 10, "X"), (9, 9, "O"), *extra]:
        rows[r][c] = ch
    return from_ascii("\n".join(" ".join(row) for row in rows), to_play=to_play)


K10 = from_gtp("K10", N)


def test_a_ladder_on_an_open_board_works():
    assert tactics.dies_in_ladder(ladder_board(), K10, defender_to_move=False)


def test_one_breaker_is_not_enough_when_the_other_direction_works():
    assert tactics.dies_in_ladder(ladder_board([(14, 4, "O")]), K10, defender_to_move=False)
    assert tactics.dies_in_ladder(ladder_board([(4, 14, "O")]), K10, defender_to_move=False)


def test_breakers_on_both_diagonals_save_the_stone():
    assert not tactics.dies_in_ladder(ladder_board([(14, 4, "O"), (4, 14, "O")]), K10, defender_to_move=False)
    # a black stone where the white breaker was does not help White
    assert tactics.dies_in_ladder(ladder_board([(14, 4, "O"), (4, 14, "X")]), K10, defender_to_move=False)


def test_running_out_of_atari_into_a_ladder_is_seen():
    b = ladder_board(to_play=BLACK)
    b.play(from_gtp("K9", N), BLACK)  # atari from below: extending right runs up the ladder
    assert b.to_play == WHITE
    assert tactics.runs_into_ladder(b, from_gtp("L10", N), WHITE)
    assert tactics.dies_in_ladder(b, K10, defender_to_move=True)
    assert tactics.urgent_moves(b, WHITE) == []  # no escape that works
    assert not tactics.runs_into_ladder(b, from_gtp("C3", N), WHITE)  # elsewhere: nothing to read


def test_urgent_moves_rank_by_stones_and_only_keep_working_escapes():
    b = from_ascii("""
        . . . . . . . . .
        . X X X . . . . .
        X O O O X . . . .
        . X X . O . . . .
        . . . . . . . . .
        . . . . . . . X .
        . . . . . . X O X
        . . . . . . . . .
        . . . . . . . . .""", to_play=WHITE)
    moves = tactics.urgent_moves(b, WHITE)
    stakes = [s for s, _ in moves]
    assert stakes == sorted(stakes, reverse=True)
    assert (3, from_gtp("D6", 9)) in moves  # B7-D7 in atari: extending to D6 gives 3 liberties
    for stake, move in moves:  # every saving move leaves a group that no ladder captures
        after = b.clone()
        after.play(move, WHITE)
        for point in (from_gtp("B7", 9), from_gtp("H3", 9)):
            group = after.groups[point]
            if group is not None and group.color == WHITE and stake == len(group.stones):
                assert not tactics.dies_in_ladder(after, point, defender_to_move=False)


def test_urgent_moves_capture_a_group_in_atari():
    b = from_ascii("""
        . . . . .
        . O O . .
        . X X O .
        . O O . .
        . . . . .""", to_play=WHITE)
    assert tactics.urgent_moves(b, WHITE) == [(2, from_gtp("A3", 5))]
    # Black extending to A3 gets 2 liberties on the edge, and White can still catch it: no saving move
    assert tactics.urgent_moves(b, BLACK) == []


def test_reading_never_changes_the_board():
    b = ladder_board()
    before = (bytes(b.stones), list(b.moves), b.to_play, b.hash)
    tactics.dies_in_ladder(b, K10, defender_to_move=False)
    tactics.urgent_moves(b, BLACK)
    tactics.runs_into_ladder(b, from_gtp("K9", N), BLACK)
    assert (bytes(b.stones), list(b.moves), b.to_play, b.hash) == before


def test_clone_is_independent_and_equal():
    b = ladder_board()
    b.play(from_gtp("K9", N), BLACK)
    c = b.clone()
    assert str(c) == str(b) and c.hash == b.hash and c.to_play == b.to_play and c.moves == b.moves
    c.play(from_gtp("L10", N), WHITE)
    assert b.stones[from_gtp("L10", N)] == 0 and len(b.groups[K10].liberties) == 1
    assert len(c.groups[K10].liberties) == 2


def test_player_with_tactics_captures_and_does_not_run(tiny_checkpoint):
    model, config = load(tiny_checkpoint)
    b = from_ascii("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . O O . . . .
        . . O X X O . . .
        . . . O . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""", to_play=WHITE)
    player = PolicyPlayer(model, config, pass_threshold=1.0, tactics=2)
    assert player.genmove(b) == from_gtp("E4", 9)  # the two black stones' last liberty
    with pytest.raises(ValueError):
        PolicyPlayer(model, config, tactics=-1)
