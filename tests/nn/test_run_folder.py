"""TrainConfig (options as data, the keyword form, keep_best / patience=None) and the RunFolder API."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from filterkit.errors import UserError
from filterkit.nn.train import (
    CHECKPOINT_FORMAT,
    EarlyStopping,
    RunFolder,
    TrainConfig,
    Trainer,
    accuracy,
    read_checkpoint,
    seed_everything,
)


def _loaders():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > x[:, 1]).long()
    return DataLoader(TensorDataset(x, y), batch_size=16), DataLoader(TensorDataset(x[:32], y[:32]), batch_size=16)


def _trainer(config: TrainConfig, **kw) -> Trainer:
    seed_everything(0)
    model = nn.Linear(4, 2)
    return Trainer(model, torch.optim.SGD(model.parameters(), lr=0.5), nn.functional.cross_entropy,
                   config=config, metrics={"accuracy": accuracy}, **kw)


# ------------------------------------------------------------------ TrainConfig


def test_train_config_defaults_validation_and_mode_inference():
    assert TrainConfig().early_stopping() is None
    assert TrainConfig(monitor="val_loss").mode == "min" and TrainConfig(monitor="val_accuracy").mode == "max"
    assert TrainConfig(monitor="val_loss", patience=2).early_stopping() == EarlyStopping("val_loss", "min", 2)
    for bad in ({"patience": 3}, {"keep_best": True}, {"monitor": "val_loss", "mode": "up"},
                {"monitor": "val_loss", "patience": -1}, {"scheduler_interval": "batch"}, {"amp": "fp8"},
                {"epochs": -1}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    assert json.loads(json.dumps(TrainConfig(out_dir="runs/x").to_dict()))["out_dir"] == "runs/x"


def test_train_config_takes_the_older_keywords():
    cfg = TrainConfig.from_keywords(max_epochs=4, early_stopping=("val_top1", "max", 10), device=torch.device("cpu"))
    assert (cfg.epochs, cfg.monitor, cfg.mode, cfg.patience, cfg.device) == (4, "val_top1", "max", 10, "cpu")
    assert cfg.replace(monitor="val_loss").mode == "min"  # inferred again for the new metric
    assert cfg.replace(early_stopping=None).monitor is None
    with pytest.raises(TypeError, match="unknown training option"):
        cfg.replace(max_epoch=3)


def test_trainer_keyword_form_and_config_form_agree():
    old = Trainer(nn.Linear(4, 2), torch.optim.SGD(nn.Linear(4, 2).parameters(), lr=0.1),
                  nn.functional.cross_entropy, config={"n": 3}, max_epochs=2, device="cpu", progress=False,
                  early_stopping=("val_accuracy", "max", 1))
    new = _trainer(TrainConfig(epochs=2, device="cpu", progress=False, monitor="val_accuracy", patience=1),
                   app_config={"n": 3})
    assert old.train_config == new.train_config and old.config == new.config == {"n": 3}
    override = _trainer(TrainConfig(epochs=2, progress=False), device="cpu", max_epochs=5)
    assert override.max_epochs == 5 and override.device == torch.device("cpu")


def test_app_config_may_be_a_dataclass_and_is_saved_as_a_plain_dict(tmp_path):
    @dataclasses.dataclass
    class AppConfig:
        widths: tuple = (3, 4)
        name: str = "x"

    trainer = _trainer(TrainConfig(device="cpu", progress=False), app="demo", app_config=AppConfig())
    path = trainer.save_checkpoint(tmp_path / "c.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT and raw["config"] == {"widths": (3, 4), "name": "x"}


# ------------------------------------------------------- best epoch, patience


def test_keep_best_without_early_stop_trains_every_epoch_and_ends_on_the_best(tmp_path):
    cfg = TrainConfig(epochs=6, device="cpu", progress=False, monitor="val_loss", patience=None, keep_best=True,
                      out_dir=str(tmp_path / "run"))
    trainer = _trainer(cfg)
    train, val = _loaders()
    history = trainer.fit(train, val)
    assert len(history) == 6 and not trainer.stopped_early
    best = min(history, key=lambda r: r["val_loss"])
    assert trainer.best_epoch == best["epoch"]
    assert trainer.evaluate(val)["loss"] == pytest.approx(best["val_loss"])  # the model holds the best epoch
    assert read_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == best["epoch"]
    assert read_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 6


def test_without_a_monitor_the_last_epoch_is_best_pt(tmp_path):
    trainer = _trainer(TrainConfig(epochs=2, device="cpu", progress=False, out_dir=str(tmp_path)))
    trainer.fit(_loaders()[0])
    assert read_checkpoint(tmp_path / "best.pt")["epoch"] == 2 and not trainer.restore_best()


# ------------------------------------------------------------------ RunFolder


def test_run_folder_writes_the_four_files(tmp_path):
    trainer = _trainer(TrainConfig(epochs=2, device="cpu", progress=False, monitor="val_accuracy",
                                   out_dir=str(tmp_path / "run")), app="demo")
    trainer.fit(*_loaders())
    trainer.write_report({"test_accuracy": 0.5})
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "last.pt", "metrics.csv", "report.json"]
    for name in ("best.pt", "last.pt"):
        assert torch.load(run / name, weights_only=True)["app"] == "demo"
    report = json.loads((run / "report.json").read_text())
    assert report["test_accuracy"] == 0.5 and report["epochs"] == 2 and report["monitor"] == "val_accuracy"
    assert report["train_config"]["epochs"] == 2 and "environment" in report
    with open(run / "metrics.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]


def test_run_folder_refuses_an_earlier_run_unless_force_or_resume(tmp_path):
    cfg = TrainConfig(epochs=1, device="cpu", progress=False, out_dir=str(tmp_path))
    _trainer(cfg).fit(_loaders()[0])
    with pytest.raises(UserError, match=r"best.pt: already exists \(use --force to overwrite\)"):
        _trainer(cfg)
    _trainer(cfg.replace(force=True))
    resumed = _trainer(cfg.replace(epochs=2, resume=str(tmp_path / "last.pt")))
    assert resumed.epoch == 1
    resumed.fit(_loaders()[0])
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 3
    # the keyword form keeps its old behaviour: no refusal unless force=False is asked for
    model = nn.Linear(4, 2)
    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy, out_dir=tmp_path,
            device="cpu", progress=False)


def test_run_folder_api_directly(tmp_path):
    run = RunFolder(tmp_path / "out", force=False)
    assert not (tmp_path / "out").exists()  # created at the first write
    run.append_metrics({"epoch": 1, "loss": 0.5})
    run.append_metrics({"epoch": 2, "loss": 0.25, "acc": 0.9})
    text = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert text == ["epoch,loss,acc", "1,0.5,", "2,0.25,0.9"]
    run.save_last({"format": CHECKPOINT_FORMAT, "epoch": 2})
    run.save_best({"format": CHECKPOINT_FORMAT, "epoch": 1})
    assert read_checkpoint(run.best)["epoch"] == 1 and read_checkpoint(run.last)["epoch"] == 2
    run.write_report({"figure": 1.0}, device="cpu")
    assert json.loads(run.report.read_text())["environment"]["device"] == "cpu"
    with pytest.raises(UserError, match="already exists"):
        RunFolder(tmp_path / "out")
    RunFolder(tmp_path / "out", force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        RunFolder(tmp_path / "file")


def test_an_oversized_checkpoint_is_refused_before_reading(tmp_path, monkeypatch):
    from filterkit.errors import UserError
    from filterkit.nn.train import checkpoint

    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * 2048)
    monkeypatch.setattr(checkpoint, "MAX_CHECKPOINT_BYTES", 1024)
    with pytest.raises(UserError, match="larger than a checkpoint may be"):
        checkpoint.read_checkpoint(big)
