"""Shared pieces of ``filterkit.visualize``: loading a model, reaching a layer, images in and out.

Conventions used by every technique:

* Images are float tensors ``(N, C, H, W)`` of **pixels in [0, 1]**
  (0 = black; for the digits models 0 = background, 1 = ink).  The model's
  own input normalisation (``(x - mean) / std``, stored in the checkpoint) is
  applied inside :meth:`VisModel.forward`, so optimised images are always
  valid pictures and clamping to [0, 1] is the valid range.
* Layers are named by their module path in ``model.named_modules()``
  (``conv1``, ``features.0``, ``layer1.0.conv2``); ``"output"`` is the
  model's final output (logits).
* A model is given as a checkpoint path, or ``zoo:NAME`` for a zoo model with
  random weights drawn from ``--seed`` (for properties that need no training).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from filterkit.errors import UserError

__all__ = [
    "OUTPUT",
    "VisModel",
    "check_outputs",
    "figure_to_png",
    "find_layer",
    "gaussian_blur",
    "layer_names",
    "load_image",
    "load_model",
    "plot_panels",
    "to_uint8",
]

#: Layer name meaning "the model's final output".
OUTPUT = "output"
ZOO_PREFIX = "zoo:"
#: Image "paths" starting with this name a scikit-image sample image, e.g. ``skimage:brick``.
SKIMAGE_PREFIX = "skimage:"
#: Input normalisation of the digits models (MNIST training-set mean and std of x/255).
DIGITS_MEAN, DIGITS_STD = 0.1307, 0.3081


class _Stop(Exception):
    """Raised by a forward hook once the wanted layer has run (the rest of the model is skipped)."""


@dataclass
class VisModel:
    """A network prepared for visualisation: eval mode, weights frozen, inputs in pixel units.

    module: the network (its layer names are the ones users pass).
    input_shape: ``(C, H, W)`` it was built for.  mean/std: per-channel input
    normalisation applied to [0, 1] pixels.  label_names: class names or None.
    """

    module: nn.Module
    name: str
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    label_names: list[str] | None = None
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(pixels - mean) / std`` with per-channel mean/std (broadcast over N, H, W)."""
        mean = torch.as_tensor(self.mean, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        return (pixels - mean) / std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Model output (logits) for ``(N, C, H, W)`` pixel images."""
        return self.module(self.normalize(pixels))

    __call__ = forward

    def layer(self, name: str) -> nn.Module:
        return find_layer(self.module, name)

    def activations(self, pixels: torch.Tensor, layers: str | Sequence[str]) -> Any:
        """Output of one layer (a tensor) or of several (a list), running the model only as far as needed.

        Stopping early means a fully convolutional prefix accepts any image
        size (e.g. ``conv2`` of the 28x28 lecture CNN on a 256x256 photo).
        """
        single = isinstance(layers, str)
        names = [layers] if single else list(layers)
        if any(n == OUTPUT for n in names):
            if len(names) > 1:
                out = self.activations(pixels, [n for n in names if n != OUTPUT])
                final = self.forward(pixels)
                it = iter(out)
                return [final if n == OUTPUT else next(it) for n in names]
            return self.forward(pixels)
        captured: dict[str, torch.Tensor] = {}
        handles = []

        def make_hook(name: str) -> Callable:
            def hook(_module, _inputs, output):
                # clone: a following in-place ReLU must not change what we captured
                captured[name] = output.clone() if isinstance(output, torch.Tensor) else output
                if len(captured) == len(names):
                    raise _Stop

            return hook

        for n in dict.fromkeys(names):
            handles.append(self.layer(n).register_forward_hook(make_hook(n)))
        try:
            self.forward(pixels)
        except _Stop:
            pass
        except RuntimeError as exc:  # typically a size mismatch at a dense layer
            raise UserError(f"{self.name}: a {tuple(pixels.shape[1:])} input does not reach layer(s) "
                            f"{', '.join(names)} ({str(exc).splitlines()[0]}); use another size or layer") from None
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in names if n not in captured]
        if missing:
            raise UserError(f"layer {missing[0]!r} was not reached by the forward pass of {self.name}")
        out = [captured[n] for n in names]
        return out[0] if single else out


def layer_names(module: nn.Module) -> list[tuple[str, str]]:
    """``[(path, "Conv2d(1, 25, kernel_size=(3, 3), ...)"), ...]`` for every named sub-module, plus ``output``."""
    rows = [(name, _short_repr(m)) for name, m in module.named_modules() if name]
    rows.append((OUTPUT, "the model's output (logits)"))
    return rows


def _short_repr(module: nn.Module) -> str:
    text = repr(module) if not list(module.children()) else type(module).__name__
    return text.splitlines()[0]


def find_layer(module: nn.Module, name: str) -> nn.Module:
    """The sub-module at path ``name``; :class:`UserError` listing valid names otherwise."""
    modules = dict(module.named_modules())
    if name in modules and name:
        return modules[name]
    valid = [n for n in modules if n]
    shown = ", ".join(valid[:25]) + (" ..." if len(valid) > 25 else "")
    raise UserError(f"no layer {name!r} in the model; layers: {shown} (see --list-layers)")


def _as_tuple(value: Any, channels: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise UserError(f"input normalisation has {len(values)} values for {channels} channels")
    return values


def _first_conv_in_channels(state: dict) -> int | None:
    for key, value in state.items():
        if key.endswith("weight") and getattr(value, "ndim", 0) == 4:
            return int(value.shape[1])
    return None


def load_model(spec: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0,
               model_name: str | None = None) -> VisModel:
    """Load ``spec`` (a filterkit checkpoint, or ``zoo:NAME`` with random weights from ``seed``).

    The zoo model comes from the checkpoint's ``config["model"]``;
    checkpoints from ``filterkit compare`` (app ``compare``) hold the lecture
    CNN; ``model_name`` overrides both.  Input normalisation comes from
    ``config["input_mean"]``/``["input_std"]`` (digits models: MNIST's).
    """
    from filterkit.nn.train import read_checkpoint
    from filterkit.nn.zoo import build_model, default_input, model_spec

    text = str(spec)
    if text.startswith(ZOO_PREFIX):
        name = model_name or text[len(ZOO_PREFIX):]
        model_spec(name)  # UserError for unknown names
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            module = build_model(name)
        shape = default_input(name)
        channels = shape[0]
        vm = VisModel(module, name, shape, (0.0,) * channels, (1.0,) * channels, None,
                      f"{name}, random init (seed {seed})")
    else:
        ckpt = read_checkpoint(text)
        config = ckpt.get("config") or {}
        name = model_name or config.get("model") or ("lecture_cnn" if ckpt.get("app") == "compare" else None)
        if name is None:
            raise UserError(
                f"{text}: the checkpoint does not say which zoo model it holds (no config['model']); pass --model NAME"
            )
        model_spec(name)
        state = ckpt["model"]
        kwargs: dict[str, Any] = {}
        labels = ckpt.get("label_names")
        if labels:
            kwargs["num_classes"] = len(labels)
        in_channels = _first_conv_in_channels(state)
        if in_channels is not None:
            kwargs["in_channels"] = in_channels
        module = build_model(name, **kwargs)
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            raise UserError(f"{text}: weights do not fit zoo model {name!r} ({str(exc).splitlines()[0]})") from None
        c, h, w = default_input(name)
        c = in_channels or c
        digits = name == "lecture_cnn" or ckpt.get("app") == "compare"
        mean = _as_tuple(config.get("input_mean", DIGITS_MEAN if digits else 0.0), c)
        std = _as_tuple(config.get("input_std", DIGITS_STD if digits else 1.0), c)
        vm = VisModel(module, name, (c, h, w), mean, std, list(labels) if labels else None, text,
                      {"app": ckpt.get("app"), "config": config})
    vm.module.eval().to(device)
    for p in vm.module.parameters():
        p.requires_grad_(False)
    return vm


# ------------------------------------------------------------------ images


def load_image(path: str | os.PathLike, channels: int = 1, size: tuple[int, int] | int | None = None,
               invert: bool = False) -> torch.Tensor:
    """Read an image file (or ``skimage:NAME``) as ``(1, channels, H, W)`` float32 pixels in [0, 1].

    Colour is averaged to grey for 1 channel; grey is repeated for 3.  size:
    ``(H, W)`` or the shorter side (keeping the aspect ratio), resized with
    antialiasing.  invert: ``1 - x`` (dark digits on white paper -> MNIST
    style white on black).
    """
    from filterkit.io import read_image

    text = str(path)
    if text.startswith(SKIMAGE_PREFIX):
        image = skimage_sample(text[len(SKIMAGE_PREFIX):])
    else:
        image = np.asarray(read_image(path))
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
    x = torch.from_numpy(image.astype(np.float32) / scale)
    x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
    if x.shape[0] in (2, 4):  # drop alpha
        x = x[:-1]
    if channels == 1 and x.shape[0] == 3:
        x = x.mean(dim=0, keepdim=True)
    elif channels == 3 and x.shape[0] == 1:
        x = x.repeat(3, 1, 1)
    elif x.shape[0] != channels:
        raise UserError(f"{path}: {x.shape[0]} channel(s) cannot feed a model with {channels} input channel(s)")
    x = x[None].clamp(0, 1)
    if size is not None:
        x = resize(x, size)
    return 1.0 - x if invert else x


def skimage_sample(name: str) -> np.ndarray:
    """A scikit-image bundled sample image (``brick``, ``gravel``, ``grass``, ``camera``, ...) as an array."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if name.startswith("_") or loader is None or not callable(loader):
        raise UserError(f"{SKIMAGE_PREFIX}{name}: no such scikit-image sample image (try brick, gravel, grass, camera)")
    try:
        return np.asarray(loader())
    except Exception as exc:  # some samples need a download (pooch); report it in one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{SKIMAGE_PREFIX}{name}: cannot load ({reason})") from None


def resize(x: torch.Tensor, size: tuple[int, int] | int) -> torch.Tensor:
    """Antialiased bilinear resize of ``(N, C, H, W)``; an int is the new shorter side."""
    import torch.nn.functional as F

    if isinstance(size, int):
        h, w = x.shape[-2:]
        f = size / min(h, w)
        size = (max(1, round(h * f)), max(1, round(w * f)))
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of ``(N, C, H, W)``: :func:`filterkit.filters.tensor.gaussian` with a mirror border
    (torch's "reflect" padding: the edge sample is not repeated); ``sigma <= 0`` returns ``x``."""
    from filterkit.filters.tensor import gaussian

    if sigma <= 0:
        return x
    return gaussian(x, sigma, mode="mirror")


def to_uint8(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(C, H, W)`` / ``(H, W)`` pixels in [0, 1] -> ``(H, W)`` or ``(H, W, 3)`` uint8 (rounded, clipped)."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def figure_to_png(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    from filterkit.io import atomic_write

    try:
        return atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
    finally:
        plt.close(fig)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_panels(panels: Sequence[tuple[Any, str]], path: str | os.PathLike, title: str) -> Path:
    """PNG of images side by side: ``panels`` is ``[(pixels (C, H, W) in [0, 1], caption), ...]``."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.6), squeeze=False)
    for ax, (img, caption) in zip(axes[0], panels):
        shown = to_uint8(img)
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(caption, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return figure_to_png(fig, path)


def check_outputs(paths: Sequence[str | os.PathLike | None], force: bool) -> None:
    """:class:`UserError` when an output exists and ``force`` is off (:func:`filterkit.io.refuse_overwrite`)."""
    from filterkit.io import refuse_overwrite

    for p in paths:
        refuse_overwrite(p, force)
