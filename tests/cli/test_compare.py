"""``filterkit compare`` run as a user runs it (the console script, built-in digits, a tiny run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")


def _cli(*argv, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["filterkit", "compare", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_tiny_run_writes_report_png_json_and_refuses_to_overwrite(tmp_path):
    out, js = tmp_path / "cmp", tmp_path / "c.json"
    argv = ["--data", "builtin", "--epochs", "1", "--seeds", "1", "--variants", "fixed", "--limit", "160",
            "--batch-size", "32", "-o", out, "--json", js, "--quiet"]
    proc = _cli(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "| fixed |" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["compare.json", "compare.png", "report.md"]
    report = json.loads(js.read_text())
    assert report["epochs"] == 1 and "environment" in report
    again = _cli(*argv, timeout=120)
    assert again.returncode == 2 and "already exists (use --force to overwrite)" in again.stderr


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs: 0 is out of range (>= 1 and <= 1000)"),
    (["--lr", "nan"], "--lr: nan is out of range"),
    (["--jobs", "100000"], "--jobs: 100000 is out of range"),
])
def test_numeric_options_are_checked_at_parse_time(argv, message):
    proc = _cli(*argv, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
