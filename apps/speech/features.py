"""Log-mel spectrograms in torch (CPU or CUDA, batched), every parameter explicit.

The mel filterbank is librosa's default (``librosa.filters.mel``: Slaney mel scale,
Slaney area normalisation), computed by :func:`mel_filterbank` with the same
formulas (tested equal to librosa's; importing librosa costs seconds of start-up); the STFT is
``torch.stft`` with a periodic Hann window, centred frames and zero padding, as
``librosa.feature.melspectrogram`` does, so ``scale="db"`` reproduces
``librosa.power_to_db(librosa.feature.melspectrogram(...))`` within float tolerance.

Shapes: waveforms ``(B, samples)`` or ``(samples,)`` -> features ``(B, n_mels, frames)``
(frequency on axis -2, time on axis -1); ``frames = 1 + samples // hop_length``.

Placing a clip in the model's fixed input (:func:`clip_features`):

* ``placement="center"``: the waveform is zero-padded / cropped to ``duration_s``
  around its centre, then analysed (``num_frames = 1 + num_samples // hop``).
* ``placement="stretch"``: leading and trailing silence is trimmed
  (:func:`~filterkit.apps.speech.audio.trim_silence`, ``trim_db`` below the
  loudest 10 ms frame), the trimmed clip is analysed and normalised on its own
  frames, and the log-mel image is resampled linearly along time to
  ``stretch_frames`` frames.  Every utterance then starts at frame 0 and ends at
  the last frame whatever the speaking rate: a filter spanning the whole clip
  sees the same phone at the same place for a fast and a slow talker.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from filterkit.apps.speech.config import PLACEMENTS, FeatureConfig

__all__ = ["FeatureConfig", "PLACEMENTS", "LogMel", "normalize_features", "clip_features", "mel_filterbank", "pcen"]


def normalize_features(x: torch.Tensor, how: str, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance normalisation of ``(..., n_mels, frames)`` features over time."""
    if how == "none":
        return x
    mean = x.mean(dim=-1, keepdim=True)
    if how == "mean":
        return x - mean
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz... 15 mel at 1 kHz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000.0, f / (200.0 / 3), 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27))


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15.0, m * (200.0 / 3), 1000.0 * np.exp((m - 15.0) * (np.log(6.4) / 27)))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)`` float32, Slaney scale and area normalisation.

    Same definition as ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` with its defaults.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))  # Hz
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Waveform ``(B, samples)`` float -> log-mel ``(B, n_mels, frames)``, on the module's device."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        super().__init__()
        self.config = config or FeatureConfig()
        c = self.config
        mel = mel_filterbank(c.sample_rate, c.fft_size, c.n_mels, c.fmin, c.fmax)
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
        elif c.scale == "pcen":
            out = pcen(mel * 2.0**31, c.sample_rate, c.hop_length)
        else:
            out = torch.log(mel + c.log_offset)
        out = normalize_features(out, c.normalize)
        return out[0] if squeeze else out


def pcen(energy: torch.Tensor, sample_rate: int, hop_length: int, *, gain: float = 0.98, bias: float = 2.0,
         power: float = 0.5, time_constant: float = 0.4, eps: float = 1e-6) -> torch.Tensor:
    """Per-channel energy normalisation (Wang et al. 2017) of ``energy`` ``(..., n_mels, frames)``.

    ``M`` is ``energy`` smoothed along time by a first-order IIR filter whose coefficient
    follows from ``time_constant`` (seconds), started in the steady state of the first frame
    (librosa's default starts it at 1, which over-amplifies the first few hundred ms of a
    short clip); the result is ``(energy / (eps + M)**gain + bias)**power - bias**power``,
    equal to ``librosa.pcen`` given ``zi = lfilter_zi([b], [1, b - 1]) * energy[..., :1]``.
    """
    frames = time_constant * sample_rate / hop_length
    b = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)
    smooth = torch.empty_like(energy)
    m = energy[..., 0]
    for t in range(energy.shape[-1]):
        m = (1 - b) * m + b * energy[..., t]
        smooth[..., t] = m
    agc = torch.exp(-gain * (np.log(eps) + torch.log1p(smooth / eps)))
    return bias**power * torch.expm1(power * torch.log1p(energy * agc / bias))


def clip_features(waves: list[np.ndarray], frontend: LogMel) -> torch.Tensor:
    """Features ``(B, n_mels, num_frames)`` of variable-length clips, placed as ``frontend.config`` says."""
    from filterkit.apps.speech.audio import fit_length, trim_silence

    c = frontend.config
    device = frontend.mel_basis.device
    if not waves:
        return torch.zeros(0, c.n_mels, c.num_frames or 0, device=device)
    if c.placement == "center":
        if c.num_samples is None:
            raise ValueError("placement 'center' needs duration_s for a fixed-size batch")
        batch = np.stack([fit_length(w, c.num_samples) for w in waves])
        return frontend(torch.from_numpy(batch).to(device))
    out = []
    min_len = c.win_length
    for w in waves:
        w = trim_silence(w, c.sample_rate, c.trim_db)
        if w.size < min_len:
            w = np.pad(w, (0, min_len - w.size))
        x = frontend(torch.from_numpy(np.ascontiguousarray(w)).to(device))  # (n_mels, frames)
        out.append(torch.nn.functional.interpolate(x[None], size=c.stretch_frames, mode="linear",
                                                   align_corners=True)[0])
    return torch.stack(out)
