"""Activation maximisation: the input that maximises one filter, one unit or one class score.

    >>> from filterkit.visualize import MaximizeConfig, load_model
    >>> from filterkit.visualize.maximize import Target, maximize
    >>> vm = load_model("mnist_cnn/best.pt")
    >>> result = maximize(vm, [Target("class", "output", c) for c in range(10)], MaximizeConfig(), seed=0)
    >>> result.probability            # model's own probability of each target class, (10,)
    >>> result.images                 # (10, 1, 28, 28) float32 pixels in [0, 1]

Gradient ascent from seeded noise, with regularisers that work on 28x28
greyscale models (sizes below scale with the image side ``S``):

* **valid range**: pixels are clamped to [0, 1] after every step (projected
  gradient; 0 = background of the digits models), so the result is a real
  picture;
* **sparsity** (``l1``): a penalty ``l1 * sum(pixels)`` (the L1 norm, pixels
  being non-negative) pulls every pixel the objective does not need to exactly
  0 through the clamp; its weight ramps up linearly over the first
  ``l1_warmup`` fraction of the steps, so weak targets are not zeroed before
  the objective has found them;
* **jitter / scale / rotation**: before each step the image is shifted by up
  to ``jitter * S`` pixels (2 px at 28), scaled by ``1 +- scale`` and rotated
  by ``+- rotate`` degrees (zero fill), so only robust patterns survive;
* **smoothness**: total variation (``tv * sum |dx| + |dy|``) and/or a Gaussian
  blur of ``blur_sigma`` pixels every ``blur_every`` steps;
* **parameterisation**: ``pixel`` (default) or ``fourier``: the image is an
  inverse real FFT of a spectrum scaled by ``1/f^decay`` (the decorrelated
  parameterisation of Olah et al. 2017, Distill "Feature Visualization";
  greyscale: no colour decorrelation), clamped to [0, 1] with a
  straight-through gradient.

Objectives: ``channel`` K of a layer: its output summed over all positions;
``neuron`` J: element
J of the layer output flattened per sample; ``class`` C: the logit (default:
it keeps rewarding evidence after the softmax saturates, which with the L1
prior draws whole digits) or ``objective="logprob"``, ``log_softmax(logits)[C]``
(stops at the smallest evidence that wins).  Several targets of the same layer are optimised as one batch; every
random draw comes from a ``torch.Generator`` seeded with ``seed``, so the same
seed gives the same image.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from filterkit.errors import UserError
from filterkit.visualize.common import OUTPUT, VisModel, gaussian_blur
from filterkit.visualize.config import MaximizeConfig

__all__ = ["MaximizeConfig", "MaximizeResult", "Target", "FourierImage", "PixelImage", "maximize", "total_variation"]

KINDS = ("channel", "neuron", "class")


@dataclass(frozen=True)
class Target:
    """What to maximise: ``kind`` in channel/neuron/class, the ``layer`` path and the ``index``."""

    kind: str
    layer: str
    index: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"target kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.index < 0:
            raise UserError(f"{self.kind} index must be >= 0, got {self.index}")

    def label(self) -> str:
        return f"class {self.index}" if self.kind == "class" else f"{self.layer} {self.kind} {self.index}"


@dataclass
class MaximizeResult:
    """Images and the figures behind them; arrays have one row per target."""

    targets: list[Target]
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    start_activation: np.ndarray  # target value on the starting noise (channel sum / unit / logit)
    final_activation: np.ndarray
    start_objective: np.ndarray  # the objective that was maximised (log-prob for classes), before the priors
    final_objective: np.ndarray
    start_probability: np.ndarray | None
    probability: np.ndarray | None  # model's probability of the target class (class targets)
    sparsity: np.ndarray  # fraction of pixels exactly 0
    loss_history: list[float] = field(default_factory=list)  # total loss per step (mean over targets)
    config: MaximizeConfig = field(default_factory=MaximizeConfig)
    seed: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        rows = []
        for i, t in enumerate(self.targets):
            row = {
                "target": asdict(t),
                "start_activation": float(self.start_activation[i]),
                "final_activation": float(self.final_activation[i]),
                "start_objective": float(self.start_objective[i]),
                "final_objective": float(self.final_objective[i]),
                "sparsity": float(self.sparsity[i]),
                "pixel_mean": float(self.images[i].mean()),
            }
            if self.probability is not None:
                row["start_probability"] = float(self.start_probability[i])
                row["probability"] = float(self.probability[i])
            rows.append(row)
        return {
            "technique": "activation maximisation (projected gradient ascent, Adam)",
            "seed": self.seed,
            "config": asdict(self.config),
            "results": rows,
            "loss_start": self.loss_history[0] if self.loss_history else None,
            "loss_final": self.loss_history[-1] if self.loss_history else None,
            "seconds": self.seconds,
        }


# ------------------------------------------------------------------ parameterisations


def _straight_through_clamp(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] in the forward pass, identity gradient (so clamped pixels can come back)."""
    return x + (x.clamp(0, 1) - x).detach()


