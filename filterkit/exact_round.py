"""Exact rounding of a float32 smoothing result, by recomputing only the pixels near a tie.

A separable smoothing filter with non-negative weights summing to 1, run in
float32 on 8-bit data, is off from the exact value by at most

    bound = 2 * (n + 2) * 2**-24 * 255 * safety        (n = kernel taps)

(Higham's bound for recursive summation of non-negative terms, per pass, plus
the rounding of the weights and of the intermediate row pass).  Rounding such a
result to an integer can therefore only be wrong where it lies within
``bound`` of a ``.5`` tie.  :func:`round_uint8_exact` rounds every pixel of
the fast float32 result (OpenCV, SIMD), finds the pixels near a tie as those
where rounding ``v - bound`` and ``v + bound`` disagree, and, for those few pixels only (about
``2 * bound`` of them, e.g. 0.1 % for sigma 1), recomputes the value in
float64 from the image, in scipy.ndimage's order (the pass along x, then along
y), so the result equals ``round_half_even(scipy float64 result)`` to the
last pixel.  :func:`smooth_uint8_exact` does the whole Gaussian this way in
cache-sized strips of rows.
"""

from __future__ import annotations

import functools

import numpy as np

from filterkit import border as _border

__all__ = ["float32_error_bound", "round_uint8_exact", "smooth_uint8_exact"]

_SAFETY = 1.5


def float32_error_bound(taps: int, max_value: float = 255.0) -> float:
    """Largest error of a two-pass float32 smoothing with ``taps`` non-negative weights (sum 1)."""
    return 2.0 * (taps + 2) * 2.0**-24 * max_value * _SAFETY


@functools.cache
def _compiled():
    """The numba kernel, compiled on first use (cached on disk)."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def exact_value(image, channels, g, row_idx, col_idx, cval, y, x, c):  # pragma: no cover - compiled
        """The float64 correlation at (y, x, c) in scipy.ndimage's order (the pass along x, then along y)."""
        n = g.shape[0]
        acc = 0.0
        for i in range(n):
            ry = row_idx[y + i]
            s = 0.0
            for j in range(n):
                cx = col_idx[x + j]
                if ry < 0 or cx < 0:
                    s += g[j] * cval
                else:
                    s += g[j] * np.float64(image[ry, cx * channels + c])
            acc += g[i] * s
        return acc

    @njit(cache=True, nogil=True)
    def fix_near_ties(words, mask, approx, image, channels, g, row_idx, col_idx, cval, y0, out):  # pragma: no cover
        """Recompute ``out`` where ``mask`` (flat bytes; ``words`` its uint64 view) is set; row 0 is image row y0."""
        wc = approx.shape[1]
        for i in range(words.shape[0] + 1):
            if i < words.shape[0] and words[i] == 0:
                continue  # 8 pixels, none near a tie
            for idx in range(8 * i, min(8 * i + 8, mask.shape[0])):
                if mask[idx]:
                    y = idx // wc
                    k = idx - y * wc
                    x = k // channels
                    exact = exact_value(image, channels, g, row_idx, col_idx, cval, y0 + y, x, k - x * channels)
                    out[y, k] = np.uint8(min(max(np.rint(exact), 0.0), 255.0))

    return fix_near_ties


