"""Apps under ``torchrun``: 2 CPU processes (gloo) train the text CNN; only rank 0 writes files.

The run is the documented command line, ``torchrun --standalone --nproc_per_node=2
-m filterkit.cli text train ...``, on a tiny generated SST-2-shaped corpus whose
classes are told apart by one word.  A ``sitecustomize`` module on PYTHONPATH
records, in each process, every file written through ``filterkit.io.atomic_write``
(the engine's checkpoints and ``write_json`` use it), with the process's RANK.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
TORCHRUN = shutil.which("torchrun")
pytestmark = pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not on PATH")



def _corpus(root: Path, seed: int = 0) -> None:
    """``root/SST-2``: label-text lines; label 1 sentences hold one 'good' word, label 0 one 'bad' word."""
    rng = random.Random(seed)
    good = "great superb lovely moving brilliant warm funny".split()
    bad = "awful dull boring messy weak tedious bland".split()
    filler = "the a film movie story plot acting was is and it this".split()
    folder = root / "SST-2"
    folder.mkdir(parents=True)

    def line(y: int) -> str:
        words = [rng.choice(filler) for _ in range(rng.randint(4, 9))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(good if y else bad))
        return f"{y} {' '.join(words)}"

    for name, n in (("stsa.binary.train", 240), ("stsa.binary.dev", 60), ("stsa.binary.test", 60)):
        (folder / name).write_text("\n".join(line(i % 2) for i in range(n)) + "\n")


def test_python_m_filterkit_cli_runs():
    done = subprocess.run([sys.executable, "-m", "filterkit.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "text" in done.stdout


def test_text_train_two_processes(tmp_path, write_spy):
    _corpus(tmp_path)
    env = write_spy.env
    out, report = tmp_path / "run", tmp_path / "report.json"
    cmd = [
        TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "filterkit.cli", "text", "train", "SST-2",
        "--data-root", str(tmp_path), "--variant", "rand", "--dim", "16", "--maps", "8", "--optimizer", "adam",
        "--lr", "0.01", "--epochs", "6", "--batch-size", "20", "--out", str(out), "--json", str(report),
        "--quiet", "--seed", "1",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr

    writes = write_spy.writes()
    assert {rank for rank, _ in writes} == {"0"}, writes  # rank 0 only
    run_files = {str(out / name) for name in ("best.pt", "last.pt", "metrics.csv", "report.json")}
    assert {path for _, path in writes} == run_files | {str(report)}, writes
    assert [path for _, path in writes].count(str(report)) == 1
    assert done.stdout.count("run folder") == 1 and done.stdout.count("test accuracy") == 1, done.stdout

    figures = json.loads(report.read_text())
    assert figures["test_accuracy"] >= 0.9, figures  # one word decides the class: a working model finds it
    assert figures["dev_accuracy"] >= 0.9
    assert 1 <= figures["best_epoch"] <= figures["epochs"] <= 6

    # the checkpoint is a normal one: a single process evaluates it to the same test accuracy
    evaluated = subprocess.run(
        [sys.executable, "-m", "filterkit.cli", "text", "eval", "SST-2", "--model", str(out), "--data-root", str(tmp_path),
         "--json", str(tmp_path / "eval.json")],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["accuracy"] == pytest.approx(figures["test_accuracy"])
