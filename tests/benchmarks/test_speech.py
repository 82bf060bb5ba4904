"""benchmarks/speech.py: model sizes (the cepstral head counted) and an end-to-end run on tiny FSDD-named tones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from ..conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "speech.py"


def test_model_size_adds_the_cepstral_head():
    from filterkit.apps.speech.config import SpeechConfig

    bench = load_benchmark("speech")
    options = {"filters": [16, 16], "stride_t": 2, "k_t": [20, 4]}
    cnn = bench.model_size(SpeechConfig(model="trad-fpool3", model_options=options), 10)
    mixed = bench.model_size(SpeechConfig(model="trad-fpool3", model_options=options, mix=0.5), 10)
    assert (cnn["params"], cnn["macs"]) == (28_682, 748_400)
    assert mixed["cepstral_params"] == 52 * 2 + 52 * 10 + 10
    assert mixed["cepstral_macs"] == 101 * 13 * (40 + 9) + 52 + 520  # one second: 101 frames of 10 ms
    assert mixed["params"] == cnn["params"] + mixed["cepstral_params"] and mixed["macs"] == cnn["macs"] + 64_909
    assert mixed["params"] <= 50_000 and mixed["macs"] <= 1_000_000


def test_benchmark_runs_on_fsdd_named_tones(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "tones"
    data.mkdir()
    for digit in range(3):
        for s, speaker in enumerate(("ann", "bob")):
            for take in range(7):
                t = np.arange(int(8000 * (0.3 + 0.03 * take))) / 8000
                w = np.sin(2 * np.pi * (300 + 250 * digit) * (1 + 0.04 * s) * t) + 0.02 * rng.normal(size=t.size)
                sf.write(data / f"{digit}_{speaker}_{take}.wav", (0.5 * w).astype(np.float32), 8000)
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--data", str(data), "--models", "fstack", "--seeds", "1",
                           "--epochs", "2", "--jobs", "1", "--mix", "0.5", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    entry = report["models"]["fstack"]
    assert report["mix"] == 0.5 and entry["config"]["mix"] == 0.5
    assert 0 <= entry["official"]["mean"] <= 1 and {f["speaker"] for f in entry["loso"]["folds"]} == {"ann", "bob"}
    assert entry["cepstral_params"] > 0 and "fstack" in done.stdout
