"""Feature maps of one layer for one input image.

    >>> maps = feature_maps(vm, image, "conv1")      # (C, H', W') float32 numpy
    >>> plot_feature_maps(image, maps, "conv1", "features.png")

Each map is drawn with its own colour scale (its min and max are in the JSON
from :func:`feature_stats`), so weak channels stay visible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from filterkit.visualize.common import VisModel, figure_to_png, pyplot, to_uint8

__all__ = ["feature_maps", "feature_stats", "plot_feature_maps"]


@torch.no_grad()
def feature_maps(vm: VisModel, image: torch.Tensor, layer: str) -> np.ndarray:
    """Output of ``layer`` for one ``(1, C, H, W)`` pixel image: ``(channels, H', W')`` (a vector: ``(n, 1, 1)``)."""
    out = vm.activations(image.to(vm.device), layer)[0].float().cpu().numpy()
    if out.ndim == 1:
        out = out[:, None, None]
    elif out.ndim == 2:
        out = out[None]
    return out


def feature_stats(maps: np.ndarray) -> list[dict]:
    """Per channel: ``min``, ``max``, ``mean`` and the fraction of zero (inactive) positions."""
    return [
        {"channel": i, "min": float(m.min()), "max": float(m.max()), "mean": float(m.mean()),
         "zero_fraction": float((m == 0).mean())}
        for i, m in enumerate(maps)
    ]


def plot_feature_maps(image: torch.Tensor, maps: np.ndarray, layer: str, path: str | os.PathLike,
                      max_maps: int = 64) -> Path:
    """PNG: the input, then up to ``max_maps`` feature maps (each scaled to its own range, viridis)."""
    plt = pyplot()
    maps = maps[:max_maps]
    n = len(maps) + 1
    cols = min(n, 10)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.4 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    shown = to_uint8(image[0])
    axes[0, 0].imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axes[0, 0].set_title("input", fontsize=7)
    for ax, (i, m) in zip(axes.ravel()[1:], enumerate(maps)):
        ax.imshow(m, cmap="viridis", interpolation="nearest")
        ax.set_title(f"#{i} max {m.max():.2g}", fontsize=6.5)
    fig.suptitle(f"{layer}: {len(maps)} feature maps {maps.shape[1]}x{maps.shape[2]} (each on its own scale)",
                 fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)
