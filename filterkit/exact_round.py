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
last pixel.
"""

from __future__ import annotations

import numpy as np

from filterkit import border as _border

__all__ = ["float32_error_bound", "round_uint8_exact"]

_SAFETY = 1.5


def float32_error_bound(taps: int, max_value: float = 255.0) -> float:
    """Largest error of a two-pass float32 smoothing with ``taps`` non-negative weights (sum 1)."""
    return 2.0 * (taps + 2) * 2.0**-24 * max_value * _SAFETY


_kernel_cache: dict = {}


def _compiled():
    """The numba kernel, compiled on first use (cached on disk)."""
    if "round" in _kernel_cache:
        return _kernel_cache["round"]
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
    def fix_near_ties(words, mask, approx, image, channels, g, row_idx, col_idx, cval, out):  # pragma: no cover
        """Recompute ``out`` where ``mask`` (flat bytes; ``words`` its uint64 view) is set."""
        wc = approx.shape[1]
        for i in range(words.shape[0] + 1):
            if i < words.shape[0] and words[i] == 0:
                continue  # 8 pixels, none near a tie
            for idx in range(8 * i, min(8 * i + 8, mask.shape[0])):
                if mask[idx]:
                    y = idx // wc
                    k = idx - y * wc
                    x = k // channels
                    exact = exact_value(image, channels, g, row_idx, col_idx, cval, y, x, k - x * channels)
                    out[y, k] = np.uint8(min(max(np.rint(exact), 0.0), 255.0))

    _kernel_cache["round"] = fix_near_ties
    return fix_near_ties


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
    shape = approx.shape
    approx = np.ascontiguousarray(approx, dtype=np.float32).reshape(h, w * channels)
    import cv2

    bound = float32_error_bound(g.size)
    # Rounding v - bound and v + bound (half to even, saturated) disagrees exactly where a .5 tie lies
    # within the error bound of v; elsewhere both equal the rounded value.  Two SIMD OpenCV passes and
    # one compare (in place: fresh buffers cost page faults) find those pixels, numba recomputes them.
    out = cv2.convertScaleAbs(approx, beta=-bound)  # |v - bound|: values are >= 0 here
    near_tie = cv2.convertScaleAbs(approx, beta=bound)
    cv2.compare(out, near_tie, cv2.CMP_NE, dst=near_tie)
    near_tie = near_tie.reshape(-1)
    words = near_tie[: near_tie.size // 8 * 8].view(np.uint64)
    _compiled()(words, near_tie, approx, np.ascontiguousarray(image).reshape(h, w * channels), channels, g,
                row_idx, col_idx, float(cval), out)
    return out.reshape(shape)
