"""train(): the run folder through the engine (best.pt/last.pt with the cepstral head); folds; LOSO summary."""

from __future__ import annotations

import pytest
import torch

from filterkit.apps.speech.config import AugmentConfig, SpeechConfig
from filterkit.apps.speech.data import Clip
from filterkit.apps.speech.train import fit_and_evaluate, loso_summary, run_folds, train
from filterkit.errors import UserError

from .conftest import word

CONFIG = SpeechConfig(model="fpool", epochs=1, batch_size=4, augment=AugmentConfig.off(), mix=0.5)


def _data(n: int = 8):
    return [word(k % 2, 0, k % 5) for k in range(n)], [k % 2 for k in range(n)]


def test_train_writes_the_run_folder_with_the_head(tmp_path):
    waves, targets = _data()
    out = tmp_path / "run"
    trainer = train(waves, targets, ["a", "b"], CONFIG, val_waves=waves[:4], val_targets=targets[:4],
                    device="cpu", out_dir=out, extra={"data": "tones"}, progress=False)
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "metrics.csv", "report.json"}
    for name in ("best.pt", "last.pt"):
        ckpt = torch.load(out / name, map_location="cpu", weights_only=True)
        assert ckpt["config"] == CONFIG.to_dict() and ckpt["extra"]["data"] == "tones"
        assert ckpt["extra"]["cepstral"]["mix"] == 0.5
    assert trainer.best_epoch == 1 and trainer.module.cepstral is not None
    with pytest.raises(UserError, match="already exists"):
        train(waves, targets, ["a", "b"], CONFIG, device="cpu", out_dir=out, progress=False)


def test_folds_run_inline_and_summarise(tmp_path):
    waves, targets = _data()
    clips = [Clip(tmp_path / f"{k}.wav", "ab"[t], "s") for k, t in enumerate(targets)]
    job = {"train_waves": waves, "train_targets": targets, "test_waves": waves[:2], "test_clips": clips[:2],
           "labels": ["a", "b"], "config": CONFIG.to_dict(), "noise": [], "threads": 1}
    (index, result), = list(run_folds([job], 1))
    assert index == 0 and result["n"] == 2 and result["train_s"] > 0
    assert fit_and_evaluate(job)["accuracy"] == result["accuracy"]  # seeded: the same again
    rows = [{"speaker": s, "seed": seed, "accuracy": a} for seed, s, a in
            [(0, "x", 0.5), (0, "y", 1.0), (1, "x", 0.7), (1, "y", 0.9)]]
    summary = loso_summary(rows, [0, 1])
    assert summary["mean"] == pytest.approx(0.775) and summary["min"] == pytest.approx(0.6)
    assert summary["seed_means"] == pytest.approx([0.75, 0.8]) and summary["per_speaker_mean"]["y"] == 0.95
