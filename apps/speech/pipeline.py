"""Train and evaluate speech classifiers on lists of clips, through the shared training engine.

The model that is trained and saved is a :class:`SpeechClassifier`: the
log-mel front end (its settings travel in the checkpoint), feature
augmentation in training mode, and one of the CNNs of
:mod:`filterkit.apps.speech.model`.  Waveform augmentation (random placement
of the clip in the fixed-length window, background noise at a random SNR) is
done by :class:`ClipDataset`.
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
from filterkit.apps.speech.cepstral import CepstralHead, clip_statistics, fit_cepstral_head
from filterkit.apps.speech.data import AUDIO_SUFFIXES, Clip, find_clips
from filterkit.apps.speech.features import FeatureConfig, LogMel, clip_features
from filterkit.apps.speech.model import build_model

__all__ = [
    "APP",
    "TrainSettings",
    "SpeechClassifier",
    "ClipDataset",
    "load_waves",
    "train_model",
    "evaluate_model",
    "predict_waves",
    "load_classifier",
    "synthetic_noise",
    "fit_and_evaluate",
    "run_jobs",
    "background_noise",
]

APP = "speech"


@dataclass
class TrainSettings:
    """Everything that decides a training run (stored in the checkpoint's config)."""

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
    cepstral_mix: float = 0.0  # weight of the cepstral-statistics regression mixed with the CNN (0: CNN alone)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = self.features.to_dict()
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainSettings":
        data = dict(data)
        # checkpoints from before "placement" existed all padded/cropped the clip around its centre
        data["features"] = FeatureConfig.from_dict({"placement": "center", **data["features"]})
        data["augment"] = AugmentConfig.from_dict(data["augment"])
        return cls(**data)


class SpeechClassifier(nn.Module):
    """Log-mel features ``(B, n_mels, frames)`` -> class logits ``(B, n_classes)``.

    :meth:`features` turns a list of waveforms (mono, ``features.sample_rate``)
    into that input, placing each clip as the feature settings say; in training
    mode :meth:`forward` applies VTLP and SpecAugment before the network.
    """

    def __init__(self, settings: TrainSettings, n_classes: int) -> None:
        super().__init__()
        f = settings.features
        if f.num_frames is None:
            raise ValueError("speech models need a fixed clip length (features.duration_s or placement 'stretch')")
        self.frontend = LogMel(f)
        self.augment = settings.augment
        self.net = build_model(settings.model, f.n_mels, f.num_frames, n_classes, **settings.model_options)
        self.n_classes = n_classes
        self.generator: torch.Generator | None = None
        self.cepstral: CepstralHead | None = None  # fitted after the CNN when settings.cepstral_mix > 0

    @property
    def input_shape(self) -> tuple[int, int]:
        """``(n_mels, frames)`` of one utterance."""
        c = self.frontend.config
        return c.n_mels, c.num_frames

    @torch.no_grad()
    def features(self, waves: list[np.ndarray]) -> torch.Tensor:
        """Log-mel features ``(B, n_mels, frames)`` of variable-length clips (no augmentation)."""
        return clip_features(waves, self.frontend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = augment_features(x, self.augment, self.generator)
        return self.net(x)


def load_waves(clips: list[Clip], sample_rate: int, progress: bool = True,
               skip_bad: bool = False) -> tuple[list[Clip], list[np.ndarray]]:
    """Decode every clip once (mono, resampled), in order: ``(clips, waves)``.

    A file that cannot be used (not audio, corrupt, empty, silent) raises its
    :class:`~filterkit.apps.speech.audio.AudioError`, or with ``skip_bad`` is
    reported on stderr (one line each) and left out of both lists.
    """
    import sys

    from tqdm import tqdm

    from filterkit.apps.speech.audio import AudioError

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
    return kept, waves


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


def _loader(dataset: ClipDataset, batch_size: int, shuffle: bool, seed: int) -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=0)


def parse_model_options(model: str, text: str | None, features: FeatureConfig, seed: int = 0) -> dict:
    """``--model-options`` JSON as constructor keyword arguments (lists become tuples), tried on the model once.

    Raises :class:`~filterkit.errors.UserError` with one line for bad JSON or arguments the model refuses.
    """
    if text is None:
        return {}
    import json

    from filterkit.errors import UserError

    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--model-options is not valid JSON ({exc.msg})") from None
    if not isinstance(options, dict):
        raise UserError("--model-options must be a JSON object, e.g. '{\"channels\": [32, 48]}'")
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        SpeechClassifier(TrainSettings(model=model, model_options=options, features=features, seed=seed), 2)
    except (TypeError, ValueError) as exc:
        raise UserError(f"--model-options for {model}: {str(exc).splitlines()[0]}") from None
    return options


def load_extra_train(folder: str | os.PathLike | None, labels: set[str], sample_rate: int,
                     progress: bool = True) -> tuple[list[Clip], list[np.ndarray]]:
    """Clips and waves of ``--extra-train`` (training side only); a label the data lacks is a UserError."""
    if folder is None:
        return [], []
    from filterkit.errors import UserError

    clips, _ = find_clips(folder)
    clips, waves = load_waves(clips, sample_rate, progress=progress, skip_bad=True)
    if not clips:
        raise UserError(f"{folder}: no usable audio clips for --extra-train")
    unknown = sorted({c.label for c in clips} - labels)
    if unknown:
        raise UserError(f"{folder}: labels not in the training data: {', '.join(unknown[:5])}")
    return clips, waves


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
    from filterkit.nn.train import Trainer, accuracy, seed_everything

    seed_everything(settings.seed)
    model = SpeechClassifier(settings, len(labels))
    model.generator = torch.Generator().manual_seed(settings.seed)
    train_ds = ClipDataset(train_waves, train_targets, model.frontend, train=True, augment=settings.augment,
                           noise=noise, seed=settings.seed)
    train_loader = _loader(train_ds, settings.batch_size, True, settings.seed)
    val_loader = None
    if val_waves:
        val_loader = _loader(ClipDataset(val_waves, val_targets, model.frontend), 256, False, 0)
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
    if settings.cepstral_mix > 0:
        trainer.module.cepstral = fit_cepstral_head(train_waves, train_targets, len(labels), settings.features,
                                                    settings.cepstral_mix, seed=settings.seed)
    return trainer


@torch.no_grad()
def predict_waves(model: SpeechClassifier, waves: list[np.ndarray], batch_size: int = 256,
                  device: str | torch.device = "cpu", cnn_only: bool = False) -> torch.Tensor:
    """Class probabilities ``(N, n_classes)`` for mono waveforms at the model's sample rate.

    With a cepstral head (``model.cepstral``) they are the CNN's mixed with the head's, unless ``cnn_only``.
    """
    model.eval().to(device)
    out = []
    for i in range(0, len(waves), batch_size):
        batch = model.features(waves[i : i + batch_size])
        out.append(torch.softmax(model(batch).float(), dim=1).cpu())
    probs = torch.cat(out) if out else torch.zeros(0, model.n_classes)
    return probs if cnn_only else _with_cepstral(model, waves, probs)


def _with_cepstral(model: SpeechClassifier, waves: list[np.ndarray], cnn_probs: torch.Tensor) -> torch.Tensor:
    """The CNN's probabilities mixed with the cepstral head's (unchanged when the model has none)."""
    head = getattr(model, "cepstral", None)
    if head is None or not len(waves):
        return cnn_probs
    stats = clip_statistics(waves, model.frontend.config, head.n_ceps)
    return torch.from_numpy(head.mix_with(cnn_probs.numpy(), stats)).float()


def evaluate_model(model: SpeechClassifier, waves: list[np.ndarray], clips: list[Clip], labels: list[str],
                   device: str | torch.device = "cpu") -> dict[str, Any]:
    """Accuracy, count, per-speaker accuracy and confusion matrix (rows true, columns predicted)."""
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted({c.label for c in clips} - set(index))
    if unknown:
        from filterkit.errors import UserError

        raise UserError(f"labels not known to the model: {', '.join(unknown)} (model knows {', '.join(labels)})")
    cnn_probs = predict_waves(model, waves, device=device, cnn_only=True)
    pred = _with_cepstral(model, waves, cnn_probs).argmax(1).numpy()
    true = np.array([index[c.label] for c in clips])
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (true, pred), 1)
    per_speaker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c, t, p in zip(clips, true, pred):
        per_speaker[c.speaker][0] += int(t == p)
        per_speaker[c.speaker][1] += 1
    parts = {}
    if getattr(model, "cepstral", None) is not None and len(true):  # what the mix adds over the CNN alone
        parts = {"cnn_accuracy": float((cnn_probs.argmax(1).numpy() == true).mean()),
                 "cepstral_mix": model.cepstral.mix}
    return {
        "accuracy": float((pred == true).mean()) if len(true) else float("nan"),
        **parts,
        "n": int(len(true)),
        "per_speaker": {s: {"accuracy": k / n, "n": n} for s, (k, n) in sorted(per_speaker.items())},
        "confusion": confusion.tolist(),
        "labels": labels,
    }


