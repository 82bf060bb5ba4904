"""The scipy.ndimage implementations behind :mod:`filterkit.filters.ndimage` (chosen by :mod:`.dispatch`).

They compute every case, on planes ``(N, H, W, C)``, so they end each route list of the table.
scipy.ndimage is imported on first use (it takes most of a second to import).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from filterkit.filters import border as _border
from filterkit.filters.dtypes import round_saturate

__all__ = ["smooth", "separable", "magnitude", "correlate", "rank"]


def separable(x4: np.ndarray, rows: np.ndarray, cols: np.ndarray, mode: str, cval: float, work) -> np.ndarray:
    """``cols`` along x, then ``rows`` along y, in dtype ``work``; the 2-D kernel for a non-zero constant."""
    from scipy import ndimage as ndi

    m = _border.scipy_mode(mode)
    if mode == "constant" and cval != 0:
        # two 1-D passes would pad the first pass's result with cval again (scipy.ndimage.sobel
        # does); the image padded with cval is what correlation means, so use the 2-D kernel
        return correlate(x4, np.outer(rows, cols), mode, cval, work)
    tmp = ndi.correlate1d(x4, cols, axis=2, output=work, mode=m, cval=cval)
    return ndi.correlate1d(tmp, rows, axis=1, output=tmp, mode=m, cval=cval)


def smooth(planes, k1: np.ndarray, mode: str, cval: float) -> np.ndarray:
    """``k1`` on both axes, in the input dtype (integers: float64 sums rounded half to even, saturated)."""
    dtype = planes.dtype
    work = np.float64 if dtype.kind == "u" else dtype
    return round_saturate(separable(planes.x, k1, k1, mode, cval, work), dtype, overwrite=True)


def magnitude(planes, seps, mode: str, cval: float, out_dtype) -> np.ndarray:
    """``hypot(d/dx, d/dy)`` of the y and x kernels ``seps``, in ``out_dtype``."""
    gy, gx = (separable(planes.x, s.rows, s.cols, mode, cval, out_dtype) for s in seps)
    return np.hypot(gx, gy, out=gx)


def _nd(filter_fn: Callable[..., np.ndarray], x4: np.ndarray, shape: tuple[int, int], mode: str, cval: float,
        **options) -> np.ndarray:
    """``filter_fn(x4, mode=..., cval=..., **options)``, an N-D scipy.ndimage filter whose footprint is
    ``shape`` (rows, columns) over the planes of ``x4`` (N, H, W, C).

    scipy.ndimage's N-D filters read outside the array in ``reflect`` mode when a footprint radius is
    four times an image side or more (its 1-D passes are right).  Where a pad is wider than the image,
    the planes are padded here by :func:`filterkit.filters.border.pad_numpy` and only the valid part is kept.
    """
    (kh, kw), (h, w) = shape, x4.shape[1:3]
    before, after = (kh // 2, kw // 2), (kh - 1 - kh // 2, kw - 1 - kw // 2)
    if mode == "constant" or max(before[0], after[0]) < h and max(before[1], after[1]) < w:
        return filter_fn(x4, mode=_border.scipy_mode(mode), cval=cval, **options)
    pad = ((0, 0), (before[0], after[0]), (before[1], after[1]), (0, 0))
    out = filter_fn(_border.pad_numpy(x4, pad, mode), mode="constant", cval=cval, **options)
    return np.ascontiguousarray(out[:, before[0]:before[0] + h, before[1]:before[1] + w])


def correlate(x4: np.ndarray, kernel: np.ndarray, mode: str, cval: float, work) -> np.ndarray:
    """2-D correlation of every plane with ``kernel``, output dtype ``work``."""
    from scipy import ndimage as ndi

    return _nd(ndi.correlate, x4, kernel.shape, mode, cval, weights=kernel[None, :, :, None], output=work)


def rank(planes, size: int, rank_: int, mode: str, cval: float) -> np.ndarray:
    """``scipy.ndimage.rank_filter`` over ``size x size`` windows (the median's fallback)."""
    from scipy import ndimage as ndi

    return _nd(ndi.rank_filter, planes.x, (size, size), mode, cval, rank=rank_, size=(1, size, size, 1))
