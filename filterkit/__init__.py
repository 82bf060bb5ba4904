"""filterkit: fixed image filters, learnable conv layers and CNN applications."""

from __future__ import annotations

__version__ = "0.1.0"

# numpy filters (filterkit.filters.ndimage), imported on first use so `import filterkit` stays light;
# the names are the op registry's (filterkit.filters.ops) plus correlate/convolve and the aliases
_NDIMAGE_EXPORTS = ("correlate", "convolve", "mean", "box", "gaussian", "median", "sobel", "scharr", "prewitt", "laplace",
                    "laplacian")

__all__ = ["__version__", *_NDIMAGE_EXPORTS]


def __getattr__(name: str):
    if name in _NDIMAGE_EXPORTS:
        from filterkit.filters import ndimage

        return getattr(ndimage, name)
    raise AttributeError(f"module 'filterkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NDIMAGE_EXPORTS))
