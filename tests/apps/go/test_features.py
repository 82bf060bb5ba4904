import numpy as np
import pytest

from filterkit.apps.go.board import WHITE, from_ascii
from filterkit.apps.go.coords import from_gtp
from filterkit.apps.go.features import (apply_symmetry, decode, encode_board, inverse_permutations, n_planes,
                                        symmetry_permutations)

from .conftest import random_game


def planes_of(board, feature_set="full"):
    ko = np.array([board.ko if board.ko is not None else -1])
    planes, legal = decode(encode_board(board)[None], np.array([board.to_play]), ko, board.size, feature_set)
    return planes[0], legal[0]


def test_full_planes_on_a_ko_position():
    b = from_ascii("""
        .XO..
        XO.O.
        .XO..
        .....
        .....""")
    b.play(from_gtp("C4", 5))  # black takes the ko; white to move
    planes, legal = planes_of(b)
    assert planes.shape == (n_planes("full"), 5, 5)
    own, opp, empty = planes[0], planes[1], planes[2]
    assert own[0, 2] == 1 and opp[0, 1] == 1 and empty[1, 1] == 1  # white is to move: own = white
    assert opp[1, 2] == 1 and planes[6][1, 2] == 1  # the capturing black stone has 1 liberty (in atari)
    assert planes[9].sum() == 1 and planes[9][1, 1] == 1  # ko plane marks B4
    assert planes[10].sum() == 1 and planes[10][1, 2] == 1  # played 1 turn ago
    assert planes[14].sum() == 6  # setup stones count as old
    assert np.array_equal(legal, b.legal_mask()) and not legal[b.ko]
    assert np.array_equal(planes[15].reshape(-1), legal) and planes[16].min() == 1


def test_stones_feature_set_and_unknown_name():
    b = from_ascii(".....\n.X...\n..O..\n.....\n.....", to_play=WHITE)
    planes, _ = planes_of(b, "stones")
    assert planes.shape == (3, 5, 5)
    assert planes[0][2, 2] == 1 and planes[1][1, 1] == 1 and planes[2].min() == 1
    with pytest.raises(ValueError, match="unknown feature set"):
        n_planes("nope")


def test_liberty_planes_match_the_board():
    rec = random_game(9, 50, seed=3)
    board = rec.board()
    for color, point in rec.moves:
        board.play(point, color)
    planes, _ = planes_of(board)
    libs = board.liberty_counts().reshape(9, 9)
    me = board.to_play
    own = board.array() == me
    assert np.array_equal(planes[3] + planes[4] + planes[5], own.astype(np.float32))
    assert np.array_equal(planes[3] == 1, own & (libs == 1))
    assert np.array_equal(planes[5] == 1, own & (libs >= 3))


def test_symmetries_permute_points_like_numpy():
    size = 5
    perm, inv = symmetry_permutations(size), inverse_permutations(size)
    grid = np.arange(25).reshape(5, 5)
    assert np.array_equal(perm[1], np.rot90(grid).reshape(-1))
    assert np.array_equal(perm[4], grid.T.reshape(-1))
    assert len({tuple(p) for p in perm}) == 8
    for k in range(8):
        assert np.array_equal(perm[k][inv[k]], np.arange(25))


def test_symmetry_of_packed_batch_matches_rotating_planes():
    rec = random_game(7, 30, seed=1)
    board = rec.board()
    for color, point in rec.moves[:-1]:
        board.play(point, color)
    target = np.array([rec.moves[-1][1]])
    packed = encode_board(board)[None]
    base, _ = decode(packed, np.array([board.to_play]), np.array([-1]), 7)
    for k in range(8):
        p2, ko2, t2 = apply_symmetry(packed, np.array([-1]), target, np.array([k]), 7)
        planes, legal = decode(p2, np.array([board.to_play]), ko2, 7)
        flat = base[0].reshape(base.shape[1], -1)[:, symmetry_permutations(7)[k]].reshape(base.shape[1:])
        assert np.array_equal(planes[0], flat)
        assert legal[0, t2[0]]  # the move played stays legal after the transform
    _, _, t_pass = apply_symmetry(packed, np.array([-1]), np.array([49]), np.array([3]), 7)
    assert t_pass[0] == 49  # pass stays pass
