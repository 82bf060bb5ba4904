"""Shared fixtures for the go app tests."""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "go"


@pytest.fixture
def kgs_data() -> Path:
    """The shared KGS copy (skips when absent)."""
    if not (DATA / "manifest.csv.gz").is_file():
        pytest.skip(f"go data not found at {DATA}")
    return DATA
