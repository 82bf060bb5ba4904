"""``filterkit speech`` end to end on tiny synthetic data: JSON reports, plots, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from filterkit.cli import main

FAST = ["--epochs", "2", "--no-progress", "--batch-size", "16"]
SR = 8000


def _word(label: int, speaker: int, take: int, rate: int = SR) -> np.ndarray:
    """A 'word': two tone segments whose pitches depend on the label; speakers shift them a little."""
    rng = np.random.default_rng(100 * label + 10 * speaker + take)
    seconds = 0.3 + 0.05 * take
    t = np.arange(int(rate * seconds)) / rate
    f1, f2 = (300 + 150 * label) * (1 + 0.05 * speaker), (1200 - 100 * label) * (1 + 0.05 * speaker)
    half = t.size // 2
    w = np.concatenate([np.sin(2 * np.pi * f1 * t[:half]), np.sin(2 * np.pi * f2 * t[half:])])
    return (0.5 * w * np.hanning(w.size) + 0.01 * rng.normal(size=w.size)).astype(np.float32)


@pytest.fixture(scope="module")
def fsdd_like(tmp_path_factory) -> Path:
    """3 digits x 3 speakers x 6 takes, FSDD naming (takes 0-4 are the official test split)."""
    root = tmp_path_factory.mktemp("tones")
    for label in range(3):
        for s, speaker in enumerate(("ann", "bob", "cyd")):
            for take in range(6):
                sf.write(root / f"{label}_{speaker}_{take}.wav", _word(label, s, take), SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def trained(fsdd_like, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "none", "-o", str(out), "--seed", "1"]) == 0
    return out / "model.pt"


def test_train_loso_json(fsdd_like, tmp_path):
    report = tmp_path / "loso.json"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "loso", "--json", str(report),
                 "--model", "fstride4"]) == 0
    data = json.loads(report.read_text())
    assert [f["speaker"] for f in data["folds"]] == ["ann", "bob", "cyd"]
    assert all(f["n"] == 18 and 0 <= f["accuracy"] <= 1 for f in data["folds"])
    accs = [f["accuracy"] for f in data["folds"]]
    assert data["mean"] == pytest.approx(np.mean(accs)) and data["min"] == pytest.approx(min(accs))
    assert data["std"] == pytest.approx(np.std(accs))
    # no silent overwrite
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "loso", "--json", str(report)]) == 2


def test_train_official_and_eval_report(fsdd_like, trained, tmp_path):
    report = tmp_path / "official.json"
    out = tmp_path / "run"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "official", "--json", str(report),
                 "-o", str(out), "--model", "tf2d", "--placement", "center", "--duration", "0.8", "--noise-prob", "0.5"]) == 0
    data = json.loads(report.read_text())
    assert data["n"] == 45 and set(data["per_speaker"]) == {"ann", "bob", "cyd"}
    assert sum(v["n"] for v in data["per_speaker"].values()) == 45
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # eval of the checkpoint trained on everything: per-speaker accuracy and the confusion matrix
    ev, png = tmp_path / "eval.json", tmp_path / "cm.png"
    assert main(["speech", "eval", str(trained), str(fsdd_like), "--json", str(ev), "--plot", str(png)]) == 0
    result = json.loads(ev.read_text())
    cm = np.array(result["confusion"])
    assert cm.shape == (3, 3) and cm.sum() == result["n"] == 54
    assert result["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert {k: v["n"] for k, v in result["per_speaker"].items()} == {"ann": 18, "bob": 18, "cyd": 18}
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_predict_json_and_converted_input(fsdd_like, trained, tmp_path, capsys):
    stereo = tmp_path / "stereo48k.wav"  # stereo at 48 kHz: mixed to mono and resampled (documented)
    mono = _word(2, 0, 3, rate=48000)
    sf.write(stereo, np.stack([mono, mono], axis=1), 48000, subtype="PCM_16")
    report = tmp_path / "p.json"
    assert main(["speech", "predict", str(trained), str(stereo), str(fsdd_like / "0_ann_1.wav"),
                 "--json", str(report), "--top-k", "2"]) == 0
    preds = json.loads(report.read_text())["predictions"]
    assert [len(p["top"]) for p in preds] == [2, 2]
    assert all(0 <= t["probability"] <= 1 for p in preds for t in p["top"])


def _bad_files(folder: Path) -> None:
    (folder / "notes.wav").write_text("this is not audio")
    sf.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), SR)
    sf.write(folder / "silent.wav", np.zeros(4000, dtype=np.float32), SR)


def test_bad_audio_is_one_line_per_file(trained, tmp_path, capsys):
    _bad_files(tmp_path)
    code = main(["speech", "predict", str(trained), *(str(tmp_path / n) for n in ("notes.wav", "empty.wav",
                                                                                     "silent.wav"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 3
    assert "notes.wav: not a readable audio file" in err[0]
    assert "empty.wav: empty audio clip" in err[1]
    assert "silent.wav: silent clip" in err[2]
    assert not any("Traceback" in line for line in err)


def test_training_skips_bad_clips_and_rejects_thin_labels(tmp_path, capsys):
    data = tmp_path / "words"
    for label in ("go", "stop"):
        (data / label).mkdir(parents=True)
        for take in range(4):
            sf.write(data / label / f"spk{take % 2}_{take}.wav", _word(len(label), take % 2, take), SR)
    _bad_files(data / "go")
    assert main(["speech", "train", str(data), *FAST, "--eval", "none"]) == 0
    err = capsys.readouterr().err
    assert err.count("filterkit: warning: skipped") == 3 and "notes.wav" in err
    (data / "up").mkdir()
    sf.write(data / "up" / "spk0_0.wav", _word(5, 0, 0), SR)
    assert main(["speech", "train", str(data), *FAST, "--eval", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "'up'" in err[-1] and "fewer than 2 clips" in err[-1]


def test_checkpoint_from_another_app_or_not_a_checkpoint(fsdd_like, tmp_path, capsys):
    import torch

    from filterkit.nn.train import CHECKPOINT_FORMAT

    other = tmp_path / "text.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "app": "text", "model": {}, "config": {}, "label_names": []}, other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    for ckpt, message in ((other, "trained by app 'text'"), (junk, "not a loadable filterkit checkpoint")):
        assert main(["speech", "eval", str(ckpt), str(fsdd_like)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and str(ckpt) in err[0]


def test_augmentation_options_reach_the_checkpoint(fsdd_like, tmp_path):
    import torch

    out = tmp_path / "aug"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "none", "-o", str(out), "--shift-ms", "20",
                 "--vtlp", "0.1", "--freq-masks", "1", "--freq-mask-width", "3", "--time-masks", "0"]) == 0
    ckpt = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    text = json.dumps(ckpt["config"])
    for key, value in (("shift_ms", 20.0), ("vtlp_range", 0.1), ("freq_masks", 1), ("freq_mask_width", 3),
                       ("time_masks", 0)):
        assert f'"{key}": {value}' in text


@pytest.mark.parametrize("placement, shift, warned", [
    ("stretch", ["--shift-ms", "20"], True), ("center", ["--shift-ms", "20"], False), ("stretch", [], False),
])
def test_shift_without_effect_is_warned_about(fsdd_like, capsys, placement, shift, warned):
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "none", "--placement", placement, *shift]) == 0
    assert ("--shift-ms has no effect with --placement stretch" in capsys.readouterr().err) == warned


@pytest.mark.parametrize("option, value, message", [
    ("--vtlp", "1.2", "--vtlp in [0, 1)"),
    ("--shift-ms", "-5", "--shift-ms must be >= 0"),
    ("--freq-masks", "-1", "--freq-masks must be >= 0"),
])
def test_bad_augmentation_values_are_one_line_errors(fsdd_like, tmp_path, capsys, option, value, message):
    assert main(["speech", "train", str(fsdd_like), *FAST, option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_extra_train_clips_join_every_training_side(fsdd_like, tmp_path, capsys):
    extra = tmp_path / "extra"
    extra.mkdir()
    for label in range(3):
        for take in range(2):
            sf.write(extra / f"{label}_dan_{take}.wav", _word(label, 3, take), SR, subtype="PCM_16")
    report = tmp_path / "official.json"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "official", "--extra-train", str(extra),
                 "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["extra_train_clips"] == 6 and data["train_clips"] == 9 + 6 and data["n"] == 45  # tests unchanged
    loso = tmp_path / "loso.json"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "loso", "--extra-train", str(extra),
                 "--json", str(loso)]) == 0
    assert [f["speaker"] for f in json.loads(loso.read_text())["folds"]] == ["ann", "bob", "cyd"]  # no fold for dan
    sf.write(extra / "7_dan_0.wav", _word(7, 3, 0), SR, subtype="PCM_16")
    capsys.readouterr()
    assert main(["speech", "train", str(fsdd_like), *FAST, "--extra-train", str(extra)]) == 2
    assert "labels not in the training data: 7" in capsys.readouterr().err


def test_model_options_are_used_and_kept_in_the_checkpoint(fsdd_like, tmp_path, capsys):
    out = tmp_path / "opt"
    options = '{"channels": [8, 12], "time_stride": 4}'
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "none", "-o", str(out),
                 "--model-options", options]) == 0
    assert main(["speech", "predict", str(out / "model.pt"), str(fsdd_like / "1_bob_2.wav")]) == 0
    from filterkit.apps.speech.pipeline import load_classifier

    model, _ = load_classifier(out / "model.pt")
    assert model.net.features[0].out_channels == 8 and model.net.features[0].stride == (1, 4)
    capsys.readouterr()
    assert main(["speech", "train", str(fsdd_like), *FAST, "--model-options", '{"widths": 3}']) == 2
    assert "unexpected keyword argument 'widths'" in capsys.readouterr().err


def test_pcen_checkpoint_predicts_with_its_own_front_end(fsdd_like, tmp_path):
    out = tmp_path / "pcen"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "none", "-o", str(out), "--scale", "pcen"]) == 0
    from filterkit.apps.speech.pipeline import load_classifier

    model, _ = load_classifier(out / "model.pt")
    assert model.frontend.config.scale == "pcen"
    report = tmp_path / "p.json"
    assert main(["speech", "predict", str(out / "model.pt"), str(fsdd_like / "2_cyd_1.wav"), "--json", str(report)]) == 0
    assert len(json.loads(report.read_text())["predictions"]) == 1


def test_cepstral_mix_is_fitted_saved_and_used_by_predict(fsdd_like, tmp_path, capsys):
    out = tmp_path / "ceps"
    assert main(["speech", "train", str(fsdd_like), *FAST, "--eval", "official", "-o", str(out),
                 "--cepstral-mix", "0.5", "--json", str(tmp_path / "r.json")]) == 0
    from filterkit.apps.speech.pipeline import load_classifier, load_waves, predict_waves
    from filterkit.apps.speech.data import find_clips

    model, ckpt = load_classifier(out / "model.pt")
    assert ckpt["config"]["cepstral_mix"] == 0.5 and model.cepstral is not None and model.cepstral.mix == 0.5
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["settings"]["cepstral_mix"] == 0.5
    assert 0 <= report["cnn_accuracy"] <= 1 and report["cepstral_mix"] == 0.5
    assert "the CNN alone" in capsys.readouterr().out
    clips, waves = load_waves(find_clips(fsdd_like)[0][:6], SR, progress=False)
    mixed = predict_waves(model, waves)
    head, model.cepstral = model.cepstral, None
    cnn = predict_waves(model, waves)
    assert mixed.shape == cnn.shape and not np.allclose(mixed.numpy(), cnn.numpy())
    np.testing.assert_allclose(mixed.sum(dim=1).numpy(), 1.0, rtol=1e-5)
    # the two tones' pitches decide the label, and whole-clip cepstra see them: the head alone is right
    from filterkit.apps.speech.cepstral import clip_statistics

    stats = clip_statistics(waves, model.frontend.config, head.n_ceps)
    assert (head.log_proba(stats).argmax(axis=1) == [int(c.label) for c in clips]).mean() >= 0.8
    capsys.readouterr()
    assert main(["speech", "train", str(fsdd_like), *FAST, "--cepstral-mix", "1"]) == 2
    assert "--cepstral-mix must be in [0, 1)" in capsys.readouterr().err
