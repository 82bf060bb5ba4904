"""Fixed image filters on torch tensors: the torch backend of :mod:`filterkit.filters.ndimage`.

Same names, keyword options and results as the numpy layer (and as
scipy.ndimage): :func:`correlate`, :func:`convolve`, :func:`mean` (alias
:func:`box`), :func:`gaussian`, :func:`median`, :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`laplace`, plus ``nn.Module`` wrappers
(:class:`Correlate`, :class:`Mean`, :class:`Gaussian`, :class:`Median`,
:class:`Sobel`, :class:`Laplace`) whose ``forward`` calls the function.

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

How it is computed (measured faster than ``F.conv2d`` and kornia on CPU, see
``benchmarks/torch_filters.py``): a 1-D pass with at most 5 non-zero taps (box 3
and 5, Sobel, Scharr, Prewitt, Laplacian) is a sum of scaled shifted views
written straight into the result, along x or y (2-3x faster than the GEMM
below for 3 taps, measured at 2048x2048); any other one is a block-Toeplitz
matrix product over blocks of max(16 (y) or 32 (x), taps - 1) output samples.  Along y the
product reads an ``unfold`` view of the image and writes the result in place;
along x the padded windows are copied for one large GEMM, or, on CPU for 15 taps
or more, the padded rows go through a depthwise ``conv1d``.  In-place passes
read a small padded strip only for the samples next to the border.  Borders
are built from slices (``index_select`` was 20x slower).  A non-separable 2-D
kernel is a sum of shifted views if it has at most 5 taps (the 4-neighbour
Laplacian), else of row-shifted x passes (identical rows share one pass).
On CUDA, with ``FILTERKIT_TRITON=1``, the separable filters of float tensors
run as one fused Triton kernel instead (:mod:`filterkit.filters._backends.triton_separable`).
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters._backends import triton_separable as _fused
from filterkit.filters.memory import keep_freed_memory  # noqa: F401 - re-exported

__all__ = [
    "correlate",
    "convolve",
    "mean",
    "box",
    "gaussian",
    "median",
    "sobel",
    "scharr",
    "prewitt",
    "laplace",
    "Correlate",
    "Mean",
    "Gaussian",
    "Median",
    "Sobel",
    "Laplace",
    "MEDIAN_CHUNK_BYTES",
    "keep_freed_memory",
]

MEDIAN_CHUNK_BYTES = 16 * 2**20
"""Default working-memory budget of one row chunk of :func:`median` (bytes)."""

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# uint16: torch has few uint16 kernels, but converting is enough (every filter computes in float32/float64)
_INT_DTYPES = (torch.uint8, torch.uint16, torch.int8, torch.int16, torch.int32, torch.int64)
_SHIFT_ADD_MAX_TAPS = 5  # 1-D passes with up to this many non-zero taps: shifted views (box 3-5, Sobel, Laplacian)
_MEDIAN_NETWORK_CACHE_BYTES = 4 * 2**20  # 3x3 median chunks that stay in cache (4 MiB: 1.1-1.3x faster than 2 MiB, 3x than 64 MiB)
_CONV1D_MIN_TAPS = 15  # x passes this long run as a depthwise conv1d on CPU (shorter: Toeplitz GEMM;
# with 9 taps conv1d was 1.1x faster alone but 1.3x slower amid kornia's and OpenCV's calls)
_SPARSE_MAX_TAPS = 5  # non-separable 2-D kernels with up to this many taps: sum of shifted views

# ----------------------------------------------------------------- layout, dtypes


class _Planes:
    """A tensor seen as ``(N, H, W)`` planes, and the way back to its rank."""

    def __init__(self, x, name: str):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() not in (2, 3, 4):
            raise ValueError(
                f"{name}: expected a tensor of shape (H, W), (C, H, W) or (B, C, H, W), got shape {tuple(x.shape)}"
            )
        if x.numel() == 0:
            raise ValueError(f"{name}: empty tensor of shape {tuple(x.shape)}")
        if x.dtype not in _FLOAT_DTYPES + _INT_DTYPES:
            raise ValueError(
                f"{name}: unsupported dtype {x.dtype}; use a float tensor (x.float()), uint8, uint16 or int32"
            )
        self.shape = x.shape
        self.dtype = x.dtype
        self.h, self.w = x.shape[-2:]
        self.x = x.reshape(-1, self.h, self.w)

    @property
    def is_integer(self) -> bool:
        return self.dtype in _INT_DTYPES

    def work(self, smoothing: bool) -> torch.Tensor:
        """The planes in the dtype the arithmetic is done in."""
        if self.dtype == torch.float64:
            return self.x
        if self.is_integer and smoothing:
            return self.x.to(torch.float64)  # exact rounding of integer results
        return self.x.to(torch.float32)

    def restore(self, y: torch.Tensor, smoothing: bool) -> torch.Tensor:
        """``y`` (N, H, W) in the output dtype and the input's shape."""
        if self.is_integer:
            if smoothing:
                info = torch.iinfo(self.dtype)
                y = torch.round(y).clamp_(info.min, info.max).to(self.dtype)
            else:
                y = y.to(torch.float32)
        else:
            y = y.to(self.dtype)
        return y.contiguous().reshape(self.shape)


