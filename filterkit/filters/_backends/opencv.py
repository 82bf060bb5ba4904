"""The OpenCV implementations behind :mod:`filterkit.filters.ndimage` (chosen by :mod:`.dispatch`).

Every function takes planes ``(N, H, W, C)`` (:class:`filterkit.filters._planes._Planes`), the
filter's parameters, ``mode`` and ``cval``, and returns the result planes, or raises
:class:`Decline` where OpenCV cannot follow filterkit's conventions (a kernel reaching past the
far edge of the image, or a ``cval`` the dtype cannot hold): the next route of the table then
computes it.  Borders OpenCV's function lacks are padded explicitly (``cv2.copyMakeBorder``).
OpenCV's own thread pool applies (``cv2.setNumThreads``).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters._backends.dispatch import Decline

__all__ = ["Decline", "blur", "box_float64", "gaussian_blur", "sep_float64", "exact_uint8",
           "median_blur", "derivative", "magnitude", "int_magnitude", "filter2d"]

_DDEPTH = {np.dtype(np.float32): cv2.CV_32F, np.dtype(np.float64): cv2.CV_64F}
_ALL = {"reflect", "mirror", "nearest", "constant"}  # the modes OpenCV's linear filters take natively
_WIDE = "the kernel is wider than the image or cval does not fit the dtype"


def cval_fits(cval: float, dtype: np.dtype) -> bool:
    """True if padding an image of ``dtype`` with ``cval`` loses nothing."""
    if dtype.kind == "f":
        return bool(np.asarray(cval, dtype=dtype) == cval)
    info = np.iinfo(dtype)
    return float(cval).is_integer() and info.min <= cval <= info.max


def _plan(mode: str, cval: float, planes, ry: int, rx: int, native: set[str] = _ALL):
    """How OpenCV gets ``mode``: ("native", borderType) or ("pad", borderType); :class:`Decline` if it cannot."""
    if ry >= planes.h or rx >= planes.w:
        raise Decline(_WIDE)
    if mode == "reflect" and ry <= 1 and rx <= 1:
        mode = "nearest"  # one sample of reflect padding is the edge sample itself
    if mode == "constant" and cval != 0:
        if not cval_fits(cval, planes.dtype):
            raise Decline(_WIDE)
        return ("pad", _border.opencv_border(mode))
    return ("native" if mode in native else "pad", _border.opencv_border(mode))


def _map(planes, filt: Callable[[np.ndarray, int], np.ndarray], mode: str, cval: float, ry: int, rx: int,
         out_dtype, native: set[str] = _ALL, max_channels: int = 512) -> np.ndarray:
    """``filt(plane, borderType)`` on every plane, honouring ``mode``; result ``(N, H, W, C)``."""
    how, border_type = _plan(mode, cval, planes, ry, rx, native)
    if how == "native":
        fn = lambda plane: filt(plane, border_type)  # noqa: E731
    else:
        def fn(plane: np.ndarray) -> np.ndarray:
            p = cv2.copyMakeBorder(plane, ry, ry, rx, rx, border_type, value=[float(cval)] * 4)
            return filt(p, cv2.BORDER_REPLICATE)[ry : ry + plane.shape[0], rx : rx + plane.shape[1]]
    return map_planes(planes.x, fn, out_dtype, max_channels)


def map_planes(x: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], out_dtype, max_channels: int = 512) -> np.ndarray:
    """Apply ``fn`` to each contiguous ``(H, W)`` or ``(H, W, C)`` plane of ``x`` ``(N, H, W, C)``."""
    n, _, _, c = x.shape
    if n == 1 and c == 1:  # the common grey image: no copies beyond OpenCV's own output
        return fn(np.ascontiguousarray(x[0, :, :, 0]))[None, :, :, None]
    if n == 1 and c <= max_channels:  # one interleaved colour image
        return fn(np.ascontiguousarray(x[0])).reshape(x.shape)
    out = np.empty(x.shape, out_dtype)
    for i in range(n):
        if c == 1:
            out[i, :, :, 0] = fn(np.ascontiguousarray(x[i, :, :, 0]))
        elif c <= max_channels:
            out[i] = fn(np.ascontiguousarray(x[i])).reshape(out.shape[1:])
        else:
            for j in range(c):
                out[i, :, :, j] = fn(np.ascontiguousarray(x[i, :, :, j]))
    return out


def round_saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """:func:`filterkit.filters.dtypes.round_saturate` for uint8/uint16 in one OpenCV pass (half to even)."""
    depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}[np.dtype(dtype)]
    flat = values.reshape(values.shape[0], -1)  # one channel: OpenCV adds a scalar to at most 4 channels
    return cv2.add(flat, 0.0, dtype=depth).reshape(values.shape)


# ------------------------------------------------------------------------ smoothing


def blur(planes, size: int, mode: str, cval: float) -> np.ndarray:
    """``cv2.blur``: the exact mean rounded half to even (uint8, uint16 up to 13x13), float sums in float64."""
    r = size // 2
    return _map(planes, lambda p, b: cv2.blur(p, (size, size), borderType=b), mode, cval, r, r, planes.dtype)


def box_float64(planes, size: int, mode: str, cval: float) -> np.ndarray:
    """``cv2.boxFilter`` in float64, rounded: uint16 from 15x15, where ``blur``'s 16-bit scaling is off by one."""
    r, dtype = size // 2, planes.dtype

    def filt(p, b):
        return round_saturate(cv2.boxFilter(p, cv2.CV_64F, (size, size), borderType=b), dtype)

    return _map(planes, filt, mode, cval, r, r, dtype)