def _round_rows(approx: np.ndarray, image2d: np.ndarray, channels: int, g: np.ndarray, row_idx: np.ndarray,
                col_idx: np.ndarray, cval: float, y0: int, out: np.ndarray) -> None:
    """Round ``approx`` (rows y0.. of the result, ``(rows, W*C)`` float32) exactly into ``out`` (same shape)."""
    import cv2

    bound = float32_error_bound(g.size)
    # Rounding v - bound and v + bound (half to even, saturated) disagrees exactly where a .5 tie lies
    # within the error bound of v; elsewhere both equal the rounded value.  Two SIMD OpenCV passes and
    # one compare find those pixels; numba recomputes them in float64.
    cv2.convertScaleAbs(approx, dst=out, beta=-bound)  # |v - bound|: values are >= 0 here
    near_tie = cv2.convertScaleAbs(approx, beta=bound)
    cv2.compare(out, near_tie, cv2.CMP_NE, dst=near_tie)
    near_tie = near_tie.reshape(-1)
    words = near_tie[: near_tie.size // 8 * 8].view(np.uint64)
    _compiled()(words, near_tie, approx, image2d, channels, g, row_idx, col_idx, float(cval), y0, out)


def round_uint8_exact(
    approx: np.ndarray, image: np.ndarray, g: np.ndarray, mode: str, cval: float = 0.0
) -> np.ndarray:
    """uint8 ``(H, W[, C])`` from a float32 smoothing result ``approx`` of ``image`` by ``outer(g, g)``.

    approx: float32 ``(H, W)`` or interleaved ``(H, W, C)``, the same correlation computed approximately.
    image: uint8, same shape.  g: 1-D float64 kernel (non-negative, odd length).
    mode, cval: the border of the correlation (filterkit names).
    """
    if approx.shape != image.shape or approx.ndim not in (2, 3):
        raise ValueError(f"approx {approx.shape} and image {image.shape} must be the same (H, W[, C]) shape")
    g = np.ascontiguousarray(g, dtype=np.float64)
    r = g.size // 2
    h, w = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    row_idx = _border.pad_indices(h, r, r, mode).astype(np.int64)
    col_idx = _border.pad_indices(w, r, r, mode).astype(np.int64)
    approx = np.ascontiguousarray(approx, dtype=np.float32).reshape(h, w * channels)
    out = np.empty((h, w * channels), dtype=np.uint8)
    _round_rows(approx, np.ascontiguousarray(image).reshape(h, w * channels), channels, g, row_idx, col_idx,
                cval, 0, out)
    return out.reshape(image.shape)


STRIP_BYTES = 2**20  # float32 rows per strip of smooth_uint8_exact: about 1 MiB, cache-sized


def smooth_uint8_exact(plane: np.ndarray, g: np.ndarray, border_type: int) -> np.ndarray:
    """Exactly rounded uint8 correlation of ``plane`` ``(H, W[, C])`` with ``outer(g, g)``, strip by strip.

    OpenCV's float32 ``sepFilter2D`` runs on strips of about :data:`STRIP_BYTES` of output (each
    with ``r`` real rows of context above and below, cropped after), and each strip is rounded
    by :func:`round_uint8_exact`'s rule while it is in cache: no full-size float32 image is
    ever allocated.  ``border_type``: an OpenCV border OpenCV's filters handle natively
    (reflect, mirror, nearest, constant 0).
    """
    import cv2

    g = np.ascontiguousarray(g, dtype=np.float64)
    k32 = g.astype(np.float32)
    r = g.size // 2
    h, w = plane.shape[:2]
    channels = plane.shape[2] if plane.ndim == 3 else 1
    mode = _border.mode_of_opencv_border(border_type)
    row_idx = _border.pad_indices(h, r, r, mode).astype(np.int64)
    col_idx = _border.pad_indices(w, r, r, mode).astype(np.int64)
    plane = np.ascontiguousarray(plane)
    image2d = plane.reshape(h, w * channels)
    out = np.empty((h, w * channels), dtype=np.uint8)
    rows = max(16 * r, 8, STRIP_BYTES // (4 * w * channels))  # context rows cost at most 2/16 extra
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        top, bottom = max(0, y0 - r), min(h, y1 + r)  # real context rows; OpenCV's border only at the image edges
        approx = cv2.sepFilter2D(plane[top:bottom], cv2.CV_32F, k32, k32, borderType=border_type)
        approx = approx.reshape(bottom - top, w * channels)[y0 - top : y1 - top]
        _round_rows(approx, image2d, channels, g, row_idx, col_idx, 0.0, y0, out[y0:y1])
    return out.reshape(plane.shape)
