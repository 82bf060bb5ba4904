"""The one image layout and the option checks shared by the numpy and the torch API.

An image is seen as planes ``(N, H, W, C)``: batch, the two spatial axes, channels.  Filters
never mix batch items or channels.

* numpy arrays (:mod:`filterkit.filters.ndimage`): any rank >= 2; ``channel_axis`` names the
  colour axis (moved last, so that OpenCV gets interleaved channels); every other axis in front
  of the spatial ones is a batch axis.  dtypes: uint8, uint16, float32, float64.
* torch tensors (:mod:`filterkit.filters.tensor`): ``(H, W)``, ``(C, H, W)`` or ``(B, C, H, W)``
  (kornia's shapes); channels are planes of their own (``C = 1`` here).  dtypes: float16,
  bfloat16, float32, float64 and the integer types of :data:`TORCH_INT_DTYPES`.

Errors name the filter: ``"mean: empty image (shape (0, 5))"``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from filterkit.filters import kernels as _kernels
from filterkit.filters.dtypes import check_dtype

__all__ = ["is_tensor", "check_size", "check_kernel", "TORCH_INT_DTYPES", "TORCH_FLOAT_DTYPES"]

TORCH_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# uint16: torch has few uint16 kernels, but converting is enough (every filter computes in float32/float64)
TORCH_INT_DTYPES = ("uint8", "uint16", "int8", "int16", "int32", "int64")


def is_tensor(x) -> bool:
    """True for a torch tensor (without importing torch)."""
    return type(x).__module__.startswith("torch")


def _torch_dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_size(size, op: str, name: str = "size", odd: bool = False) -> int:
    """``size`` as an int: a positive (``odd``: odd) whole number, else ``ValueError`` naming ``op``."""
    whole = isinstance(size, (Real, np.integer, np.floating)) and not isinstance(size, (bool, np.bool_))
    if not whole or size != int(size) or size < 1 or (odd and int(size) % 2 == 0):
        kind = "a positive odd integer" if odd else "a positive integer"
        raise ValueError(f"{op}: {name} must be {kind}, got {size!r}")
    return int(size)


def check_kernel(kernel, op: str, separable: bool = False) -> np.ndarray | _kernels.Separable:
    """A 2-D float64 kernel with odd sides and finite weights (array-like or tensor).

    ``separable``: a :class:`filterkit.filters.kernels.Separable` is accepted and kept as one.
    """
    if isinstance(kernel, _kernels.Separable):
        if not separable:
            return check_kernel(kernel.full(), op)
        rows = check_kernel(np.asarray(kernel.rows)[:, None], op)[:, 0]
        cols = check_kernel(np.asarray(kernel.cols)[None, :], op)[0]
        return _kernels.Separable(rows=rows, cols=cols)
    if is_tensor(kernel):
        kernel = kernel.detach().cpu().double().numpy()
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(
            f"{op}: kernel must be a 2-D array with odd height and width (its centre is the middle sample), got "
            f"shape {k.shape}; pad an even kernel with a row/column of zeros to choose its centre"
        )
    if not np.isfinite(k).all():
        raise ValueError(f"{op}: kernel contains NaN or infinity")
    return k


class _Planes:
    """An image seen as ``(N, H, W, C)`` planes, and the way back to its shape.

    Attributes: ``x`` the ``(N, H, W, C)`` view (numpy) or ``(N, H, W)`` view (torch, ``C = 1``);
    ``h``, ``w``; ``dtype``; ``channel_axis`` (normalised, or None).
    """

    def __init__(self, image, channel_axis: int | None = None, *, op: str, torch_only: bool = False):
        self.op = op
        self.torch = is_tensor(image)
        if torch_only and not self.torch:
            raise TypeError(f"{op}: expected a torch.Tensor, got {type(image).__name__}")
        x = image if self.torch else np.asarray(image)
        shape = tuple(x.shape)
        if self.torch:
            if channel_axis is not None:
                raise ValueError(f"{op}: channel_axis is for numpy arrays; torch tensors are (B, C, H, W)")
            if len(shape) not in (2, 3, 4):
                raise ValueError(f"{op}: expected a tensor of shape (H, W), (C, H, W) or (B, C, H, W), got shape {shape}")
            name = _torch_dtype_name(x.dtype)
            if name not in TORCH_FLOAT_DTYPES + TORCH_INT_DTYPES:
                raise ValueError(f"{op}: unsupported dtype {x.dtype}; use a float tensor (x.float()), uint8, uint16 or int32")
        else:
            check_dtype(x.dtype)
        if channel_axis is not None:
            if len(shape) < 3:
                raise ValueError(f"{op}: channel_axis={channel_axis} needs at least 3 dimensions, image has shape {shape}")
            if not -len(shape) <= channel_axis < len(shape):
                raise ValueError(f"{op}: channel_axis={channel_axis} is out of range for an image of shape {shape}")
            channel_axis %= len(shape)
            x = np.moveaxis(x, channel_axis, -1)
        elif len(shape) < 2:
            raise ValueError(f"{op}: an image needs 2 spatial dimensions, got shape {shape}")
        if int(np.prod(shape)) == 0:
            raise ValueError(f"{op}: empty image (shape {shape})")
        self.channel_axis = channel_axis
        self.moved_shape = tuple(x.shape)
        spatial_end = len(self.moved_shape) - (channel_axis is not None)
        self.h, self.w = self.moved_shape[spatial_end - 2 : spatial_end]
        c = self.moved_shape[-1] if channel_axis is not None else 1
        self.x = x.reshape(-1, self.h, self.w) if self.torch else x.reshape(-1, self.h, self.w, c)
        self.dtype = x.dtype

    def restore(self, out):
        """``out`` (the planes' layout) in the image's shape."""
        out = out.reshape(self.moved_shape)
        return out if self.channel_axis is None else np.moveaxis(out, -1, self.channel_axis)

    # ---------------------------------------------------------------- torch dtypes

    @property
    def is_integer(self) -> bool:
        return _torch_dtype_name(self.dtype) in TORCH_INT_DTYPES

    def work(self, smoothing: bool):
        """The torch planes in the dtype the arithmetic runs in (float64 for integer smoothing: exact rounding)."""
        import torch

        if self.dtype == torch.float64:
            return self.x
        if self.is_integer and smoothing:
            return self.x.to(torch.float64)
        return self.x.to(torch.float32)

    def finish(self, y, smoothing: bool):
        """Torch planes ``y`` (N, H, W) in the output dtype (integer smoothing: rounded half to even and
        saturated; integer derivatives: float32; floats: the input's) and the input's shape."""
        import torch

        if self.is_integer:
            if smoothing:
                info = torch.iinfo(self.dtype)
                y = torch.round(y).clamp_(info.min, info.max).to(self.dtype)
            else:
                y = y.to(torch.float32)
        else:
            y = y.to(self.dtype)
        return self.restore(y.contiguous())
