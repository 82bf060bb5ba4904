"""Use a trained sentence classifier: :func:`load` a checkpoint, :func:`predict`, :func:`evaluate`.

Probabilities are the CNN's, mixed with the n-gram model's when the run has one
(``config.ngrams`` > 0; :mod:`filterkit.apps.text.ngrams`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from filterkit.errors import UserError
from filterkit.nn.train import read_checkpoint, select_device

from filterkit.apps.text.batching import make_loader
from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.data import TextData
from filterkit.apps.text.model import KimCNN, TrainedText
from filterkit.apps.text.ngrams import NgramModel, mix_probabilities
from filterkit.apps.text.vocab import Vocab

__all__ = ["APP", "checkpoint_path", "cnn_proba", "evaluate", "load", "predict", "predict_parts", "predict_proba"]

APP = "text"


def checkpoint_path(path: str | os.PathLike) -> Path:
    """``--model PATH``: a checkpoint file, or a run folder of ``text train --out`` (its ``best.pt``)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "best.pt").is_file():
            raise UserError(f"{path}: a folder without best.pt (expected a run folder of 'filterkit text train "
                            "--out' or a checkpoint file)")
        return path / "best.pt"
    return path


def load(path: str | os.PathLike, device: str = "cpu") -> TrainedText:
    """Rebuild a model from a ``filterkit text train`` checkpoint or run folder (another app's is a UserError)."""
    path = checkpoint_path(path)
    ckpt = read_checkpoint(path, expected_app=APP)
    config = ckpt.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("vocab"), dict) or "model" not in ckpt:
        raise UserError(f"{path}: a text checkpoint without its config, vocabulary or weights; "
                        "train it again with 'filterkit text train'")
    config = dict(config)
    vocab = Vocab.from_dict(config.pop("vocab"))
    config.setdefault("ngrams", 0)  # checkpoints from before the n-gram model are the CNN alone
    cfg = TextConfig.from_dict(config)
    classes = list(ckpt.get("label_names") or [])
    state = ckpt["model"]
    table = state.get("tuned.weight", state.get("frozen.weight"))
    if table is None or len(classes) < 2:
        raise UserError(f"{path}: no embedding table or class names in the checkpoint")
    model = KimCNN(np.zeros(tuple(table.shape), dtype=np.float32), len(classes), variant=cfg.variant,
                   widths=cfg.widths, maps=cfg.maps, dropout=cfg.dropout, embed_dropout=cfg.embed_dropout)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise UserError(f"{path}: weights do not fit the model in its config ({str(exc).splitlines()[0]})") from None
    model.to(select_device(device)).eval()
    ngram = (ckpt.get("extra") or {}).get("ngram_model")
    return TrainedText(model, vocab, cfg, classes, history=list(ckpt.get("history") or []),
                       ngram=NgramModel.from_dict(ngram) if ngram is not None else None)


@torch.no_grad()
def cnn_proba(trained: TrainedText, texts: list[str], batch_size: int = 500) -> np.ndarray:
    """The CNN's class probabilities ``(len(texts), n_classes)``; sentences are batched by length, order kept."""
    ids = trained.encode(texts)
    order = np.argsort([len(i) for i in ids], kind="stable")
    model = trained.model
    device = next(model.parameters()).device
    loader = make_loader([ids[i] for i in order], None, batch_size, model.min_length, trained.config.edge())
    model.eval()
    chunks = [torch.softmax(model(batch.to(device)), dim=1).cpu() for batch, _ in loader]
    probs = torch.cat(chunks).numpy() if chunks else np.zeros((0, len(trained.classes)), np.float32)
    out = np.empty_like(probs)
    out[order] = probs
    return out


def predict_parts(
    trained: TrainedText, texts: list[str], batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(probabilities, the CNN's probabilities, the n-gram model's log-probabilities or None)``, each ``(N, C)``."""
    cnn = cnn_proba(trained, texts, batch_size)
    if trained.ngram is None:
        return cnn, cnn, None
    ngram = trained.ngram.log_proba(trained.tokens(texts))
    return mix_probabilities(cnn, ngram, trained.ngram.mix), cnn, ngram


def predict_proba(trained: TrainedText, texts: list[str], batch_size: int = 500) -> np.ndarray:
    """Class probabilities ``(len(texts), n_classes)``: the CNN's, mixed with the n-gram model's if it has one."""
    return predict_parts(trained, texts, batch_size)[0]


def predict(trained: TrainedText, texts: list[str]) -> list[dict]:
    """``[{"text", "label", "probabilities": {class: p, ...} (most likely first)}]``, one per text."""
    results = []
    for text, row in zip(texts, predict_proba(trained, texts)):
        order = row.argsort()[::-1]
        results.append({"text": text, "label": trained.classes[order[0]],
                        "probabilities": {trained.classes[i]: float(row[i]) for i in order}})
    return results


def evaluate(trained: TrainedText, data: TextData) -> dict:
    """``{"n", "accuracy", "recall": {class: recall or None}}`` of ``trained`` on labelled ``data``."""
    predicted = predict_proba(trained, data.texts).argmax(axis=1)
    truth = np.asarray(data.labels)
    recall = {name: float((predicted[truth == i] == i).mean()) if (truth == i).any() else None
              for i, name in enumerate(trained.classes)}
    return {"n": len(data), "accuracy": float((predicted == truth).mean()) if len(data) else float("nan"),
            "recall": recall}
