"""Learnable (or frozen) convolution layers initialised from named kernels.

Usage::

    from filterkit.nn.layers import FIXED_BANK, KernelConv2d, nearest_kernels

    fixed = KernelConv2d.from_kernels(FIXED_BANK, trainable=False)          # 1 -> 25 channels, 3x3
    learn = KernelConv2d.from_kernels(["sobel_x", "sobel_y"], trainable=True, size=5)
    rgb = KernelConv2d.from_kernels(["laplacian4"], in_channels=3, channel_mode="depthwise")
    custom = KernelConv2d.from_kernels([("gaussian", {"sigma": 1.0, "size": 5}), "mean"], size=5)
    nearest_kernels(learn.weight)      # [("sobel_x", 0.97), ("sobel_y", 0.95)] after training

Conventions:

* Kernels come only from :func:`filterkit.filters.kernels.get_kernel` (a name, or a
  ``(name, params)`` pair) and are applied by **correlation** like every
  filterkit kernel (``torch.nn.functional.conv2d`` correlates), so a frozen
  ``sobel_x`` layer gives exactly ``scipy.ndimage.correlate(image, sobel_x)``
  inside the image (zero padding at the border by default).
* All kernels of a bank are zero-padded or centre-cropped to one odd
  ``size`` (default: the largest kernel in the bank).
* Multi-channel input, ``channel_mode``:
  ``"mean"`` (default) applies kernel ``k`` to every input channel and
  averages, i.e. filters the channel mean (one output channel per kernel;
  a grey image copied into 3 channels gives the 1-channel response);
  ``"depthwise"`` filters each input channel separately (``groups=in_channels``,
  ``in_channels * n_kernels`` outputs, ordered channel-major: output
  ``c * n_kernels + k`` is kernel ``k`` on channel ``c``).
* ``trainable=False`` sets ``requires_grad=False`` on the weight (and bias):
  the layer gets no gradient, and ``[p for p in model.parameters() if
  p.requires_grad]`` leaves it out of the optimizer.  The weight is still a
  parameter, so it moves with ``.to(device)`` and is saved in ``state_dict``.
* :func:`nearest_kernels` uses the plain (signed) cosine by default: a learned
  ``-sobel_x`` is "bright-to-dark", which the bank names ``edge_180``, so sign
  flips are not folded together.  ``allow_sign_flip=True`` ranks by ``|cos|``
  and reports the signed cosine (negative: the negated kernel matched).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

import numpy as np
import torch
from torch import nn

from filterkit.filters.kernels import get_kernel

__all__ = [
    "FIXED_BANK",
    "KernelSpec",
    "KernelConv2d",
    "kernel_bank",
    "kernel_label",
    "nearest_kernels",
    "fit_kernel_size",
]

#: A kernel for :func:`kernel_bank`: a name, or ``(name, params for get_kernel)``.
KernelSpec = Union[str, tuple[str, Mapping[str, Any]]]

#: The standard bank of 25 distinct 3x3 fixed filters.  Edges at 8 orientations
#: (``edge_0`` equals ``sobel_x`` and ``edge_270`` equals ``sobel_y``, so the
#: Sobel pair stands for those two orientations and no kernel appears twice),
#: Scharr and Prewitt derivatives, the Kirsch east and north compass masks,
#: both Laplacians, the mixed second derivative ``dxy``, line detectors at 4
#: angles, emboss, Gaussian, mean and identity.  No two are equal or have a
#: cosine of +-1 (a point detector would be ``-laplacian8`` and sharpening
#: ``identity - laplacian4`` has cosine -0.997 with ``laplacian4``, so neither is in).
FIXED_BANK: tuple[str, ...] = (
    "sobel_x",
    "edge_45",
    "edge_90",
    "edge_135",
    "edge_180",
    "edge_225",
    "sobel_y",
    "edge_315",
    "scharr_x",
    "scharr_y",
    "prewitt_x",
    "prewitt_y",
    "kirsch_0",
    "kirsch_90",
    "laplacian4",
    "laplacian8",
    "dxy",
    "line_0",
    "line_45",
    "line_90",
    "line_135",
    "emboss",
    "gaussian",
    "mean",
    "identity",
)


def kernel_label(spec: KernelSpec) -> str:
    """Display name of a spec: ``"gaussian"`` or ``"gaussian(sigma=1.0)"``."""
    if isinstance(spec, str):
        return spec
    name, params = spec
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={v}' for k, v in sorted(params.items()))})"


def fit_kernel_size(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad or centre-crop a 2-D kernel with odd sides to ``size x size`` (odd)."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be a positive odd integer, got {size!r}")
    kernel = np.asarray(kernel, dtype=np.float64)
    out = np.zeros((size, size))
    h, w = kernel.shape
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"kernel sides must be odd to have a centre, got shape {kernel.shape}")
    r, c = min(h, size) // 2, min(w, size) // 2
    out[size // 2 - r : size // 2 + r + 1, size // 2 - c : size // 2 + c + 1] = kernel[
        h // 2 - r : h // 2 + r + 1, w // 2 - c : w // 2 + c + 1
    ]
    return out


def kernel_bank(specs: Sequence[KernelSpec], size: int | None = None) -> np.ndarray:
    """Named kernels stacked as float64 ``(n, size, size)``; size defaults to the largest kernel."""
    if isinstance(specs, str):
        specs = [specs]
    if len(specs) == 0:
        raise ValueError("a kernel bank needs at least one kernel")
    kernels = []
    for spec in specs:
        name, params = (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))
        kernels.append(get_kernel(name, **params))
    if size is None:
        size = max(max(k.shape) for k in kernels)
    return np.stack([fit_kernel_size(k, size) for k in kernels])


class KernelConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose kernels start as named filters; frozen or trainable.

    Build it with :meth:`from_kernels`.  ``kernel_names`` lists the kernel of
    every output channel (for ``"depthwise"``: ``"<name>@c<channel>"``).
    """

    kernel_names: list[str]

    @classmethod
    def from_kernels(
        cls,
        kernels: Sequence[KernelSpec] | KernelSpec,
        *,
        in_channels: int = 1,
        channel_mode: str = "mean",
        size: int | None = None,
        trainable: bool = True,
        bias: bool = False,
        padding: str | int | tuple[int, int] = "same",
        padding_mode: str = "zeros",
        stride: int = 1,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> "KernelConv2d":
        """A conv layer with one output channel per kernel (per input channel when depthwise).

        kernels: names or ``(name, params)`` pairs for :func:`filterkit.filters.kernels.get_kernel`.
        size: common odd kernel side (default: the largest kernel).
        channel_mode: ``"mean"`` or ``"depthwise"`` (see the module docstring).
        padding: ``"same"`` (default, output H x W = input), ``"valid"`` or pixels.
        """
        single = isinstance(kernels, str) or (
            isinstance(kernels, tuple) and len(kernels) == 2 and isinstance(kernels[1], Mapping)
        )
        specs = [kernels] if single else list(kernels)
        bank = kernel_bank(specs, size)
        n, k = bank.shape[0], bank.shape[-1]
        labels = [kernel_label(s) for s in specs]
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if channel_mode == "mean":
            out_channels, groups = n, 1
            weight = np.repeat(bank[:, None] / in_channels, in_channels, axis=1)
            names = labels
        elif channel_mode == "depthwise":
            out_channels, groups = n * in_channels, in_channels
            weight = np.tile(bank, (in_channels, 1, 1))[:, None]
            names = [f"{lab}@c{c}" if in_channels > 1 else lab for c in range(in_channels) for lab in labels]
        else:
            raise ValueError(f"channel_mode must be 'mean' or 'depthwise', got {channel_mode!r}")
        layer = cls(
            in_channels,
            out_channels,
            k,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
            if layer.bias is not None:
                layer.bias.zero_()
        layer.kernel_names = names
        layer.channel_mode = channel_mode
        layer.set_trainable(trainable)
        return layer

    def set_trainable(self, trainable: bool) -> "KernelConv2d":
        """Freeze (False) or unfreeze (True) the weight and bias in place."""
        for p in self.parameters(recurse=False):
            p.requires_grad_(bool(trainable))
        return self

    @property
    def trainable(self) -> bool:
        return bool(self.weight.requires_grad)

    def extra_repr(self) -> str:
        names = getattr(self, "kernel_names", None)
        shown = "" if names is None else f", kernels={names[:4]}{'...' if len(names) > 4 else ''}"
        return super().extra_repr() + f", trainable={self.trainable}{shown}"


def _as_kernels(weight: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(n, kh, kw)`` float64 from a conv weight ``(out, in, kh, kw)`` (summed over in), 3-D or 2-D array."""
    w = weight.detach().cpu().double().numpy() if isinstance(weight, torch.Tensor) else np.asarray(weight, float)
    if w.ndim == 4:
        return w.sum(axis=1)
    if w.ndim == 3:
        return w
    if w.ndim == 2:
        return w[None]
    raise ValueError(f"weight must be 2-D, 3-D or 4-D (out, in, kh, kw), got shape {w.shape}")


def nearest_kernels(
    weight: torch.Tensor | np.ndarray,
    bank: Sequence[KernelSpec] = FIXED_BANK,
    *,
    allow_sign_flip: bool = False,
) -> list[tuple[str, float]]:
    """For each kernel in ``weight``, the bank kernel with the highest cosine similarity.

    weight: ``(out, in, kh, kw)`` conv weight (each output channel's kernel
    summed over input channels: its effect on a grey image), ``(n, kh, kw)``
    or one ``(kh, kw)`` kernel; square, odd side.  Bank kernels are padded or
    cropped to that side.  Returns ``[(name, cosine), ...]`` per kernel;
    cosine is 0.0 for an all-zero kernel.  Sign flips: see the module docstring.
    """
    learned = _as_kernels(weight)
    if learned.shape[-1] != learned.shape[-2]:
        raise ValueError(f"kernels must be square, got {learned.shape[-2:]}")
    names = [kernel_label(s) for s in bank]
    ref = kernel_bank(list(bank), learned.shape[-1]).reshape(len(names), -1)
    flat = learned.reshape(len(learned), -1)
    ref_norm = np.linalg.norm(ref, axis=1)
    flat_norm = np.linalg.norm(flat, axis=1)
    denom = np.outer(flat_norm, ref_norm)
    cos = np.divide(flat @ ref.T, denom, out=np.zeros_like(denom), where=denom > 0)
    score = np.abs(cos) if allow_sign_flip else cos
    best = score.argmax(axis=1)
    return [(names[j], float(cos[i, j])) for i, j in enumerate(best)]
