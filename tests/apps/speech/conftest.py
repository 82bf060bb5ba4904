"""Shared by the speech tests: the installed ``filterkit`` console script in a subprocess, and small tone clips."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

SR = 8000
# small and fast: 2 epochs, small batches, no progress bars
FAST = ["--epochs", "2", "--quiet", "--batch-size", "16"]


def filterkit(*args: str, env: dict | None = None, cwd: Path | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed console script ``filterkit ARGS`` (CPU only, one torch thread)."""
    exe = shutil.which("filterkit")
    if exe is None:
        pytest.skip("the filterkit console script is not installed (pip install -e .)")
    full_env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)


def one_line_error(done: subprocess.CompletedProcess, status: int = 2) -> str:
    """The single stderr line of a failed command (no traceback), after checking the exit status."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == status, done.stdout + done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def word(label: int, speaker: int, take: int, rate: int = SR) -> np.ndarray:
    """A 'word': two tone segments whose pitches depend on the label; speakers shift them a little."""
    rng = np.random.default_rng(100 * label + 10 * speaker + take)
    t = np.arange(int(rate * (0.3 + 0.05 * take))) / rate
    f1, f2 = (300 + 150 * label) * (1 + 0.05 * speaker), (1200 - 100 * label) * (1 + 0.05 * speaker)
    half = t.size // 2
    w = np.concatenate([np.sin(2 * np.pi * f1 * t[:half]), np.sin(2 * np.pi * f2 * t[half:])])
    return (0.5 * w * np.hanning(w.size) + 0.01 * rng.normal(size=w.size)).astype(np.float32)


def write_fsdd_like(root: Path, speakers=("ann", "bob", "cyd"), takes: int = 6) -> Path:
    """3 digits x speakers x takes tone clips, FSDD naming (takes 0-4 are the official test split)."""
    root.mkdir(parents=True, exist_ok=True)
    for label in range(3):
        for s, speaker in enumerate(speakers):
            for take in range(takes):
                sf.write(root / f"{label}_{speaker}_{take}.wav", word(label, s, take), SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="session")
def fsdd_like(tmp_path_factory) -> Path:
    """3 digits x 3 speakers x 6 takes (54 clips)."""
    return write_fsdd_like(tmp_path_factory.mktemp("tones") / "tones")


@pytest.fixture(scope="session")
def trained_run(fsdd_like, tmp_path_factory) -> Path:
    """A run folder trained on every clip (``--eval none``, seed 1) with the cepstral head (``--mix 0.5``)."""
    out = tmp_path_factory.mktemp("run") / "run"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "none", "--out", out, "--seed", 1, "--mix", 0.5)
    assert done.returncode == 0, done.stderr
    return out
