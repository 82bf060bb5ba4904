"""Deep Dream (Mordvintsev et al. 2015): amplify what a layer sees, octave by octave.

    >>> result = deep_dream(vm, image, "conv2", DreamConfig(), seed=0)
    >>> result.image          # (C, H, W) float32 in [0, 1]

The image is processed from the coarsest octave (``octave_scale`` ^ -k of the
input size) to the full size.  At each octave, ``steps`` gradient-ascent steps
raise the mean squared activation of ``layer`` (``objective = mean(a^2)``),
each step shifted by a random jitter of up to ``jitter`` x side pixels and
normalised by the mean absolute gradient (so ``lr`` is in pixel units);
pixels are clamped to [0, 1].  The detail added at one octave is upsampled
and carried to the next.  Because the model only runs up to ``layer``, a
convolutional layer of a 28x28 digits model dreams on any image size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from filterkit.visualize.common import VisModel, resize
from filterkit.visualize.config import DreamConfig

__all__ = ["DreamConfig", "DreamResult", "deep_dream", "dream_objective"]


@dataclass
class DreamResult:
    image: np.ndarray  # (C, H, W) float32
    start_objective: float
    final_objective: float
    octave_sizes: list[tuple[int, int]]
    objective_history: list[float]
    config: DreamConfig
    seed: int

    def to_json(self) -> dict:
        return {
            "technique": "Deep Dream: gradient ascent on mean(activation^2), octaves small to large",
            "start_objective": self.start_objective,
            "final_objective": self.final_objective,
            "gain": self.final_objective / self.start_objective if self.start_objective else None,
            "octave_sizes": self.octave_sizes,
            "objective_history": self.objective_history,
            "config": asdict(self.config),
            "seed": self.seed,
        }


def dream_objective(vm: VisModel, x: torch.Tensor, layer: str) -> torch.Tensor:
    """Mean squared activation of ``layer`` per image, shape ``(N,)``."""
    return vm.activations(x, layer).pow(2).flatten(1).mean(1)


def deep_dream(vm: VisModel, image: torch.Tensor, layer: str, config: DreamConfig = DreamConfig(), seed: int = 0,
               progress: bool = False) -> DreamResult:
    """Dream on one ``(1, C, H, W)`` pixel image; see the module docstring."""
    from tqdm.auto import tqdm

    image = image.to(vm.device)
    generator = torch.Generator().manual_seed(int(seed))
    h, w = image.shape[-2:]
    sizes = []
    for k in range(config.octaves - 1, -1, -1):
        f = config.octave_scale ** -k
        size = (max(config.min_size, round(h * f)), max(config.min_size, round(w * f)))
        if not sizes or size != sizes[-1]:
            sizes.append(size)
    with torch.no_grad():
        start = float(dream_objective(vm, image, layer)[0])
    detail = torch.zeros_like(resize(image, sizes[0]))
    history = []
    bar = tqdm(total=len(sizes) * config.steps, desc="dream", unit="step", disable=not progress, leave=False)
    for size in sizes:
        base = resize(image, size)
        detail = torch.nn.functional.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        x = (base + detail).clamp(0, 1)
        j = max(1, int(round(config.jitter * min(size))))
        for _ in range(config.steps):
            dy, dx = (int(v) for v in torch.randint(-j, j + 1, (2,), generator=generator))
            shifted = torch.roll(x, (dy, dx), (-2, -1)).detach().requires_grad_(True)
            objective = dream_objective(vm, shifted, layer).sum()
            (grad,) = torch.autograd.grad(objective, shifted)
            grad = torch.roll(grad, (-dy, -dx), (-2, -1))
            with torch.no_grad():
                x = (x + config.lr * grad / grad.abs().mean().clamp_min(1e-12)).clamp(0, 1)
            history.append(float(objective.detach()))
            bar.update(1)
        detail = x - base
    bar.close()
    with torch.no_grad():
        final = float(dream_objective(vm, x, layer)[0])
    return DreamResult(x[0].detach().cpu().float().numpy(), start, final, sizes, history, config, int(seed))
