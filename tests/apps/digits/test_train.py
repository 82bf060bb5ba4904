"""Tests for filterkit.apps.digits.train: the run folder and the checkpoint it holds."""

from __future__ import annotations

import csv

import pytest

torch = pytest.importorskip("torch")

from filterkit.apps.digits.config import DigitsConfig
from filterkit.apps.digits.data import load_builtin_digits
from filterkit.apps.digits.train import APP, train, train_digits_cnn

from filterkit.errors import UserError
from filterkit.visualize.common import load_model


@pytest.fixture(scope="module")
def tiny_digits():
    return load_builtin_digits().limit(192)


def test_train_writes_a_run_folder_with_a_plain_checkpoint(tiny_digits, tmp_path):
    config = DigitsConfig(epochs=2, batch_size=32, device="cpu", threads=1)
    trainer = train(tiny_digits, config, "fixed", seed=3, out=tmp_path / "run")
    trainer.close()
    assert {"best.pt", "last.pt", "metrics.csv", "report.json"} <= {p.name for p in (tmp_path / "run").iterdir()}
    with open(tmp_path / "run" / "metrics.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert ckpt["app"] == APP and ckpt["label_names"] == [str(i) for i in range(10)]
    assert ckpt["config"] == {**config.to_dict(), "variant": "fixed", "seed": 3, "data": "builtin"}
    with pytest.raises(UserError, match="already exists"):
        train(tiny_digits, config, "fixed", seed=3, out=tmp_path / "run")


def test_train_digits_cnn_checkpoint_loads_for_visualize(tiny_digits, tmp_path):
    trainer = train_digits_cnn(tiny_digits, epochs=1, seed=0, device="cpu")
    path = trainer.save_checkpoint(tmp_path / "digits.pt")
    trainer.close()
    vm = load_model(path)
    assert vm.name == "lecture_cnn" and vm.input_shape == (1, 28, 28)
    assert vm.mean == (0.1307,) and vm.std == (0.3081,)
