"""The torch API's one separable and one 2-D apply: exact borders, scipy.ndimage's semantics.

:func:`separable` (two 1-D passes, the result of the full 2-D kernel on the image padded in 2-D)
and :func:`correlate2d` work on ``(N, H, W)`` float tensors; :mod:`filterkit.filters.tensor`
builds every filter on them.  How (timings in benchmarks/README.md, ``benchmarks/torch_filters.py``):
a 1-D pass with at most 5 non-zero taps (box 3 and 5, Sobel, Scharr, Prewitt, Laplacian) is a sum
of scaled shifted views written straight into the result, along x or y; any other one is a
block-Toeplitz matrix product over blocks of max(16 (y) or 32 (x), taps - 1) output samples.
Along y the product reads an ``unfold`` view of the image and writes the result in place; along x
the padded windows are copied for one large GEMM, or, on CPU for 15 taps or more, the padded rows
go through a depthwise ``conv1d``.  In-place passes read a small padded strip only for the samples
next to the border.  Borders are built from slices (not ``index_select``).  A non-separable 2-D
kernel is a sum of shifted views if it has at most 5 taps (the 4-neighbour Laplacian), else of
row-shifted x passes (identical rows share one pass).  On CUDA, with ``FILTERKIT_TRITON=1``, the
separable filters of float tensors run as one fused Triton kernel instead
(:mod:`filterkit.filters._backends.triton_separable`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters._backends import triton_separable as _fused

__all__ = ["separable", "correlate2d", "pass1d", "gather", "usable_fused", "fused_separable"]

_SHIFT_ADD_MAX_TAPS = 5  # 1-D passes with up to this many non-zero taps: shifted views (box 3-5, Sobel, Laplacian)
_CONV1D_MIN_TAPS = 15  # x passes this long run as a depthwise conv1d on CPU (shorter: Toeplitz GEMM)
_SPARSE_MAX_TAPS = 5  # non-separable 2-D kernels with up to this many taps: sum of shifted views
usable_fused = _fused.usable
fused_separable = _fused.separable

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
    return gather(x, dim, _border.pad_indices(n, before, after, mode))


def _pad_2d(x: torch.Tensor, before: tuple[int, int], after: tuple[int, int], mode: str, cval: float) -> torch.Tensor:
    """Pad rows by ``before[0]``/``after[0]`` and columns by ``before[1]``/``after[1]``: one copy where torch can."""
    (top, left), (bottom, right) = before, after
    torch_mode = "constant" if mode == "constant" else _border.torch_pad_mode(mode)
    h, w = x.shape[1], x.shape[2]
    if torch_mode is not None and (mode == "constant" or max(top, bottom) < h and max(left, right) < w):
        value = float(cval) if mode == "constant" else None
        return F.pad(x, (left, right, top, bottom), mode=torch_mode, value=value)
    return _pad_dim(_pad_dim(x, 1, top, bottom, mode, cval), 2, left, right, mode, cval)


def gather(x: torch.Tensor, dim: int, index: np.ndarray, cval: float = 0.0) -> torch.Tensor:
    """``x.index_select(dim, index)``, built from slices where the index runs by +1, -1 or 0.

    Index -1 (``pad_indices``' constant border) gives ``cval``.
    Border indices are a few such runs; copying slices is far faster on CPU
    than ``index_select``.  A single run is returned
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


_BLOCK = {1: 16, 2: 32}  # Toeplitz block per pass dim (y, x) (benchmarks/README.md)


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
        # a depthwise conv1d, one group per image row: faster than the Toeplitz GEMM below on CPU
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
    # already row-major (N, H, blocks * b); per-block GEMMs into a strided output scale badly with threads
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
        windows.select(2, i).copy_(gather(x, 2, index[i * b : i * b + span], cval))
    y = torch.mm(windows.view(-1, span), _toeplitz(w, b, x).t())
    return y.view(planes, h, blocks * b).narrow(2, 0, n)


def pass1d(x: torch.Tensor, w: np.ndarray, dim: int, mode: str, cval: float) -> torch.Tensor:
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
            strip = gather(x, dim, np.concatenate([index[start : stop + k - 1], spare]), cval)
            out.narrow(dim, start, stop - start).copy_(_valid_pass(strip, w, dim, stop - start))
    return out


def separable(x: torch.Tensor, sep: _kernels.Separable, mode: str, cval: float, cols_first: bool = True,
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
        return pass1d(pass1d(x, cols, 2, mode, cval), rows, 1, mode, cval * float(cols.sum()))
    return pass1d(pass1d(x, rows, 1, mode, cval), cols, 2, mode, cval * float(rows.sum()))


def _rank1_factors(k: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, cols)`` with ``outer(rows, cols) == k`` (to 1e-14), taken from k's own entries, else None."""
    i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
    if k[i, j] == 0:
        return None
    rows, cols = k[:, j] / k[i, j], k[i, :].copy()
    if np.abs(np.outer(rows, cols) - k).max() > 1e-14 * abs(k[i, j]):
        return None
    return rows, cols


def correlate2d(x: torch.Tensor, k: np.ndarray, mode: str, cval: float) -> torch.Tensor:
    """2-D correlation with a 2-D-padded image (scipy.ndimage.correlate's semantics)."""
    kh, kw = k.shape
    n, h, w = x.shape
    factors = _rank1_factors(k)
    if factors is not None:  # separable: two 1-D passes
        rows, cols = factors
        return separable(x, _kernels.Separable(rows=rows, cols=cols), mode, cval)
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