def gaussian_blur(planes, g: np.ndarray, sigma: float, mode: str, cval: float) -> np.ndarray:
    """``cv2.GaussianBlur`` given the size and sigma: it samples exactly the kernel ``g`` (float images)."""
    r = len(g) // 2
    return _map(planes, lambda p, b: cv2.GaussianBlur(p, (len(g), len(g)), sigma, borderType=b), mode, cval, r, r,
                planes.dtype)


def sep_float64(planes, g: np.ndarray, sigma: float, mode: str, cval: float) -> np.ndarray:
    """``cv2.sepFilter2D`` in float64, rounded: uint16 Gaussians (float32 sums are off by one near ties)."""
    r, dtype = len(g) // 2, planes.dtype

    def filt(p, b):
        return round_saturate(cv2.sepFilter2D(p, cv2.CV_64F, g, g, borderType=b), dtype)

    return _map(planes, filt, mode, cval, r, r, dtype)


def exact_uint8(planes, g: np.ndarray, sigma: float, mode: str, cval: float) -> np.ndarray:
    """:func:`filterkit.filters._backends.exact_round.smooth_uint8_exact` on OpenCV's borders (exact rounding)."""
    from filterkit.filters._backends.exact_round import smooth_uint8_exact  # numba: imported on first use

    r = len(g) // 2
    return _map(planes, lambda p, b: smooth_uint8_exact(p, g, b), mode, cval, r, r, planes.dtype)


def median_blur(planes, size: int, mode: str, cval: float) -> np.ndarray:
    """``cv2.medianBlur`` (odd sizes; it always replicates the edge, so for other modes only the border
    frame is recomputed from small padded blocks)."""
    r = size // 2
    how, _ = _plan(mode, cval, planes, r, r, {"nearest"})
    if how == "native":
        filt = lambda p: cv2.medianBlur(p, size)  # noqa: E731
    else:
        filt = _median_any_border(size, mode, cval)
    # medianBlur takes 1, 3 or 4 interleaved channels; others go plane by plane
    channels = planes.x.shape[3]
    return map_planes(planes.x, filt, planes.dtype, max_channels=4 if channels != 2 else 1)


