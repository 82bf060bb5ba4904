"""Grids of a conv layer's kernels, each labelled with its nearest named fixed kernel.

    >>> from filterkit.visualize import load_model, kernel_table, plot_kernels
    >>> vm = load_model("mnist_cnn/best.pt")
    >>> rows = kernel_table(vm, "conv1")     # [{"index", "nearest", "cosine", "norm"}, ...]
    >>> plot_kernels(vm, "conv1", "kernels.png")

Nearest kernels come from :func:`filterkit.nn.layers.nearest_kernels` (signed
cosine, each kernel summed over its input channels, i.e. its effect on a grey
image).  Kernels with 3 input channels are drawn as RGB (each kernel scaled to
its own max ``|w|``, 0.5 grey = 0); others are drawn per output channel, summed
over input channels, in a diverging map (red > 0 > blue).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from torch import nn

from filterkit.errors import UserError
from filterkit.nn.layers import FIXED_BANK, KernelSpec, kernel_bank, nearest_kernels
from filterkit.visualize.common import VisModel, figure_to_png, pyplot

__all__ = ["conv_weight", "kernel_table", "plot_kernel_comparison", "plot_kernels", "summarize"]


def conv_weight(vm: VisModel | nn.Module, layer: str) -> np.ndarray:
    """The ``(out, in, kh, kw)`` float64 weight of conv layer ``layer``."""
    module = vm.layer(layer) if isinstance(vm, VisModel) else dict(vm.named_modules())[layer]
    weight = getattr(module, "weight", None)
    if not isinstance(module, nn.modules.conv._ConvNd) or weight is None or weight.ndim != 4:
        raise UserError(f"layer {layer!r} is a {type(module).__name__}, not a 2-D convolution (see --list-layers)")
    return weight.detach().cpu().double().numpy()


def kernel_table(vm: VisModel | nn.Module, layer: str, bank: Sequence[KernelSpec] = FIXED_BANK) -> list[dict]:
    """One row per output channel: ``index``, ``nearest`` fixed kernel, signed ``cosine``, L2 ``norm``.

    ``nearest`` is None when the kernel is not square with an odd side.
    """
    w = conv_weight(vm, layer)
    kh, kw = w.shape[-2:]
    labelled = kh == kw and kh % 2 == 1
    found = nearest_kernels(w, bank) if labelled else [(None, float("nan"))] * len(w)
    return [
        {"index": i, "nearest": name, "cosine": float(cos), "norm": float(np.linalg.norm(w[i]))}
        for i, (name, cos) in enumerate(found)
    ]


def _grid(n: int, max_cols: int = 10) -> tuple[int, int]:
    cols = min(n, max_cols)
    return -(-n // cols), cols


def _kernel_image(w: np.ndarray) -> tuple[np.ndarray, dict]:
    """Display array and imshow options of one ``(in, kh, kw)`` kernel."""
    if w.shape[0] == 3:
        lim = float(np.abs(w).max()) or 1.0
        return np.moveaxis(0.5 + 0.5 * w / lim, 0, -1), {}
    k = w.sum(axis=0)
    lim = float(np.abs(k).max()) or 1.0
    return k, {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}


def plot_kernels(vm: VisModel | nn.Module, layer: str, path: str | os.PathLike, max_kernels: int = 100,
                 bank: Sequence[KernelSpec] = FIXED_BANK) -> Path:
    """PNG grid of the first ``max_kernels`` kernels of ``layer``, titled ``#i name cos``."""
    plt = pyplot()
    w = conv_weight(vm, layer)[:max_kernels]
    rows_info = kernel_table(vm, layer, bank)[: len(w)]
    rows, cols = _grid(len(w))
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols, 1.45 * rows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, kernel, info in zip(axes.ravel(), w, rows_info):
        img, opts = _kernel_image(kernel)
        ax.imshow(img, interpolation="nearest", **opts)
        label = f"#{info['index']}"
        if info["nearest"] is not None:
            label += f" {info['nearest']}\ncos {info['cosine']:.2f}"
        ax.set_title(label, fontsize=6.5)
    colour = "RGB, 0.5 grey = 0" if w.shape[1] == 3 else "summed over inputs, red > 0 > blue"
    fig.suptitle(f"{layer}: {w.shape[0]} kernels {w.shape[2]}x{w.shape[3]} ({colour}); nearest fixed kernel, cosine",
                 fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)


def plot_kernel_comparison(vm: VisModel | nn.Module, layer: str, path: str | os.PathLike, max_kernels: int = 25,
                           bank: Sequence[KernelSpec] = FIXED_BANK) -> Path:
    """PNG: each learned kernel beside its nearest fixed kernel (pairs, 5 per row)."""
    plt = pyplot()
    w = conv_weight(vm, layer)[:max_kernels]
    info = kernel_table(vm, layer, bank)[: len(w)]
    if info and info[0]["nearest"] is None:
        shape = f"{w.shape[2]}x{w.shape[3]}"
        raise UserError(f"layer {layer!r}: kernels {shape} have no centre to compare with fixed kernels")
    pairs = 5
    rows = -(-len(w) // pairs)
    fig, axes = plt.subplots(rows, 2 * pairs, figsize=(1.1 * 2 * pairs, 1.35 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (kernel, row) in enumerate(zip(w, info)):
        r, c = divmod(i, pairs)
        fixed = kernel_bank([row["nearest"]], kernel.shape[-1])[0]
        for j, (img, title) in enumerate(((kernel.sum(axis=0), f"learned #{i}"),
                                          (fixed, f"{row['nearest']}\ncos {row['cosine']:.2f}"))):
            lim = float(np.abs(img).max()) or 1.0
            ax = axes[r, 2 * c + j]
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(title, fontsize=6.5)
    fig.suptitle(f"{layer}: learned kernel | nearest fixed kernel (signed cosine; red > 0 > blue)", fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)


def summarize(table: list[dict]) -> dict:
    """Median / min / max cosine of a :func:`kernel_table` (NaN-free rows only)."""
    cos = np.array([r["cosine"] for r in table if r["nearest"] is not None], dtype=float)
    if cos.size == 0:
        return {}
    return {"median_cosine": float(np.median(cos)), "min_cosine": float(cos.min()), "max_cosine": float(cos.max())}

