# Earns its place: benchmarks/README.md, "Filters (numpy)", row `sobel 3` (uint8 magnitude, exact, 5-10x the cv2 path)
"""Gradient magnitude of 8-bit images with 3x3 integer derivative kernels, in one numba pass.

The kernels are Sobel's, Scharr's and Prewitt's: a difference ``[-d, 0, d]``
along the derivative's axis times a smoothing ``[a, b, a]`` across it
(:func:`filterkit.filters.kernels.uint8_gradient_weights`).  For a uint8 image each
derivative is an integer no larger than 255 times the sum of the kernel's
positive weights (at most 4096 here), so float32 arithmetic on it is exact
in any order.  One pass per output row takes the three input rows, the
vertical halves of both kernels (``below - above`` and
``d a (above + below) + d b centre``), then the horizontal halves, then
``sqrt(gx**2 + gy**2)`` in float32: the squares are exact (at most 2**24),
their sum is exact below 2**24 and rounded once above, and the square root is
correctly rounded, so the magnitude is the float32 nearest to the true one
(within one unit in the last place above 4096; ``cv2.magnitude`` on float32
derivatives can be one unit off anywhere).  No derivative image is stored, and
with a uint8 output no float32 image either.  Written for the symmetric
kernels: one to three operations per half instead of five.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters.kernels import fits_int16, uint8_gradient_weights

__all__ = ["fits_int16", "uint8_gradient_magnitude", "uint8_gradient_weights"]

@njit(cache=True, nogil=True)
def _pad_row(body, padded, col_idx, channels):
    """Write the one-pixel x border of ``padded`` (body at offset ``channels``) from ``col_idx``."""
    w = body.shape[0] // channels
    for x in (0, w + 1):
        cx = col_idx[x]
        for c in range(channels):
            padded[x * channels + c] = np.float32(0.0) if cx < 0 else body[cx * channels + c]


@njit(cache=True, nogil=True)
def _magnitude(image, channels, weights, row_idx, col_idx, out, saturate):
    """``out = hypot(gx, gy)`` of ``image`` ``(H, W * channels)``; ``weights`` float32
    ``(dy * ay, dy * by, dx * ax, dx * bx)`` (see the module docstring: each difference's ``d``
    goes into the smoothing weights it multiplies).  ``saturate`` (``out`` uint8): the float32
    magnitude rounded half to even and saturated at 255."""
    h, wc = image.shape
    zero = np.zeros(wc, np.uint8)
    vy = np.zeros(wc + 2 * channels, np.float32)
    vx = np.zeros(wc + 2 * channels, np.float32)
    vy_body = vy[channels : channels + wc]
    vx_body = vx[channels : channels + wc]
    vy0, vy1, vy2 = vy[:wc], vy[channels : channels + wc], vy[2 * channels :]
    vx0, vx1, vx2 = vx[:wc], vx[channels : channels + wc], vx[2 * channels :]
    ay, by, ax, bx = weights[0], weights[1], weights[2], weights[3]
    for y in range(h):
        i0, i1, i2 = row_idx[y], row_idx[y + 1], row_idx[y + 2]
        r0 = image[i0] if i0 >= 0 else zero
        r1 = image[i1] if i1 >= 0 else zero
        r2 = image[i2] if i2 >= 0 else zero
        for k in range(wc):  # vertical halves: exact small integers
            p, q, s = np.float32(r0[k]), np.float32(r1[k]), np.float32(r2[k])
            vy_body[k] = s - p
            vx_body[k] = ax * (p + s) + bx * q
        _pad_row(vy_body, vy, col_idx, channels)
        _pad_row(vx_body, vx, col_idx, channels)
        o = out[y]
        for k in range(wc):  # horizontal halves, then the magnitude
            gy = ay * (vy0[k] + vy2[k]) + by * vy1[k]  # exact integers, |g| <= 4096
            gx = vx2[k] - vx0[k]
            m = np.sqrt(gx * gx + gy * gy)  # squares exact (<= 2**24), one rounding: float32(exact sum)
            if saturate:
                o[k] = np.uint8(min(np.rint(m), np.float32(255.0)))
            else:
                o[k] = m


def uint8_gradient_magnitude(plane: np.ndarray, sep_y: _kernels.Separable, sep_x: _kernels.Separable,
                             border_type: int, out_dtype: type = np.float32) -> np.ndarray:
    """float32 ``hypot(d/dx, d/dy)`` of a uint8 ``(H, W[, C])`` plane, channels independent.

    ``sep_y``/``sep_x``: the y- and x-derivative kernels (correlation), a pair that
    :func:`filterkit.filters.kernels.uint8_gradient_weights` accepts; ``border_type``: OpenCV's
    (reflect, reflect-101, replicate, constant 0, wrap).  ``out_dtype=np.uint8``: that float32
    magnitude rounded half to even and saturated at 255 (``cv2.convertScaleAbs`` of it), without
    the float32 image.
    """
    weights = _kernels.uint8_gradient_weights(sep_y, sep_x)
    if plane.dtype != np.uint8 or plane.ndim not in (2, 3) or weights is None:
        raise ValueError("uint8_gradient_magnitude needs a uint8 (H, W[, C]) plane and a pair of 3x3 integer "
                         "derivative kernels that uint8_gradient_weights accepts")
    if np.dtype(out_dtype) not in (np.float32, np.uint8):
        raise ValueError(f"out_dtype must be float32 or uint8, not {out_dtype}")
    mode = _border.mode_of_opencv_border(border_type)
    image2d, channels, row_idx, col_idx = _border.rows_and_pad_indices(plane, 1, mode)
    out = np.empty(image2d.shape, dtype=out_dtype)
    dy, ay, by, dx, ax, bx = weights
    folded = np.array([dy * ay, dy * by, dx * ax, dx * bx], np.float32)  # exact small integers
    _magnitude(image2d, channels, folded, row_idx, col_idx, out, out.dtype == np.uint8)
    return out.reshape(plane.shape)