def _median_any_border(size: int, mode: str, cval: float) -> Callable[[np.ndarray], np.ndarray]:
    """``cv2.medianBlur`` with any border mode, for planes taller and wider than ``size // 2``.

    medianBlur always replicates the edge, which only changes the outer frame of ``size // 2``
    pixels: the whole plane is filtered once, then the four frame strips are recomputed from small
    blocks padded with ``mode`` (cheaper than padding the whole image).
    """
    r = size // 2

    def filt(plane: np.ndarray) -> np.ndarray:
        h, w = plane.shape[:2]
        out = cv2.medianBlur(plane, size)
        rows = _border.pad_indices(h, r, r, mode)  # padded position -> source index (-1: cval)
        cols = _border.pad_indices(w, r, r, mode)

        def frame(ri: np.ndarray, ci: np.ndarray, transpose: bool = False) -> np.ndarray:
            block = plane[np.ix_(np.maximum(ri, 0), np.maximum(ci, 0))]
            if mode == "constant":
                block[(ri < 0)[:, None] | (ci < 0)[None, :]] = cval
            if not transpose:
                return cv2.medianBlur(block, size)[r:-r, r:-r]
            # a square window's median is unchanged by transposing, and medianBlur is much
            # faster on a wide block than on a tall, narrow one
            wide = np.ascontiguousarray(block.swapaxes(0, 1))
            return cv2.medianBlur(wide, size)[r:-r, r:-r].swapaxes(0, 1)

        out[:r] = frame(rows[: 3 * r], cols)
        out[h - r :] = frame(rows[h - r :], cols)
        out[:, :r] = frame(rows, cols[: 3 * r], transpose=True)
        out[:, w - r :] = frame(rows, cols[w - r :], transpose=True)
        return out

    return filt


# ---------------------------------------------------------------------- derivatives


def derivative(planes, sep: _kernels.Separable, mode: str, cval: float, out_dtype) -> np.ndarray:
    """``cv2.sepFilter2D`` with ``sep`` in ``out_dtype`` (float32/float64)."""
    r = len(sep.rows) // 2
    ddepth, kx, ky = _DDEPTH[np.dtype(out_dtype)], sep.cols.astype(out_dtype), sep.rows.astype(out_dtype)
    return _map(planes, lambda p, b: cv2.sepFilter2D(p, ddepth, kx, ky, borderType=b), mode, cval, r, r, out_dtype)


def magnitude(planes, seps, mode: str, cval: float, out_dtype) -> np.ndarray:
    """``hypot(d/dx, d/dy)`` of the y and x kernels ``seps``: two ``sepFilter2D`` and ``cv2.magnitude``."""
    gy, gx = (derivative(planes, sep, mode, cval, out_dtype) for sep in seps)
    # sqrt(gx^2 + gy^2) in the result dtype, several times faster than np.hypot
    return cv2.magnitude(gx.reshape(-1, planes.w), gy.reshape(-1, planes.w)).reshape(gx.shape)


def int_magnitude(planes, seps, mode: str, cval: float, out_dtype) -> np.ndarray:
    """:mod:`filterkit.filters._backends.int_gradient`'s one pass for uint8 planes and 3x3 integer kernels."""
    if planes.dtype != np.uint8 or not _kernels.uint8_gradient_weights(*seps):
        raise Decline("int_gradient needs uint8 images and 3x3 integer kernels")
    from filterkit.filters._backends import int_gradient  # numba: imported on first use

    def filt(p, b):
        return int_gradient.uint8_gradient_magnitude(p, seps[0], seps[1], b, out_dtype)

    return _map(planes, filt, mode, cval, 1, 1, out_dtype)


def filter2d(planes, k: np.ndarray, mode: str, cval: float, out_dtype) -> np.ndarray:
    """``cv2.filter2D`` with the 2-D kernel ``k`` in ``out_dtype`` (correlation)."""
    ddepth, kc = _DDEPTH[np.dtype(out_dtype)], k.astype(out_dtype)
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    return _map(planes, lambda p, b: cv2.filter2D(p, ddepth, kc, borderType=b), mode, cval, ry, rx, out_dtype)
