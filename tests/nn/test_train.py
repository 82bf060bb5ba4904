"""Tests for filterkit.nn.train: seeding, early stopping, checkpoints, resume, metrics files, devices."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from filterkit.errors import UserError
from filterkit.nn.train import (
    CHECKPOINT_FORMAT,
    EarlyStopping,
    Trainer,
    accuracy,
    configure_threads,
    read_checkpoint,
    seed_everything,
    select_device,
)


def _data(n: int = 96, seed: int = 123):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x[:, :, :, 4:].mean(dim=(1, 2, 3)) > x[:, :, :, :4].mean(dim=(1, 2, 3))).long()
    return TensorDataset(x, y)


def _model() -> nn.Module:
    # dropout makes resume-equality depend on the restored RNG state
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Dropout(0.3), nn.Flatten(), nn.Linear(4 * 8 * 8, 2)
    )


def _trainer(model, tmp_path=None, lr=0.05, **kw) -> Trainer:
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    kw.setdefault("max_epochs", 3)
    return Trainer(
        model,
        opt,
        nn.functional.cross_entropy,
        app=kw.pop("app", "test"),
        device="cpu",
        metrics={"accuracy": accuracy},
        out_dir=tmp_path,
        progress=False,
        **kw,
    )


def _loaders(batch_size: int = 16):
    train = DataLoader(_data(), batch_size=batch_size, shuffle=True)
    val = DataLoader(_data(40, seed=7), batch_size=batch_size)
    return train, val


def _run(seed: int, **kw) -> nn.Module:
    seed_everything(seed)
    model = _model()
    _trainer(model, **kw).fit(*_loaders())
    return model


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_same_seed_gives_same_weights_and_other_seed_differs():
    assert _same_weights(_run(0), _run(0))
    assert not _same_weights(_run(0), _run(1))


def test_training_learns_the_task():
    seed_everything(0)
    trainer = _trainer(_model(), max_epochs=8)
    history = trainer.fit(*_loaders())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert trainer.evaluate(_loaders()[1])["accuracy"] > 0.8


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    seed_everything(0)
    # lr=0: the validation loss never changes, so only epoch 1 counts as an improvement
    trainer = _trainer(_model(), lr=0.0, max_epochs=10, early_stopping=("val_loss", "min", 2))
    history = trainer.fit(*_loaders())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert trainer.stopped_early and trainer.best_epoch == 1


def test_early_stopping_keeps_going_while_improving_and_restores_best():
    seed_everything(0)
    trainer = _trainer(_model(), max_epochs=4, early_stopping=EarlyStopping("val_accuracy", "max", patience=10))
    history = trainer.fit(*_loaders())
    assert len(history) == 4 and not trainer.stopped_early
    best = max(history, key=lambda r: r["val_accuracy"])
    assert trainer.best_epoch == best["epoch"]
    assert trainer.restore_best()
    assert trainer.evaluate(_loaders()[1])["accuracy"] == pytest.approx(best["val_accuracy"])


def test_early_stopping_on_val_metric_needs_val_loader():
    trainer = _trainer(_model(), early_stopping=("val_accuracy", "max", 1))
    with pytest.raises(ValueError, match="val_loader"):
        trainer.fit(_loaders()[0])


def test_metrics_files_have_one_row_per_epoch_and_all_columns(tmp_path):
    seed_everything(0)
    _trainer(_model(), tmp_path, max_epochs=2).fit(*_loaders())
    expected = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == expected and [r["epoch"] for r in rows] == ["1", "2"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert [row["epoch"] for row in report["history"]] == [1, 2] and list(report["history"][0]) == expected
    assert float(rows[1]["val_loss"]) == pytest.approx(report["history"][1]["val_loss"])
    assert "environment" in report and report["app"] == "test"


def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    seed_everything(0)
    model = _model()
    trainer = _trainer(model, config={"lr": 0.05, "sizes": [3, 5], "name": "x", "nested": {"a": None}},
                       label_names=["left", "right"], max_epochs=1)
    trainer.fit(*_loaders())
    path = trainer.save_checkpoint(tmp_path / "model.pt", extra={"note": "hello"})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT and raw["app"] == "test" and raw["epoch"] == 1
    assert raw["config"]["sizes"] == [3, 5] and raw["label_names"] == ["left", "right"]
    assert raw["extra"] == {"note": "hello"}
    fresh = _model()
    fresh.load_state_dict(raw["model"])
    assert _same_weights(model, fresh)
    assert read_checkpoint(path, expected_app="test")["history"] == trainer.history


def test_non_plain_config_is_refused_before_training():
    with pytest.raises(TypeError, match="config"):
        _trainer(_model(), config={"path": object()})


def test_wrong_app_checkpoint_gives_clear_error(tmp_path):
    trainer = _trainer(_model(), app="speech")
    path = trainer.save_checkpoint(tmp_path / "speech.pt")
    with pytest.raises(UserError, match=r"speech.pt: checkpoint was trained by app 'speech', not 'text'"):
        read_checkpoint(path, expected_app="text")
    other = _trainer(_model(), app="text")
    with pytest.raises(UserError, match="not 'text'"):
        other.load_checkpoint(path)


class _Opaque:
    """A class weights_only loading refuses."""


def test_not_a_checkpoint_gives_clear_error(tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("hello")
    with pytest.raises(UserError, match=r"notes.pt: not a loadable .* \(not a file written by torch.save\)$"):
        read_checkpoint(bad)
    torch.save({"obj": _Opaque()}, tmp_path / "objects.pt")  # a real torch file that weights_only refuses
    with pytest.raises(UserError, match=r"objects.pt: .*holds Python objects other than tensors.*safety\)$"):
        read_checkpoint(tmp_path / "objects.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(UserError, match="plain.pt: not a filterkit checkpoint"):
        read_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(UserError, match="missing.pt: checkpoint not found"):
        read_checkpoint(tmp_path / "missing.pt")


def _loaders_with_generator(batch_size: int = 16):
    generator = torch.Generator().manual_seed(3)
    train = DataLoader(_data(), batch_size=batch_size, shuffle=True, generator=generator)
    return train, DataLoader(_data(40, seed=7), batch_size=batch_size)


@pytest.mark.parametrize("loaders", [_loaders, _loaders_with_generator], ids=["global-rng", "own-generator"])
def test_resume_equals_uninterrupted_run(tmp_path, loaders):
    def make(out_dir, max_epochs):
        model = _model()
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        trainer = Trainer(model, opt, nn.functional.cross_entropy, device="cpu", scheduler=sched,
                          max_epochs=max_epochs, out_dir=out_dir, progress=False, metrics={"accuracy": accuracy},
                          early_stopping=("val_loss", "min", 10))
        return model, trainer

    seed_everything(0)
    full_model, full = make(tmp_path / "full", 4)
    full.fit(*loaders())

    seed_everything(0)
    _, first = make(tmp_path / "part", 2)
    first.fit(*loaders())
    seed_everything(999)  # resuming must not depend on the seed of the new process
    resumed_model, resumed = make(tmp_path / "part", 4)
    resumed.load_checkpoint(tmp_path / "part" / "last.pt")
    assert resumed.epoch == 2
    resumed.fit(*loaders())

    assert _same_weights(full_model, resumed_model)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
    assert resumed.optimizer.param_groups[0]["lr"] == full.optimizer.param_groups[0]["lr"]
    assert len((tmp_path / "part" / "metrics.csv").read_text().splitlines()) == 1 + 4


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x, scale):
        return self.linear(x) * scale[:, None]


def _collate_tuple(rows):
    x, scale, y = (torch.stack(column) for column in zip(*rows))
    return (x, scale), y


def _collate_dict(rows):
    x, scale, y = (torch.stack(column) for column in zip(*rows))
    return {"x": x, "scale": scale}, y


@pytest.mark.parametrize("collate", [_collate_tuple, _collate_dict], ids=["tuple", "dict"])
def test_tuple_and_dict_inputs_and_after_step(collate):
    data = TensorDataset(torch.randn(20, 3), torch.ones(20), torch.randint(0, 2, (20,)))
    calls = []

    def max_norm(model):
        calls.append(type(model))
        model.linear.weight.clamp_(-0.01, 0.01)

    model = _TwoInputs()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=10.0), nn.functional.cross_entropy,
                      device="cpu", max_epochs=1, after_step=max_norm, progress=False)
    trainer.fit(DataLoader(data, batch_size=5, collate_fn=collate))
    assert model.linear.weight.abs().max() <= 0.01
    assert calls == [_TwoInputs] * 4  # once per step, with the bare model


@pytest.mark.parametrize("clip", [None, 0.1])
def test_grad_clip_bounds_the_step(clip):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0), nn.functional.cross_entropy,
                      device="cpu", max_epochs=1, grad_clip=clip, progress=False)
    trainer.fit(DataLoader(TensorDataset(100 * torch.randn(8, 3), torch.randint(0, 2, (8,))), batch_size=8))
    step = torch.cat([p.detach().flatten() for p in model.parameters()]) - before
    if clip is None:
        assert step.norm() > 1.0
    else:
        assert step.norm() == pytest.approx(clip, rel=1e-4)


def test_reduce_on_plateau_is_stepped_with_the_monitored_metric():
    seen = []

    class Spy(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, *args, **kwargs):
            seen.append(float(metrics))
            return super().step(metrics, *args, **kwargs)

    seed_everything(0)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = Spy(opt, mode="max", patience=0, factor=0.5)
    trainer = Trainer(model, opt, nn.functional.cross_entropy, device="cpu", scheduler=sched, max_epochs=3,
                      progress=False, metrics={"accuracy": accuracy}, early_stopping=("val_accuracy", "max", 10))
    history = trainer.fit(*_loaders())
    assert seen == [row["val_accuracy"] for row in history]


def test_tensorboard_is_used_when_installed_and_skipped_when_not(tmp_path, monkeypatch):
    import sys
    import types

    scalars = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, key, value, step):
            scalars.append((key, step))

        def flush(self):
            pass

        def close(self):
            pass

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    seed_everything(0)
    trainer = _trainer(_model(), tmp_path, max_epochs=2)
    trainer.fit(*_loaders())
    trainer.close()
    assert ("val_accuracy", 2) in scalars and ("train_loss", 1) in scalars
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails: metrics.csv only
    trainer = _trainer(_model(), tmp_path / "plain", max_epochs=1)
    trainer.fit(*_loaders())
    assert trainer._tb is None and (tmp_path / "plain" / "metrics.csv").is_file()


def test_select_device_and_threads(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError, match="unknown device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            select_device("cuda")
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1
        with pytest.raises(UserError):
            configure_threads(0)
        monkeypatch.setenv("FILTERKIT_NUM_THREADS", "two")
        with pytest.raises(UserError, match="FILTERKIT_NUM_THREADS"):
            configure_threads()
    finally:
        torch.set_num_threads(before)


def test_amp_is_off_on_cpu_and_checked():
    trainer = _trainer(_model(), amp=True)
    assert trainer.amp_dtype is None and not trainer.scaler.is_enabled()
    with pytest.raises(ValueError, match="amp"):
        _trainer(_model(), amp="fp8")


def test_accuracy():
    outputs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert float(accuracy(outputs, torch.tensor([1, 0, 0, 0]))) == pytest.approx(0.75)


def test_divergence_is_reported():
    model = nn.Linear(3, 2)
    loss = lambda out, y: out.sum() * float("nan")  # noqa: E731
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), loss, device="cpu", progress=False)
    with pytest.raises(FloatingPointError, match="diverged"):
        trainer.fit(DataLoader(TensorDataset(torch.randn(4, 3), torch.zeros(4)), batch_size=2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", [False, "bf16", "fp16"])
def test_trains_on_cuda_with_amp(tmp_path, amp):
    seed_everything(0)
    model = _model()
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=0.01), nn.functional.cross_entropy,
                      device="cuda", amp=amp, max_epochs=6, metrics={"accuracy": accuracy}, progress=False,
                      out_dir=tmp_path)
    history = trainer.fit(*_loaders())
    assert next(model.parameters()).device.type == "cuda"
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert trainer.evaluate(_loaders()[1])["accuracy"] > 0.7
    ckpt = read_checkpoint(tmp_path / "last.pt", expected_app=trainer.app)
    assert ckpt["model"]["0.weight"].device.type == "cpu"


def test_loaders_are_pinned_on_cuda_only_and_keep_their_order():
    from torch.utils.data import BatchSampler, SequentialSampler

    trainer = _trainer(_model())
    train, val = _loaders_with_generator()
    assert trainer._train_loader(train) is train  # CPU: untouched
    trainer.device = torch.device("cuda")  # what _pinned decides; no batch is drawn, so no GPU is needed
    pinned = trainer._train_loader(train)
    assert pinned.pin_memory and pinned.sampler is train.sampler and pinned.generator is train.generator
    assert pinned.batch_size == train.batch_size and pinned.collate_fn is train.collate_fn
    assert trainer._eval_loader(val).pin_memory
    batched = DataLoader(_data(), batch_sampler=BatchSampler(SequentialSampler(range(96)), 10, False))
    pinned = trainer._eval_loader(batched)
    assert pinned.pin_memory and pinned.batch_sampler is batched.batch_sampler
    already = DataLoader(_data(), batch_size=8, pin_memory=True)
    assert trainer._train_loader(already) is already


def test_channels_last_on_request_trains_like_contiguous_and_is_off_by_default_on_cpu():
    assert not _trainer(_model()).channels_last  # auto: only under CUDA autocast
    def model():  # no dropout: its mask follows the memory layout
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))

    seed_everything(0)
    plain = model()
    _trainer(plain, max_epochs=2).fit(*_loaders())
    seed_everything(0)
    nhwc = model()
    trainer = _trainer(nhwc, max_epochs=2, channels_last=True)
    assert trainer.channels_last and nhwc[0].weight.is_contiguous(memory_format=torch.channels_last)
    trainer.fit(*_loaders())
    for a, b in zip(plain.parameters(), nhwc.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    batch = torch.zeros(2, 1, 8, 8)
    from filterkit.nn.train.loaders import to_device

    assert to_device((batch, torch.zeros(2)), torch.device("cpu"), True)[0].is_contiguous(
        memory_format=torch.channels_last)
