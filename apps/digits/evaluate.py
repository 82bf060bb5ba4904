"""Load a digits checkpoint and measure it: :func:`load`, :func:`predict`, :func:`evaluate`.

    >>> from filterkit.apps.digits.data import load_digits_data
    >>> model, config = load("runs/digits/best.pt")
    >>> evaluate(model, load_digits_data("builtin"))        # {"accuracy": ..., "loss": ..., "n": ...}
"""

from __future__ import annotations

import os

import numpy as np
import torch
from filterkit.apps.digits.config import VARIANTS, DigitsConfig
from filterkit.apps.digits.data import DigitsData, make_loaders, to_tensor
from filterkit.apps.digits.model import build_variant
from filterkit.apps.digits.train import APP

from filterkit.errors import UserError
from filterkit.nn.train import read_checkpoint, select_device

__all__ = ["evaluate", "load", "predict"]


def load(path: str | os.PathLike, device: str = "cpu") -> tuple[torch.nn.Module, DigitsConfig]:
    """``(model, config)`` from a checkpoint written by :func:`filterkit.apps.digits.train.train`.

    The model is in eval mode on ``device``.  Raises :class:`UserError` for another app's checkpoint
    or one without a config.
    """
    ckpt = read_checkpoint(path, expected_app=APP)
    data = ckpt.get("config")
    if not isinstance(data, dict) or not data:
        raise UserError(f"{path}: the checkpoint holds no digits config")
    variant = data.get("variant", "learned")
    if variant not in VARIANTS:
        raise UserError(f"{path}: unknown variant {variant!r} in the checkpoint's config")
    model = build_variant(variant, int(data.get("seed", 0)))
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"{path}: weights do not fit the lecture CNN ({str(exc).splitlines()[0]})") from None
    return model.eval().to(select_device(device)), DigitsConfig.from_dict(data)


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predicted digits (``int64``, shape ``(N,)``) for ``uint8`` images ``(N, 28, 28)`` (0 = background)."""
    device = next(model.parameters()).device
    model.eval()
    x = to_tensor(images)
    out = [model(x[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: DigitsData, batch_size: int = 1000) -> dict:
    """Test-set accuracy, mean cross-entropy and count: ``{"accuracy", "loss", "n"}``."""
    device = next(model.parameters()).device
    model.eval()
    test_loader = make_loaders(data, batch_size, 0)[1]
    correct, loss, n = 0, 0.0, 0
    for x, y in test_loader:
        logits = model(x.to(device))
        y = y.to(device)
        loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
    return {"accuracy": correct / n if n else float("nan"), "loss": loss / n if n else float("nan"), "n": n}
