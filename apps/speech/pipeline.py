"""Train and evaluate speech classifiers on lists of clips, through the shared training engine.

The model that is trained and saved is a :class:`SpeechClassifier`: the
log-mel front end (its settings travel in the checkpoint), feature
augmentation in training mode, and one of the CNNs of
:mod:`filterkit.apps.speech.model`.  Waveform augmentation (random placement
of the clip in the fixed-length window, background noise at a random SNR) is
done by :class:`WaveDataset`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from filterkit.apps.speech.audio import fit_length, load_audio
from filterkit.apps.speech.augment import AugmentConfig, augment_features, mix_noise
from filterkit.apps.speech.data import AUDIO_SUFFIXES, Clip
from filterkit.apps.speech.features import FeatureConfig, LogMel
from filterkit.apps.speech.model import build_model

__all__ = [
    "APP",
    "TrainSettings",
    "SpeechClassifier",
    "WaveDataset",
    "load_waves",
    "train_model",
    "evaluate_model",
    "predict_waves",
    "load_classifier",
    "synthetic_noise",
    "background_noise",
]

APP = "speech"


@dataclass
class TrainSettings:
    """Everything that decides a training run (stored in the checkpoint's config)."""

    model: str = "fstride4"
    model_options: dict = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    features: FeatureConfig = field(default_factory=FeatureConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = self.features.to_dict()
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainSettings":
        data = dict(data)
        data["features"] = FeatureConfig.from_dict(data["features"])
        data["augment"] = AugmentConfig.from_dict(data["augment"])
        return cls(**data)


class SpeechClassifier(nn.Module):
    """Waveforms ``(B, samples)`` at ``features.sample_rate`` -> class logits ``(B, n_classes)``."""

    def __init__(self, settings: TrainSettings, n_classes: int) -> None:
        super().__init__()
        f = settings.features
        if f.num_frames is None:
            raise ValueError("speech models need a fixed clip length (features.duration_s)")
        self.frontend = LogMel(f)
        self.augment = settings.augment
        self.net = build_model(settings.model, f.n_mels, f.num_frames, n_classes, **settings.model_options)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """Log-mel features ``(B, n_mels, frames)`` (no augmentation)."""
        return self.frontend(wave)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.frontend(wave)
        if self.training:
            x = augment_features(x, self.augment, None)
        return self.net(x)


def load_waves(clips: list[Clip], sample_rate: int, progress: bool = True) -> list[np.ndarray]:
    """Decode every clip once (mono, resampled), in order; bad files raise a UserError naming them."""
    from tqdm import tqdm

    return [load_audio(c.path, sample_rate) for c in tqdm(clips, desc="reading audio", unit="clip",
                                                          disable=not progress or len(clips) < 200)]


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


class WaveDataset(torch.utils.data.Dataset):
    """Fixed-length waveforms and label indices; random placement and noise when ``train``."""

    def __init__(
        self,
        waves: list[np.ndarray],
        targets: list[int],
        num_samples: int,
        *,
        sample_rate: int = 8000,
        train: bool = False,
        augment: AugmentConfig | None = None,
        noise: list[np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        self.waves, self.targets, self.num_samples = waves, targets, num_samples
        self.train = train
        self.augment = augment or AugmentConfig.off()
        self.noise = noise or []
        self.rng = np.random.default_rng(seed)
        self.max_shift = int(round(self.augment.shift_ms * 1e-3 * sample_rate))  # samples

    def __len__(self) -> int:
        return len(self.waves)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        w = self.waves[i]
        n = self.num_samples
        if self.train:
            centre = (n - w.size) // 2
            offset = centre + int(self.rng.integers(-self.max_shift, self.max_shift + 1)) if self.max_shift else centre
            if w.size <= n:
                offset = int(np.clip(offset, 0, n - w.size))
            out = fit_length(w, n, offset=offset)
            if self.noise and self.rng.random() < self.augment.noise_prob:
                noise = self.noise[int(self.rng.integers(len(self.noise)))]
                out = mix_noise(out, noise, float(self.rng.uniform(*self.augment.snr_db)), self.rng)
        else:
            out = fit_length(w, n)
        return torch.from_numpy(out), self.targets[i]


def _loader(dataset: WaveDataset, batch_size: int, shuffle: bool, seed: int) -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=0)


def train_model(
    train_waves: list[np.ndarray],
    train_targets: list[int],
    labels: list[str],
    settings: TrainSettings,
    *,
    val_waves: list[np.ndarray] | None = None,
    val_targets: list[int] | None = None,
    noise: list[np.ndarray] | None = None,
    device: str = "auto",
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    threads: int | None = None,
):
    """Train a :class:`SpeechClassifier` from scratch; returns the engine's ``Trainer`` (best weights restored)."""
    from filterkit.train import Trainer, accuracy, seed_everything

    seed_everything(settings.seed)
    f = settings.features
    model = SpeechClassifier(settings, len(labels))
    train_ds = WaveDataset(train_waves, train_targets, f.num_samples, sample_rate=f.sample_rate, train=True,
                           augment=settings.augment, noise=noise, seed=settings.seed)
    train_loader = _loader(train_ds, settings.batch_size, True, settings.seed)
    val_loader = None
    if val_waves:
        val_loader = _loader(WaveDataset(val_waves, val_targets, f.num_samples), 256, False, 0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings.lr, total_steps=max(steps, 1))
    smoothing = settings.label_smoothing

    def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(outputs, targets, label_smoothing=smoothing)

    trainer = Trainer(
        model, optimizer, loss_fn,
        app=APP, config=settings.to_dict(), label_names=labels, device=device,
        scheduler=scheduler, scheduler_interval="step", metrics={"accuracy": accuracy},
        out_dir=out_dir, max_epochs=settings.epochs,
        early_stopping=("val_accuracy", "max", settings.epochs) if val_loader is not None else None,
        progress=progress, threads=threads, seed=settings.seed, tensorboard=False,
    )
    trainer.fit(train_loader, val_loader)
    if val_loader is not None:
        trainer.restore_best()
    return trainer


@torch.no_grad()
def predict_waves(model: SpeechClassifier, waves: list[np.ndarray], batch_size: int = 256,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """Class probabilities ``(N, n_classes)`` for fixed-length-fitted waveforms."""
    model.eval().to(device)
    n = model.frontend.config.num_samples
    out = []
    for i in range(0, len(waves), batch_size):
        batch = torch.from_numpy(np.stack([fit_length(w, n) for w in waves[i : i + batch_size]])).to(device)
        out.append(torch.softmax(model(batch).float(), dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0, model.net.head[-1].out_features)


def evaluate_model(model: SpeechClassifier, waves: list[np.ndarray], clips: list[Clip], labels: list[str],
                   device: str | torch.device = "cpu") -> dict[str, Any]:
    """Accuracy, count, per-speaker accuracy and confusion matrix (rows true, columns predicted)."""
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted({c.label for c in clips} - set(index))
    if unknown:
        from filterkit.errors import UserError

        raise UserError(f"labels not known to the model: {', '.join(unknown)} (model knows {', '.join(labels)})")
    probs = predict_waves(model, waves, device=device)
    pred = probs.argmax(1).numpy()
    true = np.array([index[c.label] for c in clips])
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (true, pred), 1)
    per_speaker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c, t, p in zip(clips, true, pred):
        per_speaker[c.speaker][0] += int(t == p)
        per_speaker[c.speaker][1] += 1
    return {
        "accuracy": float((pred == true).mean()) if len(true) else float("nan"),
        "n": int(len(true)),
        "per_speaker": {s: {"accuracy": k / n, "n": n} for s, (k, n) in sorted(per_speaker.items())},
        "confusion": confusion.tolist(),
        "labels": labels,
    }


def load_classifier(path: str | os.PathLike) -> tuple[SpeechClassifier, dict]:
    """Rebuild a trained classifier from a checkpoint written by the speech app."""
    from filterkit.train import read_checkpoint

    ckpt = read_checkpoint(path, expected_app=APP)
    settings = TrainSettings.from_dict(ckpt["config"])
    model = SpeechClassifier(settings, len(ckpt["label_names"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def label_counts(clips: list[Clip]) -> dict[str, int]:
    """Clips per label (for reports)."""
    return dict(sorted(Counter(c.label for c in clips).items()))
