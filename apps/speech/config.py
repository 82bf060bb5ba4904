"""Every setting of a speech run, as plain data (stored in checkpoints as a dict; no torch import).

:class:`SpeechConfig` is the one object a run is made from: the model and its
constructor options, the training recipe, the mixing weight of the cepstral
head, and its two groups of settings, :class:`FeatureConfig` (the log-mel
front end, which travels with the model) and :class:`AugmentConfig` (training
augmentation).  ``SpeechConfig.from_dict(cfg.to_dict()) == cfg``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

__all__ = ["SpeechConfig", "FeatureConfig", "AugmentConfig", "PLACEMENTS"]

PLACEMENTS = ("center", "stretch")


@dataclass(frozen=True)
class FeatureConfig:
    """Every setting of the log-mel front end (plain types, stored in checkpoints).

    sample_rate: Hz; audio at another rate is resampled to it.
    win_ms, hop_ms: analysis window and hop in milliseconds.
    n_fft: FFT size in samples (None: next power of two >= the window length).
    n_mels: mel bands; fmin, fmax: band edges in Hz (fmax None: sample_rate / 2).
    scale: "db" = 10*log10(max(power, amin)) (librosa.power_to_db, ref 1.0),
           "log" = ln(power + log_offset),
           "pcen" = per-channel energy normalisation of the mel power scaled by 2**31
           (:func:`pcen`, librosa.pcen's defaults: gain 0.98, bias 2, power 0.5, 400 ms smoother).
    top_db: with "db", clip to (max - top_db) per utterance (None: no clipping).
    normalize: "cmvn" (per utterance, per band zero mean / unit variance), "mean" (per-band mean only) or "none".
    duration_s: clips are padded / cropped to this length before the features (None: keep length).
    placement: "center" (pad/crop to duration_s) or "stretch" (trim silence, resample to stretch_frames).
    stretch_frames: frames per clip with placement "stretch".
    trim_db: with "stretch", 10 ms frames quieter than (loudest - trim_db) dB at either end are cut.
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
    normalize: str = "mean"
    duration_s: float | None = 1.0
    placement: str = "stretch"
    stretch_frames: int = 32
    trim_db: float = 40.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ValueError(f"need 0 < hop_ms <= win_ms, got hop {self.hop_ms} ms, window {self.win_ms} ms")
        if self.scale not in ("db", "log", "pcen"):
            raise ValueError(f"scale must be 'db', 'log' or 'pcen', got {self.scale!r}")
        if self.normalize not in ("cmvn", "mean", "none"):
            raise ValueError(f"normalize must be 'cmvn', 'mean' or 'none', got {self.normalize!r}")
        if self.fmax is not None and not self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need fmin < fmax <= sample_rate/2, got {self.fmin}..{self.fmax} Hz")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        if self.stretch_frames < 2 or self.trim_db <= 0:
            raise ValueError(f"need stretch_frames >= 2 and trim_db > 0, got {self.stretch_frames}, {self.trim_db}")
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
        """Frames per clip: ``stretch_frames``, or from ``duration_s`` (None: variable)."""
        if self.placement == "stretch":
            return self.stretch_frames
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
@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings (plain types, stored in checkpoints).

    shift_ms: clips are shifted by up to +-shift_ms (zero fill); placement "center" only (a
        "stretch" clip is trimmed to its speech and resampled, so it has no position to shift).
    noise_prob, snr_db: probability of mixing noise and the SNR range in dB (off by default: it did not
        help on clean FSDD and makes every epoch compute features afresh; use it for noisy data).
    freq_masks, freq_mask_width: SpecAugment masks along mel bands (max width in bands).
    time_masks, time_mask_width: masks along frames (max width in frames).
    vtlp_range: warp factor alpha drawn from [1 - r, 1 + r] (0 disables).
    """

    shift_ms: float = 100.0
    noise_prob: float = 0.0
    snr_db: tuple[float, float] = (10.0, 30.0)
    freq_masks: int = 2
    freq_mask_width: int = 5
    time_masks: int = 2
    time_mask_width: int = 10
    vtlp_range: float = 0.15

    def to_dict(self) -> dict:
        d = asdict(self)
        d["snr_db"] = list(self.snr_db)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "AugmentConfig":
        data = dict(data)
        if "snr_db" in data:
            data["snr_db"] = tuple(data["snr_db"])
        return cls(**data)

    @classmethod
    def off(cls) -> "AugmentConfig":
        """No augmentation at all."""
        return cls(shift_ms=0.0, noise_prob=0.0, freq_masks=0, time_masks=0, vtlp_range=0.0)
@dataclass
class SpeechConfig:
    """Everything that decides a training run (stored in the checkpoint's ``config`` as a plain dict).

    model, model_options: a name of :data:`filterkit.apps.speech.model.MODELS` and its constructor's
        keyword arguments.
    mix: the CNN's weight when its log-probabilities are mixed with the cepstral head's
        (:func:`filterkit.nn.mixing.mix_log_probabilities`): 1 is the CNN alone (no head is fitted),
        0.5 an even geometric mean.
    """

    model: str = "fstack"
    model_options: dict = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    features: FeatureConfig = field(default_factory=FeatureConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    mix: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.mix <= 1.0:
            raise ValueError(f"mix (the CNN's weight) must be in (0, 1], got {self.mix}")

    @property
    def cepstral(self) -> bool:
        """Whether a cepstral head is fitted and mixed in (``mix < 1``)."""
        return self.mix < 1.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = self.features.to_dict()
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "SpeechConfig":
        """Inverse of :meth:`to_dict`; also reads the dicts of older checkpoints.

        Before placements existed every clip was padded/cropped around its centre; before
        ``mix`` meant the CNN's weight, ``cepstral_mix`` was the head's (``mix = 1 - cepstral_mix``).
        """
        data = dict(data)
        if "cepstral_mix" in data:
            data["mix"] = 1.0 - float(data.pop("cepstral_mix"))
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        data["features"] = FeatureConfig.from_dict({"placement": "center", **data["features"]})
        data["augment"] = AugmentConfig.from_dict(data["augment"])
        return cls(**data)
