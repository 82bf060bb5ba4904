"""``filterkit models`` and :mod:`filterkit.models`: packing a run's checkpoint, the catalogue, lookup, checksums.

Tests that pack write into a temporary folder named by ``FILTERKIT_MODELS_DIR``; the console script
runs in a subprocess with the same variable.  The shipped catalogue is checked as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import torch

import filterkit.models as models
from filterkit.errors import UserError
from filterkit.nn.train.checkpoint import CHECKPOINT_FORMAT, read_checkpoint

needs_script = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")


def _checkpoint(path, app="text"):
    """A small filterkit checkpoint of a real module, with training state to be dropped."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3), torch.nn.BatchNorm1d(8), torch.nn.Linear(5, 2))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 4, 7)).sum().backward()
    opt.step()
    ckpt = {"format": CHECKPOINT_FORMAT, "app": app, "config": {"width": 8}, "label_names": ["neg", "pos"],
            "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": None, "scaler": None,
            "epoch": 3, "history": [{"epoch": 1, "val_accuracy": 0.5}], "rng": {"torch": torch.get_rng_state()},
            "early_stopping": {"best_value": 0.5, "best_epoch": 1, "bad_epochs": 0}, "extra": {"vocab": ["a"]}}
    torch.save(ckpt, path)
    return net


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "models"
    d.mkdir()
    (d / "catalogue.json").write_text("[]\n")
    monkeypatch.setenv(models.ENV_VAR, str(d))
    return d


def _pack(tmp_path, name="text-sst2", app="text", half=True):
    src = tmp_path / f"{name}-best.pt"
    net = _checkpoint(src, app)
    e = models.pack(src, name, app, "sentiment (positive/negative)", models.data_info("sst2", "glove"),
                    {"split": "SST-2 test", "accuracy": 0.8125}, f"filterkit {app} train --out runs/{app}", half=half)
    return net, e


def test_pack_writes_a_compact_checkpoint_and_a_catalogue_entry(tmp_path, folder):
    net, e = _pack(tmp_path)
    path = folder / "text-sst2.pt"
    assert e["file"] == path.name and e["bytes"] == path.stat().st_size == os.path.getsize(path)
    assert e["sha256"] == models.sha256(path) and len(e["sha256"]) == 64
    assert e["data"]["licence"] and "Socher" in e["data"]["attribution"] and "PDDL" in e["data"]["licence"]
    assert json.loads((folder / "catalogue.json").read_text()) == [e]
    ckpt = read_checkpoint(path, expected_app="text")  # still a filterkit checkpoint (weights_only)
    for key in ("optimizer", "rng", "scheduler", "early_stopping"):
        assert key not in ckpt
    assert ckpt["config"] == {"width": 8} and ckpt["label_names"] == ["neg", "pos"]
    assert ckpt["model"]["0.weight"].dtype == torch.float16
    assert ckpt["model"]["1.num_batches_tracked"].dtype == torch.int64  # integers stay
    fresh = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3), torch.nn.BatchNorm1d(8), torch.nn.Linear(5, 2))
    fresh.load_state_dict(ckpt["model"])  # float16 is copied back into float32 parameters
    assert fresh[0].weight.dtype == torch.float32
    torch.testing.assert_close(fresh[0].weight, net[0].weight, atol=1e-3, rtol=1e-3)
    assert models.verify("text-sst2") == path


def test_pack_replaces_an_entry_of_the_same_name_and_keeps_full_precision(tmp_path, folder):
    _pack(tmp_path, "text-sst2")
    _pack(tmp_path, "speech-digits", app="speech")
    net, e = _pack(tmp_path, "text-sst2", half=False)
    assert [x["name"] for x in models.catalogue()] == ["text-sst2", "speech-digits"]
    assert models.catalogue("speech")[0]["app"] == "speech" and e["half"] is False
    state = read_checkpoint(folder / "text-sst2.pt")["model"]
    torch.testing.assert_close(state["0.weight"], net[0].weight, atol=0, rtol=0)


