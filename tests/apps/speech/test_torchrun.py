"""``filterkit speech train`` under torchrun: 2 CPU processes (gloo); only rank 0 prints and writes.

The run is ``python -m torch.distributed.run --standalone --nproc_per_node=2 -m
filterkit.cli speech train ...`` on tiny generated FSDD-named tone clips, 1 epoch.
A ``sitecustomize`` module on PYTHONPATH records, in each process, every file
written through ``filterkit.io.atomic_write`` (checkpoints, ``write_json`` and the
confusion-matrix PNG use it), with the process's RANK.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
sf = pytest.importorskip("soundfile")

SR = 8000



def _word(label: int, speaker: int, take: int) -> np.ndarray:
    """Two tone segments (0.3-0.5 s) whose pitches depend on the label; speakers shift them 5 %."""
    rng = np.random.default_rng(100 * label + 10 * speaker + take)
    t = np.arange(int(SR * (0.3 + 0.02 * take))) / SR
    f1, f2 = (300 + 150 * label) * (1 + 0.05 * speaker), (1200 - 100 * label) * (1 + 0.05 * speaker)
    half = t.size // 2
    w = np.concatenate([np.sin(2 * np.pi * f1 * t[:half]), np.sin(2 * np.pi * f2 * t[half:])])
    return (0.5 * w * np.hanning(w.size) + 0.01 * rng.normal(size=w.size)).astype(np.float32)


def _fsdd_like(root: Path) -> Path:
    """3 digits x 2 speakers x 8 takes, FSDD naming: takes 0-4 are the official test split (30 clips)."""
    root.mkdir()
    for label in range(3):
        for s, speaker in enumerate(("ann", "bob")):
            for take in range(8):
                sf.write(root / f"{label}_{speaker}_{take}.wav", _word(label, s, take), SR, subtype="PCM_16")
    return root


@pytest.mark.slow
def test_speech_train_two_processes(tmp_path, write_spy):
    data = _fsdd_like(tmp_path / "tones")
    env = write_spy.env
    out, report = tmp_path / "run", tmp_path / "out.json"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "filterkit.cli", "speech", "train", str(data), "--eval", "official", "--epochs", "1",
        "--batch-size", "4", "--arch", "fpool", "--quiet", "--seed", "1", "--device", "cpu",
        "--out", str(out), "--json", str(report),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    writes = write_spy.writes()
    assert {rank for rank, _ in writes} == {"0"}, writes  # rank 1 wrote nothing
    paths = [p for _, p in writes]
    for path in (report, out / "report.json", out / "confusion.png"):
        assert paths.count(str(path)) >= 1, writes
    for name in ("best.pt", "last.pt", "metrics.csv"):
        assert str(out / name) in paths, writes
    assert done.stdout.count("seed 1: accuracy") == 1, done.stdout
    assert done.stdout.count("run folder:") == 1, done.stdout

    figures = json.loads(report.read_text())
    assert figures["n"] == 30 and figures["train_clips"] == 18, figures
    assert 0.0 <= figures["accuracy"] <= 1.0
    assert sum(v["n"] for v in figures["per_speaker"].values()) == 30
    assert np.array(figures["confusion"]).sum() == 30
    assert f"seed 1: accuracy {figures['accuracy']:.2%} on 30 clips" in done.stdout

    # the checkpoint is a normal one: a single process scores the same test clips alike
    evaluated = subprocess.run(
        [sys.executable, "-m", "filterkit.cli", "speech", "eval", str(data), "--model", str(out / "best.pt"),
         "--split", "test", "--json", str(tmp_path / "eval.json")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["n"] == 30 and result["accuracy"] == pytest.approx(figures["accuracy"])
    assert result["confusion"] == figures["confusion"]


def test_loso_jobs_refused_under_torchrun(tmp_path, monkeypatch, capsys):
    from filterkit.cli import main

    data = _fsdd_like(tmp_path / "tones")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert main(["speech", "train", str(data), "--eval", "loso", "--jobs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--jobs 2" in err and "torchrun" in err and len(err.strip().splitlines()) == 1
