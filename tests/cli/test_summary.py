"""``filterkit summary`` run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")


def _cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(["filterkit", "summary", *map(str, argv)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_lecture_cnn_table_and_json(tmp_path):
    js = tmp_path / "s.json"
    proc = _cli("lecture_cnn", "--json", js)
    assert proc.returncode == 0, proc.stderr
    assert "conv1 (Conv2d)" in proc.stdout and "Total params:         137,660" in proc.stdout
    report = json.loads(js.read_text())
    assert "environment" in report
    again = _cli("lecture_cnn", "--json", js)
    assert again.returncode == 2 and f"{js}: already exists (use --force to overwrite)" in again.stderr
    assert _cli("lecture_cnn", "--json", js, "--force").returncode == 0


@pytest.mark.parametrize("argv, message", [
    (["lecture_cnn", "--depth", "0"], "--depth: 0 is out of range (>= 1 and <= 100)"),
    (["lecture_cnn", "--input", "1,99999999,28"], "--input: expected positive integers up to 65536"),
    (["no_such_model"], "no_such_model"),
])
def test_mistakes_are_one_line(argv, message):
    proc = _cli(*argv)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
