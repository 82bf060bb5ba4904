"""Neural style transfer and texture synthesis with a Gram-matrix style loss (Gatys et al. 2015).

    >>> extractor = RandomFilterFeatures(in_channels=1, seed=0)      # no pretrained weights needed
    >>> result = synthesize(extractor, style=style_img, content=None, size=(128, 128))     # texture
    >>> result = synthesize(extractor, style=style_img, content=content_img)               # style transfer

Features: by default one layer of random convolution filters at several scales
(zero-mean Gaussian weights, reflect padding, ReLU) - the multi-scale random
network of Ustyuzhaninov et al. 2016, who show it rivals VGG features for
texture synthesis.  Their filters of 3..23 px at full resolution are costly on
a CPU, so the default applies 3, 5 and 7 px filters (64 each) to a 4-level
image pyramid (spans of 3 to 56 px); ``levels=1, scales=(3, 5, 7, 11, 15,
23)`` gives their layout.  Any zoo model or
checkpoint can be used instead (:class:`ModelFeatures`: the outputs of the
named layers).

Losses, each layer normalised so no layer dominates by scale:

* style: ``sum_l ||G_l(x) - G_l(s)||_F^2 / ||G_l(s)||_F^2`` with the Gram
  matrix ``G = F F^T / (H W)`` of the ``(channels, H*W)`` features ``F``;
  the reported **Gram distance** is ``sum_l ||G_l(x) - G_l(s)||_F / ||G_l(s)||_F``;
* content: ``sum_l ||F_l(x) - F_l(c)||^2 / ||F_l(c)||^2``.

Total ``style_weight * style + content_weight * content`` is minimised over the
pixels with L-BFGS (default; strong-Wolfe line search, pixels clamped to
[0, 1] after every ``lbfgs_every`` evaluations) or Adam.  Texture synthesis
starts from seeded uniform noise; style transfer from the content image.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from filterkit.errors import UserError
from filterkit.visualize.common import VisModel
from filterkit.visualize.config import DEFAULT_LEVELS, DEFAULT_SCALES, StyleConfig

__all__ = ["ModelFeatures", "RandomFilterFeatures", "StyleConfig", "StyleResult", "gram_matrix", "synthesize"]



class RandomFilterFeatures(nn.Module):
    """Random conv filters of several sizes on an image pyramid, + ReLU.

    Returns one ``(N, filters, h, w)`` map per (level, size).

    Level ``k`` filters the image downsampled (antialiased bilinear) by ``2**k``, so a ``s x s``
    filter there spans ``s * 2**k`` input pixels: ``levels=1`` is the
    single-resolution multi-scale layer of Ustyuzhaninov et al. 2016 (use
    ``scales=(3, 5, 7, 11, 15, 23)``); the default reaches the same 3..56 px
    range with 3, 5, 7 px filters on 4 levels at a tenth of the cost.
    """

    def __init__(self, in_channels: int = 1, scales: Sequence[int] = DEFAULT_SCALES, filters: int = 64,
                 levels: int = DEFAULT_LEVELS, seed: int = 0) -> None:
        super().__init__()
        if not scales or any(s < 1 or s % 2 == 0 for s in scales):
            raise UserError(f"filter sizes must be positive odd numbers, got {list(scales)}")
        if levels < 1 or filters < 1:
            raise UserError(f"levels and filters must be at least 1, got {levels} and {filters}")
        generator = torch.Generator().manual_seed(int(seed))
        self.scales = tuple(int(s) for s in scales)
        self.levels = int(levels)
        for level in range(self.levels):
            for s in self.scales:
                w = torch.randn((filters, in_channels, s, s), generator=generator)
                w -= w.mean(dim=(1, 2, 3), keepdim=True)  # zero mean: blind to the average brightness
                w /= w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                self.register_buffer(f"weight_{level}_{s}", w)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for level in range(self.levels):
            if level:
                if min(x.shape[-2:]) < 2:
                    break
                # antialiased (tent-filter) halving: smooth gradients, no 2**k-pixel blocks in the result
                x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
            for s in self.scales:
                r = s // 2
                mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
                weight = getattr(self, f"weight_{level}_{s}")
                maps.append(F.relu(F.conv2d(F.pad(x, (r, r, r, r), mode=mode), weight)))
        return maps


class ModelFeatures(nn.Module):
    """Outputs of ``layers`` of a (trained) model for pixel images, as a list."""

    def __init__(self, vm: VisModel, layers: Sequence[str]) -> None:
        super().__init__()
        if not layers:
            raise UserError("give at least one layer for the style features (--layers)")
        for name in layers:
            vm.layer(name)
        self.vm = vm
        self.layers = list(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [a if a.ndim == 4 else a.view(a.shape[0], -1, 1, 1) for a in self.vm.activations(x, self.layers)]


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, C)`` Gram matrices ``F F^T / (H W)``."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


@dataclass
class StyleResult:
    image: np.ndarray  # (C, H, W) float32 in [0, 1]
    start_loss: float
    final_loss: float
    start_gram_distance: float
    final_gram_distance: float
    start_content_distance: float | None
    final_content_distance: float | None
    loss_history: list[float]
    config: StyleConfig
    seed: int
    seconds: float
    mode: str
    extractor: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("image", "config", "loss_history")}
        out["config"] = asdict(self.config)
        out["gram_distance_ratio"] = self.start_gram_distance / max(self.final_gram_distance, 1e-300)
        out["loss_history"] = self.loss_history
        out["technique"] = "Gram-matrix style loss (Gatys et al. 2015)"
        return out


class _Losses:
    def __init__(self, extractor: nn.Module, style: torch.Tensor, content: torch.Tensor | None) -> None:
        self.extractor = extractor
        with torch.no_grad():
            self.style_grams = [gram_matrix(f) for f in extractor(style)]
            self.content_feats = None if content is None else [f.detach() for f in extractor(content)]
        self.style_norms = [g.pow(2).sum().clamp_min(1e-30) for g in self.style_grams]
        self.content_norms = None if content is None else [f.pow(2).sum().clamp_min(1e-30) for f in self.content_feats]

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(style loss, Gram distance, content loss or None)``."""
        feats = self.extractor(x)
        sq = [(gram_matrix(f) - g).pow(2).sum() / n for f, g, n in zip(feats, self.style_grams, self.style_norms)]
        style = torch.stack(sq).sum()
        distance = torch.stack([s.sqrt() for s in sq]).sum()
        content = None
        if self.content_feats is not None:
            content = torch.stack([(f - c).pow(2).sum() / n
                                   for f, c, n in zip(feats, self.content_feats, self.content_norms)]).sum()
        return style, distance, content


