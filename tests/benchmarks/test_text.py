"""benchmarks/text.py end to end on one real data set (skips without ../shared/data/text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "text"


@pytest.mark.skipif(not (DATA / "SST-2").is_dir(), reason=f"real SST-2 data not found at {DATA}")
def test_text_benchmark_reports_mixed_cnn_and_ngram_figures(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "text.py"), "--datasets", "SST-2",
                           "--epochs", "1", "--seeds", "1", "--rand-on", "", "--data-root", str(DATA),
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "multichannel+ngrams" in done.stdout and "CNN alone" in done.stdout
    cnn = json.loads(out.read_text())["results"]["SST-2"]["cnn"]["multichannel"]
    assert 0 <= cnn["mix_median"] <= 1 and cnn["config"]["ngrams"] == 3
    assert 70 < cnn["ngram_accuracy"] < 90 and 50 < cnn["cnn_accuracy"] <= 100 and 70 < cnn["accuracy"] <= 100