def _check_mode(mode: str) -> str:
    return _border.normalize_mode(mode)


def _check_size(size, name: str = "size", odd: bool = True) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1 or (odd and size % 2 == 0):
        kind = "a positive odd integer" if odd else "a positive integer"
        raise ValueError(f"{name} must be {kind}, got {size!r}")
    return int(size)


# ------------------------------------------------------------------------ borders


def _pad_dim(x: torch.Tensor, dim: int, before: int, after: int, mode: str, cval: float) -> torch.Tensor:
    """Pad dim 1 (rows) or 2 (columns) of an ``(N, H, W)`` tensor by ``mode``, exact for any width."""
    if before == 0 and after == 0:
        return x
    pad = (before, after, 0, 0) if dim == 2 else (0, 0, before, after)
    if mode == "constant":
        return F.pad(x, pad, mode="constant", value=float(cval))
    torch_mode = _border.torch_pad_mode(mode)
    n = x.shape[dim]
    if torch_mode is not None and max(before, after) < n:
        return F.pad(x, pad, mode=torch_mode)
    return _gather(x, dim, _border.pad_indices(n, before, after, mode))


def _pad_2d(x: torch.Tensor, before: tuple[int, int], after: tuple[int, int], mode: str, cval: float) -> torch.Tensor:
    """Pad rows by ``before[0]``/``after[0]`` and columns by ``before[1]``/``after[1]``: one copy where torch can."""
    (top, left), (bottom, right) = before, after
    torch_mode = "constant" if mode == "constant" else _border.torch_pad_mode(mode)
    h, w = x.shape[1], x.shape[2]
    if torch_mode is not None and (mode == "constant" or max(top, bottom) < h and max(left, right) < w):
        value = float(cval) if mode == "constant" else None
        return F.pad(x, (left, right, top, bottom), mode=torch_mode, value=value)
    return _pad_dim(_pad_dim(x, 1, top, bottom, mode, cval), 2, left, right, mode, cval)


def _gather(x: torch.Tensor, dim: int, index: np.ndarray, cval: float = 0.0) -> torch.Tensor:
    """``x.index_select(dim, index)``, built from slices where the index runs by +1, -1 or 0.

    Index -1 (``pad_indices``' constant border) gives ``cval``.
    Border indices are a few such runs; copying slices is far faster on CPU
    than ``index_select`` (measured 20x at 2048x2048).  A single run is returned
    as it is, usually a view of ``x`` (no copy): read the result, never write to it.
    """
    pieces = []
    start = 0
    while start < len(index):
        stop = start + 1
        step = int(index[stop] - index[start]) if stop < len(index) else 1
        if index[start] < 0:  # constant border: a run of -1
            step = 0
            while stop < len(index) and index[stop] < 0:
                stop += 1
        elif step in (-1, 0, 1):
            while stop < len(index) and index[stop] - index[stop - 1] == step and index[stop] >= 0:
                stop += 1
        else:  # a jump (wrap): a run of one sample
            step = 1
        first, length = int(index[start]), stop - start
        if first < 0:
            shape = list(x.shape)
            shape[dim] = length
            pieces.append(torch.full(shape, float(cval), dtype=x.dtype, device=x.device))
        elif step == 1:
            pieces.append(x.narrow(dim, first, length))
        elif step == -1:
            pieces.append(x.narrow(dim, first - length + 1, length).flip(dim))
        else:
            shape = list(x.shape)
            shape[dim] = length
            pieces.append(x.narrow(dim, first, 1).expand(shape))
        start = stop
    if len(pieces) > 64 and (index >= 0).all():
        return x.index_select(dim, torch.from_numpy(index).to(x.device))
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim)