def synthesize(extractor: nn.Module, style: torch.Tensor, content: torch.Tensor | None = None,
               size: tuple[int, int] | None = None, config: StyleConfig = StyleConfig(), seed: int = 0,
               progress: bool = False, extractor_name: str = "") -> StyleResult:
    """Texture (``content`` None: from noise, ``size`` default = style size) or style transfer (from ``content``).

    style/content: ``(1, C, H, W)`` pixels in [0, 1] with the same channel count.
    """
    from tqdm.auto import tqdm

    start_time = time.perf_counter()
    if content is not None and content.shape[1] != style.shape[1]:
        raise UserError(f"content has {content.shape[1]} channels, style {style.shape[1]}: load both alike")
    losses = _Losses(extractor, style, content if config.content_weight > 0 else None)
    if content is None:
        h, w = size or tuple(style.shape[-2:])
        generator = torch.Generator().manual_seed(int(seed))
        init = torch.rand((1, style.shape[1], h, w), generator=generator).to(style)
        mode = "texture"
    else:
        init = content.detach().clone()
        mode = "transfer"
    x = init.clone().requires_grad_(True)
    history: list[float] = []

    def evaluate() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        s, d, c = losses(x)
        total = config.style_weight * s + (config.content_weight * c if c is not None else 0.0)
        return total, d, c

    with torch.no_grad():
        start_total, start_dist, start_content = evaluate()
    bar = tqdm(total=config.steps, desc=f"style {mode}", unit="eval", disable=not progress, leave=False)
    if config.optimizer == "adam":
        opt = torch.optim.Adam([x], lr=config.lr)
        for _ in range(config.steps):
            opt.zero_grad(set_to_none=True)
            total, _, _ = evaluate()
            total.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
            history.append(float(total.detach()))
            bar.update(1)
    else:
        done = 0
        while done < config.steps:
            chunk = min(config.lbfgs_every, config.steps - done)
            opt = torch.optim.LBFGS([x], lr=1.0, max_iter=chunk, max_eval=chunk, history_size=20,
                                    line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
            calls = []

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                total, _, _ = evaluate()
                total.backward()
                calls.append(float(total.detach()))
                return total

            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
            history.extend(calls)
            bar.update(len(calls))
            done += max(1, len(calls))
            if len(calls) < chunk and len(calls) <= 1:
                break  # converged
    bar.close()
    with torch.no_grad():
        final_total, final_dist, final_content = evaluate()
    return StyleResult(
        image=x.detach()[0].cpu().float().numpy(),
        start_loss=float(start_total),
        final_loss=float(final_total),
        start_gram_distance=float(start_dist),
        final_gram_distance=float(final_dist),
        start_content_distance=None if start_content is None else float(start_content),
        final_content_distance=None if final_content is None else float(final_content),
        loss_history=history,
        config=config,
        seed=int(seed),
        seconds=time.perf_counter() - start_time,
        mode=mode,
        extractor=extractor_name,
    )

