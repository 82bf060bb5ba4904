"""Tests for filterkit.apps.digits.compare and ``filterkit compare`` (built-in digits, tiny runs)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.cli import main
from filterkit.apps.digits.compare import (
    VARIANTS,
    CompareConfig,
    build_variant,
    count_parameters,
    first_conv,
    fixed_bank_names,
    parse_seeds,
    run_compare,
    train_run,
)
from filterkit.apps.digits.data import load_builtin_digits
from filterkit.errors import UserError
from filterkit.nn.layers import FIXED_BANK, kernel_bank

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


def test_config_rejects_unknown_variant_and_bad_numbers():
    with pytest.raises(UserError, match="unknown variant 'sobel'"):
        CompareConfig(variants=("learned", "sobel"))
    with pytest.raises(UserError, match="--epochs"):
        CompareConfig(epochs=0)
    with pytest.raises(UserError, match="--lr"):
        CompareConfig(lr=0.0)


def test_variants_share_init_and_differ_only_in_conv1():
    learned, fixed, random = (build_variant(v, seed=3) for v in ("learned", "fixed", "random"))
    conv_l, conv_f, conv_r = (first_conv(m)[2] for m in (learned, fixed, random))
    assert conv_l.weight.shape == conv_f.weight.shape == (25, 1, 3, 3)
    # the random frozen conv1 is the learned variant's starting point (paired runs)
    torch.testing.assert_close(conv_l.weight, conv_r.weight, rtol=0, atol=0)
    # the fixed conv1 holds the bank's kernels, cycled to 25 filters
    names = fixed_bank_names(25)
    assert len(names) == 25 and set(names) == set(FIXED_BANK)
    expected = kernel_bank(names, 3)
    np.testing.assert_allclose(conv_f.weight.detach().numpy()[:, 0], expected, rtol=0, atol=1e-7)
    # every later layer starts from the same weights in all variants
    later = [(n, p) for n, p in learned.named_parameters() if not n.startswith(_conv1_prefix(learned))]
    fixed_params = dict(fixed.named_parameters())
    for name, p in later:
        torch.testing.assert_close(p, fixed_params[name], rtol=0, atol=0)
    x = torch.zeros(2, 1, 28, 28)
    assert learned(x).shape == fixed(x).shape == (2, 10)


def _conv1_prefix(model) -> str:
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            return name + "."
    raise AssertionError("no conv")


def test_parameter_counts_total_and_trainable():
    counts = {v: count_parameters(build_variant(v, seed=0)) for v in VARIANTS}
    total_learned, trainable_learned = counts["learned"]
    conv1 = 25 * 1 * 3 * 3 + 25  # weight + bias
    assert trainable_learned == total_learned
    for frozen in ("fixed", "random"):
        assert counts[frozen][0] == total_learned
        assert counts[frozen][1] == total_learned - conv1


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


def test_cli_compare_writes_report_json_and_png(tmp_path, capsys):
    out = tmp_path / "cmp"
    json_path = tmp_path / "extra.json"
    argv = ["compare", "--data", "builtin", "--epochs", "1", "--seeds", "2", "--limit", "160",
            "--batch-size", "32", "-o", str(out), "--json", str(json_path), "--no-progress"]
    assert main(argv) == 0
    report = (out / "report.md").read_text()
    assert "| learned |" in report and "| fixed |" in report and "| random |" in report
    assert (out / "compare.png").read_bytes()[:8] == PNG_MAGIC
    data = json.loads(json_path.read_text())
    assert data == json.loads((out / "compare.json").read_text())
    assert data["epochs"] == 1 and data["seeds"] == [0, 1]
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
    # no silent overwrite
    capsys.readouterr()
    assert main(argv) == 2
    assert "already exists (use --force" in capsys.readouterr().err


def test_cli_compare_user_errors_are_one_line(tmp_path, capsys):
    assert main(["compare", "--data", str(tmp_path / "absent"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("filterkit: error: ") and "absent: data folder not found" in err and err.count("\n") == 1
    assert main(["compare", "--data", "builtin", "--variants", "learned,bogus"]) == 2
    assert "unknown variant 'bogus'" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"real MNIST not present at {SHARED_MNIST}")
def test_compare_on_real_mnist_subset(tmp_path):
    argv = ["compare", "--data", str(SHARED_MNIST), "--epochs", "1", "--seeds", "1", "--variants", "fixed",
            "--limit", "2000", "--json", str(tmp_path / "m.json"), "--no-progress"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["dataset"]["name"] == "mnist" and data["dataset"]["test"] == 10000
    # 2,000 training images and one epoch already put the fixed bank far above chance
    assert data["variants"]["fixed"]["mean"][0] > 0.8
