import json

import pytest

from filterkit.apps.go.records import to_sgf
from filterkit.cli import main

from .conftest import random_game


@pytest.fixture
def sgf_folder(tmp_path):
    folder = tmp_path / "sgf"
    folder.mkdir()
    for seed in range(6):
        (folder / f"g{seed}.sgf").write_bytes(to_sgf(random_game(9, 50, seed)))
    (folder / "broken.sgf").write_bytes(b"(;SZ[9];B[zz")
    return folder


def test_prepare_train_eval_end_to_end(tmp_path, sgf_folder, capsys):
    prep = tmp_path / "prep"
    assert main(["go", "prepare", str(sgf_folder), "--out", str(prep), "--size", "9", "--quiet",
                 "--json", str(tmp_path / "prep.json")]) == 0
    info = json.loads((tmp_path / "prep.json").read_text())["all"]
    assert info["games"] == 6 and len(info["skipped"]) == 1 and "broken.sgf" in info["skipped"][0]
    run = tmp_path / "run"
    assert main(["go", "train", str(prep), "--out", str(run), "--train-split", "all", "--val-split", "all",
                 "--layers", "2", "--width", "4", "--epochs", "1", "--quiet", "--device", "cpu",
                 "--json", str(tmp_path / "train.json")]) == 0
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file()
    assert main(["go", "train", str(prep), "--out", str(run), "--train-split", "all", "--val-split", "all",
                 "--layers", "2", "--width", "4", "--epochs", "2", "--quiet", "--device", "cpu",
                 "--resume", str(run / "last.pt"), "--json", str(tmp_path / "resumed.json")]) == 0
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert [row["epoch"] for row in resumed["history"]] == [1, 2]
    assert resumed["train_positions_seen"] == info["positions"]  # only the second epoch ran
    out = tmp_path / "eval.json"
    assert main(["go", "eval", str(run / "best.pt"), "--data", str(sgf_folder), "--split", "all", "--quiet",
                 "--symmetries", "8", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("top1", "top5", "nll", "positions"):
        assert key in report
    assert report["positions"] == info["positions"]
    assert report["top1_ci95"][0] <= report["top1"] <= report["top1_ci95"][1]
    assert set(report["baselines"]) == {"uniform_legal", "most_frequent_point"}
    assert "uniform_legal" in capsys.readouterr().out


def test_user_errors_are_one_line(tmp_path, sgf_folder, capsys):
    assert main(["go", "prepare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["go", "prepare", str(sgf_folder), "--out", str(tmp_path / "p"), "--splits", "train"]) == 2
    assert "only split is 'all'" in capsys.readouterr().err
    assert main(["go", "eval", str(tmp_path / "none.pt"), "--data", str(sgf_folder)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    assert main(["go", "train", str(tmp_path), "--out", str(tmp_path / "busy"), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["go", "train", str(tmp_path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("filterkit: error:") and "not a prepared go split" in err


@pytest.mark.data
def test_ci_subset_prepare_and_eval(tmp_path, kgs_data):
    from .conftest import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path / "t19.pt", size=19, features="stones")
    prep = tmp_path / "prep"
    assert main(["go", "prepare", str(kgs_data), "--out", str(prep), "--splits", "ci_subset", "--max-games", "5",
                 "--quiet"]) == 0
    out = tmp_path / "e.json"
    assert main(["go", "eval", str(ckpt), "--data", str(prep), "--split", "ci_subset", "--quiet",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["games"] == 5 and report["positions"] > 5 * 20


def test_train_init_starts_from_a_checkpoint_s_weights(tmp_path, sgf_folder, capsys):
    import torch

    from filterkit.apps.go.pipeline import load_model

    prep = tmp_path / "prep"
    assert main(["go", "prepare", str(sgf_folder), "--out", str(prep), "--size", "9", "--quiet"]) == 0
    common = ["--train-split", "all", "--val-split", "all", "--layers", "2", "--width", "4", "--quiet",
              "--device", "cpu"]
    assert main(["go", "train", str(prep), "--out", str(tmp_path / "a"), "--epochs", "1", *common]) == 0
    start, _ = load_model(tmp_path / "a" / "best.pt")
    # lr 0: the weights stay those of the start checkpoint (BatchNorm running stats aside)
    assert main(["go", "train", str(prep), "--out", str(tmp_path / "b"), "--epochs", "1", "--lr", "0",
                 "--init", str(tmp_path / "a" / "best.pt"), *common]) == 0
    tuned, config = load_model(tmp_path / "b" / "last.pt")
    assert config["init"] == str(tmp_path / "a" / "best.pt")
    for (name, p), q in zip(start.named_parameters(), tuned.parameters(), strict=True):
        torch.testing.assert_close(q, p, msg=name)
    capsys.readouterr()
    assert main(["go", "train", str(prep), "--out", str(tmp_path / "c"), "--epochs", "1", "--train-split", "all",
                 "--val-split", "all", "--layers", "2", "--width", "8", "--quiet", "--device", "cpu",
                 "--init", str(tmp_path / "a" / "best.pt")]) == 2
    assert "its width is 4, this run's is 8" in capsys.readouterr().err