def test_pack_refuses_bad_arguments(tmp_path, folder):
    src = tmp_path / "best.pt"
    _checkpoint(src, app="go")
    with pytest.raises(UserError, match="app 'go', not 'text'"):
        models.pack(src, "x", "text", "t", "sst2", {"split": "test", "accuracy": 1.0}, "cmd")
    with pytest.raises(ValueError, match="split"):
        models.pack(src, "x", "go", "t", "kgs", {"accuracy": 1.0}, "cmd")
    with pytest.raises(ValueError, match="model name"):
        models.pack(src, "../x", "go", "t", "kgs", {"split": "test"}, "cmd")
    with pytest.raises(ValueError, match="unknown data set"):
        models.pack(src, "x", "go", "t", "nope", {"split": "test"}, "cmd")
    assert models.catalogue() == []


def test_resolve_names_paths_and_one_line_errors(tmp_path, folder):
    _pack(tmp_path, "text-sst2")
    _pack(tmp_path, "text-trec")
    _pack(tmp_path, "speech-digits", app="speech")
    assert models.resolve("text-trec", "text") == folder / "text-trec.pt"
    assert models.resolve(None, "text") == folder / "text-sst2.pt"  # the app's first model
    own = tmp_path / "text-sst2-best.pt"
    assert models.resolve(str(own), "text") == own
    with pytest.raises(UserError) as info:
        models.resolve("nope", "text")
    assert str(info.value) == ("--model nope: checkpoint not found, and no bundled model has that name "
                               "(bundled text models: text-sst2, text-trec)")
    with pytest.raises(UserError, match="a bundled speech model, not a text model"):
        models.resolve("speech-digits", "text")
    with pytest.raises(UserError, match="no go model is bundled; train one with 'filterkit go train'"):
        models.resolve(None, "go")


def test_verify_detects_a_changed_file(tmp_path, folder):
    _pack(tmp_path)
    path = folder / "text-sst2.pt"
    data = bytearray(path.read_bytes())
    data[-30] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="has SHA-256 .* the catalogue says"):
        models.verify("text-sst2")
    with pytest.raises(UserError, match="no bundled model called 'nope'"):
        models.verify("nope")


def test_a_damaged_catalogue_is_one_line(folder):
    (folder / "catalogue.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read the model catalogue"):
        models.catalogue()


def test_the_shipped_catalogue_is_complete_and_its_files_match(monkeypatch):
    monkeypatch.delenv(models.ENV_VAR, raising=False)
    for e in models.catalogue():
        for key in ("name", "app", "task", "file", "bytes", "sha256", "data", "metrics", "command"):
            assert key in e, f"{e.get('name')}: no {key}"
        assert e["data"]["licence"] and e["data"]["attribution"] and "split" in e["metrics"]
        path = models.verify(e["name"])
        assert read_checkpoint(path, expected_app=e["app"])["model"]


# ---------------------------------------------------------------- the console script


def _cli(folder, *argv, timeout=60):
    env = {**os.environ, models.ENV_VAR: str(folder)}
    return subprocess.run(["filterkit", "models", *argv], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=folder)


@needs_script
def test_cli_lists_the_models_as_a_table_and_as_json(tmp_path, folder):
    _pack(tmp_path, "text-sst2")
    _pack(tmp_path, "speech-digits", app="speech")
    r = _cli(folder)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["name", "app", "size", "task"]
    assert lines[1].startswith("text-sst2") and "kB" in lines[1]
    assert lines[2].strip() == "accuracy 81.2 % (SST-2 test)"  # the figure under its model
    assert lines[3].startswith("speech-digits")
    assert lines[5].startswith("2 models")

    r = _cli(folder, "--json", "-")
    assert r.returncode == 0 and r.stderr == ""
    report = json.loads(r.stdout)
    assert report["models"] == models.catalogue()
    assert {"python", "torch", "numpy", "filterkit"} <= set(report["environment"])

    r = _cli(folder, "--json", "out.json")
    assert r.returncode == 0 and json.loads((folder / "out.json").read_text())["models"][0]["name"] == "text-sst2"
    r = _cli(folder, "--json", "out.json")
    assert r.returncode == 2 and r.stderr.strip() == "filterkit: error: out.json: already exists (use --force to overwrite)"
    assert _cli(folder, "--json", "out.json", "--force").returncode == 0


@needs_script
def test_cli_with_no_models_and_with_a_damaged_catalogue(folder):
    r = _cli(folder)
    assert r.returncode == 0 and r.stdout.strip() == "no models are bundled with this filterkit"
    (folder / "catalogue.json").write_text("[1, 2]")
    r = _cli(folder)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "model catalogue" in r.stderr
