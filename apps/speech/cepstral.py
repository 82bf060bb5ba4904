"""Cepstral statistics of a whole clip, a logistic regression on them, and its mix with the CNN.

The CNN sees each clip trimmed and stretched to a fixed number of frames; the
statistics here see it as recorded.  Per clip: the log-mel spectrogram of the
CNN's own front end without normalisation, at its natural length
``(n_mels, T)``; its first ``n_ceps`` cepstra (DCT-II over the mel axis, i.e.
MFCCs) and their deltas (regression over +-4 frames); the mean and standard
deviation of each over time, ``4 * n_ceps`` numbers.  A multinomial logistic
regression on the standardised statistics gives class probabilities ``q``,
mixed with the CNN's ``p`` as ``p^m q^(1-m)`` renormalised, where ``m`` = ``mix`` is the CNN's
weight (:func:`filterkit.nn.mixing.mix_log_probabilities`, as in the text app).

Cost per clip beyond the shared front end: ``n_ceps * n_mels`` multiply-adds
per frame for the DCT, ``9 * n_ceps`` for the deltas, and ``4 * n_ceps * C``
for the regression (:meth:`CepstralHead.macs`); parameters ``4 * n_ceps * (C + 2) + C``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import torch

from filterkit.nn.mixing import mix_log_probabilities

from filterkit.apps.speech.features import FeatureConfig, LogMel

__all__ = ["CepstralHead", "cepstral_stats", "clip_statistics", "deltas", "fit_cepstral_head"]

DELTA_HALF_WIDTH = 4  # frames each side of the delta regression (librosa.feature.delta's default width 9)


def deltas(x: np.ndarray, half_width: int = DELTA_HALF_WIDTH) -> np.ndarray:
    """Delta features along the last axis: ``sum_n n (x[t+n] - x[t-n]) / (2 sum_n n^2)``, edges repeated."""
    if x.shape[-1] < 2:
        return np.zeros_like(x)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half_width, half_width)], mode="edge")
    t = x.shape[-1]
    out = np.zeros_like(x, dtype=np.float64)
    for n in range(1, half_width + 1):
        out += n * (padded[..., half_width + n : half_width + n + t] - padded[..., half_width - n : half_width - n + t])
    return out / (2 * sum(n * n for n in range(1, half_width + 1)))


def cepstral_stats(log_mel: np.ndarray, n_ceps: int = 13) -> np.ndarray:
    """``(4 * n_ceps,)``: mean and std over time of the cepstra, then of their deltas, of ``(n_mels, T)``."""
    import scipy.fft

    ceps = scipy.fft.dct(np.asarray(log_mel, dtype=np.float64), type=2, norm="ortho", axis=0)[:n_ceps]
    d = deltas(ceps)
    return np.concatenate([ceps.mean(axis=1), ceps.std(axis=1), d.mean(axis=1), d.std(axis=1)])


@functools.lru_cache(maxsize=8)
def _natural_frontend(features: FeatureConfig) -> LogMel:
    """The front end of ``features`` without normalisation (built once per setting: predict calls it per file)."""
    return LogMel(replace(features, normalize="none"))


def clip_statistics(waves: list[np.ndarray], features: FeatureConfig, n_ceps: int = 13) -> np.ndarray:
    """``(N, 4 * n_ceps)`` statistics of mono clips at ``features.sample_rate``, each at its own length."""
    frontend = _natural_frontend(features)
    out = np.zeros((len(waves), 4 * n_ceps))
    with torch.no_grad():
        for i, wave in enumerate(waves):
            log_mel = frontend(torch.as_tensor(np.asarray(wave, dtype=np.float32)))
            out[i] = cepstral_stats(log_mel.reshape(log_mel.shape[-2], -1).numpy(), n_ceps)
    return out


@dataclass
class CepstralHead:
    """Standardisation ``(x - mean) / scale`` and linear class scores ``x @ weights + bias``.

    ``mix``: the CNN's weight in the mix (1: the CNN alone, 0: this head alone).
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (4 * n_ceps, C)
    bias: np.ndarray  # (C,)
    n_ceps: int
    mix: float
    c: float = 1.0  # the regression's inverse L2 strength

    def log_proba(self, stats: np.ndarray) -> np.ndarray:
        """``(N, C)`` log-probabilities from :func:`clip_statistics` rows."""
        scores = torch.from_numpy(((stats - self.mean) / self.scale) @ self.weights + self.bias)
        return torch.log_softmax(scores, dim=1).numpy()

    def mix_with(self, cnn_probs: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """The mixed probabilities ``(N, C)`` given the CNN's."""
        log_p = np.log(np.clip(np.asarray(cnn_probs, dtype=np.float64), 1e-12, None))
        return mix_log_probabilities(log_p, self.log_proba(stats), self.mix)

    @property
    def params(self) -> int:
        return int(self.mean.size + self.scale.size + self.weights.size + self.bias.size)

    def macs(self, frames: int, n_mels: int) -> int:
        """Multiply-adds for one clip of ``frames`` frames: DCT, deltas, standardisation and regression."""
        f = self.weights.shape[0]
        return int(frames * self.n_ceps * (n_mels + 2 * DELTA_HALF_WIDTH + 1) + f + f * self.weights.shape[1])

    def to_dict(self) -> dict:
        t = {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k), dtype=np.float64))
             for k in ("mean", "scale", "weights", "bias")}
        return {**t, "n_ceps": self.n_ceps, "mix": self.mix, "c": self.c}

    @classmethod
    def from_dict(cls, data: dict) -> "CepstralHead":
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights", "bias")}
        return cls(**arrays, n_ceps=int(data["n_ceps"]), mix=float(data["mix"]), c=float(data.get("c", 1.0)))


def fit_cepstral_head(
    waves: list[np.ndarray],
    targets: list[int],
    n_classes: int,
    features: FeatureConfig,
    mix: float,
    c: float = 1.0,
    n_ceps: int = 13,
    seed: int = 0,
) -> CepstralHead:
    """Fit the regression on the training clips (every class gets a column, seen or not); ``mix``: the CNN's weight."""
    from sklearn.linear_model import LogisticRegression

    stats = clip_statistics(waves, features, n_ceps)
    mean, scale = stats.mean(axis=0), stats.std(axis=0)
    scale[scale == 0] = 1.0
    y = np.asarray(targets)
    weights = np.zeros((stats.shape[1], n_classes))
    bias = np.full(n_classes, -30.0)  # classes absent from training stay (almost) impossible
    present = np.unique(y)
    if len(present) == 1:
        bias[present[0]] = 0.0
    else:
        model = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit((stats - mean) / scale, y)
        coef, intercept = model.coef_, model.intercept_
        if len(present) == 2:  # sklearn keeps one column for two classes: class 1's logit against class 0's
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        weights[:, present], bias[present] = coef.T, intercept
    return CepstralHead(mean, scale, weights, bias, n_ceps, mix, c)