class PixelImage(torch.nn.Module):
    """Pixels are the parameters; :meth:`project` clamps them to [0, 1] after each step."""

    def __init__(self, init: torch.Tensor) -> None:
        super().__init__()
        self.pixels = torch.nn.Parameter(init.clone())

    def forward(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def project(self) -> None:
        self.pixels.clamp_(0, 1)

    @torch.no_grad()
    def blur(self, sigma: float) -> None:
        self.pixels.copy_(gaussian_blur(self.pixels, sigma))


def fourier_scale(height: int, width: int, decay: float = 1.0) -> torch.Tensor:
    """``(H, W//2+1)`` spectrum weights ``1 / max(f, 1/max(H, W))^decay``, scaled to RMS 1."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    f = torch.sqrt(fx**2 + fy**2).clamp_min(1.0 / max(height, width))
    scale = f.pow(-decay)
    return scale / scale.pow(2).mean().sqrt()


class FourierImage(torch.nn.Module):
    """Image = ``irfft2(spectrum * 1/f^decay)`` (orthonormal FFT) + offset, clamped with a straight-through gradient.

    Low frequencies get large steps and high frequencies small ones, which
    decorrelates neighbouring pixels (Olah et al. 2017).
    """

    def __init__(self, shape: Sequence[int], generator: torch.Generator, init_scale: float, decay: float = 1.0,
                 offset: float = 0.0) -> None:
        super().__init__()
        n, c, h, w = shape
        self.size = (h, w)
        self.register_buffer("scale", fourier_scale(h, w, decay))
        spec = torch.randn((n, c, h, w // 2 + 1, 2), generator=generator) * init_scale
        self.spectrum = torch.nn.Parameter(spec)
        self.offset = offset

    def raw(self) -> torch.Tensor:
        spec = torch.view_as_complex(self.spectrum) * self.scale
        return torch.fft.irfft2(spec, s=self.size, norm="ortho") + self.offset

    def forward(self) -> torch.Tensor:
        return _straight_through_clamp(self.raw())

    def project(self) -> None:  # the clamp is part of forward()
        pass

    def blur(self, sigma: float) -> None:  # smoothness comes from the 1/f scaling
        pass


# ------------------------------------------------------------------ regularisers and transforms


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation per image: ``sum |x[i+1,j]-x[i,j]| + |x[i,j+1]-x[i,j]|``, shape ``(N,)``."""
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1)
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1)
    return dy + dx


