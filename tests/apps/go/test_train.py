import dataclasses
import json

import pytest
import torch

from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.data import write_positions
from filterkit.apps.go.model import load
from filterkit.apps.go.train import train
from filterkit.errors import UserError

from .conftest import random_game

TINY = GoConfig(layers=2, width=4, epochs=1, batch_size=32, train_split="all", val_split="all")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep")
    write_positions([random_game(9, 40, seed) for seed in range(4)], root / "all", size=9, progress=False)
    return root


def test_run_folder_and_checkpoint_config(prepared, tmp_path):
    report = train(prepared, tmp_path / "run", TINY, device="cpu", progress=False)
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"best.pt", "last.pt", "metrics.csv", "report.json"}
    assert json.loads((tmp_path / "run" / "report.json").read_text())["best_epoch"] == 1 == report["best_epoch"]
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert isinstance(ckpt["config"], dict) and ckpt["config"]["size"] == 9 and ckpt["app"] == "go"
    model, config = load(tmp_path / "run" / "best.pt")
    assert config.size == 9 and config.width == 4 and len(config.move_counts) == 82
    assert "move_counts" not in report["config"] and report["monitor"] == "val_top1"
    with pytest.raises(UserError, match="already exists"):
        train(prepared, tmp_path / "run", TINY, device="cpu", progress=False)


def test_without_a_validation_split_best_follows_training_accuracy(prepared, tmp_path):
    report = train(prepared, tmp_path / "run", dataclasses.replace(TINY, val_split="none", epochs=2),
                   device="cpu", progress=False)
    assert (tmp_path / "run" / "best.pt").is_file() and report["monitor"] == "train_top1"
    assert len(report["history"]) == 2


def test_resume_and_init(prepared, tmp_path):
    train(prepared, tmp_path / "a", TINY, device="cpu", progress=False)
    resumed = train(prepared, tmp_path / "a", dataclasses.replace(TINY, epochs=2), device="cpu", progress=False,
                    resume=tmp_path / "a" / "last.pt")
    assert [row["epoch"] for row in resumed["history"]] == [1, 2]
    start, _ = load(tmp_path / "a" / "best.pt")
    # lr 0: the weights stay those of the start checkpoint (BatchNorm running stats aside)
    train(prepared, tmp_path / "b", dataclasses.replace(TINY, lr=0.0), device="cpu", progress=False,
          init=tmp_path / "a" / "best.pt")
    tuned, config = load(tmp_path / "b" / "last.pt")
    assert config.init == str(tmp_path / "a" / "best.pt")
    for (name, p), q in zip(start.named_parameters(), tuned.parameters(), strict=True):
        torch.testing.assert_close(q, p, msg=name)
    with pytest.raises(UserError, match="its width is 4, this run's is 8"):
        train(prepared, tmp_path / "c", dataclasses.replace(TINY, width=8), device="cpu", progress=False,
              init=tmp_path / "a" / "best.pt")
