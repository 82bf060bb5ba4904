import numpy as np
import pytest

from filterkit.apps.go.board import BLACK, WHITE, Board, IllegalMove, from_ascii
from filterkit.apps.go.coords import from_gtp


def play(board, *vertices):
    for v in vertices:
        board.play(from_gtp(v, board.size))


def stones(board):
    return "\n".join("".join(".XO"[board.stones[r * board.size + c]] for c in range(board.size))
                     for r in range(board.size))


def test_single_stone_capture_in_the_corner():
    b = from_ascii("""
        O....
        X....
        .....
        .....
        .....""")
    assert b.play(from_gtp("B5", 5)) == 1
    assert b.stones[0] == 0 and b.captures[BLACK] == 1
    assert b.liberty_counts()[5] == 3  # A4 got its liberty back


def test_group_capture_and_liberties():
    b = from_ascii("""
        .XX..
        XOOX.
        .X...
        .....
        .....""")
    libs = b.liberty_counts()
    assert libs[6] == libs[7] == 1  # the white pair has one liberty, C3
    assert libs[1] == 2 and libs[5] == 2
    assert b.play(from_gtp("C3", 5)) == 2
    assert stones(b) == ".XX..\nX..X.\n.XX..\n.....\n....."
    assert b.captures[BLACK] == 2 and b.to_play == WHITE


def test_suicide_is_illegal_but_capturing_is_not():
    b = from_ascii("""
        .X...
        X....
        .....
        .....
        .....""", to_play=WHITE)
    assert not b.is_legal(0)
    with pytest.raises(IllegalMove, match="suicide"):
        b.play(0)
    assert not b.legal_mask()[0] and b.legal_mask()[2]
    # multi-stone suicide: filling the last liberty of one's own group
    b = from_ascii("""
        OO.X.
        XXXX.
        .....
        .....
        .....""", to_play=WHITE)
    assert not b.is_legal(2) and not b.legal_mask()[2]
    # the same point captures when the black wall is in atari
    b = from_ascii("""
        OO.XO
        XXXXO
        OOOOO
        .....
        .....""", to_play=WHITE)
    assert b.is_legal(2) and b.legal_mask()[2]
    assert b.play(2) == 5


def test_simple_ko():
    b = from_ascii("""
        .XO..
        XO.O.
        .XO..
        .....
        .....""")
    assert b.play(from_gtp("C4", 5)) == 1  # black takes the ko
    assert b.ko == from_gtp("B4", 5)
    assert not b.is_legal(b.ko) and not b.legal_mask()[b.ko]
    with pytest.raises(IllegalMove, match="ko"):
        b.play(b.ko)
    play(b, "E1", "E2")  # ko threat and answer
    assert b.ko is None
    assert b.play(from_gtp("B4", 5)) == 1  # now white may retake


def test_snapback():
    b = from_ascii("""
        ..OX.
        OOOX.
        XXXX.
        .....
        .....""")
    assert b.play(from_gtp("B5", 5)) == 0  # black throws in; the stone is in atari
    assert b.play(from_gtp("A5", 5)) == 1  # white captures it...
    assert b.ko is None  # ...with a stone that joined a group: no ko
    assert b.play(from_gtp("B5", 5)) == 5  # black captures back five stones
    assert stones(b) == ".X.X.\n...X.\nXXXX.\n.....\n....."


def test_pass_and_game_end():
    b = Board(5, komi=0.5)
    play(b, "pass")
    assert not b.game_over and b.to_play == WHITE
    play(b, "C3", "pass")
    assert not b.game_over
    play(b, "pass")
    assert b.game_over
    with pytest.raises(IllegalMove, match="over"):
        b.play(0)
    assert b.area() == (0, 25) and b.result() == "W+25.5"


def test_area_scoring_counts_regions_touching_one_colour():
    b = from_ascii("""
        .X.O.
        .X.O.
        XX.OO
        .....
        .....""", komi=0.5)
    black, white = b.area()
    assert black == 4 + 2  # stones + the A5-A4 pocket
    assert white == 4 + 2  # stones + the E5-E4 pocket
    assert b.score() == pytest.approx(black - white - 0.5)
    b.resign(BLACK)
    assert b.result() == "W+R"


def test_positional_superko_option():
    text = """
        .XO..
        XO.O.
        .XO..
        .....
        ....."""
    plain, strict = from_ascii(text), from_ascii(text, superko=True)
    for b in (plain, strict):
        play(b, "C4", "pass")  # black takes the ko; white passes, which clears the simple-ko ban
    retake = from_gtp("B4", 5)
    assert plain.is_legal(retake, WHITE)  # simple ko allows white (playing out of turn) to retake...
    assert not strict.is_legal(retake, WHITE)  # ...which repeats the starting position
    with pytest.raises(IllegalMove, match="superko"):
        strict.play(retake, WHITE)
    assert plain.play(retake, WHITE) == 1


def test_edges_and_sizes():
    for size in (5, 9, 13, 19):
        b = Board(size)
        corner = b.liberty_counts()
        b.play(0)
        assert b.liberty_counts()[0] == 2
        b.play(size * size - 1)
        b.play(size // 2 * size + size // 2)
        assert b.liberty_counts()[size * size - 1] == 2
        assert b.legal_mask().sum() == size * size - 3
        assert corner.sum() == 0
    with pytest.raises(ValueError):
        Board(4)
    with pytest.raises(ValueError):
        Board(21)


def test_str_marks_last_move():
    b = Board(5)
    play(b, "B4")
    text = str(b)
    assert " 4 .(X). . .  4" in text.splitlines()[2]
    assert text.splitlines()[0].strip() == "A B C D E"


def test_copy_is_independent():
    b = Board(9)
    play(b, "E5", "D5")
    c = b.copy()
    c.play(from_gtp("C3", 9))
    assert len(b.moves) == 2 and len(c.moves) == 3
    assert np.array_equal(b.array()[4], np.array([0, 0, 0, 2, 1, 0, 0, 0, 0]))


def flood_fill_liberties(board):
    """Liberties per point recomputed from scratch (reference for the incremental tracker)."""
    size, n = board.size, board.n
    out = np.zeros(n, dtype=np.int32)
    seen = set()
    for start in range(n):
        color = board.stones[start]
        if color == 0 or start in seen:
            continue
        chain, libs, stack = {start}, set(), [start]
        while stack:
            p = stack.pop()
            r, c = divmod(p, size)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < size and 0 <= cc < size:
                    q = rr * size + cc
                    if board.stones[q] == 0:
                        libs.add(q)
                    elif board.stones[q] == color and q not in chain:
                        chain.add(q)
                        stack.append(q)
        seen |= chain
        out[list(chain)] = len(libs)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_liberties_match_a_flood_fill_through_random_games(seed):
    rng = np.random.default_rng(seed)
    b = Board(7)
    captured = 0
    for _ in range(300):
        legal = np.flatnonzero(b.legal_mask())
        if len(legal) == 0:
            break
        captured += b.play(int(rng.choice(legal)))
        assert np.array_equal(b.liberty_counts(), flood_fill_liberties(b))
        assert set(np.flatnonzero(b.legal_mask()).tolist()) == {p for p in range(b.n) if b.is_legal(p)}
    assert captured > 5  # the capture paths were exercised
