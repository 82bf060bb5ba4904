"""Output scaling: signed float filter results into the input's integer bit depth (abs, clip, minmax).

The same numbers as :func:`filterkit.filters.dtypes.to_uint8` (and its uint16 analogue):

* ``abs``: ``|value| * gain``, rounded half to even and saturated (as ``cv2.convertScaleAbs``);
* ``clip``: ``value * gain`` clipped to ``[0, max]``;
* ``minmax``: each image's ``[min, max]`` stretched to ``[0, max]``.
"""

from __future__ import annotations

import numpy as np

from filterkit.filters.dtypes import abs_to_uint8, round_saturate, to_uint8

__all__ = ["scale_into", "fit_format"]


def scale_into(result: np.ndarray, dtype, scale: str, gain: float) -> np.ndarray:
    """Map a signed float filter result into integer ``dtype`` (uint8 or uint16) with ``scale``.

    For float32 results with gain 1, ``abs``/``clip`` are computed in float32 (exact: rounding a
    float32 to an integer is exact in float32), and 8-bit ``abs`` with ``cv2.convertScaleAbs``
    (same rounding, half to even, tested equal).
    """
    dtype = np.dtype(dtype)
    top = float(np.iinfo(dtype).max)
    if result.dtype == np.float32 and gain == 1.0 and scale in ("abs", "clip"):
        if scale == "abs" and dtype == np.uint8:
            return abs_to_uint8(result)
        x = np.abs(result) if scale == "abs" else result.copy()
        np.rint(x, out=x)
        np.clip(x, 0.0, top, out=x)
        return x.astype(dtype)
    if dtype == np.uint8:
        return to_uint8(result, scale=scale, gain=gain)
    x = result.astype(np.float64)
    if scale == "abs":
        np.abs(x, out=x)
        x *= gain
    elif scale == "clip":
        x *= gain
    else:  # minmax
        lo, hi = float(x.min()), float(x.max())
        if hi == lo:
            return np.zeros(x.shape, dtype)
        x -= lo
        x *= top / (hi - lo)
    return round_saturate(x, dtype, overwrite=True)


def fit_format(image: np.ndarray, fmt: str) -> np.ndarray:
    """Reduce 16-bit data to 8 bits for the formats that only hold 8 (JPEG, BMP)."""
    if fmt in ("jpeg", "bmp") and image.dtype == np.uint16:
        return round_saturate(image / 257.0, np.uint8, overwrite=True)
    return image
