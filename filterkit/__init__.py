"""filterkit: fixed image filters, learnable conv layers and CNN applications."""

from __future__ import annotations

__version__ = "0.1.0"

# numpy filters (filterkit.filters.ndimage), imported on first use so `import filterkit` stays light
_NDIMAGE_EXPORTS = ("correlate", "convolve", "mean", "box", "gaussian", "median", "sobel", "scharr", "prewitt", "laplace")


def __getattr__(name: str):
    if name in _NDIMAGE_EXPORTS:
        from filterkit.filters import ndimage

        return getattr(ndimage, name)
    raise AttributeError(f"module 'filterkit' has no attribute {name!r}")
