"""Reading audio clips: soundfile for decoding, soxr for resampling (no numba start-up).

Conversions (documented, never silent errors):

* multi-channel files are averaged to mono;
* any sample rate is resampled to the requested rate (soxr, high quality);
* integer PCM is scaled to float32 in [-1, 1].

Limits (checked from the header, before decoding or resampling): sample rates from
:data:`MIN_SAMPLE_RATE` to :data:`MAX_SAMPLE_RATE` Hz, clips up to :data:`MAX_SECONDS` seconds
(a WAV header claiming 1 Hz would otherwise be resampled into hours of audio).

Problems a user can fix (not audio, corrupt, empty, silent) raise
:class:`AudioError`, a :class:`~filterkit.errors.UserError` naming the file.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np

from filterkit.errors import UserError, show_path

__all__ = ["AudioError", "load_audio", "fit_length", "is_silent", "trim_silence", "require", "EXTRA_HINT",
           "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "MAX_SECONDS"]

#: what to install when an audio library is missing
EXTRA_HINT = 'pip install "filterkit[speech]"'

#: peak amplitude below which a clip counts as silent (about -80 dBFS)
SILENCE_PEAK = 1e-4

#: sample rates a clip may have (Hz): telephone-band recordings up to high-resolution studio audio
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1_000, 384_000

#: longest clip (seconds) :func:`load_audio` reads by default (keyword ``max_seconds``)
MAX_SECONDS = 600.0


class AudioError(UserError):
    """An audio file that cannot be used, with the file name and the reason."""


def require(module: str) -> ModuleType:
    """Import an audio library of the speech extra (soundfile, soxr); missing: a one-line UserError."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(f"the speech app needs {module}, which is not installed: {EXTRA_HINT}") from None


def load_audio(path: str | Path, sample_rate: int, *, allow_silent: bool = False,
               max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sample_rate`` Hz, shape ``(samples,)``.

    :class:`AudioError` for a file that is missing, not audio, empty, silent (unless ``allow_silent``),
    at a sample rate outside :data:`MIN_SAMPLE_RATE`..:data:`MAX_SAMPLE_RATE`, or longer than
    ``max_seconds`` (the last two checked before decoding).
    """
    sf = require("soundfile")

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{show_path(path)}: no such file")
    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            _check_clip(path, rate, f.frames, max_seconds)  # from the header: before decoding
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{show_path(path)}: not a readable audio file ({_short(exc)}); expected WAV/FLAC/OGG") \
            from None
    if data.shape[0] == 0:
        raise AudioError(f"{show_path(path)}: empty audio clip (0 samples)")
    _check_clip(path, rate, data.shape[0], max_seconds)  # the samples read (a header may understate them)
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(wave)):
        raise AudioError(f"{show_path(path)}: audio contains NaN or infinite samples")
    if rate != sample_rate:
        wave = require("soxr").resample(wave, rate, sample_rate, quality="HQ").astype(np.float32, copy=False)
    if not allow_silent and is_silent(wave):
        raise AudioError(f"{show_path(path)}: silent clip (peak amplitude below {SILENCE_PEAK:g})")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _check_clip(path: Path, rate: int, frames: int, max_seconds: float) -> None:
    """:class:`AudioError` for a sample rate outside the supported range or a clip over ``max_seconds``."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{show_path(path)}: sample rate {rate:,} Hz is outside the supported "
                         f"{MIN_SAMPLE_RATE:,}..{MAX_SAMPLE_RATE:,} Hz (a damaged header?)")
    if frames > max_seconds * rate:
        raise AudioError(f"{show_path(path)}: {frames / rate:,.1f} s of audio, longer than the {max_seconds:g} s "
                         "limit for one clip; cut it into shorter clips")


def is_silent(wave: np.ndarray) -> bool:
    """True when the clip's peak amplitude is below :data:`SILENCE_PEAK`."""
    return wave.size == 0 or float(np.max(np.abs(wave))) < SILENCE_PEAK


def fit_length(wave: np.ndarray, num_samples: int, *, offset: int | None = None) -> np.ndarray:
    """Centre-crop or zero-pad ``wave`` to ``num_samples`` (``offset`` shifts the clip right/left)."""
    n = wave.shape[-1]
    out = np.zeros(num_samples, dtype=np.float32)
    if offset is None:
        offset = (num_samples - n) // 2
    src0 = max(0, -offset)
    dst0 = max(0, offset)
    length = min(n - src0, num_samples - dst0)
    if length > 0:
        out[dst0 : dst0 + length] = wave[src0 : src0 + length]
    return out


def trim_silence(wave: np.ndarray, sample_rate: int, top_db: float = 40.0, frame_ms: float = 10.0) -> np.ndarray:
    """``wave`` without leading/trailing 10 ms frames more than ``top_db`` dB below the loudest frame.

    A silent clip is returned unchanged.  Frames are non-overlapping; RMS per frame.
    """
    hop = max(1, int(round(frame_ms * 1e-3 * sample_rate)))
    n = wave.size // hop
    if n == 0:
        return wave
    rms = np.sqrt(np.mean(wave[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    peak = float(rms.max())
    if peak <= 0.0:
        return wave
    loud = np.flatnonzero(rms >= peak * 10.0 ** (-top_db / 20.0))
    start, stop = loud[0] * hop, (wave.size if loud[-1] == n - 1 else (loud[-1] + 1) * hop)
    return wave[start:stop]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]
