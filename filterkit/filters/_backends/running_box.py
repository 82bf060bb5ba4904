"""float32 box mean in one numba pass: running column sums in float64, window sums along x by doubling.

For each output row the column sums over the ``size`` rows of its window are
updated in float64 (add the row entering the window, subtract the one
leaving it; in float64 the drift over any practical image height stays far
below float32 resolution) and rounded once to float32 into a padded row.  Along x the window sums come from sums of
``1, 2, 4, ...`` adjacent padded columns (one vectorised loop per power of
two), combined by the binary digits of ``size`` in one more loop, so a 15-wide
window costs three doubling loops and one loop adding four terms, each over
whole rows.

OpenCV's float ``blur`` also keeps running sums in float64, but along x one
pixel after the other; for single-channel 2048x2048 images this pass was
1.06-1.6x faster from 7x7 to 63x63 in quick checks (``filterkit.filters.ndimage.mean``
uses it there; ``benchmarks/filters.py`` times the 15x15 case).  Error: within
:func:`box_error_bound` of the exact mean.  As in OpenCV's and scipy's running
sums, a NaN or inf stays in its column's running sum, so it reaches every
output row below it (within ``size // 2`` columns of it).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filterkit.filters import border as _border

__all__ = ["box_error_bound", "box_float32"]


@njit(cache=True, nogil=True, inline="always")
def _sum2(dst, a, b):
    for k in range(dst.shape[0]):
        dst[k] = a[k] + b[k]


@njit(cache=True, nogil=True, inline="always")
def _slide_columns(sums, row32, entering, leaving):
    """``sums += entering - leaving`` in float64, and its float32 rounding into ``row32``."""
    for k in range(sums.shape[0]):
        s = sums[k] + (np.float64(entering[k]) - np.float64(leaving[k]))
        sums[k] = s
        row32[k] = np.float32(s)


@njit(cache=True, nogil=True, inline="always")
def _sum4_scaled(out, a, b, c, d, scale):
    for k in range(out.shape[0]):
        out[k] = ((a[k] + b[k]) + (c[k] + d[k])) * scale


@njit(cache=True, nogil=True, inline="always")
def _sum8_scaled(out, a, b, c, d, e, f, g, h, scale):
    for k in range(out.shape[0]):
        out[k] = (((a[k] + b[k]) + (c[k] + d[k])) + ((e[k] + f[k]) + (g[k] + h[k]))) * scale


@njit(cache=True, nogil=True, inline="always")
def _block(doubled, block_level, block_start, j, wc, zeros):
    """Block ``j`` of the window (a row of ``doubled``), or zeros past the last block."""
    if j < block_level.shape[0]:
        return doubled[block_level[j]][block_start[j] : block_start[j] + wc]
    return zeros


@njit(cache=True, nogil=True)
def _box_rows(image, channels, size, row_idx, col_idx, cval, out):
    """``out[y] = mean of the size x size window`` for each row of ``image`` ``(H, W * channels)``."""
    h, wc = image.shape
    w = wc // channels
    r = size // 2
    n = wc + 2 * r * channels
    levels = 1
    while (1 << levels) <= size:
        levels += 1
    # doubled[i, k]: float32 sum of the 2**i padded columns (of one channel) starting at k
    doubled = np.zeros((levels, n), np.float32)
    body = doubled[0, r * channels : r * channels + wc]
    sums = np.zeros(wc, np.float64)
    fill = np.full(wc, cval, np.float32)
    zeros = np.zeros(wc, np.float32)
    spare = np.zeros(wc, np.float32)
    scale = np.float32(1.0 / (size * size))
    edge = np.float32(size * np.float64(cval))  # a column sum entirely outside the image
    # the window as blocks of 2**level columns, one per binary digit of size, largest first
    ones = 0
    for i in range(levels):
        ones += (size >> i) & 1
    block_level = np.empty(ones, np.int64)
    block_start = np.empty(ones, np.int64)
    j = 0
    offset = 0
    for i in range(levels - 1, -1, -1):
        if (size >> i) & 1:
            block_level[j] = i
            block_start[j] = offset * channels
            offset += 1 << i
            j += 1
    for p in range(size - 1):  # the first window but its last row
        i = row_idx[p]
        src = image[i] if i >= 0 else fill
        for k in range(wc):
            sums[k] += np.float64(src[k])
    for y in range(h):
        i_in = row_idx[y + size - 1]
        i_out = row_idx[y - 1] if y > 0 else -2
        entering = image[i_in] if i_in >= 0 else fill
        leaving = zeros if i_out == -2 else (image[i_out] if i_out >= 0 else fill)
        _slide_columns(sums, body, entering, leaving)
        for j in range(r):  # the x border of the padded row
            for side in (j, w + 2 * r - 1 - j):
                cx = col_idx[side]
                for c in range(channels):
                    doubled[0, side * channels + c] = edge if cx < 0 else doubled[0, (cx + r) * channels + c]
        width = 1
        for i in range(1, levels):
            step = width * channels
            length = n - (2 * width - 1) * channels
            prev = doubled[i - 1]
            _sum2(doubled[i][:length], prev[:length], prev[step : step + length])
            width *= 2
        # the window: one block per binary digit of size, added in one pass
        b0 = _block(doubled, block_level, block_start, 0, wc, zeros)
        b1 = _block(doubled, block_level, block_start, 1, wc, zeros)
        b2 = _block(doubled, block_level, block_start, 2, wc, zeros)
        b3 = _block(doubled, block_level, block_start, 3, wc, zeros)
        if ones <= 4:
            _sum4_scaled(out[y], b0, b1, b2, b3, scale)
            continue
        last = _block(doubled, block_level, block_start, 7, wc, zeros)
        for j in range(8, ones):  # a ninth or later block (sizes of 511 and more)
            _sum2(spare, last, _block(doubled, block_level, block_start, j, wc, zeros))
            last = spare
        _sum8_scaled(out[y], b0, b1, b2, b3, _block(doubled, block_level, block_start, 4, wc, zeros),
                     _block(doubled, block_level, block_start, 5, wc, zeros),
                     _block(doubled, block_level, block_start, 6, wc, zeros), last, scale)


def _roundings(size: int) -> int:
    """Roundings on the longest path from a pixel to its output (see :func:`box_error_bound`)."""
    levels = size.bit_length()
    ones = bin(size).count("1")
    # float32 column sum, the doubling levels, the sum of the blocks (four: depth 2; eight:
    # depth 3; one more per block past the eighth), the float32 1/size**2 and the product; one
    # spare for the float64 sums
    tree = 2 if ones <= 4 else 3 + max(0, ones - 8)
    return 1 + (levels - 1) + tree + 2 + 1


def box_error_bound(size: int) -> float:
    """``gamma_K = K u / (1 - K u)`` with ``u = 2**-24``: :func:`box_float32`'s result is within
    ``gamma_K * mean(|x|)`` over each window of the exact mean (Higham's bound for sums)."""
    k = _roundings(size)
    u = 2.0**-24
    return k * u / (1.0 - k * u)


def box_float32(plane: np.ndarray, size: int, border_type: int, cval: float = 0.0) -> np.ndarray:
    """Mean over ``size x size`` windows of a float32 ``(H, W[, C])`` plane, channels independent.

    size: odd, any width (borders repeat like scipy.ndimage's for windows wider than the image).
    border_type: an OpenCV border (reflect, reflect-101, replicate, constant, wrap); ``cval`` fills
    the constant border.  Within :func:`box_error_bound` of the exact mean (relative to the mean of
    ``|x|`` over the window, padding included: under 1e-6 for windows up to 511 wide).
    """
    if plane.dtype != np.float32 or plane.ndim not in (2, 3) or plane.size == 0:
        raise ValueError(f"box_float32 takes a non-empty float32 (H, W[, C]) plane, not {plane.dtype} {plane.shape}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be odd and positive, got {size}")
    mode = _border.mode_of_opencv_border(border_type)
    image2d, channels, row_idx, col_idx = _border.rows_and_pad_indices(plane, size // 2, mode)
    out = np.empty_like(image2d)
    _box_rows(image2d, channels, size, row_idx, col_idx, np.float32(cval), out)
    return out.reshape(plane.shape)