# -------------------------------------------------------------------- 1-D passes


_BLOCK = {1: 16, 2: 32}  # Toeplitz block per pass dim (y, x): fastest measured at 2048x2048 for 9-41 taps


def _block(taps: int, n: int, dim: int) -> int:
    """Output samples per Toeplitz block of a pass along ``dim``: :data:`_BLOCK`, at least ``taps - 1``."""
    return min(n, max(_BLOCK[dim], taps - 1))


def _toeplitz(w: np.ndarray, b: int, like: torch.Tensor) -> torch.Tensor:
    """``(b, b + k - 1)`` matrix whose row ``i`` holds ``w`` at columns ``i .. i + k - 1``."""
    k = len(w)
    a = np.zeros((b, b + k - 1))
    rows = np.arange(b)[:, None]
    a[rows, rows + np.arange(k)] = w
    return torch.from_numpy(a).to(device=like.device, dtype=like.dtype)


def _extra(w: np.ndarray, n: int, dim: int) -> int:
    """Samples beyond ``n + k - 1`` that :func:`_valid_pass` along ``dim`` needs (the last Toeplitz block)."""
    if np.count_nonzero(w) <= _SHIFT_ADD_MAX_TAPS:
        return 0
    b = _block(len(w), n, dim)
    return -n % b


