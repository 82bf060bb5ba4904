"""Dataset layouts and splits of the speech app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filterkit.apps.speech.data import find_clips, hash_split, label_names, loso_folds, official_split
from filterkit.errors import UserError

FSDD = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "fsdd"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return path


def test_folder_per_label_with_speech_commands_names(tmp_path):
    for label in ("yes", "no"):
        for spk in ("aa11", "bb22"):
            _touch(tmp_path / label / f"{spk}_nohash_0.wav")
    (tmp_path / "_background_noise_").mkdir()
    _touch(tmp_path / "_background_noise_" / "noise.wav")
    clips, layout = find_clips(tmp_path)
    assert layout == "folders" and len(clips) == 4
    assert {c.speaker for c in clips} == {"aa11", "bb22"}
    assert label_names(clips) == ["no", "yes"]
    folds = loso_folds(clips)
    assert [s for s, _, _ in folds] == ["aa11", "bb22"]
    for speaker, train, test in folds:
        assert all(c.speaker == speaker for c in test) and all(c.speaker != speaker for c in train)


def test_fsdd_names_and_official_split(tmp_path):
    for d in range(3):
        for take in range(7):
            _touch(tmp_path / f"{d}_alice_{take}.wav")
    clips, layout = find_clips(tmp_path)
    assert layout == "fsdd"
    train, test = official_split(clips, layout)
    assert len(test) == 15 and all(c.take <= 4 for c in test) and len(train) == 6


def test_manifest_relative_paths(tmp_path):
    _touch(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("path,label,speaker\na.wav,up,s1\n/abs/b.wav,down,\n")
    clips, layout = find_clips(tmp_path / "m.csv")
    assert layout == "manifest"
    assert clips[0].path == tmp_path / "a.wav" and clips[0].speaker == "s1"
    assert clips[1].speaker == "unknown"


def test_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        find_clips(tmp_path / "missing")
    _touch(tmp_path / "flat" / "hello.wav")
    with pytest.raises(UserError, match="FSDD pattern"):
        find_clips(tmp_path / "flat")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no audio clips"):
        find_clips(tmp_path / "empty")
    _touch(tmp_path / "one" / "yes" / "a_1.wav")
    _touch(tmp_path / "one" / "no" / "b_1.wav")
    _touch(tmp_path / "one" / "no" / "b_2.wav")
    clips, _ = find_clips(tmp_path / "one")
    with pytest.raises(UserError, match="'yes' have fewer than 2 clips"):
        label_names(clips)
    (tmp_path / "bad.csv").write_text("file,class\nx,y\n")
    with pytest.raises(UserError, match="header"):
        find_clips(tmp_path / "bad.csv")


def test_hash_split_keeps_speakers_apart(tmp_path):
    for spk in range(30):
        for take in range(2):
            _touch(tmp_path / "go" / f"s{spk}_nohash_{take}.wav")
            _touch(tmp_path / "stop" / f"s{spk}_nohash_{take}.wav")
    clips, _ = find_clips(tmp_path)
    train, test = hash_split(clips, 0.3)
    assert {c.speaker for c in train}.isdisjoint({c.speaker for c in test})
    assert 0.1 < len(test) / len(clips) < 0.5
    assert hash_split(clips, 0.3) == (train, test)  # stable


@pytest.mark.skipif(not FSDD.is_dir(), reason="FSDD not found at ../shared/data/fsdd")
def test_real_fsdd_layout():
    clips, layout = find_clips(FSDD)
    assert layout == "fsdd" and len(clips) == 3000
    train, test = official_split(clips, layout)
    assert (len(train), len(test)) == (2700, 300)
    assert len(loso_folds(clips)) == 6
