"""Fixed image filters on torch tensors: the torch backend of :mod:`filterkit.filters.ndimage`.

Same names, keyword options and results as the numpy layer (and as
scipy.ndimage): :func:`correlate`, :func:`convolve`, :func:`mean` (alias
:func:`box`), :func:`gaussian`, :func:`median`, :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`laplace` (alias :func:`laplacian`), and for each an ``nn.Module``
(:class:`Correlate`, :class:`Mean`, :class:`Gaussian`, :class:`Median`, :class:`Sobel`,
:class:`Scharr`, :class:`Prewitt`, :class:`Laplace`) whose ``forward`` calls the function.

Shapes
    ``(B, C, H, W)``; ``(H, W)`` and ``(C, H, W)`` are accepted and the result
    has the input's rank.  Channels and batch items are never mixed.
Devices and dtypes
    Any device; the result stays on the input's device.  float16, bfloat16,
    float32, float64 keep their dtype (half types are computed in float32).
    Integer tensors (uint8, uint16, int8 ... int64) follow
    :mod:`filterkit.filters.dtypes`: smoothing filters (mean, gaussian, median) return
    the input dtype, the exact (float64) value rounded half to even and
    saturated, as the numpy layer does for uint8/uint16 arrays; derivative
    filters and correlate/convolve return float32.
Borders
    ``mode`` is one of :mod:`filterkit.filters.border`'s names (reflect, mirror,
    nearest, constant with ``cval``, wrap) and works for pads of any width.
Conventions
    Correlation (``F.conv2d``'s, scipy's); axis 1 = x (columns), axis 0 = y
    (rows).  Separable filters are two 1-D passes in scipy.ndimage's order,
    but the result is always that of the full 2-D kernel on the image padded
    in 2-D, as in :mod:`filterkit.filters.ndimage`: with ``constant`` and a non-zero
    ``cval`` the second pass pads with the first pass's response to the
    constant.  (scipy.ndimage.sobel/prewitt pad each pass with ``cval``, so
    their derivatives differ from these, and from ``scipy.ndimage.correlate``
    with the 2-D kernel, next to the border.)
Gradients
    Every filter except :func:`median` is differentiable with respect to the
    image (kernels are constants; no gradient flows to them).

How it is computed: one separable apply and one 2-D apply
(:mod:`filterkit.filters._backends.torch_apply`), the median in
:mod:`filterkit.filters._backends.torch_median`; timings against ``F.conv2d``, kornia and OpenCV
come from ``benchmarks/torch_filters.py`` (benchmarks/README.md).
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
import torch
from torch import nn

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters import ops as _ops
from filterkit.filters._backends import torch_apply as _apply
from filterkit.filters._backends import torch_median as _median
from filterkit.filters._planes import _Planes, check_kernel, check_size
from filterkit.filters.memory import keep_freed_memory  # noqa: F401 - re-exported

__all__ = [
    "correlate",
    "convolve",
    "mean",  # ops.NAMES ...
    "median",
    "gaussian",
    "sobel",
    "scharr",
    "prewitt",
    "laplace",  # ... and the aliases
    "box",
    "laplacian",
    "Correlate",
    "Mean",
    "Gaussian",
    "Median",
    "Sobel",
    "Scharr",
    "Prewitt",
    "Laplace",
    "MEDIAN_CHUNK_BYTES",
    "keep_freed_memory",
]

MEDIAN_CHUNK_BYTES = 16 * 2**20
"""Default working-memory budget of one row chunk of :func:`median` (bytes)."""


def _planes(x, op: str) -> _Planes:
    return _Planes(x, op=op, torch_only=True)


# ------------------------------------------------------------------ linear filters


def correlate(x: torch.Tensor, kernel, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Correlate every plane with ``kernel``: ``out[p] = sum_k kernel[k] * x[p + k - centre]``.

    x: ``(B, C, H, W)``, ``(C, H, W)`` or ``(H, W)``.  kernel: 2-D array-like
    or tensor with odd sides, or a :class:`filterkit.filters.kernels.Separable` (two
    1-D passes, x first; the result of ``kernel.full()``, borders included).
    Returns the input's shape and device; float dtypes kept, integer input
    gives float32 (never rounded or clipped).
    """
    planes = _planes(x, "correlate")
    k = check_kernel(kernel, "correlate", separable=True)
    mode = _border.normalize_mode(mode)
    xw = planes.work(smoothing=False)
    if isinstance(k, _kernels.Separable):
        y = _apply.separable(xw, k, mode, cval)
    else:
        y = _apply.correlate2d(xw, k, mode, cval)
    return planes.finish(y, smoothing=False)


