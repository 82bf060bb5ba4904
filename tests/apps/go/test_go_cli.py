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
