"""``filterkit speech`` end to end: the installed console script on tiny generated tone clips.

Run folders, JSON reports, plots, overwrite refusals, and bad input (one line, no traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from .conftest import FAST, SR, filterkit, one_line_error, sf, word, write_fsdd_like


def test_train_loso_writes_report_and_fold_metrics(fsdd_like, tmp_path):
    report, out = tmp_path / "loso.json", tmp_path / "loso"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "loso", "--json", report, "--out", out,
                     "--arch", "fstride4", "--jobs", 2)
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert [f["speaker"] for f in data["folds"]] == ["ann", "bob", "cyd"]
    assert all(f["n"] == 18 and 0 <= f["accuracy"] <= 1 for f in data["folds"])
    accs = [f["accuracy"] for f in data["folds"]]
    assert data["mean"] == pytest.approx(np.mean(accs)) and data["min"] == pytest.approx(min(accs))
    assert data["std"] == pytest.approx(np.std(accs)) and "environment" in data
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "report.json"]  # no model for LOSO
    assert (out / "metrics.csv").read_text().splitlines()[0] == "seed,speaker,accuracy,n,train_s"
    # no silent overwrite, of --json or of the run folder
    again = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "loso", "--json", report)
    assert one_line_error(again) == f"filterkit: error: {report}: already exists (use --force to overwrite)"
    assert "already exists" in one_line_error(filterkit("speech", "train", fsdd_like, *FAST, "--eval", "loso",
                                                        "--out", out))


def test_train_official_run_folder_then_eval(fsdd_like, tmp_path):
    out = tmp_path / "run"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "official", "--out", out, "--arch", "tf2d",
                     "--placement", "center", "--duration", "0.8", "--noise-prob", "0.5", "--json", "-")
    assert done.returncode == 0, done.stderr
    assert {"best.pt", "last.pt", "metrics.csv", "report.json", "confusion.png"} <= {p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == 45 and set(report["per_speaker"]) == {"ann", "bob", "cyd"}
    assert sum(v["n"] for v in report["per_speaker"].values()) == 45 and report["train_clips"] == 9
    assert len(report["history"]) == 2 and "environment" in report
    assert f"accuracy {report['accuracy']:.2%} on 45 clips" in done.stderr  # --json -: stdout holds the JSON
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # header and two epochs
    ckpt = torch.load(out / "best.pt", map_location="cpu", weights_only=True)  # a plain dict
    assert ckpt["app"] == "speech" and ckpt["config"]["model"] == "tf2d" and ckpt["label_names"] == ["0", "1", "2"]
    # eval of the run folder (its best.pt) on the test split gives the training run's figures
    ev, png = tmp_path / "eval.json", tmp_path / "cm.png"
    done = filterkit("speech", "eval", fsdd_like, "--model", out, "--split", "test", "--json", ev, "--plot", png)
    assert done.returncode == 0, done.stderr
    result = json.loads(ev.read_text())
    assert result["n"] == 45 and result["confusion"] == report["confusion"]
    assert result["accuracy"] == pytest.approx(report["accuracy"])
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "already exists" in one_line_error(filterkit("speech", "eval", fsdd_like, "--model", out, "--plot", png))
    assert filterkit("speech", "eval", fsdd_like, "--model", out, "--plot", png, "--force").returncode == 0


def test_eval_whole_dataset_and_predict(fsdd_like, trained_run, tmp_path):
    done = filterkit("speech", "eval", fsdd_like, "--model", trained_run / "best.pt", "--json", "-")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # --json -: the JSON alone on stdout, the table on stderr
    cm = np.array(result["confusion"])
    assert cm.shape == (3, 3) and cm.sum() == result["n"] == 54
    assert result["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert {k: v["n"] for k, v in result["per_speaker"].items()} == {"ann": 18, "bob": 18, "cyd": 18}
    assert result["mix"] == 0.5 and 0 <= result["cnn_accuracy"] <= 1  # the CNN's weight, and the CNN alone
    assert "the CNN alone" in done.stderr
    # predict: stereo at 48 kHz is mixed to mono and resampled (documented)
    stereo = tmp_path / "stereo48k.wav"
    mono = word(2, 0, 3, rate=48000)
    sf.write(stereo, np.stack([mono, mono], axis=1), 48000, subtype="PCM_16")
    report = tmp_path / "p.json"
    done = filterkit("speech", "predict", stereo, fsdd_like / "0_ann_1.wav", "--model", trained_run,
                     "--json", report, "--top-k", 2)
    assert done.returncode == 0, done.stderr
    preds = json.loads(report.read_text())["predictions"]
    assert [len(p["top"]) for p in preds] == [2, 2]
    assert all(0 <= t["probability"] <= 1 for p in preds for t in p["top"])
    assert "already exists" in one_line_error(filterkit("speech", "predict", stereo, "--model", trained_run,
                                                        "--json", report))


def test_predict_without_model_uses_the_bundled_one(fsdd_like):
    done = filterkit("speech", "predict", fsdd_like / "0_ann_1.wav", "--json", "-")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"].endswith("speech-digits.pt")
    done = filterkit("speech", "predict", fsdd_like / "0_ann_1.wav", "--model", "nosuch")
    assert done.returncode == 2 and "bundled speech models: speech-digits" in done.stderr


def _bad_files(folder: Path) -> None:
    (folder / "notes.wav").write_text("this is not audio")
    sf.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), SR)
    sf.write(folder / "silent.wav", np.zeros(4000, dtype=np.float32), SR)


def test_bad_audio_is_one_line_per_file(trained_run, tmp_path):
    _bad_files(tmp_path)
    done = filterkit("speech", "predict", *(tmp_path / n for n in ("notes.wav", "empty.wav", "silent.wav")),
                     "--model", trained_run)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(err) == 3 and "Traceback" not in done.stderr
    assert "notes.wav: not a readable audio file" in err[0]
    assert "empty.wav: empty audio clip" in err[1]
    assert "silent.wav: silent clip" in err[2]


def test_training_skips_bad_clips_but_not_a_whole_label(tmp_path):
    data = tmp_path / "words"
    for label in ("go", "stop"):
        (data / label).mkdir(parents=True)
        for take in range(4):
            sf.write(data / label / f"spk{take % 2}_{take}.wav", word(len(label), take % 2, take), SR)
    _bad_files(data / "go")
    done = filterkit("speech", "train", data, *FAST, "--eval", "none")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("filterkit: warning: skipped") == 3 and "notes.wav" in done.stderr
    (data / "up").mkdir()  # one clip only
    sf.write(data / "up" / "spk0_0.wav", word(5, 0, 0), SR)
    err = filterkit("speech", "train", data, *FAST, "--eval", "none").stderr.strip().splitlines()
    assert len(err) == 4 and "'up'" in err[-1] and "fewer than 2 clips" in err[-1]
    # a label whose every clip is unreadable is an error naming it, not a model without it
    (data / "up" / "spk0_0.wav").unlink()
    _bad_files(data / "up")
    done = filterkit("speech", "train", data, *FAST, "--eval", "none")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'up' (3 file(s))" in done.stderr.strip().splitlines()[-1]


def test_checkpoint_problems_are_one_line(fsdd_like, tmp_path):
    from filterkit.nn.train import CHECKPOINT_FORMAT

    other = tmp_path / "text.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "app": "text", "model": {}, "config": {}, "label_names": []}, other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    no_config = tmp_path / "no_config.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "app": "speech", "model": {}, "label_names": ["a", "b"]}, no_config)
    for ckpt, message in ((other, "trained by app 'text'"), (junk, "not a loadable filterkit checkpoint"),
                          (no_config, "speech checkpoint has no config"), (tmp_path / "none.pt", "not found")):
        line = one_line_error(filterkit("speech", "eval", fsdd_like, "--model", ckpt))
        assert message in line and str(ckpt) in line


def test_augmentation_options_reach_the_checkpoint(fsdd_like, tmp_path):
    out = tmp_path / "aug"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "none", "--out", out, "--shift-ms", 20,
                     "--vtlp", 0.1, "--freq-masks", 1, "--freq-mask-width", 3, "--time-masks", 0)
    assert done.returncode == 0, done.stderr
    assert "--shift-ms has no effect with --placement stretch" in done.stderr
    ckpt = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    augment = ckpt["config"]["augment"]
    assert (augment["shift_ms"], augment["vtlp_range"], augment["freq_masks"], augment["freq_mask_width"],
            augment["time_masks"]) == (20.0, 0.1, 1, 3, 0)
    assert ckpt["config"]["mix"] == 1.0 and "cepstral" not in ckpt["extra"]  # the CNN alone by default


@pytest.mark.parametrize("option, value", [
    ("--vtlp", "1.2"), ("--shift-ms", "-5"), ("--freq-masks", "-1"), ("--mix", "0"), ("--mix", "nan"),
    ("--epochs", "0"), ("--lr", "inf"), ("--sample-rate", "0"),
])
def test_bad_numbers_are_refused_at_parse_time(option, value, capsys):
    from filterkit.cli.main import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["speech", "train", "DATA", option, value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and option in err and "out of range" in err


def test_bad_number_through_the_console_script(fsdd_like):
    done = filterkit("speech", "train", fsdd_like, "--mix", "1.5", timeout=60)
    assert done.returncode == 2 and "--mix" in done.stderr and "out of range" in done.stderr
    assert "Traceback" not in done.stderr


def test_extra_train_clips_join_every_training_side(fsdd_like, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    for label in range(3):
        for take in range(2):
            sf.write(extra / f"{label}_dan_{take}.wav", word(label, 3, take), SR, subtype="PCM_16")
    report = tmp_path / "official.json"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "official", "--extra-train", extra,
                     "--json", report, "--seeds", 2)
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert data["extra_train_clips"] == 6 and data["train_clips"] == 9 + 6 and data["n"] == 45  # tests unchanged
    assert len(data["accuracy_per_seed"]) == 2 and data["seeds"] == [0, 1]
    sf.write(extra / "7_dan_0.wav", word(7, 3, 0), SR, subtype="PCM_16")
    done = filterkit("speech", "train", fsdd_like, *FAST, "--extra-train", extra)
    assert "labels not in the training data: 7" in one_line_error(done)


def test_model_options_and_pcen_are_kept_in_the_checkpoint(fsdd_like, tmp_path):
    from filterkit.apps.speech.evaluate import load

    out = tmp_path / "opt"
    done = filterkit("speech", "train", fsdd_like, *FAST, "--eval", "none", "--out", out, "--scale", "pcen",
                     "--arch-options", '{"channels": [8, 12], "time_stride": 4}')
    assert done.returncode == 0, done.stderr
    model, _ = load(out)
    assert model.net.features[0].out_channels == 8 and model.net.features[0].stride == (1, 4)
    assert model.frontend.config.scale == "pcen"
    done = filterkit("speech", "predict", fsdd_like / "1_bob_2.wav", "--model", out / "best.pt")
    assert done.returncode == 0 and done.stdout.startswith(str(fsdd_like / "1_bob_2.wav"))
    done = filterkit("speech", "train", fsdd_like, *FAST, "--arch-options", '{"widths": 3}')
    assert "unexpected keyword argument 'widths'" in one_line_error(done)


def test_features_of_a_clip_and_of_a_model(fsdd_like, trained_run, tmp_path):
    png, report = tmp_path / "clip.png", tmp_path / "f.json"
    done = filterkit("speech", "features", fsdd_like / "0_ann_3.wav", "--plot", png, "--json", report)
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and json.loads(report.read_text())["shape"][0] == 40
    done = filterkit("speech", "features", fsdd_like / "0_ann_3.wav", "--model", trained_run, "--json", "-")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout[done.stdout.index("{"):])["shape"] == [40, 32]  # what the model sees
    assert "already exists" in one_line_error(filterkit("speech", "features", fsdd_like / "0_ann_3.wav",
                                                        "--plot", png))


def test_out_that_is_a_file_is_refused(fsdd_like, tmp_path):
    out = tmp_path / "run.pt"
    out.write_text("x")
    assert "not a folder" in one_line_error(filterkit("speech", "train", fsdd_like, *FAST, "--out", out))


# The speech extra (soundfile, soxr, librosa) missing: a sitecustomize module hides it from imports.
_HIDE_EXTRA = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("soundfile", "soxr", "librosa"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
"""


def test_without_the_speech_extra_one_line_names_it(fsdd_like, trained_run, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_HIDE_EXTRA)
    env = {"PYTHONPATH": str(site)}
    for args in (("train", fsdd_like, *FAST), ("predict", fsdd_like / "0_ann_1.wav", "--model", trained_run),
                 ("synth", tmp_path / "synth", "--voices", 1, "--takes", 1)):
        line = one_line_error(filterkit("speech", *args, env=env))
        assert 'pip install "filterkit[speech]"' in line, line
