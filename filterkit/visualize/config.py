"""Settings of the optimising techniques as plain frozen dataclasses (no torch import: the CLI reads defaults here)."""

from __future__ import annotations

from dataclasses import dataclass

from filterkit.errors import UserError

__all__ = ["DEFAULT_LEVELS", "DEFAULT_SCALES", "DreamConfig", "MaximizeConfig", "StyleConfig"]

#: Random-filter style features: filter sizes (px) and image-pyramid levels.
DEFAULT_SCALES = (3, 5, 7)
DEFAULT_LEVELS = 4


@dataclass(frozen=True)
class MaximizeConfig:
    """Optimisation settings (plain data, stored in the JSON). Lengths are fractions of the image side."""

    steps: int = 300
    lr: float = 0.05
    l1: float = 0.05
    l1_warmup: float = 0.5
    tv: float = 0.02
    blur_sigma: float = 0.0
    blur_every: int = 4
    jitter: float = 1 / 14
    scale: float = 0.1
    rotate: float = 5.0
    param: str = "pixel"
    decay: float = 1.0
    init_scale: float = 0.1
    objective: str = "logit"
    size: int | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.param not in ("pixel", "fourier"):
            raise UserError(f"--param must be pixel or fourier, got {self.param!r}")
        if self.objective not in ("logprob", "logit"):
            raise UserError(f"--objective must be logprob or logit, got {self.objective!r}")
        for name in ("lr", "init_scale"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        for name in ("l1", "l1_warmup", "tv", "blur_sigma", "jitter", "scale", "rotate"):
            if getattr(self, name) < 0:
                raise UserError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.scale >= 1:
            raise UserError(f"--scale must be below 1, got {self.scale}")
        if self.blur_every < 1:
            raise UserError(f"--blur-every must be at least 1, got {self.blur_every}")


@dataclass(frozen=True)
class DreamConfig:
    """Deep Dream settings (plain data, stored in the JSON)."""

    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10
    lr: float = 0.005
    jitter: float = 1 / 16
    min_size: int = 16

    def __post_init__(self) -> None:
        if self.octaves < 1 or self.steps < 1:
            raise UserError("--octaves and --steps must be at least 1")
        if not self.octave_scale > 1:
            raise UserError(f"--octave-scale must be above 1, got {self.octave_scale}")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class StyleConfig:
    """Settings (plain data, stored in the JSON)."""

    steps: int = 200  # loss evaluations (L-BFGS) or Adam steps
    optimizer: str = "lbfgs"
    lr: float = 0.02  # Adam only
    style_weight: float = 1.0
    content_weight: float = 0.005
    lbfgs_every: int = 20

    def __post_init__(self) -> None:
        if self.optimizer not in ("lbfgs", "adam"):
            raise UserError(f"--optimizer must be lbfgs or adam, got {self.optimizer!r}")
        if self.steps < 1 or self.lbfgs_every < 1:
            raise UserError("--steps must be at least 1")
        if self.style_weight < 0 or self.content_weight < 0:
            raise UserError("loss weights must be >= 0")
