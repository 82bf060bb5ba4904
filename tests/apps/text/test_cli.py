"""`filterkit text` end to end on a small synthetic set: train (fixed split and CV), eval, predict, errors."""

from __future__ import annotations

import json

import pytest
import torch

from filterkit.cli import main

FAST = ["--variant", "rand", "--maps", "6", "--widths", "2,3", "--dim", "12", "--optimizer", "adam",
        "--lr", "0.03", "--epochs", "10", "--patience", "10", "--quiet"]


@pytest.fixture
def split_folder(tmp_path):
    """Train/test files in 'label text' format plus a checkpoint trained on them."""
    from .conftest import synthetic_sentences

    train = tmp_path / "train.txt"
    train.write_text("".join(f"{y} {t}\n" for y, t in synthetic_sentences(200, seed=1)), encoding="utf-8")
    return tmp_path, train


def test_train_cv_eval_predict_explain(tmp_path, label_text_file, capsys):
    out_json, ckpt = tmp_path / "cv.json", tmp_path / "m.pt"
    code = main(["text", "train", str(label_text_file), *FAST, "--cv", "2", "--jobs", "1",
                 "--json", str(out_json), "--out", str(ckpt), "--seed", "3"])
    assert code == 0
    report = json.loads(out_json.read_text())
    assert [f["fold"] for f in report["folds"]] == [1, 2]
    assert {"accuracy", "dev_accuracy", "epochs"} <= set(report["folds"][0])
    assert 0.8 <= report["mean"] <= 1.0 and report["std"] >= 0  # the sentiment word decides the label
    # the default n-gram model is mixed in; each part's own accuracy is reported too
    assert {"cnn_accuracy", "ngram_accuracy", "mix"} <= set(report["folds"][0])
    assert 0 <= report["folds"][0]["mix"] <= 1 and report["ngram_mean"] >= 0.8
    capsys.readouterr()

    assert main(["text", "eval", str(ckpt), str(label_text_file), "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["accuracy"] >= 0.85

    pred_json = tmp_path / "p.json"
    assert main(["text", "predict", str(ckpt), "the movie was awful", "a great film", "--explain",
                 "--json", str(pred_json)]) == 0
    predictions = json.loads(pred_json.read_text())["predictions"]
    assert [p["label"] for p in predictions] == ["neg", "pos"]
    assert sum(predictions[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    top = predictions[1]["explanation"][0]
    assert "great" in top["ngram"] and top["contribution"] > 0
    strongest = predictions[1]["ngram_explanation"][0]
    assert "great" in strongest["ngram"] and strongest["contribution"] > 0
    out = capsys.readouterr().out
    assert "why pos" in out and "n-gram model (weight" in out

    # checkpoint round trip: the reloaded model gives the same probabilities, choices kept
    from filterkit.apps.text.pipeline import load_trained, predict_proba

    saved = torch.load(ckpt, weights_only=True)
    assert saved["app"] == "text" and saved["config"]["tokenizer"] == "kim" and saved["config"]["widths"] == [2, 3]
    assert saved["config"]["ngrams"] == 3 and "great" in saved["extra"]["ngram_model"]["ngrams"]
    assert saved["config"]["vocab"]["tokens"][0] != "<pad>"  # specials are implicit
    trained = load_trained(ckpt)
    again = load_trained(ckpt)
    probs = predict_proba(trained, ["a great film"])
    assert probs.shape == (1, 2)
    assert (predict_proba(again, ["a great film"]) == probs).all()


def test_fixed_split_report(split_folder, tmp_path, label_text_file):
    from filterkit.apps.text.cv import fixed_split
    from filterkit.apps.text.data import load_data
    from filterkit.apps.text.pipeline import TextConfig

    folder, train = split_folder
    corpus = load_data(str(train))
    corpus.parts = {"train": corpus.parts["all"], "test": load_data(str(label_text_file)).parts["all"]}
    cfg = TextConfig(variant="rand", maps=6, widths=[2, 3], dim=12, optimizer="adam", lr=0.02, epochs=4)
    trained, report = fixed_split(cfg, corpus, seed=0, device="cpu", progress=False)
    assert {"dev_accuracy", "test_accuracy", "train_sentences_per_second"} <= set(report)
    assert report["test_accuracy"] >= 0.8
    assert trained.history[-1]["epoch"] == report["epochs"]
    assert {"cnn_test_accuracy", "ngram_test_accuracy", "mix"} <= set(report)


def test_ngrams_off_is_the_cnn_alone(tmp_path, label_text_file, capsys):
    ckpt = tmp_path / "cnn.pt"
    assert main(["text", "train", str(label_text_file), *FAST, "--cv", "2", "--jobs", "1", "--ngrams", "0",
                 "--out", str(ckpt), "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert "mix" not in report["folds"][0] and "cnn_mean" not in report
    saved = torch.load(ckpt, weights_only=True)
    assert saved["config"]["ngrams"] == 0 and "ngram_model" not in saved["extra"]
    from filterkit.apps.text.pipeline import cnn_proba, load_trained, predict_proba

    trained = load_trained(ckpt)
    assert trained.ngram is None
    assert (predict_proba(trained, ["a great film"]) == cnn_proba(trained, ["a great film"])).all()
    capsys.readouterr()
    assert "n-gram model" not in (main(["text", "predict", str(ckpt), "a great film", "--explain"]) == 0
                                  and capsys.readouterr().out)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("filterkit: error: ") and "Traceback" not in err
    return err


def test_cli_errors(tmp_path, label_text_file, capsys):
    one = tmp_path / "one.csv"
    one.write_text("text,label\ngood,1\nbad,1\n", encoding="utf-8")
    assert "at least 2 classes" in _error(capsys, ["text", "train", str(one), *FAST])
    assert "--ngrams -1" in _error(capsys, ["text", "train", str(label_text_file), *FAST, "--ngrams", "-1"])
    nolabel = tmp_path / "nolabel.csv"
    nolabel.write_text("text,y\ngood,1\nbad,0\n", encoding="utf-8")
    assert "--label-column" in _error(capsys, ["text", "train", str(nolabel), *FAST])
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"1 caf\xe9 good\n0 bad\n")
    assert "--encoding cp1252" in _error(capsys, ["text", "train", str(latin), *FAST])
    assert "no such file" in _error(capsys, ["text", "train", str(tmp_path / "nope.txt"), *FAST])
    existing = tmp_path / "exists.pt"
    existing.write_bytes(b"x")
    assert "--force" in _error(capsys, ["text", "train", str(label_text_file), *FAST, "--out", str(existing)])
    assert "not a loadable" in _error(capsys, ["text", "predict", str(existing), "good"])
    assert "not found" in _error(capsys, ["text", "eval", str(tmp_path / "none.pt"), str(label_text_file)])


def test_checkpoint_from_another_app_is_refused(tmp_path, capsys):
    from filterkit.nn.train import Trainer

    model = torch.nn.Linear(2, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.functional.cross_entropy,
                      app="speech", device="cpu", progress=False, tensorboard=False)
    path = trainer.save_checkpoint(tmp_path / "speech.pt")
    err = _error(capsys, ["text", "predict", str(path), "a sentence"])
    assert "'speech'" in err and "filterkit text train" in err
