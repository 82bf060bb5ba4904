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
