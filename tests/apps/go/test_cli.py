"""``filterkit go ...`` end to end: the installed console script in a subprocess, on small generated games."""

import gzip
import json
import sys

import pytest

from filterkit.apps.go.records import to_sgf

from .conftest import GNUGO, assert_one_line_error, filterkit, needs_gnugo, random_game, tar_gz

TINY_TRAIN = ["--train-split", "all", "--val-split", "all", "--layers", "2", "--width", "4", "--quiet",
              "--device", "cpu"]


@pytest.fixture(scope="module")
def sgf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sgf")
    for seed in range(6):
        (folder / f"g{seed}.sgf").write_bytes(to_sgf(random_game(9, 50, seed)))
    (folder / "broken.sgf").write_bytes(b"(;SZ[9];B[zz")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sgf_folder):
    """A prepared folder and a run folder trained on it by the console script."""
    root = tmp_path_factory.mktemp("go-cli")
    prep = root / "prep"
    proc = filterkit("go", "prepare", sgf_folder, "--out", prep, "--size", "9", "--quiet", "--json", root / "prep.json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads((root / "prep.json").read_text())
    assert "environment" in info
    info = info["all"]
    assert info["games"] == 6 and len(info["skipped"]) == 1 and "broken.sgf" in info["skipped"][0]
    run = root / "run"
    proc = filterkit("go", "train", prep, "--out", run, "--epochs", "1", *TINY_TRAIN, "--json", root / "train.json")
    assert proc.returncode == 0, proc.stderr
    return root, prep, run, info


def test_train_writes_the_run_folder_and_resumes(trained):
    root, prep, run, info = trained
    assert {"best.pt", "last.pt", "metrics.csv", "report.json"} <= {p.name for p in run.iterdir()}
    proc = filterkit("go", "train", prep, "--out", run, "--epochs", "2", *TINY_TRAIN, "--resume", run / "last.pt",
                     "--json", "-")
    assert proc.returncode == 0, proc.stderr
    resumed = json.loads(proc.stdout)
    assert [row["epoch"] for row in resumed["history"]] == [1, 2]
    assert resumed["train_positions_seen"] == info["positions"]  # only the second epoch ran
    assert json.loads((run / "report.json").read_text())["history"][-1]["epoch"] == 2


def test_eval_scores_with_intervals_and_baselines(trained, sgf_folder):
    root, prep, run, info = trained
    proc = filterkit("go", "eval", sgf_folder, "--model", run / "best.pt", "--split", "all", "--quiet",
                     "--symmetries", "8", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # stdout holds the JSON alone; the table goes to stderr
    assert report["positions"] == info["positions"] and "environment" in report
    assert report["top1_ci95"][0] <= report["top1"] <= report["top1_ci95"][1]
    assert set(report["baselines"]) == {"uniform_legal", "most_frequent_point"}
    assert "uniform_legal" in proc.stderr
    out = root / "eval.json"
    assert filterkit("go", "eval", prep, "--model", run / "best.pt", "--split", "all", "--quiet",
                     "--json", out).returncode == 0
    again = filterkit("go", "eval", prep, "--model", run / "best.pt", "--split", "all", "--quiet", "--json", out)
    assert_one_line_error(again, f"{out}: already exists (use --force to overwrite)")


def test_user_errors_are_one_line(trained, sgf_folder, tmp_path):
    root, prep, run, _ = trained
    assert_one_line_error(filterkit("go", "prepare", tmp_path / "nowhere", "--out", tmp_path / "p"), "no such file")
    assert_one_line_error(filterkit("go", "prepare", sgf_folder, "--out", prep), "already exists (use --force")
    assert_one_line_error(filterkit("go", "eval", prep, "--model", tmp_path / "none.pt"), "checkpoint not found")
    assert_one_line_error(filterkit("go", "eval", prep, "--model", run / "best.pt", "--batch-size", "0"),
                          "--batch-size", "0 is out of range")
    assert_one_line_error(filterkit("go", "train", prep, "--out", run, *TINY_TRAIN), "already exists (use --force")
    assert_one_line_error(filterkit("go", "train", tmp_path, "--out", tmp_path / "r", "--quiet"),
                          "not a prepared go split")


def test_a_checkpoint_without_config_is_one_line(trained, tmp_path):
    import torch

    root, prep, run, _ = trained
    ckpt = torch.load(run / "best.pt", weights_only=True)
    del ckpt["config"]
    torch.save(ckpt, tmp_path / "noconfig.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    assert_one_line_error(filterkit("go", "eval", prep, "--model", tmp_path / "noconfig.pt", "--split", "all"),
                          "holds no go config")
    assert_one_line_error(filterkit("go", "gtp", "--model", tmp_path / "garbage.pt", input="quit\n"),
                          "not a loadable filterkit checkpoint")


def test_corrupt_archives_and_manifests_are_one_line(tmp_path, trained):
    """More corrupt inputs: tests/apps/go/test_records.py (in-process, same code path)."""
    root, prep, run, _ = trained
    whole = tar_gz({f"g{i}.sgf": to_sgf(random_game(9, 40, i)) * 20 for i in range(3)})
    truncated = whole[: len(whole) // 2]
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "games.tar.gz").write_bytes(truncated)
    assert_one_line_error(filterkit("go", "prepare", tmp_path / "cut", "--out", tmp_path / "p1", "--size", "9"),
                          "cannot read archive")
    assert not (tmp_path / "p1" / "all").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.csv.gz").write_bytes(b"this is no gzip file")
    assert_one_line_error(filterkit("go", "prepare", tmp_path / "bad", "--out", tmp_path / "p2"), "manifest")
    listed = tmp_path / "listed"
    (listed / "kgs").mkdir(parents=True)
    (listed / "manifest.csv.gz").write_bytes(gzip.compress(b"archive,member,split,ci_subset\ng.tar.gz,g0.sgf,val,1\n"))
    (listed / "kgs" / "g.tar.gz").write_bytes(truncated)
    assert_one_line_error(filterkit("go", "eval", listed, "--model", run / "best.pt", "--split", "val"),
                          "cannot read archive")


def test_without_the_go_extra_the_error_names_it(tmp_path, sgf_folder):
    import os

    shim = tmp_path / "shim" / "sgfmill"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'sgfmill'\", name='sgfmill')\n")
    env = {**os.environ, "PYTHONPATH": str(shim.parent)}
    proc = filterkit("go", "prepare", sgf_folder, "--out", tmp_path / "p", env=env)
    assert_one_line_error(proc, 'pip install "filterkit[go]"')


RANDOM_ENGINE = """
import sys
import numpy as np
from filterkit.apps.go.engine import gtp_handlers, is_own_eye
from filterkit.apps.go.gtp import GtpServer

class RandomPlayer:
    rng = np.random.default_rng(0)
    def genmove(self, board):
        legal = [int(p) for p in np.flatnonzero(board.legal_mask()) if not is_own_eye(board, int(p), board.to_play)]
        return int(self.rng.choice(legal)) if legal else board.pass_point

GtpServer(gtp_handlers(RandomPlayer(), 9), "random", "1").serve(sys.stdin, sys.stdout)
"""


def test_match_plays_out_and_records_the_player(tmp_path, tiny_checkpoint):
    engine = " ".join(f"'{a}'" for a in [sys.executable, "-c", RANDOM_ENGINE])
    out = tmp_path / "m.json"
    proc = filterkit("go", "match", "--model", tiny_checkpoint, "--opponent", engine, "--games", "1", "--play-out",
                     "--playouts", "0", "--sgf-dir", tmp_path / "games", "--quiet", "--json", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["player"]["play_out"] is True and report["illegal_moves"] == 0 and report["games"] == 1
    assert report["player"]["playouts"] == 0
    again = filterkit("go", "match", "--model", tiny_checkpoint, "--opponent", engine, "--games", "1",
                      "--sgf-dir", tmp_path / "games", "--quiet")
    assert_one_line_error(again, "already exists (use --force")


@pytest.mark.parametrize("opponent, extra, message", [
    ("", [], "empty command line"),
    ("false", [], "exited (status 1) before answering 'name'"),
    ("cat", [], "not a GTP reply"),
    ("sleep 30", ["--timeout", "1"], "no reply to 'name' within 1 s"),
])
def test_a_broken_opponent_is_one_line_and_never_hangs(tmp_path, tiny_checkpoint, opponent, extra, message):
    proc = filterkit("go", "match", "--model", tiny_checkpoint, f"--opponent={opponent}", "--games", "1",
                     "--sgf-dir", tmp_path / "games", "--quiet", *extra, timeout=60)
    assert_one_line_error(proc, message)


def test_match_with_search_reports_margin_elo_and_move_times(tmp_path, tiny_checkpoint):
    engine = " ".join(f"'{a}'" for a in [sys.executable, "-c", RANDOM_ENGINE])
    proc = filterkit("go", "match", "--model", tiny_checkpoint, "--opponent", engine, "--games", "2",
                     "--playouts", "8", "--seconds-per-move", "0.5", "--resign-margin", "0",
                     "--sgf-dir", tmp_path / "games", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["games"] == 2 and report["illegal_moves"] == 0 and report["player"]["playouts"] == 8
    assert len(list((tmp_path / "games").glob("game-*.sgf"))) == 2  # every game kept
    for key in ("elo", "elo_low", "elo_high", "mean_margin", "counted_games", "genmove_max_seconds"):
        assert key in report, key
    assert report["genmove_max_seconds"] < 5.0
    counted = [g["margin"] for g in report["per_game"] if g["margin"] is not None]
    assert report["counted_games"] == len(counted)
    if counted:
        assert report["mean_margin"] == pytest.approx(sum(counted) / len(counted))
    assert "Elo" in proc.stderr and "mean margin" in proc.stderr


def test_a_model_without_heads_needs_playouts_0(tmp_path, policy_only_checkpoint):
    proc = filterkit("go", "gtp", "--model", policy_only_checkpoint, input="quit\n")
    assert_one_line_error(proc, "no ownership/score heads", "--playouts 0")
    proc = filterkit("go", "gtp", "--model", policy_only_checkpoint, "--playouts", "0", input="genmove b\nquit\n")
    assert proc.returncode == 0 and proc.stdout.startswith("= "), proc.stderr


@needs_gnugo
def test_one_game_against_gnugo(tmp_path, tiny_checkpoint):
    proc = filterkit("go", "match", "--model", tiny_checkpoint, "--opponent", f"{GNUGO} --mode gtp --level 1",
                     "--games", "1", "--playouts", "16", "--seconds-per-move", "0.5", "--sgf-dir",
                     tmp_path / "games", "--quiet", "--json", "-", timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["games"] == 1 and report["illegal_moves"] == 0 and report["opponent_illegal_moves"] == 0


@pytest.mark.data
def test_ci_subset_prepare_and_eval(tmp_path, kgs_data):
    from .conftest import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path / "t19.pt", size=19, features="stones")
    prep = tmp_path / "prep"
    proc = filterkit("go", "prepare", kgs_data, "--out", prep, "--splits", "ci_subset", "--max-games", "5", "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = filterkit("go", "eval", prep, "--model", ckpt, "--split", "ci_subset", "--quiet", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["games"] == 5 and report["positions"] > 5 * 20
