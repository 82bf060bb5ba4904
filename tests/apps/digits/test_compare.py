"""Tests for filterkit.apps.digits.compare (built-in digits, tiny runs); the CLI itself: tests/cli/test_compare.py."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.apps.digits.compare import (
    OUTPUT_NAMES,
    VARIANTS,
    CompareConfig,
    parse_seeds,
    run_compare,
    train_run,
    write_outputs,
)
from filterkit.apps.digits.data import load_builtin_digits, load_digits_data

from filterkit.errors import UserError

SHARED_MNIST = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_digits():
    return load_builtin_digits().limit(192)


def test_parse_seeds_count_and_list():
    assert parse_seeds("3") == (0, 1, 2)
    assert parse_seeds("2", base_seed=10) == (10, 11)
    assert parse_seeds("4,0,7") == (4, 0, 7)
    for bad in ("0", "x", "1,a"):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.parametrize("variant", ["fixed", "random"])
def test_frozen_variants_keep_conv1_unchanged(tiny_digits, variant):
    run = train_run(tiny_digits, variant, seed=0, config=CompareConfig(epochs=1, batch_size=32))
    np.testing.assert_array_equal(run.conv1_final, run.conv1_initial)
    assert len(run.test_accuracy) == 1 and 0.0 <= run.test_accuracy[0] <= 1.0


def test_learned_variant_changes_conv1(tiny_digits):
    run = train_run(tiny_digits, "learned", seed=0, config=CompareConfig(epochs=1, batch_size=32))
    assert np.abs(run.conv1_final - run.conv1_initial).max() > 1e-4


@pytest.mark.slow
def test_parallel_jobs_give_the_same_numbers_as_one_process(tiny_digits):
    config = CompareConfig(epochs=1, seeds=(0,), variants=("learned", "fixed"), batch_size=32)
    serial = run_compare(tiny_digits, config, progress=False)
    parallel = run_compare(tiny_digits, dataclasses.replace(config, jobs=2), progress=False)
    for variant in config.variants:
        assert serial.runs_of(variant)[0].test_accuracy == parallel.runs_of(variant)[0].test_accuracy
        np.testing.assert_array_equal(serial.runs_of(variant)[0].conv1_final, parallel.runs_of(variant)[0].conv1_final)


def test_outputs_hold_every_run_and_the_json_matches_the_report(tiny_digits, tmp_path):
    config = CompareConfig(epochs=1, seeds=(0, 1), batch_size=32)
    result = run_compare(tiny_digits.limit(160), config, progress=False)
    written = write_outputs(result, tmp_path / "cmp", command="filterkit compare ...")
    assert sorted(p.name for p in written) == sorted(OUTPUT_NAMES)
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "| learned |" in report and "| fixed |" in report and "| random |" in report
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == PNG_MAGIC
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert data["epochs"] == 1 and data["seeds"] == [0, 1] and data["config"]["variants"] == list(VARIANTS)
    assert data["dataset"]["name"] == "builtin" and data["dataset"]["train"] == 160
    assert set(data["variants"]) == {"learned", "fixed", "random"}
    for name, entry in data["variants"].items():
        assert set(entry["seeds"]) == {"0", "1"}
        per_seed = np.array([entry["seeds"][s]["test_accuracy"] for s in ("0", "1")])
        assert per_seed.shape == (2, 1)
        np.testing.assert_allclose(entry["mean"], per_seed.mean(axis=0))
        np.testing.assert_allclose(entry["std"], per_seed.std(axis=0, ddof=1))
        assert entry["trainable_params"] <= entry["params"]
    assert data["variants"]["fixed"]["trainable_params"] == data["variants"]["learned"]["params"] - 250


@pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")
@pytest.mark.parametrize("argv, message", [
    (["--data", "{tmp}/absent"], "absent: data folder not found"),
    (["--data", "builtin", "--variants", "learned,bogus"], "unknown variant 'bogus'"),
])
def test_cli_compare_user_errors_are_one_line(tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run(["filterkit", "compare", *argv, "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("filterkit: error: ") and message in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"real MNIST not present at {SHARED_MNIST}")
def test_compare_on_real_mnist_subset():
    data = load_digits_data(str(SHARED_MNIST)).limit(2000)
    result = run_compare(data, CompareConfig(epochs=1, seeds=(0,), variants=("fixed",)), progress=False)
    summary = result.to_json()
    assert summary["dataset"]["name"] == "mnist" and summary["dataset"]["test"] == 10000
    # 2,000 training images and one epoch already put the fixed bank far above chance
    assert summary["variants"]["fixed"]["mean"][0] > 0.8
