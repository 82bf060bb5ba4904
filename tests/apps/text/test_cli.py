"""`filterkit text` end to end through the installed console script, on small generated data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import torch

from .conftest import FAST_OPTIONS, write_split

FILTERKIT = shutil.which("filterkit")
pytestmark = pytest.mark.skipif(FILTERKIT is None, reason="the filterkit console script is not installed")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(*args, code: int = 0, cwd=None) -> subprocess.CompletedProcess:
    done = subprocess.run([FILTERKIT, "text", *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd,
                          timeout=300)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _error(*args) -> str:
    """The one-line error of a refused command (exit status 2)."""
    err = _run(*args, code=2).stderr.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_train_run_folder_eval_predict(tmp_path):
    bench = write_split(tmp_path / "data")
    out, report = tmp_path / "runs" / "sst2", tmp_path / "train.json"
    done = _run("train", bench, *FAST_OPTIONS, "--out", out, "--json", report, "--seed", "3")
    assert "test accuracy" in done.stdout and "run folder" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "metrics.csv", "report.json"]
    figures = json.loads(report.read_text())
    assert figures["test_accuracy"] >= 0.8 and "environment" in figures  # one word decides the label
    assert {"cnn_test_accuracy", "ngram_test_accuracy", "mix"} <= set(figures)
    run_report = json.loads((out / "report.json").read_text())
    assert run_report["test_accuracy"] == figures["test_accuracy"] and run_report["best_epoch"] >= 1
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + figures["epochs"]
    saved = torch.load(out / "best.pt", weights_only=True)
    assert saved["app"] == "text" and saved["config"]["widths"] == [2, 3] and saved["config"]["max_tokens"] == 200
    assert "ngram_model" in saved["extra"]

    # eval takes the model by --model (the folder or its best.pt); the data is the only positional
    evaluated = tmp_path / "eval.json"
    _run("eval", bench, "--model", out, "--json", evaluated)
    assert json.loads(evaluated.read_text())["accuracy"] == pytest.approx(figures["test_accuracy"])

    predicted = _run("predict", "the movie was awful", "a great film", "--model", out / "best.pt", "--explain",
                     "--json", "-")
    payload = json.loads(predicted.stdout)  # --json -: the JSON alone on stdout
    assert [p["label"] for p in payload["predictions"]] == ["negative", "positive"]
    assert "great" in payload["predictions"][1]["explanation"][0]["ngram"]
    assert "why positive" in predicted.stderr and "environment" in payload

    # every written file is refused without --force, in the one wording
    assert "already exists (use --force to overwrite)" in _error("train", bench, *FAST_OPTIONS, "--out", out)
    assert "already exists" in _error("eval", bench, "--model", out, "--json", evaluated)
    _run("eval", bench, "--model", out, "--json", evaluated, "--force")


def test_cv_with_final_model(tmp_path, label_text_file):
    out, report = tmp_path / "run", tmp_path / "cv.json"
    done = _run("train", label_text_file, *FAST_OPTIONS, "--cv", "2", "--jobs", "2", "--out", out, "--json", report)
    assert "2-fold: mean accuracy" in done.stdout
    figures = json.loads(report.read_text())
    assert [f["fold"] for f in figures["folds"]] == [1, 2] and figures["jobs"] == 2
    assert 0.8 <= figures["mean"] <= 1.0 and {"cnn_accuracy", "ngram_accuracy", "mix"} <= set(figures["folds"][0])
    assert json.loads((out / "report.json").read_text())["mean"] == figures["mean"]
    assert (out / "best.pt").is_file()  # the final model, trained on all the data


def test_parse_time_errors_are_one_line(label_text_file, capsys):
    err = _error("train", label_text_file, "--dim", "0")
    assert err.startswith("filterkit text train: error: argument --dim: 0 is out of range"), err
    from filterkit.cli.main import build_parser

    parser = build_parser()  # the same parser, in this process: every numeric option is checked
    for option, value in (("--lr", "nan"), ("--dropout", "1"), ("--cv", "1"), ("--jobs", "0"), ("--rho", "1"),
                          ("--max-tokens", "0"), ("--ngrams", "-1"), ("--widths", "0,3"), ("--max-norm", "inf")):
        with pytest.raises(SystemExit):
            parser.parse_args(["text", "train", str(label_text_file), option, value])
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"argument {option}" in err, err
    with pytest.raises(SystemExit):  # the checkpoint is no positional any more
        parser.parse_args(["text", "eval", str(label_text_file), "model.pt"])
    assert "unrecognized arguments: model.pt" in capsys.readouterr().err


def test_user_errors_are_one_line(tmp_path, label_text_file):
    one = tmp_path / "one.csv"
    one.write_text("text,label\ngood,1\nbad,1\n", encoding="utf-8")
    assert "at least 2 classes" in _error("train", one, *FAST_OPTIONS)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"1 caf\xe9 good\n0 bad\n")
    assert "--encoding cp1252" in _error("train", latin, *FAST_OPTIONS)
    not_a_folder = tmp_path / "file.pt"
    not_a_folder.write_bytes(b"x")
    assert "not a folder" in _error("train", label_text_file, *FAST_OPTIONS, "--out", not_a_folder)
    assert "not a loadable" in _error("predict", "good", "--model", not_a_folder)
    assert "not found" in _error("eval", label_text_file, "--model", tmp_path / "none.pt")
    gaps = tmp_path / "gaps.txt"  # --strict refuses a label without text
    gaps.write_text("pos a good film\nneg\npos fine\nneg a dull one\n", encoding="utf-8")
    assert "line 2" in _error("train", gaps, *FAST_OPTIONS, "--strict", "--cv", "2")


def test_long_sentence_and_skipped_lines(tmp_path, label_text_file):
    """A 1 MB sentence is cut to --max-tokens (memory stays small); label-only lines are skipped and reported."""
    data = tmp_path / "long.txt"
    lines = label_text_file.read_text(encoding="utf-8").splitlines()
    lines[5] = "pos " + "great " * 170_000  # about 1 MB
    lines.insert(3, "neg")
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _run("train", data, *FAST_OPTIONS, "--cv", "2", "--jobs", "1", "--ngrams", "0", "--max-tokens", "50")
    assert "skipped 1 line with a label but no text (line 4)" in done.stderr
    assert "2-fold: mean accuracy" in done.stdout


def test_checkpoint_from_another_app_is_refused(tmp_path):
    from filterkit.nn.train import Trainer

    model = torch.nn.Linear(2, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.functional.cross_entropy,
                      app="speech", device="cpu", progress=False, tensorboard=False)
    path = trainer.save_checkpoint(tmp_path / "speech.pt")
    err = _error("predict", "a sentence", "--model", path)
    assert "'speech'" in err and "filterkit text train" in err


def test_predict_reads_sentences_from_stdin():
    pytest.importorskip("gensim")
    done = subprocess.run(["filterkit", "text", "predict", "--file", "-", "--json", "-"], capture_output=True,
                          text=True, timeout=300, input="a gorgeous, witty film\nthe worst movie of the year\n")
    assert done.returncode == 0, done.stderr
    labels = [p["label"] for p in json.loads(done.stdout)["predictions"]]
    assert labels == ["positive", "negative"]  # the bundled SST-2 model
