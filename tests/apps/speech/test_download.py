"""Dataset downloads through urllib (file:// URLs here), checked by SHA-256."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from filterkit.apps.speech.download import SOURCES, download_dataset, fsdd_checksums, sha256_of
from filterkit.errors import UserError

from .conftest import filterkit, one_line_error

FSDD = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "fsdd"


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    src = path.parent / (path.name + ".src")
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    with tarfile.open(path, "w:gz") as t:
        for name in files:
            t.add(src / name, arcname=name)
    return path


def test_shipped_fsdd_checksums_cover_every_recording():
    sums = fsdd_checksums()
    assert len(sums) == 3000 and all(len(h) == 64 for h in sums.values())
    assert {n.split("_")[1] for n in sums} == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    if (FSDD / "SHA256SUMS").is_file():
        assert sums == {n: h for h, n in (line.split() for line in (FSDD / "SHA256SUMS").read_text().splitlines())}


def test_archive_checksum_is_required_and_checked(tmp_path):
    archive = _tar(tmp_path / "sc.tar.gz", {"yes/a_nohash_0.wav": b"RIFF-not-really", "testing_list.txt": b"x"})
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert sha256_of(archive) == digest
    # the published Speech Commands checksum does not match this little archive: nothing is unpacked
    with pytest.raises(UserError, match="does not match"):
        download_dataset("speech-commands-v2", tmp_path / "a", url=archive.as_uri(), progress=False)
    assert not (tmp_path / "a" / "yes").exists()
    out = download_dataset("speech-commands-v2", tmp_path / "b", url=archive.as_uri(), sha256=digest, progress=False)
    assert (out / "yes" / "a_nohash_0.wav").read_bytes() == b"RIFF-not-really"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no download leftovers
    with pytest.raises(UserError, match="not empty"):
        download_dataset("speech-commands-v2", tmp_path / "b", url=archive.as_uri(), sha256=digest, progress=False)


def test_cli_download_errors_are_one_line(tmp_path):
    done = filterkit("speech", "download", "fsdd", tmp_path / "d", "--url", (tmp_path / "nope.tgz").as_uri())
    assert "download failed" in one_line_error(done)
    assert "64 hex digits" in one_line_error(filterkit("speech", "download", "fsdd", tmp_path / "e", "--sha256", "abc"))
    dest = tmp_path / "file.txt"  # DEST is a file, not a folder
    dest.write_text("x")
    assert f"{dest}: not a folder" in one_line_error(filterkit("speech", "download", "fsdd", dest, "--quiet"))
    assert dest.read_text() == "x"
    assert SOURCES["speech-commands-v2"].sha256 == "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"


@pytest.mark.skipif(not (FSDD / "recordings").is_dir(), reason="needs ../shared/data/fsdd (real FSDD copy)")
def test_fsdd_download_verifies_every_recording(tmp_path):
    archive = tmp_path / "fsdd.tar"
    with tarfile.open(archive, "w") as t:  # the layout of GitHub's source archive
        t.add(FSDD / "recordings", arcname="free-spoken-digit-dataset-1.0.10/recordings")
    assert filterkit("speech", "download", "fsdd", tmp_path / "ok", "--url", archive.as_uri()).returncode == 0
    assert len(list((tmp_path / "ok" / "recordings").glob("*.wav"))) == 3000
    # one recording altered: refused, nothing installed
    data = bytearray((FSDD / "recordings" / "3_theo_7.wav").read_bytes())
    data[-1] ^= 1
    bad = _tar(tmp_path / "bad.tar.gz", {"fsdd/recordings/3_theo_7.wav": bytes(data),
                                         "fsdd/recordings/0_george_0.wav": (FSDD / "recordings" / "0_george_0.wav").read_bytes()})
    assert "3_theo_7.wav" in one_line_error(filterkit("speech", "download", "fsdd", tmp_path / "no", "--url", bad.as_uri()))
    assert not (tmp_path / "no" / "recordings").exists()
    # genuine files but not all of them: refused too
    part = _tar(tmp_path / "part.tar.gz", {"x/recordings/0_george_0.wav": (FSDD / "recordings" / "0_george_0.wav").read_bytes()})
    done = filterkit("speech", "download", "fsdd", tmp_path / "part", "--url", part.as_uri())
    assert "1 of the 3000" in one_line_error(done)
