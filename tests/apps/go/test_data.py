import numpy as np
import pytest

from filterkit.apps.go.data import (PositionBatches, batch_loader, encode_game, encode_games, open_positions,
                                       read_info, write_positions)
from filterkit.apps.go.features import encode_board
from filterkit.errors import UserError

from .conftest import random_game


def test_encode_game_stores_the_position_before_each_move():
    rec = random_game(9, 20, seed=2)
    packed, to_play, ko, target = encode_game(rec)
    assert packed.shape == (len(rec.moves), 81) and packed.dtype == np.uint8
    board = rec.board()
    for i, (color, point) in enumerate(rec.moves):
        assert np.array_equal(packed[i], encode_board(board))
        assert to_play[i] == color and target[i] == point
        board.play(point, color)


def test_write_open_round_trip(tmp_path):
    games = [random_game(9, 30, seed=s) for s in range(3)]
    info = write_positions(games, tmp_path / "split", size=9, progress=False)
    assert info["games"] == 3 and info["positions"] == sum(len(g.moves) for g in games)
    assert sum(info["move_counts"]) == info["positions"]
    pos = open_positions(tmp_path / "split")
    mem = encode_games(games, size=9)
    assert isinstance(pos.packed, np.memmap)
    for key in ("packed", "to_play", "ko", "target", "game"):
        assert np.array_equal(np.asarray(getattr(pos, key)), getattr(mem, key))
    with pytest.raises(UserError, match="already exists"):
        write_positions(games, tmp_path / "split", size=9, progress=False)
    write_positions(games[:1], tmp_path / "split", size=9, progress=False, force=True)
    assert read_info(tmp_path / "split")["games"] == 1
    with pytest.raises(UserError, match="not a prepared"):
        read_info(tmp_path)


def test_other_board_sizes_are_skipped(tmp_path):
    skipped: list[str] = []
    pos = encode_games([random_game(9, 10, 0), random_game(7, 10, 1)], size=9, skipped=skipped)
    assert len(pos) == 10 and "board size 7" in skipped[0]


def test_batches_are_decoded_and_augmented():
    pos = encode_games([random_game(9, 40, seed=s) for s in range(2)], size=9)
    ds = PositionBatches(pos, "full", augment=True, seed=0)
    (planes, legal), target = ds[list(range(0, 64))]
    assert planes.shape == (64, 17, 9, 9) and legal.shape == (64, 81) and target.dtype.is_floating_point is False
    rows = target < 81
    assert legal[rows.nonzero().squeeze(1), target[rows]].all()  # every played move is legal after the symmetry
    batches = list(batch_loader(PositionBatches(pos, "stones"), 32, shuffle=False))
    assert sum(len(b[1]) for b in batches) == len(pos) and batches[0][0][0].shape[1] == 3
