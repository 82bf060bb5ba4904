# Earns its place: exactness (uint8 Gaussian = scipy's float64 value rounded; benchmarks/README.md, "Filters (numpy)", `gaussian` rows)
"""Symmetric separable smoothing of uint8 images in one numba pass, exactly rounded.

The smoothing is computed in float32: each input row is converted, padded and
filtered along x into a ring of ``n + 3`` rows (``n`` = kernel taps); four
output rows at a time are summed along y from the ``n + 3`` ring rows they
share.  Both passes add the symmetric taps in pairs, ``g[j] * (a + b)``, in
blocks of four pairs, with loops over whole rows that numba vectorises.

uint8 (:func:`smooth_uint8_exact`): with non-negative weights the float32 value
is within :func:`float32_error_bound` of the exact one, so its rounding can
only be wrong where it lies that close to a ``.5`` tie.  Those pixels (at most
about 0.03 % for sigma 1) are flagged while rounding and recomputed in float64
from the image, in scipy.ndimage's order (the pass along x, then along y), so
the result equals ``round_half_even(scipy float64 result)`` to the last pixel.
(float32 images go to OpenCV's GaussianBlur: a float32 pass here was no faster, benchmarks/README.md.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filterkit.filters import border as _border

__all__ = ["float32_error_bound", "smooth_uint8_exact"]


@njit(cache=True, nogil=True, inline="always")
def _blocks_of(r):
    """Blocks of four symmetric pairs per pass, for a kernel of radius ``r``."""
    return max(1, (r + 3) // 4)


def _error_slope(taps: int) -> float:
    """``gamma_K = K u / (1 - K u)``: the float32 result ``v`` is within ``gamma_K * v_exact`` of the exact value.

    Each product reaches the result through at most ``K = 2 * blocks + 10`` roundings: in the
    pass along x the float32 weight, the product, a sum tree of depth 3 and one more addition
    per further block of four pairs (``blocks + 4``); in the pass along y the same plus the
    pair sum (``blocks + 5``); one spare.  All terms are non-negative, so their sum is the
    exact value itself (Higham's bound for sums of non-negative terms, ``u = 2**-24``).
    """
    k = 2 * _blocks_of(taps // 2) + 10
    u = 2.0**-24
    return k * u / (1.0 - k * u)


def float32_error_bound(taps: int, max_value: float = 255.0) -> float:
    """Largest distance of this module's float32 result from the exact value, for values up to
    ``max_value`` (grey levels), plus a margin for scipy's own float64 rounding."""
    return _error_slope(taps) * max_value + 1e-9


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
        dst[k] = gc * c[k] + (
            (g0 * (a0[k] + b0[k]) + g1 * (a1[k] + b1[k])) + (g2 * (a2[k] + b2[k]) + g3 * (a3[k] + b3[k]))
        )


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


@njit(cache=True, nogil=True)
def _taps4x4(acc, centre, c0, c1, c2, c3, gc, ring, l0, l1, l2, l3, l4, l5, l6, u0, u1, u2, u3, u4, u5, u6,
             w0, w1, w2, w3):
    """``_taps4`` for output rows y..y+3 at once, into ``acc`` rows 0..3, from the 14 ring rows they share.

    Rows are passed as row numbers of two 2-D arrays (``centre``: the ring or ``acc``), not as
    separate arrays: numba vectorises the loop only when it sees few distinct arrays.
    """
    for k in range(acc.shape[1]):
        L0 = ring[l0, k]
        L1 = ring[l1, k]
        L2 = ring[l2, k]
        L3 = ring[l3, k]
        L4 = ring[l4, k]
        L5 = ring[l5, k]
        L6 = ring[l6, k]
        U0 = ring[u0, k]
        U1 = ring[u1, k]
        U2 = ring[u2, k]
        U3 = ring[u3, k]
        U4 = ring[u4, k]
        U5 = ring[u5, k]
        U6 = ring[u6, k]
        acc[0, k] = gc * centre[c0, k] + ((w0 * (L0 + U3) + w1 * (L1 + U2)) + (w2 * (L2 + U1) + w3 * (L3 + U0)))
        acc[1, k] = gc * centre[c1, k] + ((w0 * (L1 + U4) + w1 * (L2 + U3)) + (w2 * (L3 + U2) + w3 * (L4 + U1)))
        acc[2, k] = gc * centre[c2, k] + ((w0 * (L2 + U5) + w1 * (L3 + U4)) + (w2 * (L4 + U3) + w3 * (L5 + U2)))
        acc[3, k] = gc * centre[c3, k] + ((w0 * (L3 + U6) + w1 * (L4 + U5)) + (w2 * (L5 + U4) + w3 * (L6 + U3)))


@njit(cache=True, nogil=True, inline="always")
def _round_row(values, out, near, slope, half):
    """``out = rint(values)`` (half to even) as uint8; ``near[k]`` = 1 where a tie may be within the bound.

    A value ``v`` is flagged when ``|v - rint(v)| + slope * v >= half``: the error bound grows
    with ``v`` (see :func:`_error_slope`), so dark pixels are rarely flagged.  Returns how many
    were flagged.  No clipping: the weights are non-negative and sum to 1, so ``0 <= v < 255.5``.
    """
    flagged = 0
    for k in range(out.shape[0]):
        v = values[k]
        rounded = np.rint(v)
        tie = abs(v - rounded) + slope * v >= half  # v - rint(v) is exact: they are within a factor 2
        near[k] = tie
        flagged += tie
        out[k] = np.uint8(np.int32(rounded))
    return flagged


@njit(cache=True, nogil=True, inline="always")
def _block_rows4(slots, g, b):
    """Ring rows and weights of block ``b`` of pairs for output rows y..y+3 (``slots``: ring rows of y..y+n+2).

    Lower rows ``l_m`` = row y+4b+m, upper ``u_m`` = row y+n-4-4b+m (m = 0..6); output row y+q
    pairs ``(l_{q+p}, u_{q-p+3})`` for pair ``p`` of the block.  Past the last pair the weight is 0
    and the rows are any valid ones (clamped into the ring).
    """
    n = g.shape[0]
    r = n // 2
    j0 = 4 * b
    top = n + 2
    zero = np.float32(0.0)
    return (slots[min(j0, top)], slots[min(j0 + 1, top)], slots[min(j0 + 2, top)], slots[min(j0 + 3, top)],
            slots[min(j0 + 4, top)], slots[min(j0 + 5, top)], slots[min(j0 + 6, top)],
            slots[max(n - 4 - j0, 0)], slots[max(n - 3 - j0, 0)], slots[max(n - 2 - j0, 0)],
            slots[max(n - 1 - j0, 0)], slots[max(n - j0, 0)], slots[max(n + 1 - j0, 0)], slots[max(n + 2 - j0, 0)],
            g[j0] if j0 < r else zero, g[j0 + 1] if j0 + 1 < r else zero,
            g[j0 + 2] if j0 + 2 < r else zero, g[j0 + 3] if j0 + 3 < r else zero)


@njit(cache=True, nogil=True)
def _correlate_rows4(acc, spare, ring, slots, g):
    """Output rows y..y+3 over all blocks into ``acc`` or ``spare`` rows 0..3, returned.

    ``slots``: ring rows of y..y+n+2; ``ring``: 2-D, rows at least as long as ``acc``'s (only the
    first ``acc.shape[1]`` samples are read).  Blocks after the first add to the previous sums,
    read from the other of the two buffers: numba does not vectorise a loop that reads and
    writes rows of the same array.
    """
    r = g.shape[0] // 2
    src, dst = spare, acc
    for b in range(_blocks_of(r)):
        l0, l1, l2, l3, l4, l5, l6, u0, u1, u2, u3, u4, u5, u6, w0, w1, w2, w3 = _block_rows4(slots, g, b)
        if b == 0:
            _taps4x4(dst, ring, slots[r], slots[r + 1], slots[r + 2], slots[r + 3], g[r], ring,
                     l0, l1, l2, l3, l4, l5, l6, u0, u1, u2, u3, u4, u5, u6, w0, w1, w2, w3)
        else:
            _taps4x4(dst, src, 0, 1, 2, 3, np.float32(1.0), ring,
                     l0, l1, l2, l3, l4, l5, l6, u0, u1, u2, u3, u4, u5, u6, w0, w1, w2, w3)
        src, dst = dst, src
    return src


@njit(cache=True, nogil=True)
def _exact_value(image, channels, g, row_idx, col_idx, y, x, c, cols):
    """The float64 correlation at (y, x, c) in scipy.ndimage's order (the pass along x, then along y).

    ``cols``: scratch of ``n`` (the sample positions in a row, -1 for a constant border of zeros).
    Each row sum adds its products in column order; four rows are summed side by side in
    registers (a row of the constant border contributes ``g * 0.0``, which changes no sum), then
    the row sums are weighted and added in row order.
    """
    n = g.shape[0]
    for j in range(n):
        cx = col_idx[x + j]
        cols[j] = cx * channels + c if cx >= 0 else -1
    acc = 0.0
    for i0 in range(0, n, 4):
        m = min(4, n - i0)
        r0 = row_idx[y + i0]
        r1 = row_idx[y + i0 + 1] if m > 1 else -1
        r2 = row_idx[y + i0 + 2] if m > 2 else -1
        r3 = row_idx[y + i0 + 3] if m > 3 else -1
        on0 = 1.0 if r0 >= 0 else 0.0
        on1 = 1.0 if r1 >= 0 else 0.0
        on2 = 1.0 if r2 >= 0 else 0.0
        on3 = 1.0 if r3 >= 0 else 0.0
        r0, r1, r2, r3 = max(r0, 0), max(r1, 0), max(r2, 0), max(r3, 0)
        s0 = s1 = s2 = s3 = 0.0
        for j in range(n):
            q = cols[j]
            if q < 0:
                continue  # adds g[j] * 0
            gj = g[j]
            s0 += gj * (np.float64(image[r0, q]) * on0)
            s1 += gj * (np.float64(image[r1, q]) * on1)
            s2 += gj * (np.float64(image[r2, q]) * on2)
            s3 += gj * (np.float64(image[r3, q]) * on3)
        acc += g[i0] * s0
        if m > 1:
            acc += g[i0 + 1] * s1
        if m > 2:
            acc += g[i0 + 2] * s2
        if m > 3:
            acc += g[i0 + 3] * s3
    return acc


@njit(cache=True, nogil=True)
def _filter_x(image, src, channels, g32, col_idx, hpad, x_offsets, slot):
    """Image row ``src`` (-1: constant border, zeros) filtered along x into ``slot``."""
    if src < 0:
        slot[:] = 0.0
        return
    wc = slot.shape[0]
    r = g32.shape[0] // 2
    w = wc // channels
    row = image[src]
    body = _view(hpad, r * channels, wc)
    for k in range(wc):
        body[k] = np.float32(row[k])
    for q in range(r):
        for x in (q, w + r + q):
            cx = col_idx[x]
            for c in range(channels):
                hpad[x * channels + c] = np.float32(0.0) if cx < 0 else np.float32(row[cx * channels + c])
    _correlate_row(slot, hpad, x_offsets, g32, _blocks_of(r))


@njit(cache=True, nogil=True)
def _fix_row(image, channels, g64, row_idx, col_idx, y, orow, near, left, cols):
    """Recompute in float64 the ``left`` pixels of output row ``y`` flagged in ``near``; returns the count."""
    wc = orow.shape[0]
    words = near[: wc // 8 * 8].view(np.uint64)
    done = 0
    i = 0
    while done < left and 8 * i < wc:  # 32 pixels at a time (usually one or two flagged per row)
        if i + 4 <= words.shape[0] and (words[i] | words[i + 1] | words[i + 2] | words[i + 3]) == 0:
            i += 4
            continue
        for k in range(8 * i, 8 * (i + 4) if i + 4 <= words.shape[0] else wc):
            if near[k]:
                x = k // channels
                e = _exact_value(image, channels, g64, row_idx, col_idx, y, x, k - x * channels, cols)
                orow[k] = np.uint8(min(max(np.rint(e), 0.0), 255.0))
                done += 1
        i += 4
    return done


@njit(cache=True, nogil=True)
def _smooth_rows(image, channels, g32, g64, row_idx, col_idx, slope, half, out):
    """Fill uint8 ``out`` (``(H, W*C)`` like ``image``), rounded and recomputed next to ties; returns
    how many pixels were recomputed.

    Output rows go four at a time (the last one to three alone), from a ring of the
    ``n + 3`` x-filtered padded rows they need.
    """
    h, wc = image.shape
    n = g32.shape[0]
    r = n // 2
    w = wc // channels
    slots = n + 3
    # row p of the padded image in slot p % slots; slots 64 bytes apart beyond a multiple of 64,
    # never a multiple of 4 KiB apart (which would put all the rows in the same L1 cache sets)
    stride = (wc + 15) // 16 * 16 + 16
    if stride % 1024 == 0:
        stride += 16
    ring = np.empty((slots, stride), np.float32)
    flat_ring = ring.reshape(-1)
    hpad = np.zeros((w + 2 * r) * channels, np.float32)  # one input row with its x border
    acc = np.empty((4, wc), np.float32)
    spare = np.empty((4, wc), np.float32)
    near = np.zeros((4, wc), np.uint8)
    x_offsets = np.arange(n) * channels
    y_slots = np.empty(slots, np.int64)
    y_offsets = np.empty(slots, np.int64)
    cols = np.empty(n, np.int64)
    recomputed = 0
    filtered = 0  # padded rows filtered along x so far
    y = 0
    while y < h:
        rows = 4 if y + 4 <= h else 1
        while filtered < y + n - 1 + rows:
            _filter_x(image, row_idx[filtered], channels, g32, col_idx, hpad, x_offsets,
                      _view(flat_ring, (filtered % slots) * stride, wc))
            filtered += 1
        for i in range(slots):
            y_slots[i] = (y + i) % slots
            y_offsets[i] = y_slots[i] * stride
        if rows == 4:
            result = _correlate_rows4(acc, spare, ring, y_slots, g32)
        else:
            _correlate_row(acc[0], flat_ring, y_offsets, g32, _blocks_of(r))
            result = acc
        for q in range(rows):
            flagged = _round_row(result[q], out[y + q], near[q], slope, half)
            if flagged:
                recomputed += _fix_row(image, channels, g64, row_idx, col_idx, y + q, out[y + q], near[q],
                                       flagged, cols)
        y += rows
    return recomputed


def _tie_test(taps: int) -> tuple[np.float32, np.float32]:
    """``(slope, half)`` for :func:`_round_row`, rounded so that float32 can only flag more pixels.

    ``slope`` bounds the error by the computed value ``v`` (``gamma / (1 - gamma)``, as
    ``v_exact <= v / (1 - gamma)``), widened by 1 + 2**-20 to cover rounding it and ``slope * v``
    to float32; ``half`` is 0.5 less 1e-7, which covers rounding the sum and scipy's float64
    rounding.
    """
    gamma = _error_slope(taps)
    slope = np.float32(gamma / (1.0 - gamma) * (1.0 + 2.0**-20))
    half = np.float32(0.5 - 1e-7)
    if float(half) > 0.5 - 1e-7:
        half = np.nextafter(half, np.float32(0.0))
    return slope, half


def smooth_uint8_exact(plane: np.ndarray, g: np.ndarray, border_type: int) -> np.ndarray:
    """Exactly rounded uint8 correlation of ``plane`` ``(H, W[, C])`` with ``outer(g, g)``.

    g: 1-D symmetric non-negative weights of odd length (float64).
    border_type: an OpenCV border (reflect, reflect-101, replicate, constant 0, wrap).
    Equals ``clip(rint(scipy.ndimage.correlate(plane.astype(float64), outer(g, g))), 0, 255)``.
    """
    if plane.dtype != np.uint8:
        raise ValueError(f"smooth_uint8_exact takes a uint8 plane, not {plane.dtype}")
    return _smooth(plane, g, _border.mode_of_opencv_border(border_type), None)


def _smooth(plane: np.ndarray, g: np.ndarray, mode: str, threshold: float | None) -> np.ndarray:
    """:func:`smooth_uint8_exact` with a filterkit mode name; ``threshold``
    replaces the uint8 tie test by ``|v - rint(v)| >= threshold`` (tests: 0 recomputes every pixel
    in float64, 1 none)."""
    g = np.ascontiguousarray(g, dtype=np.float64)
    if g.ndim != 1 or g.size % 2 == 0 or np.any(g < 0) or not np.array_equal(g, g[::-1]):
        raise ValueError("g must be 1-D, odd-length, non-negative and symmetric")
    if plane.dtype != np.uint8 or plane.ndim not in (2, 3) or plane.size == 0:
        raise ValueError(f"plane must be a non-empty uint8 (H, W[, C]) array, "
                         f"not {plane.dtype} {plane.shape}")
    image2d, channels, row_idx, col_idx = _border.rows_and_pad_indices(plane, g.size // 2, mode)
    out = np.empty_like(image2d)
    slope, half = _tie_test(g.size) if threshold is None else (np.float32(0.0), np.float32(threshold))
    _smooth_rows(image2d, channels, g.astype(np.float32), g, row_idx, col_idx, slope, half, out)
    return out.reshape(plane.shape)