def load_classifier(path: str | os.PathLike) -> tuple[SpeechClassifier, dict]:
    """Rebuild a trained classifier from a checkpoint written by the speech app."""
    from filterkit.nn.train import read_checkpoint

    ckpt = read_checkpoint(path, expected_app=APP)
    try:
        settings = TrainSettings.from_dict(ckpt["config"])
    except (KeyError, TypeError, ValueError) as exc:
        from filterkit.errors import UserError

        raise UserError(f"{path}: speech checkpoint settings are not readable ({exc})") from None
    try:
        model = SpeechClassifier(settings, len(ckpt["label_names"]))
        model.load_state_dict(ckpt["model"])
        head = (ckpt.get("extra") or {}).get("cepstral")
        model.cepstral = CepstralHead.from_dict(head) if head is not None else None
    except (RuntimeError, ValueError, KeyError) as exc:
        from filterkit.errors import UserError

        raise UserError(f"{path}: weights do not fit a speech model ({str(exc).splitlines()[0]})") from None
    model.eval()
    return model, ckpt


def label_counts(clips: list[Clip]) -> dict[str, int]:
    """Clips per label (for reports)."""
    return dict(sorted(Counter(c.label for c in clips).items()))


def fit_and_evaluate(job: dict) -> dict:
    """Train on ``job["train"]`` and score ``job["test"]`` (one fold); picklable for a process pool.

    ``job``: train_waves, train_targets, test_waves, test_clips, labels, settings
    (a dict), noise, threads.  Returns :func:`evaluate_model`'s result plus
    ``train_s`` (seconds of training).
    """
    import time

    settings = TrainSettings.from_dict(job["settings"])
    start = time.perf_counter()
    trainer = train_model(job["train_waves"], job["train_targets"], job["labels"], settings, noise=job["noise"],
                          device="cpu", progress=False, threads=job.get("threads", 1))
    seconds = time.perf_counter() - start
    result = evaluate_model(trainer.module, job["test_waves"], job["test_clips"], job["labels"])
    result["train_s"] = seconds
    return result


def run_jobs(jobs: list[dict], workers: int = 1):
    """Yield ``(job_index, result)`` of :func:`fit_and_evaluate` as jobs finish, in ``workers`` processes."""
    if workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            yield i, fit_and_evaluate(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(fit_and_evaluate, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            yield futures[future], future.result()
