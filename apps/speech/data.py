"""Speech datasets: which clips exist, their labels and speakers, and how to split them.

Three layouts are recognised (:func:`find_clips`):

* **folder per label** (Google Speech Commands): ``DATA/yes/*.wav``; the speaker
  is the part of the file name before ``_nohash_`` when present, otherwise the
  file name without its last ``_N`` take number, otherwise unknown.
* **FSDD naming**: a folder of ``{digit}_{speaker}_{take}.wav`` files
  (also accepted inside a ``recordings/`` sub-folder).
* **CSV manifest**: ``path,label[,speaker]`` with a header row; relative paths
  are relative to the CSV file.

Splits: ``official`` (FSDD: takes 0-4 are test; Speech Commands: its
``validation_list.txt`` / ``testing_list.txt``), ``hash`` (a stable hash of the
speaker, so one speaker never straddles train and test, as Speech Commands
does), and ``loso`` (leave one speaker out, one fold per speaker).

Reading: :func:`load_waves` decodes the clips once (a label whose every clip is
unreadable is an error, not a silently smaller model); :class:`ClipDataset`
turns waveforms into the model's features, with waveform augmentation (random
placement in the window, background noise at a random SNR) for training.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from filterkit.apps.speech.audio import AudioError, fit_length, load_audio
from filterkit.apps.speech.config import AugmentConfig
from filterkit.apps.speech.augment import mix_noise
from filterkit.apps.speech.features import LogMel, clip_features
from filterkit.errors import UserError

__all__ = ["Clip", "find_clips", "official_split", "hash_split", "loso_folds", "label_names", "AUDIO_SUFFIXES",
           "load_waves", "load_extra_train", "synthetic_noise", "background_noise", "ClipDataset", "make_loader"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
FSDD_NAME = re.compile(r"^(?P<label>\d)_(?P<speaker>[A-Za-z0-9-]+)_(?P<take>\d+)$")
NOHASH = re.compile(r"^(?P<speaker>[^_]+)_nohash_(?P<take>\d+)$")
TAKE = re.compile(r"^(?P<speaker>.+)_(?P<take>\d+)$")


@dataclass(frozen=True)
class Clip:
    """One labelled recording. ``take`` is the take number when the naming has one (else -1)."""

    path: Path
    label: str
    speaker: str = "unknown"
    take: int = -1


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def find_clips(source: str | Path) -> tuple[list[Clip], str]:
    """All clips of a dataset and the layout found: ``"folders"``, ``"fsdd"`` or ``"manifest"``."""
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such file or folder")
    if source.is_file():
        if source.suffix.lower() not in (".csv", ".tsv"):
            raise UserError(f"{source}: a dataset is a folder or a CSV manifest (path,label[,speaker])")
        return _read_manifest(source), "manifest"
    if (source / "recordings").is_dir() and not _audio_files(source):
        source = source / "recordings"
    flat = _audio_files(source)
    if flat:
        clips = []
        for p in flat:
            m = FSDD_NAME.match(p.stem)
            if not m:
                raise UserError(
                    f"{p}: file name does not follow the FSDD pattern {{digit}}_{{speaker}}_{{take}}.wav; "
                    "use a folder per label or a CSV manifest"
                )
            clips.append(Clip(p, m["label"], m["speaker"], int(m["take"])))
        return clips, "fsdd"
    clips = []
    for sub in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for p in _audio_files(sub):
            speaker, take = "unknown", -1
            m = NOHASH.match(p.stem) or TAKE.match(p.stem)
            if m:
                speaker, take = m["speaker"], int(m["take"])
            clips.append(Clip(p, sub.name, speaker, take))
    if not clips:
        raise UserError(
            f"{source}: no audio clips found ({', '.join(AUDIO_SUFFIXES)}) in a folder per label or FSDD naming"
        )
    return clips, "folders"


def _read_manifest(path: Path) -> list[Clip]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: manifest is not UTF-8 text ({exc.reason})") from None
    if not rows or "path" not in rows[0] or "label" not in rows[0]:
        raise UserError(f"{path}: manifest needs a header with columns path,label[,speaker]")
    clips = []
    for i, row in enumerate(rows, start=2):
        if not row.get("path") or not row.get("label"):
            raise UserError(f"{path}:{i}: empty path or label")
        p = Path(row["path"])
        clips.append(Clip(p if p.is_absolute() else path.parent / p, row["label"], row.get("speaker") or "unknown"))
    return clips


def label_names(clips: list[Clip], *, min_per_label: int = 2, source: str | Path = "") -> list[str]:
    """Sorted label names; a label with fewer than ``min_per_label`` clips is an error naming it."""
    counts = Counter(c.label for c in clips)
    thin = sorted(label for label, n in counts.items() if n < min_per_label)
    if thin:
        where = f"{source}: " if source else ""
        raise UserError(
            f"{where}label(s) {', '.join(repr(t) for t in thin)} have fewer than {min_per_label} clips; "
            "add recordings or remove the folder"
        )
    if len(counts) < 2:
        raise UserError(f"{source}: need at least 2 labels to train a classifier, found {len(counts)}")
    return sorted(counts)


def official_split(clips: list[Clip], layout: str, root: str | Path | None = None) -> tuple[list[Clip], list[Clip]]:
    """The dataset's own train/test split: FSDD takes 0-4 are test; Speech Commands uses testing_list.txt."""
    if layout == "fsdd":
        test = [c for c in clips if 0 <= c.take <= 4]
        train = [c for c in clips if c.take > 4]
        if not train or not test:
            raise UserError(f"the FSDD split (takes 0-4 test, 5+ train) leaves {len(train)} training and "
                            f"{len(test)} test clips; use --eval hash or --eval loso")
        return train, test
    if root is not None and (Path(root) / "testing_list.txt").is_file():
        root = Path(root)
        listed = set((root / "testing_list.txt").read_text().split())
        test = [c for c in clips if c.path.relative_to(root).as_posix() in listed]
        train = [c for c in clips if c.path.relative_to(root).as_posix() not in listed]
        return train, test
    raise UserError("this dataset has no official split (FSDD naming or a Speech Commands testing_list.txt); "
                    "use --eval hash or --eval loso")


