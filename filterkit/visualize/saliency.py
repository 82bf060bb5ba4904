"""Which pixels matter for a class score: gradient saliency, SmoothGrad, integrated gradients.

    >>> maps = saliency_maps(vm, image, target=None, seed=0)   # target None: the predicted class
    >>> maps.gradient, maps.smoothgrad, maps.integrated        # (H, W) float64 each, signed

All attributions are of the class **logit** (not the softmax) with respect to
the input **pixels** in [0, 1], summed over colour channels:

* ``gradient``: d logit / d pixel, **signed** (Simonyan et al. 2013 show
  its absolute value; both are returned: ``abs_gradient``);
* ``smoothgrad``: the gradient averaged over ``samples`` copies of the image
  with Gaussian noise of ``noise`` x (max - min) of the image (Smilkov et al.
  2017), signed; ``abs_smoothgrad`` averages the absolute gradients;
* ``integrated``: integrated gradients (Sundararajan et al. 2017) from an
  explicit ``baseline`` (``"black"``: all zeros, the digits' background,
  default; ``"blur"``: the image blurred with sigma = side/7; or an array),
  ``(x - b) * mean_k grad(b + (k+0.5)/m (x - b))`` (midpoint rule, ``steps``
  points).  Completeness: its sum approximates ``logit(x) - logit(b)``; the
  residual is reported as ``completeness_error``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from filterkit.errors import UserError
from filterkit.visualize.common import VisModel, gaussian_blur

__all__ = ["SaliencyMaps", "integrated_gradients", "input_gradient", "make_baseline", "saliency_maps", "smoothgrad"]


def input_gradient(vm: VisModel, images: torch.Tensor, target: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits[:, target], d logit / d images)`` for a batch ``(N, C, H, W)``."""
    x = images.detach().clone().requires_grad_(True)
    score = vm.forward(x)[:, target]
    (grad,) = torch.autograd.grad(score.sum(), x)
    return score.detach(), grad


