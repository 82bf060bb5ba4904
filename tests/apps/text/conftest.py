"""Shared fixtures for the text app tests: a small synthetic sentiment set and the real-data root."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "text"

POSITIVE = ["good", "great", "fine", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "poor", "dull", "boring"]
FILLER = "the movie was really quite a film story plot and".split()


def synthetic_sentences(n: int = 160, seed: int = 0) -> list[tuple[str, str]]:
    """``(label, text)`` pairs: the label is decided by one sentiment word among filler words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        word = rng.choice(POSITIVE if label == "pos" else NEGATIVE)
        words = rng.sample(FILLER, rng.randint(0, 6)) + [word] + rng.sample(FILLER, rng.randint(0, 4))
        rows.append((label, " ".join(words)))
    return rows


@pytest.fixture
def label_text_file(tmp_path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text("".join(f"{y} {t}\n" for y, t in synthetic_sentences(240)), encoding="utf-8")
    return path


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {REAL_DATA}")
    return REAL_DATA


FAST_CONFIG = dict(variant="rand", maps=6, widths=[2, 3], dim=12, optimizer="adam", lr=0.03, epochs=6, patience=6)
FAST_OPTIONS = ["--variant", "rand", "--maps", "6", "--widths", "2,3", "--dim", "12", "--optimizer", "adam",
                "--lr", "0.03", "--epochs", "6", "--patience", "6", "--quiet"]


def write_split(folder: Path) -> Path:
    """``folder/SST-2``: an SST-2-shaped benchmark folder (train/dev/test 'label text' files, labels 0/1)."""
    bench = folder / "SST-2"
    bench.mkdir(parents=True)
    for name, n, seed in (("stsa.binary.train", 200, 1), ("stsa.binary.dev", 40, 2), ("stsa.binary.test", 60, 3)):
        rows = synthetic_sentences(n, seed)
        (bench / name).write_text("".join(f"{int(y == 'pos')} {t}\n" for y, t in rows), encoding="utf-8")
    return bench


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A run folder of :func:`filterkit.apps.text.train.train` on a small synthetic split (n-grams mixed in)."""
    from filterkit.apps.text.config import TextConfig
    from filterkit.apps.text.cv import fixed_split
    from filterkit.apps.text.data import load_data

    root = tmp_path_factory.mktemp("text_run")
    corpus = load_data(str(write_split(root / "data")))
    out = root / "run"
    fixed_split(TextConfig(**FAST_CONFIG), corpus, seed=0, device="cpu", progress=False, out=out)
    return out
