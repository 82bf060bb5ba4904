import gzip
import io
import itertools
import tarfile

import pytest

from filterkit.apps.go.board import BLACK, WHITE
from filterkit.apps.go.records import MANIFEST, GameRecord, iter_records, parse_sgf, to_sgf
from filterkit.errors import UserError

HANDICAP_SGF = b"(;FF[4]GM[1]SZ[9]KM[0.5]HA[2]RE[W+3.5]BR[3d]WR[5d]AB[gc][cg];W[ee];B[];W[cc])"


def test_parse_handicap_setup_passes_and_header():
    rec = parse_sgf(HANDICAP_SGF, "h.sgf")
    assert rec.size == 9 and rec.komi == 0.5 and rec.handicap == 2
    assert rec.result == "W+3.5" and rec.black_rank == "3d" and rec.white_rank == "5d"
    assert sorted(rec.setup) == [(BLACK, 2 * 9 + 6), (BLACK, 6 * 9 + 2)]  # gc = column g, row c (top = a)
    assert rec.moves == [(WHITE, 4 * 9 + 4), (BLACK, 81), (WHITE, 2 * 9 + 2)]
    board = rec.board()
    assert board.to_play == WHITE
    for color, point in rec.moves:
        board.play(point, color)


def test_sgf_round_trip():
    rec = parse_sgf(HANDICAP_SGF)
    again = parse_sgf(to_sgf(rec, black="a", white="b"))
    assert (again.size, again.komi, sorted(again.setup), again.moves, again.result) == \
        (rec.size, rec.komi, sorted(rec.setup), rec.moves, rec.result)


def test_folder_and_archive_sources(tmp_path):
    (tmp_path / "g1.sgf").write_bytes(HANDICAP_SGF)
    (tmp_path / "bad.sgf").write_bytes(b"not sgf")
    with tarfile.open(tmp_path / "more.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("x/g2.sgf")
        info.size = len(HANDICAP_SGF)
        tar.addfile(info, io.BytesIO(HANDICAP_SGF))
    errors: list[str] = []
    recs = list(iter_records(tmp_path, errors=errors))
    assert len(recs) == 2 and len(errors) == 1 and "bad.sgf" in errors[0]
    with pytest.raises(UserError, match="no split"):
        list(iter_records(tmp_path, "train"))
    with pytest.raises(UserError, match="no such"):
        list(iter_records(tmp_path / "missing"))


@pytest.mark.data
def test_ci_subset_sample_replays_without_illegal_moves(kgs_data):
    games = moves = 0
    for rec in itertools.islice(iter_records(kgs_data, "ci_subset"), 60):
        board = rec.board()
        for color, point in rec.moves:
            board.play(point, color)  # raises IllegalMove on any illegal move
        games += 1
        moves += len(rec.moves)
    assert games == 60 and moves > 60 * 50


def test_records_default_to_an_empty_record():
    assert GameRecord().size == 19


def _corrupt_sources(tmp_path):
    from .conftest import random_game, tar_gz

    whole = tar_gz({f"g{i}.sgf": to_sgf(random_game(9, 40, i)) * 20 for i in range(3)})
    archives = {"garbage.tar.gz": b"\x1f\x8b not really gzip", "truncated.tar.gz": whole[: len(whole) // 2],
                "plain.tar": b"\x00" * 100 + b"junk"}
    manifests = {"bad-gzip": b"this is no gzip file", "no-columns": gzip.compress(b"name,size\nx,1\n"),
                 "binary": gzip.compress(bytes(range(256)) * 10), "empty": gzip.compress(b"")}
    for name, data in archives.items():
        (tmp_path / name).write_bytes(data)
        yield tmp_path / name, None, "cannot read archive"
    for name, data in manifests.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / MANIFEST).write_bytes(data)
        yield tmp_path / name, "train", "manifest"


def test_corrupt_archives_and_manifests_raise_one_user_error(tmp_path):
    for path, split, message in _corrupt_sources(tmp_path):
        with pytest.raises(UserError, match=message) as info:
            list(iter_records(path, split, errors=[]))
        assert "\n" not in str(info.value), path


def test_the_missing_go_extra_is_named(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sgfmill(name, *args, **kwargs):
        if name.split(".")[0] == "sgfmill":
            raise ModuleNotFoundError("No module named 'sgfmill'", name="sgfmill")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sgfmill)
    monkeypatch.setattr("importlib.import_module", lambda name: no_sgfmill(name))
    with pytest.raises(UserError, match=r'pip install "filterkit\[go\]"'):
        parse_sgf(HANDICAP_SGF)
