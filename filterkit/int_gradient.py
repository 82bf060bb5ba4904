"""Gradient magnitude of 8-bit images from exact 16-bit derivatives.

For a uint8 image and an integer derivative kernel (Sobel, Scharr, Prewitt, 3x3),
each derivative is an integer no larger than 255 times the sum of the kernel's
positive weights (at most 4096 here):
OpenCV computes it exactly into int16, at half the memory traffic of float32.
The magnitude ``sqrt(gx**2 + gy**2)`` is then taken in one numba pass: the sum
of squares is exact in int32, and float32's correctly rounded square root of it
is the float32 nearest to the true magnitude (``cv2.magnitude`` on float32
derivatives can be one unit in the last place off).  The float32 result is what
:func:`filterkit.ndimage.sobel` returns on the slower float32 path, up to that
last-place difference.
"""

from __future__ import annotations

import functools

import numpy as np

from . import kernels as _kernels

__all__ = ["fits_int16", "int16_gradient_magnitude"]

_LARGEST = 4096  # |derivative| bound: int16 holds it, and its square is exact in float32 (< 2**24)

def fits_int16(seps: list[_kernels.Separable]) -> bool:
    """True if every kernel is integer-valued and its response to 8-bit data stays within +-4096."""
    for sep in seps:
        full = sep.full()
        if not np.array_equal(full, np.round(full)):
            return False
        if 255.0 * max(full[full > 0].sum(), -full[full < 0].sum()) > _LARGEST:
            return False
    return True


@functools.cache
def _compiled():
    from numba import njit

    @njit(cache=True, nogil=True)
    def magnitude(gx, gy, out):  # pragma: no cover - compiled
        for i in range(gx.shape[0]):
            x = np.int32(gx[i])
            y = np.int32(gy[i])
            out[i] = np.sqrt(np.float32(x * x + y * y))

    return magnitude


def int16_gradient_magnitude(plane: np.ndarray, sep_y: _kernels.Separable, sep_x: _kernels.Separable,
                             border_type: int) -> np.ndarray:
    """float32 ``hypot(d/dx, d/dy)`` of a uint8 ``(H, W[, C])`` plane; kernels must pass :func:`fits_int16`.

    ``sep_y``/``sep_x``: the y- and x-derivative kernels (correlation); ``border_type``: OpenCV's.
    """
    import cv2

    plane = np.ascontiguousarray(plane)
    gy = cv2.sepFilter2D(plane, cv2.CV_16S, sep_y.cols.astype(np.float32), sep_y.rows.astype(np.float32),
                         borderType=border_type)
    gx = cv2.sepFilter2D(plane, cv2.CV_16S, sep_x.cols.astype(np.float32), sep_x.rows.astype(np.float32),
                         borderType=border_type)
    out = np.empty(plane.shape, dtype=np.float32)
    _compiled()(gx.reshape(-1), gy.reshape(-1), out.reshape(-1))
    return out