def random_transform(x: torch.Tensor, cfg: MaximizeConfig, generator: torch.Generator) -> torch.Tensor:
    """Roll by up to ``jitter*S`` px, then scale and rotate about the centre (zero fill); one draw per batch."""
    side = min(x.shape[-2:])
    j = int(round(cfg.jitter * side))
    if j > 0:
        dy, dx = (int(v) for v in torch.randint(-j, j + 1, (2,), generator=generator))
        x = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if cfg.scale > 0 or cfg.rotate > 0:
        u = torch.rand(2, generator=generator, dtype=torch.float64) * 2 - 1
        s = 1.0 + cfg.scale * float(u[0])
        a = math.radians(cfg.rotate * float(u[1]))
        theta = torch.tensor(
            [[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]],
            dtype=x.dtype, device=x.device,
        ).expand(x.shape[0], 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x


# ------------------------------------------------------------------ objectives


def target_values(vm: VisModel, pixels: torch.Tensor, targets: Sequence[Target], objective: str = "logprob"
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(objective, activation, probability)`` per sample; sample i is scored on ``targets[i]``.

    activation: channel sum, unit value or logit.  objective: the same, but
    the log-probability for classes when ``objective == "logprob"``.
    probability: softmax probability of the class (class targets), else None.
    """
    layer = targets[0].layer
    out = vm.activations(pixels, layer)
    index = torch.tensor([t.index for t in targets], device=out.device)
    rows = torch.arange(len(targets), device=out.device)
    kind = targets[0].kind
    if kind == "channel":
        if out.ndim < 2 or int(index.max()) >= out.shape[1]:
            raise UserError(f"layer {layer!r} has {out.shape[1] if out.ndim > 1 else 0} channels; "
                            f"--channel {int(index.max())} is out of range")
        act = out[rows, index].flatten(1).sum(1)
        return act, act, None
    flat = out.flatten(1)
    if int(index.max()) >= flat.shape[1]:
        what = "classes" if kind == "class" else "units"
        raise UserError(f"layer {layer!r} has {flat.shape[1]} {what}; index {int(index.max())} is out of range")
    act = flat[rows, index]
    if kind == "neuron":
        return act, act, None
    logp = torch.log_softmax(flat, dim=1)[rows, index]
    return (logp if objective == "logprob" else act), act, logp.exp()


def _check_targets(targets: Sequence[Target]) -> None:
    if not targets:
        raise UserError("nothing to maximise: give at least one target")
    if len({(t.kind, t.layer) for t in targets}) != 1:
        raise UserError("targets optimised together must share their kind and layer")
    if targets[0].kind == "class" and targets[0].layer != OUTPUT:
        raise UserError(f"class targets are scored on the model output, not on layer {targets[0].layer!r}")


def maximize(vm: VisModel, targets: Sequence[Target], config: MaximizeConfig = MaximizeConfig(), seed: int = 0,
             progress: bool = False) -> MaximizeResult:
    """Optimise one image per target by projected gradient ascent (Adam); see the module docstring."""
    import time

    from tqdm.auto import tqdm

    _check_targets(targets)
    start_time = time.perf_counter()
    device = vm.device
    c, h, w = vm.input_shape
    if config.size:
        h = w = int(config.size)
    n = len(targets)
    generator = torch.Generator().manual_seed(int(seed))
    shape = (n, c, h, w)
    if config.param == "pixel":
        image = PixelImage(torch.rand(shape, generator=generator) * config.init_scale)
    else:
        image = FourierImage(shape, generator, config.init_scale, config.decay, offset=config.init_scale / 2)
    image.to(device)
    optimizer = torch.optim.Adam(image.parameters(), lr=config.lr)

    with torch.no_grad():
        start_obj, start_act, start_prob = target_values(vm, image(), targets, config.objective)
    history: list[float] = []
    for step in tqdm(range(config.steps), desc="maximize", unit="step", disable=not progress, leave=False):
        optimizer.zero_grad(set_to_none=True)
        x = image()
        objective, _, _ = target_values(vm, random_transform(x, config, generator), targets, config.objective)
        loss = -objective
        if config.l1 > 0:
            ramp = min(1.0, (step + 1) / (config.l1_warmup * config.steps)) if config.l1_warmup > 0 else 1.0
            loss = loss + ramp * config.l1 * x.abs().flatten(1).sum(1)
        if config.tv > 0:
            loss = loss + config.tv * total_variation(x)
        loss.sum().backward()
        optimizer.step()
        image.project()
        if config.blur_sigma > 0 and (step + 1) % config.blur_every == 0 and step + 1 < config.steps:
            image.blur(config.blur_sigma)
            image.project()
        history.append(float(loss.detach().mean()))
    with torch.no_grad():
        final = image().clamp(0, 1)
        final_obj, final_act, final_prob = target_values(vm, final, targets, config.objective)
    images = final.detach().cpu().float().numpy()

    def arr(t: torch.Tensor | None) -> np.ndarray | None:
        return None if t is None else t.detach().cpu().double().numpy()

    return MaximizeResult(
        targets=list(targets),
        images=images,
        start_activation=arr(start_act),
        final_activation=arr(final_act),
        start_objective=arr(start_obj),
        final_objective=arr(final_obj),
        start_probability=arr(start_prob),
        probability=arr(final_prob),
        sparsity=(images == 0).reshape(n, -1).mean(1),
        loss_history=history,
        config=config,
        seed=int(seed),
        seconds=time.perf_counter() - start_time,
    )


def plot_maximized(result: MaximizeResult, path, label_names: Sequence[str] | None = None):
    """PNG grid: one maximised image per target, titled with the figures (probability, sparsity)."""
    from filterkit.visualize.common import figure_to_png, pyplot, to_uint8

    plt = pyplot()
    n = len(result.targets)
    cols = min(n, 5)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.15 * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (ax, t) in enumerate(zip(axes.ravel(), result.targets)):
        img = to_uint8(result.images[i])
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        if result.probability is not None:
            name = label_names[t.index] if label_names and t.index < len(label_names) else str(t.index)
            title = f"class {name}: p={result.probability[i]:.4f}\n{100 * result.sparsity[i]:.0f}% pixels 0"
        else:
            title = (f"{t.layer} {t.kind} {t.index}\n{result.start_activation[i]:.3g} -> "
                     f"{result.final_activation[i]:.3g}")
        ax.set_title(title, fontsize=7.5)
    cfg = result.config
    fig.suptitle(f"maximised from noise (seed {result.seed}, {cfg.steps} steps, {cfg.param}, "
                 f"l1 {cfg.l1:g}, tv {cfg.tv:g}, blur {cfg.blur_sigma:g})", fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)
