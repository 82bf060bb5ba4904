"""Readers: encodings and U+0085, each file format, benchmarks, bad input."""

from __future__ import annotations

import json

import pytest

from filterkit.apps.text.data import (
    BENCHMARKS,
    load_benchmark,
    load_data,
    read_class_folder,
    read_delimited,
    read_jsonl,
    read_label_text,
    read_lines,
    read_pos_neg,
)
from filterkit.errors import UserError


def test_read_lines_splits_on_newline_bytes_only(tmp_path):
    path = tmp_path / "nel.txt"
    # 0x85 is NEL in latin-1 and an ellipsis in cp1252; 0xE9 is e-acute in both
    path.write_bytes(b"wait\x85 what\ncaf\xe9 au lait\r\n\n  \nlast")
    as_latin1 = path.read_bytes().decode("latin-1")
    assert len([s for s in as_latin1.splitlines() if s.strip()]) == 4  # the trap: NEL counted as a break
    assert read_lines(path, "latin-1") == ["wait\x85 what", "caf\xe9 au lait", "last"]
    assert read_lines(path, "cp1252") == ["wait\u2026 what", "caf\xe9 au lait", "last"]


def test_undecodable_file_names_file_and_fix(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes(b"1 fine\n0 caf\xe9 bad\n")
    with pytest.raises(UserError, match=r"old\.txt: line 2 .*--encoding cp1252"):
        read_lines(path)
    with pytest.raises(UserError, match="unknown encoding"):
        read_lines(path, "no-such-codec")


def test_label_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("1 a good film\n\n0 a bad  film\n", encoding="utf-8")
    assert read_label_text(path) == (["a good film", "a bad  film"], ["1", "0"])


def test_label_without_text_is_skipped_and_reported_or_refused_when_strict(tmp_path):
    path = tmp_path / "cr.txt"
    path.write_text("1 ok\n0\n\n1 fine\n0 \n0 poor\n", encoding="utf-8")
    notes = []
    assert read_label_text(path, notes=notes) == (["ok", "fine", "poor"], ["1", "1", "0"])
    assert notes == [f"{path}: skipped 2 lines with a label but no text (lines 2, 5)"]
    with pytest.raises(UserError, match=r"line 2 .*has a label but no text"):
        read_label_text(path, strict=True)
    corpus = load_data(str(path))
    assert len(corpus.parts["all"]) == 3 and "lines 2, 5" in corpus.notes[0]
    with pytest.raises(UserError, match="line 2"):
        load_data(str(path), strict=True)


def test_csv_field_longer_than_the_csv_default_limit(tmp_path):
    path = tmp_path / "long.csv"
    long_text = "word " * 60_000  # 300 KB in one field (the csv module's default limit is 128 KB)
    path.write_text(f'text,label\n"{long_text}",pos\nshort,neg\n', encoding="utf-8")
    texts, labels = read_delimited(path)
    assert len(texts[0]) == len(long_text) and labels == ["pos", "neg"]
    import csv

    assert csv.field_size_limit() == 131072  # the process-wide limit is restored


def test_file_size_limit(tmp_path, monkeypatch):
    import filterkit.apps.text.data as data

    path = tmp_path / "big.txt"
    path.write_text("1 a\n0 b\n" * 100, encoding="utf-8")
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 100)
    with pytest.raises(UserError, match="a data file may have"):
        read_lines(path)


def test_csv_and_tsv_columns_by_name_and_index(tmp_path):
    csv_path = tmp_path / "d.csv"
    csv_path.write_text('id,sentence,y\n1,"good, really",pos\n2,bad,neg\n3,,neg\n', encoding="utf-8")
    assert read_delimited(csv_path, "sentence", "y") == (["good, really", "bad"], ["pos", "neg"])
    tsv_path = tmp_path / "d.tsv"
    tsv_path.write_text("pos\tnice one\nneg\tnot nice\n", encoding="utf-8")
    assert read_delimited(tsv_path, "1", "0") == (["nice one", "not nice"], ["pos", "neg"])
    with pytest.raises(UserError, match="no label column 'label'.*--label-column"):
        read_delimited(csv_path, "sentence", "label")


def test_jsonl(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"text": "fine", "label": 1}, {"text": "", "label": 0}, {"text": "poor", "label": 0}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert read_jsonl(path) == (["fine", "poor"], ["1", "0"])
    path.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(UserError, match="no 'label' key"):
        read_jsonl(path)


