"""dtype rules of filterkit's numpy filters: which dtype comes out, and how it is rounded.

Supported input dtypes: ``uint8``, ``uint16``, ``float32``, ``float64``.
Anything else (``bool``, signed integers, ``float16``, complex) is refused
with a ``ValueError`` that says which ``astype`` to use.

**Smoothing filters** (``mean``/``box``, ``gaussian``, ``median``) return the
input dtype.  For integer images the result is the exact (float64) filter
value **rounded half to even and saturated** to the dtype's range.  scipy.ndimage
instead truncates after each separable pass (a bias of about -1 grey level for
a 2-D Gaussian on uint8), and OpenCV's uint8 ``GaussianBlur`` uses fixed-point
weights (off by one on 6-18 % of pixels for sigma 0.8-3); filterkit does neither: its uint8
``gaussian`` sums in float32 and recomputes in float64 the pixels near a ``.5`` tie
(:mod:`filterkit.filters._backends.exact_round`), so every backend is exact.

**Derivative filters** (``sobel``, ``scharr``, ``prewitt``, ``laplace``) and
``correlate``/``convolve`` with any kernel return floats: ``float32`` for
``uint8``/``uint16``/``float32`` input, ``float64`` for ``float64`` input.  They
never wrap around (scipy's uint8 Sobel does) and never clip.  Correlation
always returns floats, even for an averaging kernel, so the output dtype never
depends on kernel *values*; use :func:`round_saturate` (or the named smoothing
filters) to come back to the input's integer dtype.

To save a derivative result as an 8-bit image use :func:`to_uint8`:

* ``scale="abs"``: ``|x| * gain`` rounded and saturated at 255 (as
  ``cv2.convertScaleAbs``); edges of both signs are bright, 0 is black.
* ``scale="clip"``: ``x * gain`` rounded and clipped to [0, 255]; negative
  responses become black.
* ``scale="minmax"``: maps ``[min, max]`` of the result linearly onto
  [0, 255] (as ``cv2.normalize(NORM_MINMAX)``); a constant result gives 0.

>>> import numpy as np
>>> round_saturate(np.array([-3.0, 0.5, 1.5, 2.5, 254.5, 300.0]), np.uint8)
array([  0,   0,   2,   2, 254, 255], dtype=uint8)
>>> to_uint8(np.array([-300.0, -20.4, 0.0, 20.6]), scale="abs")
array([255,  20,   0,  21], dtype=uint8)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "SUPPORTED_DTYPES",
    "check_dtype",
    "float_dtype_for",
    "is_integer_dtype",
    "abs_to_uint8",
    "round_saturate",
    "to_uint8",
]

SUPPORTED_DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(t) for t in ("uint8", "uint16", "float32", "float64"))

_ADVICE = {
    "b": "convert with image.astype(np.uint8)",
    "i": "convert with image.astype(np.float32) (or np.float64)",
    "f": "convert with image.astype(np.float32)",
    "u": "convert with image.astype(np.float64)",
}


def check_dtype(dtype: np.dtype | type) -> np.dtype:
    """``dtype`` as a numpy dtype if filterkit filters accept it, else ``ValueError``."""
    dt = np.dtype(dtype)
    if dt not in SUPPORTED_DTYPES:
        advice = _ADVICE.get(dt.kind, "convert it to one of those first")
        raise ValueError(
            f"unsupported image dtype {dt}; filterkit filters take uint8, uint16, float32 or float64: {advice}"
        )
    return dt


def is_integer_dtype(dtype: np.dtype | type) -> bool:
    """True for the unsigned integer dtypes filterkit accepts (uint8, uint16)."""
    return np.dtype(dtype).kind == "u"


def float_dtype_for(dtype: np.dtype | type) -> np.dtype:
    """Float dtype of a derivative result: float64 for float64 input, float32 otherwise."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def round_saturate(values: np.ndarray, dtype: np.dtype | type, *, overwrite: bool = False) -> np.ndarray:
    """Cast real ``values`` to ``dtype``: integers are rounded half to even and saturated.

    Float targets are a plain cast.  With ``overwrite=True`` a float ``values``
    is used as scratch space (saves one copy of the image).
    """
    dt = np.dtype(dtype)
    values = np.asarray(values)
    if dt.kind == "f":
        return values.astype(dt, copy=False)
    info = np.iinfo(dt)
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
        overwrite = True
    scratch = np.rint(values, out=values if overwrite else None)
    np.clip(scratch, info.min, info.max, out=scratch)
    return scratch.astype(dt)


def to_uint8(
    result: np.ndarray,
    scale: Literal["abs", "clip", "minmax"] = "abs",
    *,
    gain: float = 1.0,
) -> np.ndarray:
    """An 8-bit image from a (signed, float) filter result, for saving or display.

    Parameters
    ----------
    result : ndarray
        Any real array, e.g. the float32 output of :func:`filterkit.filters.ndimage.sobel`.
    scale : {"abs", "clip", "minmax"}
        ``"abs"``: ``round(|result| * gain)`` saturated at 255 (as
        ``cv2.convertScaleAbs``).  ``"clip"``: ``round(result * gain)``
        clipped to [0, 255].  ``"minmax"``: ``[min, max]`` mapped linearly
        onto [0, 255] (``gain`` ignored); a constant array gives zeros.
        NaN is refused.
    gain : float
        Multiplier applied before rounding for ``"abs"`` and ``"clip"``.

    Returns
    -------
    ndarray of uint8, same shape as ``result``.

    Examples
    --------
    >>> import numpy as np
    >>> to_uint8(np.array([-4.0, 0.0, 2.0, 4.0]), scale="minmax")
    array([  0, 128, 191, 255], dtype=uint8)
    >>> to_uint8(np.array([-4.0, 0.0, 2.0]), scale="clip", gain=10)
    array([ 0,  0, 20], dtype=uint8)
    """
    x = np.asarray(result)
    if x.dtype.kind not in "uif":
        raise ValueError(f"to_uint8 needs a real-valued array, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.size and np.isnan(x).any():
        raise ValueError("to_uint8: the result contains NaN; there is no 8-bit value for it")
    if scale == "abs":
        np.abs(x, out=x)
        x *= gain
    elif scale == "clip":
        x *= gain
    elif scale == "minmax":
        if x.size == 0:
            return np.zeros(x.shape, np.uint8)
        lo, hi = float(x.min()), float(x.max())
        if hi == lo:
            return np.zeros(x.shape, np.uint8)
        x -= lo
        x *= 255.0 / (hi - lo)
    else:
        raise ValueError(f"unknown scale {scale!r}; use 'abs', 'clip' or 'minmax'")
    return round_saturate(x, np.uint8, overwrite=True)


def abs_to_uint8(result: np.ndarray) -> np.ndarray:
    """:func:`to_uint8` with ``scale="abs"``; float32 in one ``cv2.convertScaleAbs`` pass.

    Same numbers (``|value|`` rounded half to even, saturated at 255), faster than the
    float64 route, but a float32 NaN gives 0 instead of an error.
    """
    if result.dtype == np.float32:
        import cv2

        flat = result.reshape(result.shape[0], -1) if result.ndim > 1 else result[None]
        return cv2.convertScaleAbs(flat).reshape(result.shape)
    return to_uint8(result, "abs")
