"""Training-time augmentation for keyword spotting, on waveforms and on log-mel features.

Waveform side (numpy, per clip): :func:`mix_noise` at a given SNR in dB (the random
time shift is the clip's placement in :class:`~filterkit.apps.speech.data.ClipDataset`).  Feature side (torch, batched ``(B, n_mels, frames)``):
:func:`spec_augment` (SpecAugment frequency and time masks, Park et al. 2019)
and :func:`vtlp` (vocal-tract-length perturbation: the mel axis is warped by a
factor alpha around the lower bands, Jaitly & Hinton 2013), which imitates a
speaker with a longer or shorter vocal tract and so moves formants up or down.
Every function takes an explicit ``numpy.random.Generator`` or
``torch.Generator`` so runs are reproducible.
"""

from __future__ import annotations

import numpy as np
import torch

from filterkit.apps.speech.config import AugmentConfig

__all__ = ["AugmentConfig", "mix_noise", "spec_augment", "vtlp", "augment_features"]


def mix_noise(wave: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add a random excerpt of ``noise`` scaled so that signal power / noise power = ``snr_db`` dB."""
    n = wave.size
    if noise.size < n:
        noise = np.tile(noise, int(np.ceil(n / noise.size)))
    start = int(rng.integers(0, noise.size - n + 1))
    excerpt = noise[start : start + n].astype(np.float32)
    p_signal = float(np.mean(wave.astype(np.float64) ** 2))
    p_noise = float(np.mean(excerpt.astype(np.float64) ** 2))
    if p_signal == 0.0 or p_noise == 0.0:
        return wave
    scale = np.sqrt(p_signal / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (wave + scale * excerpt).astype(np.float32)


def spec_augment(
    x: torch.Tensor, freq_masks: int, freq_width: int, time_masks: int, time_width: int, generator: torch.Generator
) -> torch.Tensor:
    """Set random bands and frame ranges of ``x`` ``(B, F, T)`` to each utterance's mean (a copy)."""
    b, n_f, n_t = x.shape
    out = x.clone()
    fill = x.mean(dim=(1, 2))
    for count, width, size, axis in ((freq_masks, freq_width, n_f, 1), (time_masks, time_width, n_t, 2)):
        for _ in range(count):
            w = torch.randint(0, max(width, 0) + 1, (b,), generator=generator)
            start = (torch.rand(b, generator=generator) * (size - w + 1).clamp(min=1)).long()
            idx = torch.arange(size)
            mask = (idx[None] >= start[:, None]) & (idx[None] < (start + w)[:, None])  # (B, size)
            mask = mask[:, :, None] if axis == 1 else mask[:, None, :]
            out = torch.where(mask.to(x.device), fill[:, None, None], out)
    return out


def vtlp(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Warp the frequency axis of ``x`` ``(B, F, T)`` by per-utterance factors ``alpha`` ``(B,)``.

    Output band ``f`` reads input band ``f / alpha`` (linear interpolation,
    edge bands replicated): alpha > 1 moves energy to higher bands (a shorter
    vocal tract), alpha < 1 to lower bands.
    """
    b, n_f, n_t = x.shape
    pos = torch.arange(n_f, dtype=x.dtype, device=x.device)[None] / alpha.to(x)[:, None]  # (B, F)
    pos = pos.clamp(0, n_f - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n_f - 1)
    w = (pos - lo.to(x.dtype))[:, :, None]
    gather = lambda idx: torch.gather(x, 1, idx[:, :, None].expand(b, n_f, n_t))  # noqa: E731
    return gather(lo) * (1 - w) + gather(hi) * w


def augment_features(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """VTLP then SpecAugment on a batch of features ``(B, F, T)`` as configured."""
    if cfg.vtlp_range > 0:
        alpha = 1.0 + (torch.rand(x.shape[0], generator=generator) * 2 - 1) * cfg.vtlp_range
        x = vtlp(x, alpha)
    if cfg.freq_masks or cfg.time_masks:
        x = spec_augment(x, cfg.freq_masks, cfg.freq_mask_width, cfg.time_masks, cfg.time_mask_width, generator)
    return x

