"""Log-mel spectrograms in torch (CPU or CUDA, batched), every parameter explicit.

The mel filterbank is librosa's (``librosa.filters.mel``, Slaney scale and
normalisation by default), computed once per :class:`LogMel` module; the STFT is
``torch.stft`` with a periodic Hann window, centred frames and zero padding, as
``librosa.feature.melspectrogram`` does, so ``scale="db"`` reproduces
``librosa.power_to_db(librosa.feature.melspectrogram(...))`` within float tolerance.

Shapes: waveforms ``(B, samples)`` or ``(samples,)`` -> features ``(B, n_mels, frames)``
(frequency on axis -2, time on axis -1); ``frames = 1 + samples // hop_length``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn

__all__ = ["FeatureConfig", "LogMel", "normalize_features"]


@dataclass(frozen=True)
class FeatureConfig:
    """Every setting of the log-mel front end (plain types, stored in checkpoints).

    sample_rate: Hz; audio at another rate is resampled to it.
    win_ms, hop_ms: analysis window and hop in milliseconds.
    n_fft: FFT size in samples (None: next power of two >= the window length).
    n_mels: mel bands; fmin, fmax: band edges in Hz (fmax None: sample_rate / 2).
    scale: "db" = 10*log10(max(power, amin)) (librosa.power_to_db, ref 1.0),
           "log" = ln(power + log_offset).
    top_db: with "db", clip to (max - top_db) per utterance (None: no clipping).
    normalize: "cmvn" (per utterance, per band zero mean / unit variance), "mean" (per-band mean only) or "none".
    duration_s: clips are padded / cropped to this length before the features (None: keep length).
    """

    sample_rate: int = 8000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int | None = None
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float | None = None
    scale: str = "db"
    amin: float = 1e-10
    log_offset: float = 1e-6
    top_db: float | None = 80.0
    normalize: str = "cmvn"
    duration_s: float | None = 1.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ValueError(f"need 0 < hop_ms <= win_ms, got hop {self.hop_ms} ms, window {self.win_ms} ms")
        if self.scale not in ("db", "log"):
            raise ValueError(f"scale must be 'db' or 'log', got {self.scale!r}")
        if self.normalize not in ("cmvn", "mean", "none"):
            raise ValueError(f"normalize must be 'cmvn', 'mean' or 'none', got {self.normalize!r}")
        if self.fmax is not None and not self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need fmin < fmax <= sample_rate/2, got {self.fmin}..{self.fmax} Hz")
        if self.n_fft is not None and self.n_fft < self.win_length:
            raise ValueError(f"n_fft {self.n_fft} is shorter than the window ({self.win_length} samples)")

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return int(round(self.win_ms * self.sample_rate / 1000.0))

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return max(1, int(round(self.hop_ms * self.sample_rate / 1000.0)))

    @property
    def fft_size(self) -> int:
        """FFT size in samples."""
        return self.n_fft if self.n_fft is not None else 1 << math.ceil(math.log2(self.win_length))

    @property
    def num_samples(self) -> int | None:
        """Clip length in samples (None: variable)."""
        return None if self.duration_s is None else int(round(self.duration_s * self.sample_rate))

    @property
    def num_frames(self) -> int | None:
        """Frames per clip when ``duration_s`` is set."""
        n = self.num_samples
        return None if n is None else 1 + n // self.hop_length

    def to_dict(self) -> dict:
        """Plain dict for checkpoints and JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown feature settings: {', '.join(sorted(unknown))}")
        return cls(**data)


def normalize_features(x: torch.Tensor, how: str, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance normalisation of ``(..., n_mels, frames)`` features over time."""
    if how == "none":
        return x
    mean = x.mean(dim=-1, keepdim=True)
    if how == "mean":
        return x - mean
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


class LogMel(nn.Module):
    """Waveform ``(B, samples)`` float -> log-mel ``(B, n_mels, frames)``, on the module's device."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        super().__init__()
        import librosa  # only the filterbank; the hot path is torch

        self.config = config or FeatureConfig()
        c = self.config
        mel = librosa.filters.mel(
            sr=c.sample_rate, n_fft=c.fft_size, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, dtype=np.float32
        )
        self.register_buffer("mel_basis", torch.from_numpy(mel), persistent=False)
        self.register_buffer("window", torch.hann_window(c.win_length, periodic=True), persistent=False)

    def power_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """Mel power spectrogram ``(B, n_mels, frames)`` (no log)."""
        c = self.config
        spec = torch.stft(
            wave,
            n_fft=c.fft_size,
            hop_length=c.hop_length,
            win_length=c.win_length,
            window=self.window.to(wave.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        return torch.matmul(self.mel_basis.to(power.dtype), power)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        squeeze = wave.dim() == 1
        if squeeze:
            wave = wave[None]
        c = self.config
        mel = self.power_mel(wave.float() if not wave.is_floating_point() else wave)
        if c.scale == "db":
            out = 10.0 * torch.log10(torch.clamp(mel, min=c.amin))
            if c.top_db is not None:
                peak = out.amax(dim=(-2, -1), keepdim=True)
                out = torch.maximum(out, peak - c.top_db)
        else:
            out = torch.log(mel + c.log_offset)
        out = normalize_features(out, c.normalize)
        return out[0] if squeeze else out
