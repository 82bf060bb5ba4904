"""Keyword-spotting CNNs on log-mel features ``(B, n_mels, frames)``.

* :class:`FreqConvNet`: filters span ``k_t`` frames of time (by default the
  whole clip) and ``k_f`` mel bands, and slide along **frequency only**
  (stride ``stride_f``), followed by max-pooling along frequency: the
  cnn-one-fstride4 family of Sainath & Parada (2015), after Abdel-Hamid et al.
  (2014).  A formant that moves up or down with the speaker is met by the same
  filter at another frequency position.
* :class:`FreqStack`: several frequency-only layers.  The first filters span
  ``n_frames / time_blocks`` frames (one block of time, non-overlapping blocks)
  and slide along frequency; later layers are ``(k_f x 1)`` convolutions along
  frequency within each block; each layer max-pools along frequency.  The
  block outputs are then flattened in order, or max/avg-pooled over the blocks.
* :class:`TradFPool3`: Sainath & Parada's cnn-trad-fpool3 (two conv layers,
  max-pool 3 along frequency only, a low-rank linear layer, one dense layer).
* :class:`TimeFreqCNN`: an ordinary small 2-D CNN that convolves and pools
  along both time and frequency, as the baseline.

:class:`SpeechClassifier` is what is trained and saved: the log-mel front end
(its settings travel in the checkpoint), feature augmentation in training mode,
one of these networks, and (when ``config.mix < 1``) a fitted cepstral head.

Presets (``MODELS``) map names to constructors; ``build_model(name, n_mels,
n_frames, n_classes, **overrides)``.  Parameters and multiply-adds of each
come from :func:`filterkit.nn.summary.summarize`.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import torch
from torch import nn

from filterkit.apps.speech.augment import augment_features
from filterkit.apps.speech.cepstral import CepstralHead
from filterkit.apps.speech.config import FeatureConfig, SpeechConfig
from filterkit.apps.speech.features import LogMel, clip_features
from filterkit.errors import UserError

__all__ = ["FreqStack", "FreqConvNet", "TradFPool3", "TimeFreqCNN", "MODELS", "build_model", "model_names",
           "SpeechClassifier", "parse_model_options"]


def _mlp(in_features: int, hidden: tuple[int, ...], n_classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(in_features, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        in_features = h
    layers.append(nn.Linear(in_features, n_classes))
    return nn.Sequential(*layers)


class FreqConvNet(nn.Module):
    """Frequency-only convolution: kernel ``(k_f, k_t)``, stride ``(stride_f, k_t)``.

    Input ``(B, n_mels, frames)``; the conv output is ``(B, filters, F', T')``
    with ``T' = frames // k_t`` time blocks (1 when ``k_t`` spans the clip) and
    ``F' = (n_mels - k_f) // stride_f + 1`` frequency positions, max-pooled by
    ``pool_f`` along frequency only.
    """

    def __init__(
        self,
        n_mels: int,
        n_frames: int,
        n_classes: int,
        *,
        filters: int = 64,
        k_f: int = 8,
        k_t: int | None = None,
        stride_f: int = 4,
        pool_f: int = 1,
        hidden: tuple[int, ...] = (64,),
        dropout: float = 0.3,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        k_t = n_frames if k_t is None else min(k_t, n_frames)
        if k_f > n_mels:
            raise ValueError(f"k_f={k_f} is larger than n_mels={n_mels}")
        self.conv = nn.Conv2d(1, filters, kernel_size=(k_f, k_t), stride=(stride_f, k_t), bias=not batchnorm)
        self.norm = nn.BatchNorm2d(filters) if batchnorm else nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d((pool_f, 1)) if pool_f > 1 else nn.Identity()
        f_out = ((n_mels - k_f) // stride_f + 1) // max(pool_f, 1)
        t_out = n_frames // k_t
        self.dropout = nn.Dropout(dropout)
        self.head = _mlp(filters * f_out * t_out, tuple(hidden), n_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act(self.norm(self.conv(x.unsqueeze(1)))))
        return self.head(self.dropout(torch.flatten(x, 1)))


class FreqStack(nn.Module):
    """Stacked frequency-only convolutions with frequency pooling.

    Input ``(B, n_mels, frames)``.  Layer 1: ``Conv2d(1, channels[0], (k_f[0],
    frames // time_blocks), stride (1, time_stride))``; ``time_stride`` defaults
    to the block length (non-overlapping blocks; a smaller one overlaps them, so
    the filters also step along time, by whole strides); layer i > 1:
    ``Conv2d(channels[i-1], channels[i], (k_f[i], 1))``; each followed by batch
    norm, ReLU and ``MaxPool2d((pool_f[i], 1))``.  ``time_pool`` "max"/"avg"
    reduces the time blocks (order-free), "none" keeps them in the flattened
    vector.  Head: dropout and one linear layer.
    """

    def __init__(
        self,
        n_mels: int,
        n_frames: int,
        n_classes: int,
        *,
        channels: tuple[int, ...] = (48, 64),
        k_f: tuple[int, ...] = (8, 4),
        pool_f: tuple[int, ...] = (3, 1),
        time_blocks: int = 1,
        time_stride: int | None = None,
        time_pool: str = "none",
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if not len(channels) == len(k_f) == len(pool_f) >= 1:
            raise ValueError("channels, k_f and pool_f need the same length (one entry per layer)")
        if time_pool not in ("none", "max", "avg"):
            raise ValueError(f"time_pool must be 'none', 'max' or 'avg', got {time_pool!r}")
        if not 1 <= time_blocks <= n_frames:
            raise ValueError(f"time_blocks must be in 1..{n_frames}, got {time_blocks}")
        block = n_frames // time_blocks
        time_stride = block if time_stride is None else time_stride
        if not 1 <= time_stride <= block:
            raise ValueError(f"time_stride must be in 1..{block} (the block length), got {time_stride}")
        positions = (n_frames - block) // time_stride + 1
        layers: list[nn.Module] = []
        c_in, f = 1, n_mels
        for i, (c, k, p) in enumerate(zip(channels, k_f, pool_f)):
            if k > f:
                raise ValueError(f"layer {i + 1}: k_f={k} is larger than the {f} frequency positions left")
            kernel, stride = ((k, block), (1, time_stride)) if i == 0 else ((k, 1), (1, 1))
            layers += [nn.Conv2d(c_in, c, kernel, stride=stride, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            f = f - k + 1
            if p > 1:
                layers.append(nn.MaxPool2d((p, 1)))
                f //= p
            c_in = c
        self.features = nn.Sequential(*layers)
        self.time_pool = time_pool
        t_out = 1 if time_pool != "none" else positions
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in * f * t_out, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x.unsqueeze(1))  # (B, C, F', blocks)
        if self.time_pool == "max":
            x = x.amax(dim=-1)
        elif self.time_pool == "avg":
            x = x.mean(dim=-1)
        return self.head(torch.flatten(x, 1))


class TradFPool3(nn.Module):
    """cnn-trad-fpool3 (Sainath & Parada 2015, table 1), sizes scaled to the input.

    conv ``filters[0]`` @ (8 freq x ``k_t[0]`` time, time stride ``stride_t``) -> max-pool 3
    along frequency -> conv ``filters[1]`` @ (4 x ``k_t[1]``) -> low-rank linear ``low_rank``
    -> dense ``hidden`` -> softmax.  The defaults are the paper's (64, 64 filters; 20 and 10
    frames; stride 1; 32; 128); smaller ones fit small-footprint budgets.
    """

    def __init__(self, n_mels: int, n_frames: int, n_classes: int, *, filters: tuple[int, int] = (64, 64),
                 k_t: tuple[int, int] = (20, 10), stride_t: int = 1, low_rank: int = 32, hidden: int = 128,
                 dropout: float = 0.3) -> None:
        super().__init__()
        if len(filters) != 2 or len(k_t) != 2 or stride_t < 1:
            raise ValueError("filters and k_t need two entries (one per conv layer) and stride_t >= 1")
        kt1 = min(k_t[0], n_frames)
        self.features = nn.Sequential(
            nn.Conv2d(1, filters[0], (8, kt1), stride=(1, stride_t)), nn.BatchNorm2d(filters[0]),
            nn.ReLU(inplace=True), nn.MaxPool2d((3, 1)),
        )
        f1, t1 = (n_mels - 8 + 1) // 3, (n_frames - kt1) // stride_t + 1
        kt2 = min(k_t[1], t1)
        self.features2 = nn.Sequential(nn.Conv2d(filters[0], filters[1], (4, kt2)), nn.BatchNorm2d(filters[1]),
                                       nn.ReLU(inplace=True))
        f2, t2 = f1 - 4 + 1, t1 - kt2 + 1
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(filters[1] * f2 * t2, low_rank), nn.Linear(low_rank, hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features2(self.features(x.unsqueeze(1)))
        return self.head(torch.flatten(x, 1))


class TimeFreqCNN(nn.Module):
    """Baseline 2-D CNN: 3x3 convolutions and 2x2 pooling along time *and* frequency, global average pool."""

    def __init__(self, n_mels: int, n_frames: int, n_classes: int, *, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x.unsqueeze(1)), 1))


MODELS: dict[str, Callable[..., nn.Module]] = {
    # frequency-only, small-footprint (the default)
    "fstride4": lambda m, t, c, **kw: FreqConvNet(m, t, c, **{"filters": 64, "k_f": 8, "stride_f": 4, "pool_f": 1,
                                                               "hidden": (64,), **kw}),
    # frequency-only with frequency pooling
    "fpool": lambda m, t, c, **kw: FreqConvNet(m, t, c, **{"filters": 64, "k_f": 8, "stride_f": 1, "pool_f": 3,
                                                            "hidden": (64,), **kw}),
    # several frequency-only layers with frequency pooling
    "fstack": lambda m, t, c, **kw: FreqStack(m, t, c, **{"channels": (48, 64), "k_f": (8, 4), "pool_f": (3, 1),
                                                          "time_blocks": 4, **kw}),
    "trad-fpool3": lambda m, t, c, **kw: TradFPool3(m, t, c, **kw),
    "tf2d": lambda m, t, c, **kw: TimeFreqCNN(m, t, c, **kw),
}


def model_names() -> list[str]:
    """Names accepted by :func:`build_model`."""
    return list(MODELS)


def build_model(name: str, n_mels: int, n_frames: int, n_classes: int, **overrides) -> nn.Module:
    """A speech model by preset name for inputs ``(B, n_mels, n_frames)``."""
    if name not in MODELS:
        raise ValueError(f"unknown speech model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](n_mels, n_frames, n_classes, **overrides)


class SpeechClassifier(nn.Module):
    """Log-mel features ``(B, n_mels, frames)`` -> class logits ``(B, n_classes)``.

    :meth:`features` turns a list of waveforms (mono, ``features.sample_rate``)
    into that input, placing each clip as the feature settings say; in training
    mode :meth:`forward` applies VTLP and SpecAugment before the network.
    """

    def __init__(self, config: SpeechConfig, n_classes: int) -> None:
        super().__init__()
        f = config.features
        if f.num_frames is None:
            raise ValueError("speech models need a fixed clip length (features.duration_s or placement 'stretch')")
        self.frontend = LogMel(f)
        self.augment = config.augment
        self.net = build_model(config.model, f.n_mels, f.num_frames, n_classes, **config.model_options)
        self.n_classes = n_classes
        self.generator: torch.Generator | None = None
        self.cepstral: CepstralHead | None = None  # fitted after the CNN when config.mix < 1

    @torch.no_grad()
    def features(self, waves: list[np.ndarray]) -> torch.Tensor:
        """Log-mel features ``(B, n_mels, frames)`` of variable-length clips (no augmentation)."""
        return clip_features(waves, self.frontend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = augment_features(x, self.augment, self.generator)
        return self.net(x)


def parse_model_options(model: str, text: str | None, features: FeatureConfig, seed: int = 0) -> dict:
    """``--model-options`` JSON as constructor keyword arguments (lists become tuples), tried on the model once.

    Raises :class:`~filterkit.errors.UserError` with one line for bad JSON or arguments the model refuses.
    """
    if text is None:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--model-options is not valid JSON ({exc.msg})") from None
    if not isinstance(options, dict):
        raise UserError("--model-options must be a JSON object, e.g. '{\"channels\": [32, 48]}'")
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        SpeechClassifier(SpeechConfig(model=model, model_options=options, features=features, seed=seed), 2)
    except (TypeError, ValueError) as exc:
        raise UserError(f"--model-options for {model}: {str(exc).splitlines()[0]}") from None
    return options