def convolve(x: torch.Tensor, kernel, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Convolution: :func:`correlate` with the kernel flipped on both axes (same options)."""
    k = check_kernel(kernel, "convolve", separable=True)
    if isinstance(k, _kernels.Separable):
        flipped = _kernels.Separable(rows=k.rows[::-1].copy(), cols=k.cols[::-1].copy())
    else:
        flipped = k[::-1, ::-1].copy()
    return correlate(x, flipped, mode=mode, cval=cval)


def _smooth(x, k1: np.ndarray, name: str, mode: str, cval: float) -> torch.Tensor:
    planes = _planes(x, name)
    mode = _border.normalize_mode(mode)
    if _apply.usable_fused(planes.x, k1, k1):  # float on CUDA: one kernel reads and writes the input dtype
        return planes.restore(_apply.fused_separable(planes.x, k1, k1, mode, cval))
    y = _apply.separable(planes.work(smoothing=True), _kernels.Separable(rows=k1, cols=k1), mode, cval)
    return planes.finish(y, smoothing=True)


def mean(x: torch.Tensor, size: int = 3, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Mean over a ``size x size`` square (odd ``size``, pixels), in the input dtype.

    Integer results are the exact mean rounded half to even and saturated.
    """
    size = check_size(size, "mean", odd=True)
    return _smooth(x, _kernels.box_1d(size), "mean", mode, cval)


box = mean


def gaussian(
    x: torch.Tensor,
    sigma: float | None = None,
    *,
    size: int | None = None,
    truncate: float = 4.0,
    mode: str = "reflect",
    cval: float = 0.0,
) -> torch.Tensor:
    """Gaussian blur, kernel :func:`filterkit.filters.kernels.gaussian_1d` on both axes.

    sigma: standard deviation in pixels; size: odd number of taps; with only
    sigma the radius is ``int(truncate * sigma + 0.5)`` (scipy.ndimage's).
    Returns the input dtype (integers rounded half to even, saturated).
    """
    if size is not None:
        size = check_size(size, "gaussian", odd=True)
    return _smooth(x, _kernels.gaussian_1d(sigma, size, truncate), "gaussian", mode, cval)


class _Magnitude(torch.autograd.Function):
    """``hypot(gx, gy)`` with gradient 0 (a subgradient) where both are 0, not NaN.

    (torch.hypot's backward computes ``grad * x / r``, which is NaN at ``r == 0``
    even for a zero incoming gradient, and NaN then spreads over the whole input.)
    """

    @staticmethod
    def forward(ctx, gx: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
        r = torch.hypot(gx, gy)
        ctx.save_for_backward(gx, gy, r)
        return r

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        gx, gy, r = ctx.saved_tensors
        scale = grad / torch.where(r == 0, torch.ones_like(r), r)
        return scale * gx, scale * gy


def _derivative(name: str, x, axis, size: int, normalize: bool, mode: str, cval: float) -> torch.Tensor:
    if axis is not None and axis not in (0, 1, -1, -2):
        raise ValueError(f"{name}: axis must be 0 (y, rows), 1 (x, columns) or None (gradient magnitude), got {axis!r}")
    planes = _planes(x, name)
    mode = _border.normalize_mode(mode)
    # the fused CUDA kernel reads float16/bfloat16 as they are and writes the planes' dtype (one axis) or
    # float32 (the magnitude's derivatives); elsewhere the arithmetic runs in planes.work's dtype
    fused = _apply.usable_fused(planes.x, np.ones(size), np.ones(size))
    xw = planes.x if fused else planes.work(smoothing=False)
    out_dtype = planes.dtype if fused and axis is not None else None
    results = []
    for a in (0, 1) if axis is None else (axis % 2,):
        sep = _kernels.derivative_separable(name, a, size)
        if normalize:
            full = sep.full()
            sep = _kernels.Separable(rows=sep.rows / full[full > 0].sum(), cols=sep.cols)
        # scipy.ndimage.sobel's order: difference along `a` first, then smoothing (borders: _separable)
        results.append(_apply.separable(xw, sep, mode, cval, cols_first=(a == 1), out_dtype=out_dtype))
    y = results[0] if axis is not None else _Magnitude.apply(results[1], results[0])
    return planes.finish(y, smoothing=False)


_DERIVATIVE_DOC = """{title}

    x: ``(B, C, H, W)``, ``(C, H, W)`` or ``(H, W)``.  axis: 1 (x, columns,
    positive where brightness grows to the right), 0 (y, rows), or None for the
    gradient magnitude ``hypot(d/dx, d/dy)`` (no epsilon; its gradient is
    taken as 0 where both derivatives are exactly 0).  size: kernel size ({sizes}).
    normalize: divide by the sum of positive weights ({norm}).
    Values and sign of scipy.ndimage.{name}; float dtypes kept, integer input
    gives float32.
    """


def _derivative_function(name: str, title: str, sizes: str, norm: str) -> Callable[..., torch.Tensor]:
    def derivative(
        x: torch.Tensor,
        axis: int | None = None,
        *,
        size: int = 3,
        normalize: bool = False,
        mode: str = "reflect",
        cval: float = 0.0,
    ) -> torch.Tensor:
        return _derivative(name, x, axis, size, normalize, mode, cval)

    derivative.__name__ = derivative.__qualname__ = name
    derivative.__doc__ = _DERIVATIVE_DOC.format(title=title, name=name, sizes=sizes, norm=norm)
    return derivative


_GRADIENT_DOCS = {  # title, sizes, norm: for each of filterkit.filters.ops.GRADIENTS
    "sobel": ("Sobel derivative ([1, 2, 1] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 or 5",
              "3x3: 4, 5x5: 48"),
    "scharr": ("Scharr derivative ([3, 10, 3] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 only", "16"),
    "prewitt": ("Prewitt derivative ([1, 1, 1] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 only", "3"),
}
sobel, scharr, prewitt = (_derivative_function(name, *_GRADIENT_DOCS[name]) for name in _ops.GRADIENTS)


def laplace(
    x: torch.Tensor,
    *,
    neighbours: int = 4,
    normalize: bool = False,
    mode: str = "reflect",
    cval: float = 0.0,
) -> torch.Tensor:
    """Discrete Laplacian with scipy.ndimage.laplace's sign (negative at bright spots).

    neighbours: 4 (``[[0,1,0],[1,-4,1],[0,1,0]]``, = scipy.ndimage.laplace) or
    8 (``[[1,1,1],[1,-8,1],[1,1,1]]``).  normalize: divide by 4 or 8.
    Float dtypes kept, integer input gives float32.
    """
    k = _kernels.laplacian(neighbours)
    scale = 1.0 / k[k > 0].sum() if normalize else 1.0
    if neighbours == 4:  # 5 taps: a sum of shifted views
        return correlate(x, k * scale, mode=mode, cval=cval)
    # 8 neighbours = 3x3 box sum - 9 * centre: two in-place 1-D passes instead of 9 taps
    planes = _planes(x, "laplace")
    mode = _border.normalize_mode(mode)
    xw = planes.work(smoothing=False)
    ones = np.ones(3)
    y = _apply.pass1d(_apply.pass1d(xw, ones, 2, mode, cval), ones, 1, mode, 3.0 * cval)  # y pass sees cval * sum(ones)
    y = y - 9.0 * xw if y.requires_grad else y.add_(xw, alpha=-9.0)
    return planes.finish(y if scale == 1.0 else y * scale, smoothing=False)


laplacian = laplace  # the name OpenCV, kornia and skimage use (filterkit.filters.ops.ALIASES)


# -------------------------------------------------------------------------- median


def median(
    x: torch.Tensor,
    size: int = 3,
    *,
    even: Literal["upper", "lower"] = "upper",
    mode: str = "reflect",
    cval: float = 0.0,
    chunk_bytes: int = MEDIAN_CHUNK_BYTES,
) -> torch.Tensor:
    """Median over a ``size x size`` square, in the input dtype (exact: an order statistic).

    Not differentiable (use it under ``torch.no_grad()``).  size: any positive
    integer; an even window covers offsets ``-(size // 2) .. (size - 1) // 2``
    and takes the upper middle value (scipy.ndimage.median_filter) or, with
    ``even="lower"``, the lower one (torch.median).  The image is processed in
    row chunks of about ``chunk_bytes`` of window data, each padded on its own
    (peak: 1.1 to 2 times ``chunk_bytes`` plus the result; no padded copy of
    the whole image); 3x3 uses an
    exact min/max network, larger windows ``torch.kthvalue``.  NaN inputs give
    unspecified results.
    """
    planes = _planes(x, "median")
    size = check_size(size, "median")
    if even not in ("upper", "lower"):
        raise ValueError(f"median: even must be 'upper' or 'lower', got {even!r}")
    mode = _border.normalize_mode(mode)
    cval = _median.median_cval(cval, planes.dtype)
    if isinstance(chunk_bytes, bool) or int(chunk_bytes) < 1:
        raise ValueError(f"median: chunk_bytes must be a positive integer, got {chunk_bytes!r}")
    return _median.median_planes(planes, size, even, mode, cval, chunk_bytes)


# ------------------------------------------------------------------------ modules


class _Filter(nn.Module):
    """Base of the module wrappers: stores keyword options, forward calls ``fn``."""

    fn: Callable[..., torch.Tensor]

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).fn(x, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())


class Mean(_Filter):
    """``nn.Module`` form of :func:`mean`."""

    fn = staticmethod(mean)

    def __init__(self, size: int = 3, *, mode: str = "reflect", cval: float = 0.0):
        check_size(size, "Mean", odd=True)
        super().__init__(size=size, mode=_border.normalize_mode(mode), cval=cval)


class Gaussian(_Filter):
    """``nn.Module`` form of :func:`gaussian`."""

    fn = staticmethod(gaussian)

    def __init__(
        self,
        sigma: float | None = None,
        *,
        size: int | None = None,
        truncate: float = 4.0,
        mode: str = "reflect",
        cval: float = 0.0,
    ):
        _kernels.gaussian_1d(sigma, size, truncate)  # validate now, not at the first forward
        super().__init__(sigma=sigma, size=size, truncate=truncate, mode=_border.normalize_mode(mode), cval=cval)


class Median(_Filter):
    """``nn.Module`` form of :func:`median` (not differentiable)."""

    fn = staticmethod(median)

    def __init__(self, size: int = 3, *, even: str = "upper", mode: str = "reflect", cval: float = 0.0):
        check_size(size, "Median")
        super().__init__(size=size, even=even, mode=_border.normalize_mode(mode), cval=cval)


class _Derivative(_Filter):
    name = "sobel"

    def __init__(
        self,
        axis: int | None = None,
        *,
        size: int = 3,
        normalize: bool = False,
        mode: str = "reflect",
        cval: float = 0.0,
    ):
        _kernels.derivative_separable(self.name, 1 if axis is None else axis, size)
        super().__init__(axis=axis, size=size, normalize=normalize, mode=_border.normalize_mode(mode), cval=cval)


class Sobel(_Derivative):
    """``nn.Module`` form of :func:`sobel`."""

    name, fn = "sobel", staticmethod(sobel)


class Scharr(_Derivative):
    """``nn.Module`` form of :func:`scharr`."""

    name, fn = "scharr", staticmethod(scharr)

    def __init__(self, axis: int | None = None, *, normalize: bool = False, mode: str = "reflect", cval: float = 0.0):
        super().__init__(axis, normalize=normalize, mode=mode, cval=cval)


class Prewitt(_Derivative):
    """``nn.Module`` form of :func:`prewitt`."""

    name, fn = "prewitt", staticmethod(prewitt)

    def __init__(self, axis: int | None = None, *, normalize: bool = False, mode: str = "reflect", cval: float = 0.0):
        super().__init__(axis, normalize=normalize, mode=mode, cval=cval)


class Laplace(_Filter):
    """``nn.Module`` form of :func:`laplace`."""

    fn = staticmethod(laplace)

    def __init__(self, *, neighbours: int = 4, normalize: bool = False, mode: str = "reflect", cval: float = 0.0):
        _kernels.laplacian(neighbours)
        super().__init__(neighbours=neighbours, normalize=normalize, mode=_border.normalize_mode(mode), cval=cval)


class Correlate(nn.Module):
    """``nn.Module`` form of :func:`correlate`; the kernel is a (non-trainable) buffer.

    kernel: 2-D array-like/tensor, or :class:`filterkit.filters.kernels.Separable`
    (stored as buffers ``rows`` and ``cols``).  convolve=True flips it.
    """

    def __init__(self, kernel, *, mode: str = "reflect", cval: float = 0.0, convolve: bool = False):
        super().__init__()
        k = check_kernel(kernel, "Correlate", separable=True)
        self.mode, self.cval, self.convolve = _border.normalize_mode(mode), cval, convolve
        self.separable = isinstance(k, _kernels.Separable)
        if self.separable:
            self.register_buffer("rows", torch.from_numpy(k.rows.copy()))
            self.register_buffer("cols", torch.from_numpy(k.cols.copy()))
        else:
            self.register_buffer("kernel", torch.from_numpy(k.copy()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fn = convolve if self.convolve else correlate
        if self.separable:
            k = _kernels.Separable(rows=self.rows.detach().cpu().double().numpy(), cols=self.cols.detach().cpu().double().numpy())
        else:
            k = self.kernel
        return fn(x, k, mode=self.mode, cval=self.cval)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, cval={self.cval!r}, convolve={self.convolve}"


Box = Mean
Laplacian = Laplace
