"""Exactly rounded uint8 smoothing by a symmetric separable kernel, in one numba pass.

The smoothing is computed in float32, row by row: each input row is converted,
padded and filtered along x into a ring of ``n`` rows (``n`` = kernel taps),
and each output row is the weighted sum of ``n`` ring rows, rounded half to
even and saturated as it is written.  Both passes add the symmetric taps in
pairs, ``g[j] * (a + b)``, in blocks of four pairs, with loops over whole rows
that numba vectorises.  With non-negative weights the float32 value is within
:func:`float32_error_bound` of the exact one, so its rounding can only be wrong
where it lies that close to a ``.5`` tie.  Those pixels (about ``2 * bound``
of them: 0.04 % for sigma 1) are flagged in the same loop and recomputed in
float64 from the image, in scipy.ndimage's order (the pass along x, then along
y), so the result equals ``round_half_even(scipy float64 result)`` to the last
pixel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filterkit import border as _border

__all__ = ["float32_error_bound", "smooth_uint8_exact"]


@njit(cache=True, nogil=True, inline="always")
def _blocks_of(r):
    """Blocks of four symmetric pairs per pass, for a kernel of radius ``r``."""
    return max(1, (r + 3) // 4)


def float32_error_bound(taps: int, max_value: float = 255.0) -> float:
    """Largest distance of this module's float32 result from the exact value (grey levels).

    Each of the ``2 * taps`` products reaches the result through at most
    ``K = 6 * blocks + 6`` roundings (the float32 weight, the pair sum, the product, a
    sum tree of depth 3 per block, in each pass), so the error is at most
    ``K u / (1 - K u) * max_value`` with ``u = 2**-24`` (Higham's gamma_K for
    non-negative terms summing to at most ``max_value``), plus a margin that
    covers scipy's own float64 rounding.
    """
    k = 6 * _blocks_of(taps // 2) + 6
    u = 2.0**-24
    return k * u / (1.0 - k * u) * max_value + 1e-9


@njit(cache=True, nogil=True, inline="always")
def _view(buf, offset, n):
    return buf[offset : offset + n]


@njit(cache=True, nogil=True, inline="always")
def _pair(buf, offsets, g, j, centre):
    """Sources and weight of symmetric pair ``j``; past the last pair, the centre with weight 0."""
    n = g.shape[0]
    if j < n // 2:
        wc = centre.shape[0]
        return _view(buf, offsets[j], wc), _view(buf, offsets[n - 1 - j], wc), g[j]
    return centre, centre, np.float32(0.0)


@njit(cache=True, nogil=True, inline="always")
def _taps4(dst, c, gc, a0, b0, g0, a1, b1, g1, a2, b2, g2, a3, b3, g3):
    for k in range(dst.shape[0]):
        dst[k] = ((gc * c[k] + g0 * (a0[k] + b0[k])) + g1 * (a1[k] + b1[k])) + (
            g2 * (a2[k] + b2[k]) + g3 * (a3[k] + b3[k])
        )


@njit(cache=True, nogil=True, inline="always")
def _taps4_rounded(out, near, threshold, c, gc, a0, b0, g0, a1, b1, g1, a2, b2, g2, a3, b3, g3):
    """``_taps4`` rounded half to even into uint8 ``out``; ``near[k]`` = 1 where a tie may be within the bound.

    Returns how many pixels were flagged.  No clipping: the weights are non-negative and
    sum to 1, so ``0 <= v < 255.5``.
    """
    flagged = 0
    for k in range(out.shape[0]):
        v = ((gc * c[k] + g0 * (a0[k] + b0[k])) + g1 * (a1[k] + b1[k])) + (
            g2 * (a2[k] + b2[k]) + g3 * (a3[k] + b3[k])
        )
        rounded = np.rint(v)
        tie = abs(v - rounded) >= threshold  # exact: v and its rounding are within a factor 2
        near[k] = tie
        flagged += tie
        out[k] = np.uint8(np.int32(rounded))
    return flagged


@njit(cache=True, nogil=True, inline="always")
def _correlate_row(dst, buf, offsets, g, blocks):
    """``dst[k] = sum_j g[j] * buf[offsets[j] + k]`` over the first ``blocks`` blocks of pairs."""
    r = g.shape[0] // 2
    c = _view(buf, offsets[r], dst.shape[0])
    for b in range(blocks):
        a0, b0, g0 = _pair(buf, offsets, g, 4 * b, c)
        a1, b1, g1 = _pair(buf, offsets, g, 4 * b + 1, c)
        a2, b2, g2 = _pair(buf, offsets, g, 4 * b + 2, c)
        a3, b3, g3 = _pair(buf, offsets, g, 4 * b + 3, c)
        if b == 0:
            _taps4(dst, c, g[r], a0, b0, g0, a1, b1, g1, a2, b2, g2, a3, b3, g3)
        else:
            _taps4(dst, dst, np.float32(1.0), a0, b0, g0, a1, b1, g1, a2, b2, g2, a3, b3, g3)


@njit(cache=True, nogil=True, inline="always")
def _correlate_row_rounded(acc, buf, offsets, g, out, near, threshold):
    """:func:`_correlate_row` over all blocks, the last one rounded into ``out``; returns the flagged count."""
    r = g.shape[0] // 2
    c = _view(buf, offsets[r], acc.shape[0])
    last = _blocks_of(r) - 1
    _correlate_row(acc, buf, offsets, g, last)
    a0, b0, g0 = _pair(buf, offsets, g, 4 * last, c)
    a1, b1, g1 = _pair(buf, offsets, g, 4 * last + 1, c)
    a2, b2, g2 = _pair(buf, offsets, g, 4 * last + 2, c)
    a3, b3, g3 = _pair(buf, offsets, g, 4 * last + 3, c)
    if last == 0:
        return _taps4_rounded(out, near, threshold, c, g[r], a0, b0, g0, a1, b1, g1, a2, b2, g2, a3, b3, g3)
    return _taps4_rounded(out, near, threshold, acc, np.float32(1.0), a0, b0, g0, a1, b1, g1, a2, b2, g2,
                         a3, b3, g3)


@njit(cache=True, nogil=True)
def _exact_value(image, channels, g, row_idx, col_idx, y, x, c, cols):
    """The float64 correlation at (y, x, c) in scipy.ndimage's order (the pass along x, then along y).

    ``cols``: scratch for the ``n`` sample positions in a row (-1: constant border, zero).
    """
    n = g.shape[0]
    for j in range(n):
        cx = col_idx[x + j]
        cols[j] = cx * channels + c if cx >= 0 else -1
    acc = 0.0
    for i in range(n):
        ry = row_idx[y + i]
        s = 0.0
        if ry >= 0:
            row = image[ry]
            for j in range(n):
                if cols[j] >= 0:
                    s += g[j] * np.float64(row[cols[j]])
        acc += g[i] * s
    return acc


@njit(cache=True, nogil=True)
def _smooth_rows(image, channels, g32, g64, row_idx, col_idx, threshold, out):
    """Fill ``out`` (uint8, like ``image``: ``(H, W*C)``); returns how many pixels were recomputed."""
    h, wc = image.shape
    n = g32.shape[0]
    r = n // 2
    w = wc // channels
    # the x-filtered rows, row p of the padded image in slot p % n; slots 64 bytes apart beyond a multiple of
    # 64, never a multiple of 4 KiB apart (which would put all n rows in the same L1 cache sets)
    stride = (wc + 15) // 16 * 16 + 16
    if stride % 1024 == 0:
        stride += 16
    ring = np.empty(n * stride, np.float32)
    hpad = np.zeros((w + 2 * r) * channels, np.float32)  # one input row with its x border
    body = _view(hpad, r * channels, wc)
    acc = _view(np.empty(wc, np.float32), 0, wc)
    x_offsets = np.arange(n) * channels
    y_offsets = np.empty(n, np.int64)
    near = np.zeros(wc, np.uint8)
    cols = np.empty(n, np.int64)
    words = near[: wc // 8 * 8].view(np.uint64)
    blocks = _blocks_of(r)
    recomputed = 0
    for p in range(h + n - 1):
        slot = _view(ring, (p % n) * stride, wc)
        src = row_idx[p]
        if src < 0:  # constant border row
            slot[:] = 0.0
        else:
            row = image[src]
            for k in range(wc):
                body[k] = np.float32(row[k])
            for q in range(r):
                for x in (q, w + r + q):
                    cx = col_idx[x]
                    for c in range(channels):
                        hpad[x * channels + c] = np.float32(0.0) if cx < 0 else np.float32(row[cx * channels + c])
            _correlate_row(slot, hpad, x_offsets, g32, blocks)
        y = p - (n - 1)
        if y < 0:
            continue
        for i in range(n):
            y_offsets[i] = ((y + i) % n) * stride
        orow = out[y]
        left = _correlate_row_rounded(acc, ring, y_offsets, g32, orow, near, threshold)
        i = 0
        while left > 0 and 8 * i < wc:  # the flagged pixels, 32 at a time (usually one or two per row)
            if i + 4 <= words.shape[0] and (words[i] | words[i + 1] | words[i + 2] | words[i + 3]) == 0:
                i += 4
                continue
            stop = 8 * (i + 4) if i + 4 <= words.shape[0] else wc
            for k in range(8 * i, stop):
                if near[k]:
                    x = k // channels
                    e = _exact_value(image, channels, g64, row_idx, col_idx, y, x, k - x * channels, cols)
                    orow[k] = np.uint8(min(max(np.rint(e), 0.0), 255.0))
                    recomputed += 1
                    left -= 1
            i += 4
    return recomputed


def _threshold(taps: int) -> np.float32:
    """float32 ``0.5 - bound``, rounded down: ``|v - rint(v)|`` at or above it may be a tie."""
    exact = 0.5 - float32_error_bound(taps)
    t = np.float32(exact)
    return np.nextafter(t, np.float32(0.0)) if float(t) > exact else t


def smooth_uint8_exact(plane: np.ndarray, g: np.ndarray, border_type: int) -> np.ndarray:
    """Exactly rounded uint8 correlation of ``plane`` ``(H, W[, C])`` with ``outer(g, g)``.

    g: 1-D symmetric non-negative weights of odd length (float64).
    border_type: an OpenCV border (reflect, reflect-101, replicate, constant 0, wrap).
    Equals ``clip(rint(scipy.ndimage.correlate(plane.astype(float64), outer(g, g))), 0, 255)``.
    """
    return _smooth(plane, g, _border.mode_of_opencv_border(border_type), None)


def _smooth(plane: np.ndarray, g: np.ndarray, mode: str, threshold: float | None) -> np.ndarray:
    """:func:`smooth_uint8_exact` with a filterkit mode name; ``threshold`` overrides :func:`_threshold`
    (tests: 0 recomputes every pixel in float64, 1 none)."""
    g = np.ascontiguousarray(g, dtype=np.float64)
    if g.ndim != 1 or g.size % 2 == 0 or np.any(g < 0) or not np.array_equal(g, g[::-1]):
        raise ValueError("g must be 1-D, odd-length, non-negative and symmetric")
    if plane.dtype != np.uint8 or plane.ndim not in (2, 3) or plane.size == 0:
        raise ValueError(f"plane must be a non-empty uint8 (H, W[, C]) array, not {plane.dtype} {plane.shape}")
    r = g.size // 2
    h, w = plane.shape[:2]
    channels = plane.shape[2] if plane.ndim == 3 else 1
    row_idx = _border.pad_indices(h, r, r, mode).astype(np.int64)
    col_idx = _border.pad_indices(w, r, r, mode).astype(np.int64)
    image2d = np.ascontiguousarray(plane).reshape(h, w * channels)
    out = np.empty_like(image2d)
    limit = _threshold(g.size) if threshold is None else np.float32(threshold)
    _smooth_rows(image2d, channels, g.astype(np.float32), g, row_idx, col_idx, limit, out)
    return out.reshape(plane.shape)
