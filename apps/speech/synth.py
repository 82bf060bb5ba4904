"""An offline demo dataset: the digits zero..nine spoken by espeak-ng in several voices.

Files follow the FSDD naming ``{digit}_{speaker}_{take}.wav`` (16-bit PCM, mono,
8 kHz by default), so every dataset reader and split of the app works on them;
the "speaker" is an espeak-ng voice + variant, and takes differ in speed and
pitch.  Needs the ``espeak-ng`` program (Debian package ``espeak-ng``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from filterkit.apps.speech.audio import require
from filterkit.errors import UserError
from filterkit.io import atomic_write

__all__ = ["DIGITS", "VOICES", "Voice", "espeak_available", "synthesize_digits"]

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (language) with a variant (timbre); ``name`` is the speaker id in file names."""

    name: str
    language: str
    variant: str


VOICES = (
    Voice("usm1", "en-us", "m1"),
    Voice("gbf1", "en-gb", "f1"),
    Voice("usm3", "en-us", "m3"),
    Voice("scof2", "en-gb-scotland", "f2"),
    Voice("rpm4", "en-gb-x-rp", "m4"),
    Voice("carf3", "en-029", "f3"),
    Voice("gbm7", "en-gb", "m7"),
    Voice("usf4", "en-us", "f4"),
)


def espeak_available() -> str | None:
    """Path of the espeak-ng program, or None."""
    return shutil.which("espeak-ng")


def _speak(exe: str, text: str, voice: Voice, speed: int, pitch: int, wav: Path) -> None:
    cmd = [exe, "-v", f"{voice.language}+{voice.variant}", "-s", str(speed), "-p", str(pitch), "-w", str(wav), text]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not wav.exists():
        raise UserError(f"espeak-ng failed for voice {voice.language}+{voice.variant}: {result.stderr.strip()[:200]}")


def _trim(wave: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(wave) > threshold * max(float(np.max(np.abs(wave))), 1e-9))
    return wave if loud.size == 0 else wave[loud[0] : loud[-1] + 1]


def synthesize_digits(
    out_dir: str | Path,
    *,
    voices: int = 6,
    takes: int = 10,
    sample_rate: int = 8000,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Write ``10 x voices x takes`` clips to ``out_dir`` and return their paths.

    Take ``k`` of a voice uses a speed (words/minute) and pitch (0-99) drawn
    from ``seed``; existing files are kept unless ``force``.
    """
    sf, soxr = require("soundfile"), require("soxr")
    exe = espeak_available()
    if exe is None:
        raise UserError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    if not 1 <= voices <= len(VOICES):
        raise UserError(f"--voices must be between 1 and {len(VOICES)}, got {voices}")
    if takes < 1:
        raise UserError(f"--takes must be at least 1, got {takes}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: not a folder (give a folder for the clips)")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    plan = []
    for voice in VOICES[:voices]:
        for take in range(takes):
            speed, pitch = int(rng.integers(120, 200)), int(rng.integers(25, 75))
            for d, word in enumerate(DIGITS):
                plan.append((out_dir / f"{d}_{voice.name}_{take}.wav", word, voice, speed, pitch))
    try:
        from tqdm import tqdm

        iterator = tqdm(plan, desc="espeak-ng", unit="clip", disable=not progress)
    except ImportError:  # pragma: no cover
        iterator = plan
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for path, word, voice, speed, pitch in iterator:
            if path.exists() and not force:
                written.append(path)
                continue
            _speak(exe, word, voice, speed, pitch, raw)
            wave, rate = sf.read(str(raw), dtype="float32")
            wave = _trim(wave)
            if rate != sample_rate:
                wave = soxr.resample(wave, rate, sample_rate, quality="HQ").astype(np.float32)
            atomic_write(path, lambda p, w=wave: sf.write(str(p), w, sample_rate, subtype="PCM_16", format="WAV"))
            written.append(path)
    return written
