"""Download Speech Commands v2 or FSDD, verified by SHA-256, and unpack them.

* ``speech-commands-v2``: the 2.4 GB tarball of Warden (2018).  Its SHA-256
  (:data:`SPEECH_COMMANDS_V2_SHA256`) is the one listed by TensorFlow
  Datasets' ``speech_commands`` checksums and by torchaudio's
  ``SPEECHCOMMANDS`` dataset class; the whole archive is checked before
  anything is unpacked.
* ``fsdd``: release v1.0.10 of the Free Spoken Digit Dataset (GitHub source
  archive).  GitHub builds source archives on the fly, so the archive itself
  has no stable checksum; instead every ``recordings/*.wav`` taken from it is
  checked against the SHA-256 list shipped with this package
  (``checksums/fsdd-v1.0.10.sha256``, 3,000 files), and all 3,000 must be there.

``url`` replaces the download address (any URL urllib opens, ``file://`` too,
e.g. a mirror or a local copy); ``sha256`` requires that checksum of the
downloaded file (on top of the checks above).  Archives are unpacked with
tarfile's ``data`` filter (no absolute paths, no links out of the folder).
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from filterkit.errors import UserError

__all__ = ["Source", "SOURCES", "SPEECH_COMMANDS_V2_SHA256", "download_dataset", "fsdd_checksums", "sha256_of"]

SPEECH_COMMANDS_V2_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from and how it is checked."""

    url: str
    sha256: str | None  # of the downloaded file (None: checked per file after unpacking)
    size: str  # for messages


SOURCES = {
    "speech-commands-v2": Source("http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
                                 SPEECH_COMMANDS_V2_SHA256, "2.4 GB"),
    "fsdd": Source("https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz",
                   None, "about 20 MB"),
}


def fsdd_checksums() -> dict[str, str]:
    """File name -> SHA-256 of the 3,000 FSDD v1.0.10 recordings (shipped with the package)."""
    text = resources.files("filterkit.apps.speech").joinpath("checksums/fsdd-v1.0.10.sha256").read_text()
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {name.lstrip("*"): digest for digest, name in pairs}


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, target: Path, progress: bool) -> str:
    """Stream ``url`` into ``target``; returns the SHA-256 of what was written."""
    from tqdm import tqdm

    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
            total = response.headers.get("Content-Length")
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc="download",
                      disable=not progress) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UserError(f"{url}: download failed ({reason})") from None
    return h.hexdigest()


def _unpack(archive: Path, into: Path) -> None:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(into)  # zipfile drops absolute paths and '..' itself
        else:
            with tarfile.open(archive) as t:
                t.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{archive.name}: not a readable tar or zip archive ({exc})") from None


def _install_fsdd(unpacked: Path, dest: Path) -> int:
    known = fsdd_checksums()
    found = {p.name: p for p in unpacked.rglob("*.wav") if p.parent.name == "recordings"}
    bad = sorted(name for name, p in found.items() if known.get(name) != sha256_of(p))
    if bad:
        raise UserError(f"{len(bad)} FSDD recording(s) do not match the v1.0.10 checksums, e.g. {bad[0]}; "
                        "nothing was installed")
    missing = sorted(set(known) - set(found))
    if missing:
        raise UserError(f"the archive holds {len(found)} of the {len(known)} FSDD v1.0.10 recordings "
                        f"(missing e.g. {missing[0]}); nothing was installed")
    (dest / "recordings").mkdir(parents=True, exist_ok=True)
    for name, p in found.items():
        shutil.move(str(p), dest / "recordings" / name)
    return len(found)


def download_dataset(name: str, dest: str | Path, *, url: str | None = None, sha256: str | None = None,
                     force: bool = False, progress: bool = True) -> Path:
    """Download ``name`` into ``dest`` (created), verify it and unpack it; returns the dataset folder.

    FSDD ends up in ``dest/recordings/``; Speech Commands in ``dest/`` (a folder per word).
    """
    if name not in SOURCES:
        raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(SOURCES)}")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
            raise UserError(f"--sha256 must be 64 hex digits, got {sha256!r}")
    source = SOURCES[name]
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest}: not a folder (DEST is the folder to unpack into)")
    if dest.exists() and any(dest.iterdir()) and not force:
        raise UserError(f"{dest}: folder is not empty (use --force to unpack into it anyway)")
    dest.mkdir(parents=True, exist_ok=True)
    url = url or source.url
    expected = sha256 or source.sha256  # a mirror of the published archive has the same checksum
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive"
        digest = _fetch(url, archive, progress)
        if expected is not None and digest != expected:
            raise UserError(f"{url}: SHA-256 {digest} does not match the expected {expected}; "
                            "the file is corrupt or not the published archive (nothing was unpacked)")
        unpacked = Path(tmp) / "unpacked"
        _unpack(archive, unpacked)
        if name == "fsdd":
            count = _install_fsdd(unpacked, dest)
            if progress:
                print(f"{count} FSDD recordings verified against the v1.0.10 checksums in {dest / 'recordings'}")
            return dest / "recordings"
        for item in unpacked.iterdir():
            target = dest / item.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            shutil.move(str(item), target)
    return dest