def _valid_pass(xp: torch.Tensor, w: np.ndarray, dim: int, n: int) -> torch.Tensor:
    """Correlate dim ``dim`` (1 or 2) of padded ``xp`` with ``w``, no padding: ``n`` outputs.

    ``xp.shape[dim]`` must be at least ``n + len(w) - 1 + _extra(w, n, dim)``.
    """
    nonzero = np.flatnonzero(w)
    if len(nonzero) <= _SHIFT_ADD_MAX_TAPS:
        out = None
        for j in nonzero:
            view = xp.narrow(dim, int(j), n)
            out = view * float(w[j]) if out is None else out.add_(view, alpha=float(w[j]))
        if out is None:
            out = torch.zeros_like(xp.narrow(dim, 0, n))
        return out
    k = len(w)
    if dim == 2 and k >= _CONV1D_MIN_TAPS and xp.device.type == "cpu":
        # a depthwise conv1d, one group per image row: 1.4x (17 taps) to 3x (41 taps) faster than
        # the Toeplitz GEMM below on CPU (measured at 2048x2048, one thread)
        planes, h, length = xp.shape
        rows = xp.contiguous().view(1, planes * h, length)  # all columns: no copy to drop the spare ones
        weight = torch.from_numpy(np.ascontiguousarray(w)).to(xp.dtype).view(1, 1, k).expand(planes * h, 1, k)
        return F.conv1d(rows, weight, groups=planes * h).view(planes, h, length - k + 1).narrow(2, 0, n)
    b = _block(k, n, dim)
    blocks = -(-n // b)
    a = _toeplitz(w, b, xp)
    if dim == 1:
        # windows (N, blocks, b + k - 1, W): rows of the image are the long GEMM dimension
        windows = xp.narrow(1, 0, blocks * b + k - 1).unfold(1, b + k - 1, b).transpose(-1, -2)
        y = torch.matmul(a, windows)  # (N, blocks, b, W)
        return y.reshape(y.shape[0], blocks * b, y.shape[-1]).narrow(1, 0, n)
    planes, h = xp.shape[0], xp.shape[1]
    rows = xp.narrow(2, 0, blocks * b + k - 1).reshape(planes * h, blocks * b + k - 1)
    # one GEMM on a copy of the windows, (N*H*blocks, b + k - 1) x (b + k - 1, b); its output is
    # already row-major (N, H, blocks * b).  Per-block GEMMs into a strided output were as fast
    # with 1 thread but 50x slower with 2 threads on a busy machine (measured).
    windows = rows.unfold(1, b + k - 1, b).reshape(planes * h * blocks, b + k - 1)
    y = torch.mm(windows, a.t())
    return y.view(planes, h, blocks * b).narrow(2, 0, n)


def _x_pass_gemm(x: torch.Tensor, w: np.ndarray, mode: str, cval: float) -> torch.Tensor:
    """Correlate along x (dim 2 of ``(N, H, W)``) by the Toeplitz GEMM, without a padded image.

    The windows of the GEMM are copied straight from ``x``; only the blocks that reach over
    the border are gathered from small padded strips (saves one full copy of the image).
    """
    planes, h, n = x.shape
    k, r = len(w), len(w) // 2
    b = _block(k, n, 2)
    blocks, span = -(-n // b), b + k - 1
    index = _border.pad_indices(n, r, blocks * b + k - 1 - n - r, mode)  # padded position q holds x[index[q]]
    windows = torch.empty((planes, h, blocks, span), dtype=x.dtype, device=x.device)
    first = -(-r // b)  # block i reads x[i*b - r : i*b - r + span]: inside the image for first <= i < last
    last = max(first, (n + r - span) // b + 1)
    if last > first:
        inside = x.narrow(2, first * b - r, (last - first - 1) * b + span).unfold(2, span, b)
        windows.narrow(2, first, last - first).copy_(inside)
    for i in [*range(first), *range(last, blocks)]:
        windows.select(2, i).copy_(_gather(x, 2, index[i * b : i * b + span], cval))
    y = torch.mm(windows.view(-1, span), _toeplitz(w, b, x).t())
    return y.view(planes, h, blocks * b).narrow(2, 0, n)


def _pass(x: torch.Tensor, w: np.ndarray, dim: int, mode: str, cval: float) -> torch.Tensor:
    """scipy.ndimage.correlate1d along dim 1 or 2 of ``(N, H, W)`` (odd ``len(w)``, centred).

    Outputs whose window lies inside the image are computed from ``x`` itself,
    straight into the result (no padded copy of the image): a few shifted views
    for a kernel with at most ``_SHIFT_ADD_MAX_TAPS`` non-zero taps (along x or
    y), else the block-Toeplitz GEMM along y.  Along x a longer kernel is one
    large GEMM over windows copied from the image (:func:`_x_pass_gemm`) or, on
    CPU from ``_CONV1D_MIN_TAPS`` taps, a depthwise conv1d on the padded rows
    (:func:`_valid_pass`).  Only the samples next to each border read a small
    padded strip.
    """
    n, k = x.shape[dim], len(w)
    r = k // 2
    nonzero = np.flatnonzero(w)
    shift_add = len(nonzero) <= _SHIFT_ADD_MAX_TAPS
    b = _block(k, n, dim)
    grad = torch.is_grad_enabled() and x.requires_grad
    inner = n - k + 1 if shift_add else (n - k + 1) // b * b
    conv1d = k >= _CONV1D_MIN_TAPS and x.device.type == "cpu"
    if dim == 2 and not (shift_add or grad or conv1d) and n >= 4 * b:
        return _x_pass_gemm(x, w, mode, cval)
    if grad or inner < (1 if shift_add else 2 * b) or (dim == 2 and not shift_add):  # autograd refuses out=
        xp = _pad_dim(x, dim, r, k - 1 - r + _extra(w, n, dim), mode, cval)
        return _valid_pass(xp, w, dim, n)
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    target = out.narrow(dim, r, inner)
    if shift_add:
        first, *rest = (int(j) for j in nonzero)
        torch.mul(x.narrow(dim, first, inner), float(w[first]), out=target)
        for j in rest:
            target.add_(x.narrow(dim, j, inner), alpha=float(w[j]))
    else:
        a = _toeplitz(w, b, x)
        windows = x.narrow(1, 0, inner + k - 1).unfold(1, b + k - 1, b).transpose(-1, -2)  # (N, blocks, b+k-1, W)
        torch.matmul(a, windows, out=target.unflatten(1, (inner // b, b)))  # (N, blocks, b, W)
    index = _border.pad_indices(n, r, k - 1 - r, mode)  # padded position p + j holds x[index[p + j]]
    for start, stop in ((0, r), (r + inner, n)):
        if stop > start:
            spare = np.zeros(_extra(w, stop - start, dim), dtype=index.dtype)  # the last block's unused samples
            strip = _gather(x, dim, np.concatenate([index[start : stop + k - 1], spare]), cval)
            out.narrow(dim, start, stop - start).copy_(_valid_pass(strip, w, dim, stop - start))
    return out


def _separable(x: torch.Tensor, sep: _kernels.Separable, mode: str, cval: float, cols_first: bool = True,
               out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Two padded 1-D passes: ``sep.cols`` along x and ``sep.rows`` along y.

    The result is float32 for float16/bfloat16 ``x`` (which only the fused
    CUDA kernel reads as they are), else ``x``'s dtype; the fused kernel
    writes ``out_dtype`` instead when it is given.

    Equal to correlating with ``sep.full()`` on the image padded in 2-D: with a
    constant border the second pass sees the first pass's result of the
    constant, ``cval * sum(first kernel)`` (scipy.ndimage.sobel pads with
    ``cval`` again, which adds a spurious edge at the border; filterkit.filters.ndimage
    does not, and neither does this).
    """
    rows, cols = np.asarray(sep.rows, np.float64), np.asarray(sep.cols, np.float64)
    if _fused.usable(x, rows, cols):  # CUDA: one Triton kernel, float32 arithmetic
        half = x.dtype in (torch.float16, torch.bfloat16)
        return _fused.separable(x, rows, cols, mode, cval, out_dtype=out_dtype or (torch.float32 if half else x.dtype))
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.to(torch.float32)
    if cols_first:
        return _pass(_pass(x, cols, 2, mode, cval), rows, 1, mode, cval * float(cols.sum()))
    return _pass(_pass(x, rows, 1, mode, cval), cols, 2, mode, cval * float(rows.sum()))


def _rank1_factors(k: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, cols)`` with ``outer(rows, cols) == k`` (to 1e-14), taken from k's own entries, else None."""
    i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    if k[i, j] == 0:
        return None
    rows, cols = k[:, j] / k[i, j], k[i, :].copy()
    if np.abs(np.outer(rows, cols) - k).max() > 1e-14 * abs(k[i, j]):
        return None
    return rows, cols


def _correlate2d(x: torch.Tensor, k: np.ndarray, mode: str, cval: float) -> torch.Tensor:
    """2-D correlation with a 2-D-padded image (scipy.ndimage.correlate's semantics)."""
    kh, kw = k.shape
    n, h, w = x.shape
    factors = _rank1_factors(k)
    if factors is not None:  # separable: two 1-D passes
        rows, cols = factors
        return _separable(x, _kernels.Separable(rows=rows, cols=cols), mode, cval)
    taps = np.argwhere(k != 0)
    if 0 < len(taps) <= _SPARSE_MAX_TAPS:  # e.g. the 4-neighbour Laplacian: a few shifted views
        xp = _pad_2d(x, (kh // 2, kw // 2), (kh // 2, kw // 2), mode, cval)
        views = [(xp.narrow(1, int(i), h).narrow(2, int(j), w), float(k[i, j])) for i, j in taps]
        (v0, w0), rest = views[0], views[1:]
        if w0 == 1.0 and rest:
            (v1, w1), rest = rest[0], rest[1:]
            out = torch.add(v0, v1, alpha=w1)
        else:
            out = v0 * w0
        for v, wt in rest:
            out.add_(v, alpha=wt)
        return out
    # sum of row-shifted horizontal passes; identical kernel rows share one pass
    groups: dict[bytes, list[int]] = {}
    for i in range(kh):
        if np.any(k[i]):
            groups.setdefault(k[i].tobytes(), []).append(i)
    extra = max((_extra(k[rows_[0]], w, 2) for rows_ in groups.values()), default=0)
    xp = _pad_dim(x, 1, kh // 2, kh // 2, mode, cval)
    xp = _pad_dim(xp, 2, kw // 2, kw // 2 + extra, mode, cval)
    out = None
    for rows_ in groups.values():
        shifted = xp.narrow(1, rows_[0], h)
        for i in rows_[1:]:
            shifted = shifted + xp.narrow(1, i, h)
        term = _valid_pass(shifted, k[rows_[0]], 2, w)
        out = term if out is None else out.add_(term)
    if out is None:
        out = torch.zeros_like(xp.narrow(1, 0, h).narrow(2, 0, w))
    return out


# ------------------------------------------------------------------ linear filters


def _kernel_array(kernel, name: str) -> np.ndarray | _kernels.Separable:
    if isinstance(kernel, _kernels.Separable):
        rows = _kernel_array(np.asarray(kernel.rows)[:, None], name)[:, 0]
        cols = _kernel_array(np.asarray(kernel.cols)[None, :], name)[0]
        return _kernels.Separable(rows=rows, cols=cols)
    if isinstance(kernel, torch.Tensor):
        kernel = kernel.detach().cpu().to(torch.float64).numpy()
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(
            f"{name}: kernel must be 2-D with odd height and width (its centre is the middle sample), got shape "
            f"{k.shape}; pad an even kernel with a row/column of zeros to choose its centre"
        )
    if not np.isfinite(k).all():
        raise ValueError(f"{name}: kernel contains NaN or infinity")
    return k


def correlate(x: torch.Tensor, kernel, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Correlate every plane with ``kernel``: ``out[p] = sum_k kernel[k] * x[p + k - centre]``.

    x: ``(B, C, H, W)``, ``(C, H, W)`` or ``(H, W)``.  kernel: 2-D array-like
    or tensor with odd sides, or a :class:`filterkit.filters.kernels.Separable` (two
    1-D passes, x first; the result of ``kernel.full()``, borders included).
    Returns the input's shape and device; float dtypes kept, integer input
    gives float32 (never rounded or clipped).
    """
    planes = _Planes(x, "correlate")
    k = _kernel_array(kernel, "correlate")
    mode = _check_mode(mode)
    xw = planes.work(smoothing=False)
    if isinstance(k, _kernels.Separable):
        y = _separable(xw, k, mode, cval)
    else:
        y = _correlate2d(xw, k, mode, cval)
    return planes.restore(y, smoothing=False)


def convolve(x: torch.Tensor, kernel, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Convolution: :func:`correlate` with the kernel flipped on both axes (same options)."""
    k = _kernel_array(kernel, "convolve")
    if isinstance(k, _kernels.Separable):
        flipped = _kernels.Separable(rows=k.rows[::-1].copy(), cols=k.cols[::-1].copy())
    else:
        flipped = k[::-1, ::-1].copy()
    return correlate(x, flipped, mode=mode, cval=cval)


def _smooth(x, k1: np.ndarray, name: str, mode: str, cval: float) -> torch.Tensor:
    planes = _Planes(x, name)
    mode = _check_mode(mode)
    if _fused.usable(planes.x, k1, k1):  # float on CUDA: one kernel reads and writes the input dtype
        return _fused.separable(planes.x, k1, k1, mode, cval).reshape(planes.shape)
    y = _separable(planes.work(smoothing=True), _kernels.Separable(rows=k1, cols=k1), mode, cval)
    return planes.restore(y, smoothing=True)


def mean(x: torch.Tensor, size: int = 3, *, mode: str = "reflect", cval: float = 0.0) -> torch.Tensor:
    """Mean over a ``size x size`` square (odd ``size``, pixels), in the input dtype.

    Integer results are the exact mean rounded half to even and saturated.
    """
    size = _check_size(size)
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
        size = _check_size(size)
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
    planes = _Planes(x, name)
    mode = _check_mode(mode)
    # the fused CUDA kernel reads float16/bfloat16 as they are and writes the planes' dtype (one axis) or
    # float32 (the magnitude's derivatives); elsewhere the arithmetic runs in planes.work's dtype
    fused = _fused.usable(planes.x, np.ones(size), np.ones(size))
    xw = planes.x if fused else planes.work(smoothing=False)
    out_dtype = planes.dtype if fused and axis is not None else None
    results = []
    for a in (0, 1) if axis is None else (axis % 2,):
        sep = _kernels.derivative_separable(name, a, size)
        if normalize:
            full = sep.full()
            sep = _kernels.Separable(rows=sep.rows / full[full > 0].sum(), cols=sep.cols)
        # scipy.ndimage.sobel's order: difference along `a` first, then smoothing (borders: _separable)
        results.append(_separable(xw, sep, mode, cval, cols_first=(a == 1), out_dtype=out_dtype))
    y = results[0] if axis is not None else _Magnitude.apply(results[1], results[0])
    return planes.restore(y, smoothing=False)


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


sobel = _derivative_function(
    "sobel", "Sobel derivative ([1, 2, 1] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 or 5", "3x3: 4, 5x5: 48"
)
scharr = _derivative_function(
    "scharr", "Scharr derivative ([3, 10, 3] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 only", "16"
)
prewitt = _derivative_function(
    "prewitt", "Prewitt derivative ([1, 1, 1] smoothing x [-1, 0, 1] difference) or gradient magnitude.", "3 only", "3"
)


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
    planes = _Planes(x, "laplace")
    mode = _check_mode(mode)
    xw = planes.work(smoothing=False)
    ones = np.ones(3)
    y = _pass(_pass(xw, ones, 2, mode, cval), ones, 1, mode, 3.0 * cval)  # y pass sees cval * sum(ones)
    y = y - 9.0 * xw if y.requires_grad else y.add_(xw, alpha=-9.0)
    return planes.restore(y if scale == 1.0 else y * scale, smoothing=False)


# -------------------------------------------------------------------------- median


def _median_network_3x3(xp: torch.Tensor, h: int, w: int, out: torch.Tensor, work: list[torch.Tensor]) -> None:
    """Exact 3x3 median of padded ``xp`` (N, h + 2, w + 2) into ``out`` (N, h, w): sort columns of
    3, then median = med3(max of column minima, med3 of column medians, min of column maxima).

    ``work``: three (N, >= h, w + 2) and three (N, >= h, w) buffers, reused from chunk to chunk
    (writing every step into them was 1.3x faster than fresh tensors, measured on 42 x 2048 chunks).
    """
    lo, hi, mid = (t.narrow(1, 0, h) for t in work[:3])
    max_lo, min_hi, med_mid = (t.narrow(1, 0, h) for t in work[3:])
    a, b, c = xp.narrow(1, 0, h), xp.narrow(1, 1, h), xp.narrow(1, 2, h)
    torch.minimum(a, b, out=lo)
    torch.maximum(a, b, out=hi)
    torch.minimum(hi, c, out=mid)
    torch.maximum(lo, mid, out=mid)  # median of the column
    torch.minimum(lo, c, out=lo)
    torch.maximum(hi, c, out=hi)
    l0, l1, l2 = (lo.narrow(2, j, w) for j in range(3))
    h0, h1, h2 = (hi.narrow(2, j, w) for j in range(3))
    m0, m1, m2 = (mid.narrow(2, j, w) for j in range(3))
    torch.maximum(torch.maximum(l0, l1, out=max_lo), l2, out=max_lo)
    torch.minimum(torch.minimum(h0, h1, out=min_hi), h2, out=min_hi)
    # med3(m0, m1, m2) = max(min(m0, m1), min(max(m0, m1), m2)); ``out`` holds min(m0, m1) meanwhile
    torch.minimum(torch.maximum(m0, m1, out=med_mid), m2, out=med_mid)
    torch.maximum(torch.minimum(m0, m1, out=out), med_mid, out=med_mid)
    # med3(max_lo, med_mid, min_hi), the same way
    torch.minimum(torch.maximum(max_lo, med_mid, out=out), min_hi, out=out)
    torch.maximum(torch.minimum(max_lo, med_mid, out=max_lo), out, out=out)


def _padded_chunk(x: torch.Tensor, row_index: np.ndarray, col_index: np.ndarray, left: int,
                  cval: float, buf: torch.Tensor) -> torch.Tensor:
    """Rows ``row_index`` of ``x`` (N, H, W), padded to columns ``col_index``; index -1 is ``cval``.

    One copy into (the first rows of) ``buf``, a reused cache-sized buffer: the image rows go
    straight into its middle columns and each border column is copied from them
    (``F.pad``'s reflect along W took 1 ms for a 24 x 2048 strip, 50 times this).
    """
    w = x.shape[2]
    buf = buf.narrow(1, 0, len(row_index))
    middle = buf.narrow(2, left, w)
    middle.copy_(_gather(x, 1, row_index, cval))  # inner chunks: a view of the image rows, one copy
    for j in [*range(left), *range(left + w, len(col_index))]:  # the border columns only
        source = col_index[j]
        if source < 0:
            buf.select(2, j).fill_(cval)
        else:
            buf.select(2, j).copy_(middle.select(2, int(source)))
    return buf


def _median_cval(cval: float, dtype: torch.dtype, name: str = "median") -> float:
    """``cval`` as the image dtype holds it (scipy converts it first)."""
    if dtype in _INT_DTYPES:
        info = torch.iinfo(dtype)
        if not float(cval).is_integer() or not info.min <= cval <= info.max:
            raise ValueError(f"{name}: cval={cval!r} does not fit the image dtype {dtype}")
        return float(cval)
    return float(torch.tensor(float(cval), dtype=dtype).item())


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
    planes = _Planes(x, "median")
    size = _check_size(size, odd=False)
    if even not in ("upper", "lower"):
        raise ValueError(f"median: even must be 'upper' or 'lower', got {even!r}")
    mode = _check_mode(mode)
    cval = _median_cval(cval, planes.dtype)
    if isinstance(chunk_bytes, bool) or int(chunk_bytes) < 1:
        raise ValueError(f"median: chunk_bytes must be a positive integer, got {chunk_bytes!r}")
    with torch.no_grad():
        xs = planes.x
        if xs.dtype in (torch.float16, torch.bfloat16):
            xs = xs.float()
        elif xs.dtype in (torch.int32, torch.int64):
            xs = xs.double()
        elif xs.dtype in _INT_DTYPES:
            xs = xs.float()
        n, h, w = xs.shape
        if size == 1:
            return planes.x.clone().reshape(planes.shape)
        before, after = size // 2, size - 1 - size // 2
        row_index = _border.pad_indices(h, before, after, mode)  # padded row p holds xs row row_index[p]
        item = xs.element_size()
        if size == 3:
            per_row = n * (w + 2) * item * 12

            work: list[torch.Tensor] = []

            def rows_median(block: torch.Tensor, rows: int, target: torch.Tensor) -> None:
                if not work:  # sized by the first (largest) chunk
                    work.extend(torch.empty((n, rows, w + 2 * (i < 3)), dtype=xs.dtype, device=xs.device)
                                for i in range(6))
                _median_network_3x3(block, rows, w, target, work)

        else:
            count = size * size
            rank = count // 2 + 1 if even == "upper" else (count - 1) // 2 + 1  # 1-based for kthvalue
            # the unfolded copy, kthvalue's own copy and its int64 index workspace (measured)
            per_row = n * w * (count * (2 * item + 8) + 16)

            def rows_median(block: torch.Tensor, rows: int, target: torch.Tensor) -> None:
                windows = block.unfold(1, size, 1).unfold(2, size, 1).reshape(n, rows, w, count)
                target.copy_(windows.kthvalue(rank, dim=-1).values)

        budget = int(chunk_bytes)
        if size == 3 and xs.device.type == "cpu":
            budget = min(budget, _MEDIAN_NETWORK_CACHE_BYTES)
        step = max(1, budget // per_row)
        out = torch.empty((n, h, w), dtype=xs.dtype, device=xs.device)
        col_index = _border.pad_indices(w, before, after, mode)
        chunk = torch.empty((n, min(step, h) + size - 1, w + size - 1), dtype=xs.dtype, device=xs.device)
        for r0 in range(0, h, step):
            rows = min(step, h - r0)
            block = _padded_chunk(xs, row_index[r0 : r0 + rows + size - 1], col_index, before, cval, chunk)
            rows_median(block, rows, out.narrow(1, r0, rows))
        return out.to(planes.dtype).reshape(planes.shape)


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
        _check_size(size)
        super().__init__(size=size, mode=_check_mode(mode), cval=cval)


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
        super().__init__(sigma=sigma, size=size, truncate=truncate, mode=_check_mode(mode), cval=cval)


class Median(_Filter):
    """``nn.Module`` form of :func:`median` (not differentiable)."""

    fn = staticmethod(median)

    def __init__(self, size: int = 3, *, even: str = "upper", mode: str = "reflect", cval: float = 0.0):
        _check_size(size, odd=False)
        super().__init__(size=size, even=even, mode=_check_mode(mode), cval=cval)


class Sobel(_Filter):
    """``nn.Module`` form of :func:`sobel`."""

    fn = staticmethod(sobel)

    def __init__(
        self,
        axis: int | None = None,
        *,
        size: int = 3,
        normalize: bool = False,
        mode: str = "reflect",
        cval: float = 0.0,
    ):
        _kernels.derivative_separable("sobel", 1 if axis is None else axis, size)
        super().__init__(axis=axis, size=size, normalize=normalize, mode=_check_mode(mode), cval=cval)


class Laplace(_Filter):
    """``nn.Module`` form of :func:`laplace`."""

    fn = staticmethod(laplace)

    def __init__(self, *, neighbours: int = 4, normalize: bool = False, mode: str = "reflect", cval: float = 0.0):
        _kernels.laplacian(neighbours)
        super().__init__(neighbours=neighbours, normalize=normalize, mode=_check_mode(mode), cval=cval)


class Correlate(nn.Module):
    """``nn.Module`` form of :func:`correlate`; the kernel is a (non-trainable) buffer.

    kernel: 2-D array-like/tensor, or :class:`filterkit.filters.kernels.Separable`
    (stored as buffers ``rows`` and ``cols``).  convolve=True flips it.
    """

    def __init__(self, kernel, *, mode: str = "reflect", cval: float = 0.0, convolve: bool = False):
        super().__init__()
        k = _kernel_array(kernel, "Correlate")
        self.mode, self.cval, self.convolve = _check_mode(mode), cval, convolve
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