def smoothgrad(vm: VisModel, image: torch.Tensor, target: int, samples: int = 32, noise: float = 0.15,
               seed: int = 0, batch: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean gradient, mean |gradient|)`` over noisy copies of ``image`` (1, C, H, W)."""
    if samples < 1:
        raise UserError(f"--samples must be at least 1, got {samples}")
    generator = torch.Generator().manual_seed(int(seed))
    sigma = noise * float(image.max() - image.min() or 1.0)
    total = torch.zeros_like(image)
    total_abs = torch.zeros_like(image)
    done = 0
    while done < samples:
        k = min(batch, samples - done)
        eps = torch.randn((k, *image.shape[1:]), generator=generator).to(image) * sigma
        _, grad = input_gradient(vm, image + eps, target)
        total += grad.sum(0, keepdim=True)
        total_abs += grad.abs().sum(0, keepdim=True)
        done += k
    return total / samples, total_abs / samples


def make_baseline(image: torch.Tensor, baseline: str | np.ndarray | torch.Tensor = "black") -> torch.Tensor:
    """The integrated-gradients baseline: ``"black"`` (zeros), ``"blur"`` (sigma = side / 7) or an explicit array."""
    if isinstance(baseline, str):
        if baseline == "black":
            return torch.zeros_like(image)
        if baseline == "blur":
            return gaussian_blur(image, min(image.shape[-2:]) / 7.0)
        raise UserError(f"--baseline must be black, blur or an image file, got {baseline!r}")
    b = torch.as_tensor(np.asarray(baseline), dtype=image.dtype, device=image.device)
    if b.shape != image.shape:
        b = b.reshape(image.shape) if b.numel() == image.numel() else None
        if b is None:
            raise UserError(f"the baseline must have the image's shape {tuple(image.shape)}")
    return b


def integrated_gradients(vm: VisModel, image: torch.Tensor, target: int, baseline: torch.Tensor, steps: int = 64,
                         batch: int = 64) -> tuple[torch.Tensor, float]:
    """``(attribution (1, C, H, W), completeness error)``; midpoint rule over ``steps`` points."""
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    alphas = (torch.arange(steps, dtype=image.dtype, device=image.device) + 0.5) / steps
    total = torch.zeros_like(image)
    for start in range(0, steps, batch):
        a = alphas[start:start + batch].view(-1, 1, 1, 1)
        _, grad = input_gradient(vm, baseline + a * (image - baseline), target)
        total += grad.sum(0, keepdim=True)
    attribution = (image - baseline) * total / steps
    with torch.no_grad():
        gap = float(vm.forward(image)[0, target] - vm.forward(baseline)[0, target])
    return attribution, float(attribution.sum()) - gap


@dataclass
class SaliencyMaps:
    """Maps ``(H, W)`` (summed over channels) and the figures behind them."""

    target: int
    probability: float
    gradient: np.ndarray
    abs_gradient: np.ndarray
    smoothgrad: np.ndarray
    abs_smoothgrad: np.ndarray
    integrated: np.ndarray
    completeness_error: float
    logit: float
    baseline_logit: float
    settings: dict

    def to_json(self) -> dict:
        def stats(a: np.ndarray) -> dict:
            return {"min": float(a.min()), "max": float(a.max()), "sum": float(a.sum()),
                    "abs_sum": float(np.abs(a).sum())}

        return {
            "target": self.target,
            "probability": self.probability,
            "logit": self.logit,
            "baseline_logit": self.baseline_logit,
            "completeness_error": self.completeness_error,
            "maps": {name: stats(getattr(self, name)) for name in
                     ("gradient", "abs_gradient", "smoothgrad", "abs_smoothgrad", "integrated")},
            "settings": self.settings,
        }


def saliency_maps(vm: VisModel, image: torch.Tensor, target: int | None = None, samples: int = 32,
                  noise: float = 0.15, steps: int = 64, baseline: str | np.ndarray = "black",
                  seed: int = 0) -> SaliencyMaps:
    """All maps for one ``(1, C, H, W)`` pixel image; ``target`` None = the predicted class."""
    image = image.to(vm.device)
    with torch.no_grad():
        logits = vm.forward(image)[0]
    if target is None:
        target = int(logits.argmax())
    if not 0 <= target < logits.numel():
        raise UserError(f"--target {target}: the model has {logits.numel()} classes")
    _, grad = input_gradient(vm, image, target)
    sg, sg_abs = smoothgrad(vm, image, target, samples, noise, seed)
    base = make_baseline(image, baseline)
    ig, error = integrated_gradients(vm, image, target, base, steps)
    with torch.no_grad():
        base_logit = float(vm.forward(base)[0, target])

    def plane(t: torch.Tensor) -> np.ndarray:
        return t[0].sum(0).detach().cpu().double().numpy()

    return SaliencyMaps(
        target=target,
        probability=float(torch.softmax(logits, 0)[target]),
        gradient=plane(grad),
        abs_gradient=plane(grad.abs()),
        smoothgrad=plane(sg),
        abs_smoothgrad=plane(sg_abs),
        integrated=plane(ig),
        completeness_error=error,
        logit=float(logits[target]),
        baseline_logit=base_logit,
        settings={"samples": samples, "noise": noise, "steps": steps,
                  "baseline": baseline if isinstance(baseline, str) else "array", "seed": seed,
                  "score": "logit", "wrt": "pixels in [0, 1]"},
    )


def plot_saliency(image: torch.Tensor, maps: SaliencyMaps, path) -> object:
    """PNG: input, signed gradient, |gradient|, |SmoothGrad|, integrated gradients (signed maps: red > 0 > blue)."""
    from filterkit.visualize.common import figure_to_png, pyplot, to_uint8

    plt = pyplot()
    panels = [
        ("gradient (signed)", maps.gradient, True),
        ("|gradient|", maps.abs_gradient, False),
        ("SmoothGrad (signed)", maps.smoothgrad, True),
        ("SmoothGrad |grad|", maps.abs_smoothgrad, False),
        (f"integrated gradients\n(signed, baseline {maps.settings['baseline']})", maps.integrated, True),
    ]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.2 * (len(panels) + 1), 2.7))
    shown = to_uint8(image[0])
    axes[0].imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axes[0].set_title(f"input: class {maps.target}\np={maps.probability:.3f}", fontsize=8)
    for ax, (title, a, signed) in zip(axes[1:], panels):
        lim = float(np.abs(a).max()) or 1.0
        if signed:
            ax.imshow(a, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        else:
            ax.imshow(a, cmap="hot", vmin=0, vmax=lim, interpolation="nearest")
        ax.set_title(title, fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"attribution of the class-{maps.target} logit to input pixels "
                 f"(IG completeness error {maps.completeness_error:.2g})", fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)
