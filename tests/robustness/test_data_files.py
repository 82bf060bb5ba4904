"""Bad data files for the apps' loaders: text (CSV/TSV/JSONL/'label text'), audio (WAV), go (SGF, archives,
manifests).  Each bad input ends in a one-line error (or, where the loader skips files, one warning line per
skipped file and one error line), never a traceback, and writes nothing."""

from __future__ import annotations

import gzip
import io
import math
import random
import resource
import struct
import tarfile
import wave

import pytest

from .conftest import (
    assert_no_partial,
    assert_no_traceback,
    assert_one_line_error,
    files_in,
    junk,
    run_cli,
)

# ---------------------------------------------------------------- text: filterkit text train DATA

TEXT_FAST = ["--variant", "rand", "--epochs", "1", "--cv", "2", "--jobs", "1", "--ngrams", "0", "--dim", "4",
             "--maps", "2", "--quiet"]


def _two_class_rows(n: int = 20) -> list[tuple[str, str]]:
    rng = random.Random(0)
    return [(" ".join(rng.choice(["good", "great", "fine"] if i % 2 else ["bad", "awful", "poor"]) for _ in range(5)),
             str(i % 2)) for i in range(n)]


TEXT_CASES = {
    "empty.csv": b"",
    "header-only.csv": b"text,label\n",
    "no-label-column.csv": b"text,foo\nhello,1\nbye,0\n",
    # one field of 200 KB (over the csv module's 128 KB default) must be read; the file then fails on
    # its single class, which proves it was read without a _csv.Error traceback
    "long-field.csv": b'text,label\n"' + b"word " * 40_000 + b'",1\n' + b"short one,1\n" * 5,
    "unterminated-quote.csv": b'text,label\n"never closed,1\nother,0\n',
    "bad-json.jsonl": b'{"text": "a b", "label": 1}\n{not json\n',
    "not-an-object.jsonl": b"[1, 2, 3]\n",
    "no-text-key.jsonl": b'{"label": 1}\n{"label": 0}\n',
    "latin1.txt": b"1 caf\xe9 ok\n0 bad \xff\n",
    "random-bytes.csv": None,  # filled in below
    "lonely.pos": b"good\n",  # its .neg partner is missing
    "missing.csv": "absent",
}


@pytest.mark.parametrize("name", list(TEXT_CASES))
def test_text_train_bad_data(tmp_path, name):
    pytest.importorskip("torch")
    data = TEXT_CASES[name]
    if data is None:
        data = junk(3000, seed=7)
    if data != "absent":
        (tmp_path / name).write_bytes(data)
    proc = run_cli(["text", "train", name, *TEXT_FAST, "--out", str(tmp_path / "out" / "m.pt")], cwd=tmp_path,
                   timeout=90)
    line = assert_one_line_error(proc)
    assert name.split(".")[0] in line or "lonely" in line, line
    assert files_in(tmp_path / "out") == []


def test_text_train_too_few_examples_for_the_split(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "few.csv").write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in _two_class_rows(20)))
    proc = run_cli(["text", "train", "few.csv", *TEXT_FAST], cwd=tmp_path, timeout=90)
    assert_no_traceback(proc)
    if proc.returncode != 0:
        assert_one_line_error(proc)


