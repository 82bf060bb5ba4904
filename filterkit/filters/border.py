"""The one border-mode vocabulary of filterkit and its exact mapping to each backend.

Five modes, shown for a row ``a b c d`` padded by 3 on each side::

    reflect   c b a | a b c d | d c b      edge sample repeated (half-sample symmetric)
    mirror    d c b | a b c d | c b a      edge sample not repeated (reflect-101)
    nearest   a a a | a b c d | d d d      replicate the edge sample
    constant  k k k | a b c d | k k k      a constant ``cval``
    wrap      b c d | a b c d | a b c      periodic

Names in filterkit are scipy.ndimage's.  Aliases from other libraries are
accepted: ``symmetric`` (numpy) = reflect; ``reflect101``/``reflect-101``/
``reflect_101`` (OpenCV) = mirror; ``replicate``/``edge`` = nearest;
``circular``/``periodic``/``grid-wrap`` = wrap.  Beware that numpy's and
torch's ``"reflect"`` is filterkit's ``mirror``.

Pads wider than the image are handled by repeating the rule (as scipy does);
:func:`pad_indices` gives the source index of every padded sample and is what
the torch backend uses, so every mode works for any pad width.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "BorderMode",
    "MODES",
    "DEFAULT_MODE",
    "normalize_mode",
    "scipy_mode",
    "opencv_border",
    "numpy_pad_mode",
    "torch_pad_mode",
    "pad_indices",
    "pad_numpy",
    "rows_and_pad_indices",
]

BorderMode = Literal["reflect", "mirror", "nearest", "constant", "wrap"]
MODES: tuple[str, ...] = ("reflect", "mirror", "nearest", "constant", "wrap")
DEFAULT_MODE: BorderMode = "reflect"

_ALIASES = {
    "reflect": "reflect",
    "symmetric": "reflect",
    "half-symmetric": "reflect",
    "mirror": "mirror",
    "reflect101": "mirror",
    "reflect-101": "mirror",
    "reflect_101": "mirror",
    "nearest": "nearest",
    "replicate": "nearest",
    "edge": "nearest",
    "constant": "constant",
    "zeros": "constant",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "circular": "wrap",
    "periodic": "wrap",
}


def normalize_mode(mode: str) -> BorderMode:
    """filterkit's canonical name for ``mode`` (accepts the aliases above)."""
    key = str(mode).lower().strip()
    if key not in _ALIASES:
        raise ValueError(
            f"unknown border mode {mode!r}; use one of {', '.join(MODES)} "
            f"(aliases: {', '.join(sorted(set(_ALIASES) - set(MODES)))})"
        )
    return _ALIASES[key]  # type: ignore[return-value]


def scipy_mode(mode: str) -> str:
    """The ``mode=`` argument of scipy.ndimage filters."""
    return {"reflect": "reflect", "mirror": "mirror", "nearest": "nearest", "constant": "constant", "wrap": "wrap"}[
        normalize_mode(mode)
    ]


def opencv_border(mode: str) -> int:
    """The ``borderType`` constant of OpenCV (``cv2.BORDER_*``).

    Note that not every OpenCV function accepts every type (``BORDER_WRAP`` is
    refused by most filters); the numpy dispatcher falls back or pads explicitly.
    """
    import cv2

    return {
        "reflect": cv2.BORDER_REFLECT,
        "mirror": cv2.BORDER_REFLECT_101,
        "nearest": cv2.BORDER_REPLICATE,
        "constant": cv2.BORDER_CONSTANT,
        "wrap": cv2.BORDER_WRAP,
    }[normalize_mode(mode)]


def mode_of_opencv_border(border_type: int) -> str:
    """The filterkit mode of an OpenCV ``borderType`` (the inverse of :func:`opencv_border`)."""
    for mode in ("reflect", "mirror", "nearest", "constant", "wrap"):
        if opencv_border(mode) == border_type:
            return mode
    raise ValueError(f"OpenCV borderType {border_type!r} has no filterkit mode")


def numpy_pad_mode(mode: str) -> str:
    """The ``mode=`` argument of ``numpy.pad``."""
    return {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "constant": "constant", "wrap": "wrap"}[
        normalize_mode(mode)
    ]


def torch_pad_mode(mode: str) -> str | None:
    """The ``mode=`` of ``torch.nn.functional.pad``, or None where torch has none (reflect).

    torch's reflect/circular also refuse pads wider than the input; use
    :func:`pad_indices` for a mode-exact gather in those cases.
    """
    return {"reflect": None, "mirror": "reflect", "nearest": "replicate", "constant": "constant", "wrap": "circular"}[
        normalize_mode(mode)
    ]


def pad_indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index in ``range(n)`` for each of the ``before + n + after`` padded samples.

    For ``constant`` the padded positions get index ``-1`` (fill with cval).
    Works for any pad width, repeating the rule like scipy.ndimage.
    """
    mode = normalize_mode(mode)
    if n < 1:
        raise ValueError("cannot pad an empty axis")
    i = np.arange(-before, n + after)
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":
        period = 2 * n
        j = np.mod(i, period)
        return np.where(j < n, j, period - 1 - j)
    # mirror (reflect-101)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * n - 2
    j = np.mod(i, period)
    return np.where(j < n, j, period - j)


def rows_and_pad_indices(plane: np.ndarray, radius: int, mode: str) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """What the numba row passes take: ``(rows, channels, row_idx, col_idx)``.

    ``rows``: ``plane`` ``(H, W[, C])`` as C-contiguous ``(H, W * C)``; ``row_idx``/``col_idx``:
    int64 :func:`pad_indices` of both axes for a window of ``radius`` pixels (-1: ``cval``).
    """
    h, w = plane.shape[:2]
    channels = plane.shape[2] if plane.ndim == 3 else 1
    rows = np.ascontiguousarray(plane).reshape(h, w * channels)
    row_idx = pad_indices(h, radius, radius, mode).astype(np.int64)
    col_idx = pad_indices(w, radius, radius, mode).astype(np.int64)
    return rows, channels, row_idx, col_idx


def pad_numpy(image: np.ndarray, pad: tuple[tuple[int, int], ...], mode: str, cval: float = 0.0) -> np.ndarray:
    """``numpy.pad`` with filterkit's mode names, exact for any pad width."""
    mode = normalize_mode(mode)
    if mode == "constant":
        return np.pad(image, pad, mode="constant", constant_values=cval)
    out = image
    for axis, (b, a) in enumerate(pad):
        if b or a:
            out = np.take(out, pad_indices(out.shape[axis], b, a, mode), axis=axis)
    return out
