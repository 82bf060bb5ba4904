"""Blockwise filtering of images larger than memory, on dask arrays.

Each function here takes a ``dask.array.Array`` (or anything
``dask.array.asarray`` accepts, e.g. a ``numpy.memmap`` of a TIFF) and
returns a lazy dask array that equals, to the last pixel, what the
:mod:`filterkit.filters.ndimage` function of the same name returns for the whole
image in memory.  Same signatures, shapes (grey ``(H, W)``, colour with
``channel_axis``, batch axes in front), dtypes and border modes.

How the blocks stay exact
    Every chunk is filtered together with a halo of ``radius`` pixels from its
    neighbours (``dask.array.map_overlap``) and the halo is cut off again.
    The radius is the kernel's reach (:func:`radius`): box ``size // 2``;
    Gaussian ``int(truncate * sigma + 0.5)`` (or ``size // 2``); median
    ``size // 2`` (even sizes reach one pixel less on the far side); Sobel 1
    (2 for 5x5); Scharr, Prewitt, Laplacian 1; correlate ``kernel.shape // 2``.
    The image border is never dask's ``boundary`` (its modes differ from
    filterkit's): chunks on the image edge get no halo on that side, so the
    filter's own border rule applies at the true image edge.  That is exact for
    reflect, mirror, nearest and constant as long as every chunk is at least
    ``radius`` pixels long (chunks are merged where needed).  ``wrap`` needs
    the far side of the image: the array is first padded with
    :func:`filterkit.filters.border.pad_indices` and the pad is cropped at the end.

Chunks along batch and channel axes need no halo.  Memory per task is about
one chunk plus its halo, times a few for the filter's work arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters import ops as _ops

__all__ = [
    "radius",
    "apply",
    "correlate",
    "convolve",
    "mean",
    "box",
    "gaussian",
    "median",
    "sobel",
    "scharr",
    "prewitt",
    "laplace",
    "laplacian",
]

_DERIVATIVES = _ops.GRADIENTS
_SMOOTHING = _ops.SMOOTHING


def radius(op: str, **options: Any) -> tuple[int, int]:
    """The halo ``(rows, columns)`` in pixels that ``op`` (a :mod:`filterkit.filters.ndimage` name) needs.

    options: the op's keyword arguments (``size``, ``sigma``, ``truncate``, ``kernel``).
    """
    if op in _ops.ALIASES and op in __all__:  # box, laplacian: the functions of that name here
        op = _ops.resolve(op).name
    if op == "mean":
        r = int(options.get("size", 3)) // 2
        return r, r
    if op == "median":
        r = int(options.get("size", 3)) // 2  # window -(size//2) .. (size-1)//2
        return r, r
    if op == "gaussian":
        g = _kernels.gaussian_1d(options.get("sigma"), options.get("size"), options.get("truncate", 4.0))
        return len(g) // 2, len(g) // 2
    if op in _DERIVATIVES:
        r = int(options.get("size", 3)) // 2
        return r, r
    if op == "laplace":
        return 1, 1
    if op in ("correlate", "convolve"):
        k = np.asarray(options["kernel"])
        if k.ndim != 2:
            raise ValueError(f"kernel must be 2-D, got shape {k.shape}")
        return k.shape[0] // 2, k.shape[1] // 2
    raise ValueError(f"unknown op {op!r}; use one of {', '.join(__all__[2:])}")


def _spatial_axes(ndim: int, channel_axis: int | None) -> tuple[int, int]:
    """The two spatial axes: the last two that are not the channel axis (as filterkit.filters.ndimage)."""
    axes = [a for a in range(ndim) if channel_axis is None or a != channel_axis % ndim]
    if len(axes) < 2:
        raise ValueError(f"an image needs 2 spatial dimensions besides the channel axis, got {ndim} dimensions")
    return axes[-2], axes[-1]


def _merge_small_chunks(chunks: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """Merge neighbouring chunks until each is at least ``minimum`` long (or the axis is one chunk)."""
    out: list[int] = []
    for c in chunks:
        if out and out[-1] < minimum:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < minimum:
        out[-2] += out.pop()
    return tuple(out)


def _out_dtype(op: str, dtype: np.dtype) -> np.dtype:
    from filterkit.filters.dtypes import float_dtype_for

    if op in _ops.ALIASES:
        op = _ops.resolve(op).name
    if op in _SMOOTHING:
        return np.dtype(dtype)
    return np.dtype(float_dtype_for(np.dtype(dtype)))


def _filter_block(block: np.ndarray, op: str, options: dict, channel_axis: int | None) -> np.ndarray:
    from filterkit.filters import ndimage

    return getattr(ndimage, op)(block, **options, channel_axis=channel_axis)


def apply(image, op: str, *, channel_axis: int | None = None, **options: Any):
    """Filter a dask array with :mod:`filterkit.filters.ndimage`'s ``op`` blockwise; returns a lazy dask array.

    image: dask array (or array-like) shaped as the ndimage functions take it.
    op: ``"mean"``, ``"box"``, ``"gaussian"``, ``"median"``, ``"sobel"``,
    ``"scharr"``, ``"prewitt"``, ``"laplace"``, ``"correlate"`` or ``"convolve"``.
    options: the op's keyword arguments, including ``mode``, ``cval`` and ``backend``.
    """
    import dask.array as da

    from filterkit.filters.dtypes import check_dtype

    x = da.asarray(image)
    check_dtype(x.dtype)
    if x.size == 0:
        raise ValueError(f"empty image (shape {x.shape})")
    if channel_axis is not None and not -x.ndim <= channel_axis < x.ndim:
        raise ValueError(f"channel_axis={channel_axis} is out of range for an image of shape {x.shape}")
    op = "mean" if op == "box" else op
    mode = _border.normalize_mode(options.get("mode", _border.DEFAULT_MODE))
    options = {**options, "mode": mode}
    ry, rx = radius(op, **options)
    ay, ax = _spatial_axes(x.ndim, channel_axis)
    # fail on bad options now, on a tiny block, not deep inside the computation
    probe_shape = [1] * x.ndim
    probe_shape[ay], probe_shape[ax] = 2, 2
    if channel_axis is not None:
        probe_shape[channel_axis] = x.shape[channel_axis]
    _filter_block(np.zeros(probe_shape, x.dtype), op, options, channel_axis)

    pads = {ay: ry, ax: rx}
    if mode == "wrap":  # the far side of the image is needed: pad explicitly, crop at the end
        for axis, r in pads.items():
            if r:
                x = da.take(x, _border.pad_indices(x.shape[axis], r, r, "wrap"), axis=axis)
    chunks = list(x.chunks)
    for axis, r in pads.items():
        chunks[axis] = _merge_small_chunks(x.chunks[axis], max(r, 1))
    x = x.rechunk(tuple(chunks))
    # an axis held in one chunk needs no halo (and dask refuses a halo longer than the axis)
    depth = {a: pads.get(a, 0) if len(x.chunks[a]) > 1 else 0 for a in range(x.ndim)}
    out = da.map_overlap(
        _filter_block,
        x,
        depth=depth,
        boundary="none",
        trim=True,
        dtype=_out_dtype(op, x.dtype),
        meta=np.empty((0,) * x.ndim, _out_dtype(op, x.dtype)),
        op=op,
        options=options,
        channel_axis=channel_axis,
    )
    if mode == "wrap":
        crop = tuple(slice(pads[a], out.shape[a] - pads[a]) if pads.get(a) else slice(None) for a in range(out.ndim))
        out = out[crop]
    return out


def _blockwise(name: str):
    """The dask twin of ``filterkit.filters.ndimage.<name>``: same signature, lazy dask array out."""
    import functools
    import inspect

    from filterkit.filters import ndimage

    original = getattr(ndimage, name)
    signature = inspect.signature(original)

    @functools.wraps(original)
    def blockwise(image, *args: Any, **kwargs: Any):
        bound = signature.bind(image, *args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        del options["image"]
        return apply(image, name, **options)

    blockwise.__doc__ = (
        f"Blockwise :func:`filterkit.filters.ndimage.{name}` on a dask array; returns a lazy dask array.\n\n"
        f"Arguments, dtypes and border modes as there (see the module notes on exactness)."
    )
    blockwise.__module__ = __name__
    blockwise.__signature__ = signature.replace(return_annotation="dask.array.Array")  # type: ignore[attr-defined]
    return blockwise


correlate = _blockwise("correlate")
convolve = _blockwise("convolve")
mean = _blockwise("mean")
box = mean
gaussian = _blockwise("gaussian")
median = _blockwise("median")
sobel = _blockwise("sobel")
scharr = _blockwise("scharr")
prewitt = _blockwise("prewitt")
laplace = _blockwise("laplace")
laplacian = laplace
