"""Use a trained speech classifier: :func:`load` a checkpoint, :func:`predict` probabilities, :func:`evaluate` accuracy.

A checkpoint is the training engine's plain dict (``torch.load(weights_only=True)``)
with ``app`` ``"speech"``, ``config`` (:class:`~filterkit.apps.speech.config.SpeechConfig`
as a dict), ``label_names``, ``model`` (state dict) and, when the run mixed in
cepstral statistics, ``extra["cepstral"]`` (the fitted head).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from filterkit.apps.speech.cepstral import CepstralHead, clip_statistics
from filterkit.apps.speech.config import SpeechConfig
from filterkit.apps.speech.data import Clip
from filterkit.apps.speech.model import SpeechClassifier
from filterkit.errors import UserError
from filterkit.nn.train import read_checkpoint

__all__ = ["APP", "load", "predict", "evaluate"]

APP = "speech"


def _checkpoint_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/best.pt`` for a run folder."""
    path = Path(path)
    return path / "best.pt" if path.is_dir() else path


def load(path: str | os.PathLike) -> tuple[SpeechClassifier, dict]:
    """Rebuild a trained classifier from a checkpoint (or a run folder's ``best.pt``): ``(model, checkpoint)``.

    Every problem is a one-line :class:`UserError` naming the file.
    """
    path = _checkpoint_path(path)
    ckpt = read_checkpoint(path, expected_app=APP)
    config, labels = ckpt.get("config"), ckpt.get("label_names")
    if not isinstance(config, dict) or not config:
        raise UserError(f"{path}: speech checkpoint has no config (the settings of the run); "
                        "it cannot be rebuilt, train it again with 'filterkit speech train'")
    if not isinstance(labels, list) or len(labels) < 2:
        raise UserError(f"{path}: speech checkpoint has no label names")
    try:
        config_obj = SpeechConfig.from_dict(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: speech checkpoint settings are not readable ({_first_line(exc)})") from None
    try:
        model = SpeechClassifier(config_obj, len(labels))
        model.load_state_dict(ckpt["model"])
        head = (ckpt.get("extra") or {}).get("cepstral")
        model.cepstral = CepstralHead.from_dict(head) if head is not None else None
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: weights do not fit a speech model ({_first_line(exc)})") from None
    if model.cepstral is not None:
        model.cepstral.mix = config_obj.mix  # the config says what the CNN's weight is (older heads stored 1 - it)
    model.eval()
    return model, ckpt


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@torch.no_grad()
def predict(model: SpeechClassifier, waves: list[np.ndarray], batch_size: int = 256,
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


def evaluate(model: SpeechClassifier, waves: list[np.ndarray], clips: list[Clip], labels: list[str],
             device: str | torch.device = "cpu") -> dict[str, Any]:
    """Accuracy, count, per-speaker accuracy and confusion matrix (rows true, columns predicted).

    With a cepstral head, also ``cnn_accuracy`` (the CNN alone) and ``mix`` (the CNN's weight).
    """
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted({c.label for c in clips} - set(index))
    if unknown:
        raise UserError(f"labels not known to the model: {', '.join(unknown)} (model knows {', '.join(labels)})")
    cnn_probs = predict(model, waves, device=device, cnn_only=True)
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
        parts = {"cnn_accuracy": float((cnn_probs.argmax(1).numpy() == true).mean()), "mix": model.cepstral.mix}
    return {
        "accuracy": float((pred == true).mean()) if len(true) else float("nan"),
        **parts,
        "n": int(len(true)),
        "per_speaker": {s: {"accuracy": k / n, "n": n} for s, (k, n) in sorted(per_speaker.items())},
        "confusion": confusion.tolist(),
        "labels": labels,
    }