def test_pos_neg_pair_and_class_folder(tmp_path):
    (tmp_path / "r.pos").write_text("great\nsuperb\n", encoding="utf-8")
    (tmp_path / "r.neg").write_text("awful\n", encoding="utf-8")
    assert read_pos_neg(tmp_path / "r.neg") == (["awful", "great", "superb"], ["neg", "pos", "pos"])
    folder = tmp_path / "classes"
    folder.mkdir()
    (folder / "sports.txt").write_text("a goal\n", encoding="utf-8")
    (folder / "politics.txt").write_text("a vote\nan election\n", encoding="utf-8")
    texts, labels = read_class_folder(folder)
    assert sorted(zip(labels, texts)) == [("politics", "a vote"), ("politics", "an election"), ("sports", "a goal")]
    corpus = load_data(str(folder))
    assert corpus.classes == ["politics", "sports"] and len(corpus.parts["all"]) == 3


def test_folder_with_a_pos_neg_pair_is_read_as_the_pair(tmp_path):
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "rt.pos").write_text("great\nsuperb\n", encoding="utf-8")
    (folder / "rt.neg").write_text("awful\n", encoding="utf-8")
    (folder / "README").write_text("about\n", encoding="utf-8")
    corpus = load_data(str(folder))
    assert corpus.classes == ["neg", "pos"] and corpus.parts["all"].labels == [0, 1, 1]
    assert "left out 1 other file (README)" in corpus.notes[0]


def test_benchmark_folder_given_by_its_path(tmp_path):
    """A folder named like a benchmark and holding its files is that benchmark (encoding and split too)."""
    folder = tmp_path / "somewhere" / "text" / "TREC"
    folder.mkdir(parents=True)
    (folder / "TREC.train.all").write_bytes(b"5 how far \xe9 ?\n3 who ?\n0 what ?\n")
    (folder / "TREC.test.all").write_bytes(b"4 where ?\n1 which ?\n2 what is a b ?\n")
    corpus = load_data(str(folder) + "/")
    assert corpus.name == "TREC" and set(corpus.parts) == {"train", "test"}
    assert corpus.classes == list(BENCHMARKS["TREC"].classes) and corpus.parts["train"].texts[0] == "how far \xe9 ?"
    other = tmp_path / "mr"  # named like a benchmark but holding class files: a class folder
    other.mkdir()
    (other / "a.txt").write_text("x\n", encoding="utf-8")
    (other / "b.txt").write_text("y\n", encoding="utf-8")
    assert load_data(str(other)).classes == ["a", "b"]


def test_load_data_bad_input(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("1 a\n1 b\n", encoding="utf-8")
    with pytest.raises(UserError, match="at least 2 classes"):
        load_data(str(one))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UserError, match="no examples"):
        load_data(str(empty))
    with pytest.raises(UserError, match="no such file"):
        load_data(str(tmp_path / "missing.txt"))
    numeric = tmp_path / "n.txt"
    numeric.write_text("10 a\n2 b\n", encoding="utf-8")
    assert load_data(str(numeric)).classes == ["2", "10"]  # numeric labels sort as numbers


@pytest.mark.data
def test_real_mr_pos_has_5331_lines(real_data):
    assert len(read_lines(real_data / "MR" / "rt-polarity.pos", "cp1252")) == 5331
    assert len(read_lines(real_data / "MR" / "rt-polarity.pos", "latin-1")) == 5331


@pytest.mark.data
def test_real_benchmarks_load_with_documented_counts(real_data):
    sizes = {name: {k: len(v) for k, v in load_benchmark(name, real_data).parts.items()} for name in BENCHMARKS}
    assert sizes["MR"] == {"all": 10662}
    assert sizes["SUBJ"] == {"all": 10000}
    assert sizes["SST-2"] == {"train": 6920, "dev": 872, "test": 1821}
    assert sizes["SST-1"] == {"train": 8544, "dev": 1101, "test": 2210}
    assert sizes["TREC"] == {"train": 5452, "test": 500}
    trec = load_data("TREC", data_root=str(real_data))
    assert trec.classes[2] == "ABBR" and trec.parts["test"].labels.count(2) == 9