def _bucket(key: str, salt: str = "filterkit") -> float:
    digest = hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


def hash_split(clips: list[Clip], test_fraction: float = 0.2) -> tuple[list[Clip], list[Clip]]:
    """Stable split by a hash of the speaker (or of the file name when the speaker is unknown)."""
    def key(c: Clip) -> str:
        return c.speaker if c.speaker != "unknown" else c.path.name

    test = [c for c in clips if _bucket(key(c)) < test_fraction]
    train = [c for c in clips if _bucket(key(c)) >= test_fraction]
    if not test or not train:
        raise UserError(f"hash split left an empty side ({len(train)} train, {len(test)} test); "
                        "use more speakers or another --eval")
    return train, test


def loso_folds(clips: list[Clip]) -> list[tuple[str, list[Clip], list[Clip]]]:
    """Leave-one-speaker-out: ``(speaker, train, test)`` for every known speaker."""
    speakers = sorted({c.speaker for c in clips} - {"unknown"})
    if len(speakers) < 2:
        raise UserError(f"leave-one-speaker-out needs at least 2 known speakers, found {len(speakers)}")
    return [(s, [c for c in clips if c.speaker != s], [c for c in clips if c.speaker == s]) for s in speakers]


# ----------------------------------------------------------------------------- waveforms


def load_waves(clips: list[Clip], sample_rate: int, progress: bool = True,
               skip_bad: bool = False) -> tuple[list[Clip], list[np.ndarray]]:
    """Decode every clip once (mono, resampled), in order: ``(clips, waves)``.

    A file that cannot be used (not audio, corrupt, empty, silent) raises its
    :class:`~filterkit.apps.speech.audio.AudioError`, or with ``skip_bad`` is
    reported on stderr (one line each) and left out of both lists; a label
    whose every clip was left out is then a :class:`UserError` naming it.
    """
    kept, waves = [], []
    for c in tqdm(clips, desc="reading audio", unit="clip", disable=not progress or len(clips) < 200):
        try:
            waves.append(load_audio(c.path, sample_rate))
        except AudioError as exc:
            if not skip_bad:
                raise
            print(f"filterkit: warning: skipped {exc}", file=sys.stderr)
            continue
        kept.append(c)
    lost = sorted({c.label for c in clips} - {c.label for c in kept})
    if lost and kept:
        counts = Counter(c.label for c in clips)
        names = ", ".join(f"{label!r} ({counts[label]} file(s))" for label in lost[:5])
        raise UserError(f"no clip of label(s) {names} is readable audio; fix or remove those files")
    return kept, waves