def test_text_train_one_megabyte_sentence_is_capped(tmp_path):
    """One 1 MB sentence among short ones: trained with --max-tokens (default 200), not gigabytes of padding."""
    pytest.importorskip("torch")
    rows = _two_class_rows(60)
    rows[3] = (" ".join(f"w{i % 5000}" for i in range(160_000)), rows[3][1])  # about 1 MB
    (tmp_path / "long.tsv").write_text("text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    proc = run_cli(["text", "train", "long.tsv", *TEXT_FAST], cwd=tmp_path, timeout=120)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest child so far (KiB on Linux)
    assert peak_mb < 2000, f"a child process peaked at {peak_mb:.0f} MB"


# ---------------------------------------------------------------- audio: filterkit speech features / train

def _wav_bytes(frames: bytes, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


TONE = b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(8000))  # 0.5 s at 16 kHz

WAV_CASES = {
    "empty": b"",
    "random-bytes": junk(5000, seed=3),
    "header-only": _wav_bytes(TONE)[:30],
    "zero-samples": _wav_bytes(b""),
    "png-named-wav": b"\x89PNG\r\n\x1a\n" + bytes(100),
}


@pytest.mark.parametrize("name", list(WAV_CASES))
def test_speech_features_bad_wav(tmp_path, name):
    pytest.importorskip("soundfile")
    (tmp_path / f"{name}.wav").write_bytes(WAV_CASES[name])
    proc = run_cli(["speech", "features", f"{name}.wav", "--plot", str(tmp_path / "out" / "s.png")], cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert f"{name}.wav" in line
    assert files_in(tmp_path / "out") == []


def test_speech_features_absurd_sample_rate_is_refused(tmp_path):
    pytest.importorskip("soundfile")
    (tmp_path / "slow.wav").write_bytes(_wav_bytes(TONE[:1600], rate=1))  # 800 samples: 800 s of audio
    proc = run_cli(["speech", "features", "slow.wav"], cwd=tmp_path, timeout=60)
    assert_one_line_error(proc)


def _warnings_then_one_error(proc) -> None:
    """Exit non-zero, no traceback, every stderr line a ``filterkit: `` line, the last one the error."""
    assert_no_traceback(proc)
    assert proc.returncode != 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("filterkit: ") for line in lines), proc.stderr
    assert "error" in lines[-1], proc.stderr


def test_speech_train_label_whose_clips_are_all_unreadable(tmp_path):
    pytest.importorskip("soundfile")
    for label in ("yes", "up", "no"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            data = junk(500, seed=i) if label == "no" else _wav_bytes(TONE)
            (tmp_path / "data" / label / f"c{i}.wav").write_bytes(data)
    proc = run_cli(["speech", "train", "data", "--epochs", "1", "--eval", "hash", "--jobs", "1", "-q",
                    "-o", str(tmp_path / "out")], cwd=tmp_path, timeout=120)
    _warnings_then_one_error(proc)
    assert "no" in proc.stderr.splitlines()[-1]
    assert not (tmp_path / "out" / "best.pt").exists()
    assert_no_partial(tmp_path / "out")


MANIFESTS = {
    "no-label-column.csv": "path,speaker\nclip.wav,a\n",
    "missing-clips.csv": "path,label\nnot_there_1.wav,yes\nnot_there_2.wav,no\n",
    "empty.csv": "",
}


@pytest.mark.parametrize("name", list(MANIFESTS))
def test_speech_train_bad_manifest(tmp_path, name):
    pytest.importorskip("soundfile")
    (tmp_path / "clip.wav").write_bytes(_wav_bytes(TONE))
    (tmp_path / name).write_text(MANIFESTS[name])
    proc = run_cli(["speech", "train", name, "--epochs", "1", "--eval", "hash", "--jobs", "1", "-q",
                    "-o", str(tmp_path / "out")], cwd=tmp_path, timeout=120)
    _warnings_then_one_error(proc)
    assert files_in(tmp_path / "out") == []


# ---------------------------------------------------------------- go: filterkit go prepare DATA

GOOD_SGF = b"(;GM[1]FF[4]SZ[9]KM[6.5];B[ee];W[cc];B[gg];W[cg])"


def _tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


GO_CASES = {
    "random-bytes.sgf": junk(3000, seed=5),
    "board-1000.sgf": b"(;GM[1]SZ[1000];B[aa])",
    "truncated.sgf": GOOD_SGF[:20],
    "random-bytes.tar.gz": junk(3000, seed=6),
    "truncated.tar.gz": _tar_gz([("a.sgf", GOOD_SGF * 50), ("b.sgf", junk(20_000))])[:3000],
    "kgs/manifest.csv.gz": junk(500, seed=8),  # a KGS folder whose manifest is not gzip
    "kgs2/manifest.csv.gz": gzip.compress(b"foo,bar\n1,2\n"),  # gzip, wrong columns
    "empty-folder/": None,
}


@pytest.mark.parametrize("name", list(GO_CASES))
def test_go_prepare_bad_data(tmp_path, name):
    pytest.importorskip("sgfmill")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if GO_CASES[name] is None:
        path.mkdir()
    else:
        path.write_bytes(GO_CASES[name])
    data = str(path.parent if name.endswith("manifest.csv.gz") else path)
    proc = run_cli(["go", "prepare", data, "--out", str(tmp_path / "out"), "--size", "9", "--quiet"],
                   cwd=tmp_path, timeout=90)
    assert_one_line_error(proc)
    assert files_in(tmp_path / "out") == []
    assert_no_partial(tmp_path)


def test_go_prepare_archive_path_traversal_writes_nothing_outside(tmp_path):
    pytest.importorskip("sgfmill")
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "evil.sgf"
    (work / "games.tar.gz").write_bytes(_tar_gz([("../evil.sgf", GOOD_SGF), (str(tmp_path / "abs_evil.sgf"), GOOD_SGF),
                                                 ("ok.sgf", GOOD_SGF)]))
    proc = run_cli(["go", "prepare", "games.tar.gz", "--out", "out", "--size", "9", "--quiet"], cwd=work,
                   timeout=90)
    assert_no_traceback(proc)
    assert not outside.exists() and not (tmp_path / "abs_evil.sgf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    if proc.returncode != 0:  # refusing the archive as a whole is fine too, in one line
        assert_one_line_error(proc)
    assert_no_partial(work)
