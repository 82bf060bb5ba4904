"""Ownership labels from counted games, the heads' training data, and training the heads end to end."""

import json

import numpy as np
import pytest
import torch

from filterkit.apps.go.board import BLACK, WHITE, from_ascii
from filterkit.apps.go.ownership import OwnershipBatches, area_ownership, choose_games, heads_loss, is_counted
from filterkit.apps.go.records import GameRecord, to_sgf

from .conftest import filterkit, needs_gnugo, random_game


def test_only_counted_results_are_labelled():
    assert is_counted("B+12.5") and is_counted("W+0.5") and is_counted(" W+3 ")
    for result in ("B+R", "W+Resign", "B+T", "W+F", "0", "Void", ""):
        assert not is_counted(result), result
    games = [GameRecord(result=r) for r in ("B+R", "B+3.5", "W+T", "W+10.5", "B+0.5")]
    assert choose_games(games, None) == {1, 3, 4}
    assert len(choose_games(games, 2, seed=1)) == 2 and choose_games(games, 2, seed=1) <= {1, 3, 4}


def test_area_ownership_counts_stones_and_surrounded_regions():
    board = from_ascii("""
        .X.O.
        XX.OO
        ..XO.
        XXXO.
        .X.O.""")
    owner = area_ownership(np.frombuffer(board.stones, dtype=np.uint8), 5).reshape(5, 5)
    assert owner[0, 0] == 1 and owner[0, 4] == -1 and owner[4, 4] == -1
    assert owner[0, 2] == 0  # C5 and C4 touch both colours: nobody's
    assert owner[2, 0] == 1 and owner[4, 0] == 1 and owner[4, 2] == 0
    black, white = board.area()
    assert (owner == 1).sum() == black and (owner == -1).sum() == white


def test_heads_targets_belong_to_the_player_to_move_under_every_symmetry(tmp_path):
    from filterkit.apps.go.data import load_positions, write_positions

    record = random_game(9, 40, seed=3)
    record.result = "B+1.5"
    write_positions([record], tmp_path / "all", size=9, progress=False)
    positions = load_positions(tmp_path, "all")
    final = record.board()
    for color, point in record.moves:
        final.play(point, color)
    owner = area_ownership(np.frombuffer(final.stones, dtype=np.uint8), 9)
    labels = (owner[None].astype(np.int8), np.array([True]))
    for augment in (False, True):
        ds = OwnershipBatches(positions, labels, augment=augment, seed=0)
        (planes, _), (move, own, score) = ds[np.arange(len(ds))]
        last = len(ds) - 1  # the last position: its stones are (almost all) the final ones
        mine, theirs = planes[last, 0].flatten() > 0, planes[last, 1].flatten() > 0
        survivors = own[last][mine]
        assert (survivors == 1).float().mean() > 0.9 and (own[last][theirs] == 0).float().mean() > 0.9
        sign = 1 if positions.to_play[last] == BLACK else -1
        assert score[last].item() == pytest.approx(sign * owner.sum())
        assert set(np.unique(own.numpy())) <= {0.0, 0.5, 1.0}


def test_heads_loss_falls_when_the_prediction_is_right():
    loss = heads_loss()
    move = torch.tensor([3])
    own_t, score_t = torch.tensor([[1.0, 0.0, 0.5]]), torch.tensor([10.0])
    good = (torch.tensor([[0.0, 0, 0, 9]]), torch.tensor([[9.0, -9.0, 0.0]]), torch.tensor([10.0]))
    bad = (torch.tensor([[9.0, 0, 0, 0]]), torch.tensor([[-9.0, 9.0, 0.0]]), torch.tensor([-30.0]))
    assert loss(good, (move, own_t, score_t)) < loss(bad, (move, own_t, score_t))


@needs_gnugo
def test_prepare_labels_counted_games_and_train_heads_on_a_frozen_trunk(tmp_path, tiny_checkpoint):
    games = tmp_path / "sgf"
    games.mkdir()
    for seed in range(5):
        record = random_game(9, 60, seed)
        record.result = "B+R" if seed == 4 else ("B+2.5" if seed % 2 else "W+3.5")
        (games / f"g{seed}.sgf").write_bytes(to_sgf(record))
    prep = tmp_path / "prep"
    proc = filterkit("go", "prepare", games, "--out", prep, "--size", "9", "--ownership-games", "10", "--quiet",
                     "--json", "-", timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["all"]["ownership"]
    assert report["games"] == 4 and report["chosen"] == 4  # the resigned game has no count to label
    own, labelled = np.load(prep / "all" / "ownership.npy"), np.load(prep / "all" / "labelled.npy")
    assert own.shape == (5, 81) and labelled.sum() == 4 and set(np.unique(own)) <= {-1, 0, 1}

    policy = tmp_path / "policy.pt"
    from .conftest import save_tiny_checkpoint

    save_tiny_checkpoint(policy, heads=False)
    run = tmp_path / "run"
    proc = filterkit("go", "train", prep, "--out", run, "--train-split", "all", "--val-split", "all", "--heads",
                     "--freeze-trunk", "--init", policy, "--layers", "3", "--width", "8", "--epochs", "1",
                     "--quiet", "--device", "cpu", "--json", "-", timeout=300)
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout)["history"]
    assert {"val_own_acc", "val_score_mae", "val_top1"} <= set(history[-1])
    before = torch.load(policy, weights_only=True)["model"]
    after = torch.load(run / "best.pt", weights_only=True)["model"]
    for name, tensor in before.items():  # the trunk and the policy did not move
        assert torch.equal(tensor, after[name]), name
    assert any(name.startswith("own_head") for name in after)

    bad = filterkit("go", "train", prep, "--out", tmp_path / "run2", "--train-split", "all", "--val-split", "all",
                    "--freeze-trunk", "--quiet")
    assert bad.returncode == 2 and "--freeze-trunk" in bad.stderr and "Traceback" not in bad.stderr