def load_extra_train(folder: str | os.PathLike | None, labels: set[str], sample_rate: int,
                     progress: bool = True) -> tuple[list[Clip], list[np.ndarray]]:
    """Clips and waves of ``--extra-train`` (training side only); a label the data lacks is a UserError."""
    if folder is None:
        return [], []
    clips, _ = find_clips(folder)
    clips, waves = load_waves(clips, sample_rate, progress=progress, skip_bad=True)
    if not clips:
        raise UserError(f"{folder}: no usable audio clips for --extra-train")
    unknown = sorted({c.label for c in clips} - labels)
    if unknown:
        raise UserError(f"{folder}: labels not in the training data: {', '.join(unknown[:5])}")
    return clips, waves


def synthetic_noise(sample_rate: int, seconds: float = 10.0, seed: int = 0) -> list[np.ndarray]:
    """White, pink and brown noise (used when a dataset has no background-noise recordings)."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    white = rng.normal(size=n)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(801) / 801, mode="same")
    return [(x / np.max(np.abs(x))).astype(np.float32) for x in (white, pink, brown)]


def background_noise(root: str | Path | None, sample_rate: int, seed: int = 0) -> list[np.ndarray]:
    """Recordings in ``root/_background_noise_`` (Speech Commands) or synthetic noise."""
    if root is not None:
        folder = Path(root) / "_background_noise_"
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            if files:
                return [load_audio(p, sample_rate, allow_silent=True) for p in files]
    return synthetic_noise(sample_rate, seed=seed)


class ClipDataset(torch.utils.data.Dataset):
    """Features ``(n_mels, frames)`` and label indices of clips.

    For training with waveform augmentation (random placement of the clip in the
    window, noise at a random SNR) features are computed per item from the
    augmented waveform; otherwise they are computed once, up front.
    """

    def __init__(
        self,
        waves: list[np.ndarray],
        targets: list[int],
        frontend: LogMel,
        *,
        train: bool = False,
        augment: AugmentConfig | None = None,
        noise: list[np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        self.waves, self.targets, self.frontend = waves, torch.as_tensor(targets, dtype=torch.long), frontend
        cfg = frontend.config
        self.augment = augment or AugmentConfig.off()
        self.noise = noise or []
        self.rng = np.random.default_rng(seed)
        shift = self.augment.shift_ms if cfg.placement == "center" else 0.0
        self.max_shift = int(round(shift * 1e-3 * cfg.sample_rate))  # samples
        self.per_item = train and (self.max_shift > 0 or (bool(self.noise) and self.augment.noise_prob > 0))
        self.cached = None if self.per_item else clip_features(waves, frontend)

    def __len__(self) -> int:
        return len(self.waves)

    def _augmented_wave(self, w: np.ndarray) -> np.ndarray:
        cfg = self.frontend.config
        if cfg.placement == "center":
            n = cfg.num_samples
            offset = (n - w.size) // 2
            if self.max_shift:
                offset += int(self.rng.integers(-self.max_shift, self.max_shift + 1))
                if w.size <= n:
                    offset = int(np.clip(offset, 0, n - w.size))
            w = fit_length(w, n, offset=offset)
        if self.noise and self.rng.random() < self.augment.noise_prob:
            noise = self.noise[int(self.rng.integers(len(self.noise)))]
            w = mix_noise(w, noise, float(self.rng.uniform(*self.augment.snr_db)), self.rng)
        return w

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cached is not None:
            return self.cached[i], self.targets[i]
        with torch.no_grad():
            return clip_features([self._augmented_wave(self.waves[i])], self.frontend)[0], self.targets[i]


def make_loader(dataset: ClipDataset, batch_size: int, shuffle: bool, seed: int) -> torch.utils.data.DataLoader:
    """A single-process loader whose shuffling is seeded (so runs repeat)."""
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=0)
