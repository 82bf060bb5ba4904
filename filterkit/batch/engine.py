"""Filtering files: one image array (:func:`filter_array`), one file (:func:`process_file`), and a
list of files on local worker processes (:func:`run_local`, through :func:`filterkit.batch.pool.fan_out`).

Colour images are filtered per channel in OpenCV's BGR order (channels are independent, so no
swaps); an alpha channel is copied unchanged.  Outputs are written atomically
(:func:`filterkit.io.atomic_write_bytes`): an interrupted run leaves no half-written image, at worst
a hidden ``.NAME.*.part.EXT`` temporary that the next run removes
(:func:`filterkit.batch.plan.remove_stale_outputs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from filterkit.batch.pool import fan_out, usable_cores
from filterkit.batch.scaling import fit_format, scale_into
from filterkit.batch.spec import FilterSpec, is_smoothing, op_call
from filterkit.errors import show_path
from filterkit.filters.ops import GRADIENTS
from filterkit.io import ImageError, atomic_write_bytes, encode_image, image_format, read_image

__all__ = ["filter_array", "process_file", "try_spec", "default_jobs", "run_local"]


def _numpy_filter(spec: FilterSpec, image: np.ndarray) -> np.ndarray:
    """Run ``spec.op`` with :mod:`filterkit.filters.ndimage` on a grey (H, W) or colour (H, W, C) array."""
    from filterkit.filters import ndimage

    name, kw = op_call(spec)
    channel_axis = -1 if image.ndim == 3 else None
    if name in GRADIENTS and _abs_uint8_output(spec, image.dtype):
        kw["as_uint8"] = True  # the 8-bit result straight away (no float image for the 3x3 magnitude)
    fn = getattr(ndimage, name)
    return fn(image, **kw, mode=spec.mode, cval=spec.cval, channel_axis=channel_axis, backend=spec.backend)


def _abs_uint8_output(spec: FilterSpec, dtype) -> bool:
    """True if the derivative of a ``dtype`` image is saved as ``to_uint8(result, "abs")`` (the default)."""
    return not spec.float_output and spec.scale == "abs" and spec.gain == 1.0 and np.dtype(dtype) == np.uint8


def _torch_filter(spec: FilterSpec, image: np.ndarray) -> np.ndarray:
    """Run ``spec.op`` with :mod:`filterkit.filters.tensor` on ``spec.device``; same dtypes as the numpy API."""
    import torch  # the torch backend only

    from filterkit.filters import tensor

    name, kw = op_call(spec)
    x = torch.from_numpy(np.ascontiguousarray(image))  # uint8, uint16 and floats are tensor dtypes
    x = (x[None, None] if image.ndim == 2 else x.permute(2, 0, 1)[None]).to(spec.device)
    y = getattr(tensor, name)(x, **kw, mode=spec.mode, cval=spec.cval)
    y = y[0, 0] if image.ndim == 2 else y[0].permute(1, 2, 0)
    out = y.to("cpu").numpy()
    return out.astype(image.dtype) if is_smoothing(spec.op) else out


def filter_array(image: np.ndarray, spec: FilterSpec) -> np.ndarray:
    """The output pixels for one image array (what the batch writes, before encoding).

    Colour channels are filtered; an alpha channel (the last of 2 or 4) is copied unchanged.  The
    result has the input's dtype (derivatives mapped with ``spec.scale``) or float32 when
    ``spec.float_output``.
    """
    alpha = None
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image, alpha = image[..., :-1], image[..., -1]
        if image.shape[2] == 1:
            image = image[..., 0]
    run = _torch_filter if spec.backend == "torch" else _numpy_filter
    out = run(spec, np.ascontiguousarray(image))
    if spec.float_output:
        out = out.astype(np.float32, copy=False)
    elif out.dtype != image.dtype:  # a derivative of an integer image: float32
        out = scale_into(out, image.dtype, spec.scale, spec.gain)
    if alpha is not None:
        out = np.dstack([out, alpha.astype(out.dtype, copy=False)])
    return out


def process_file(src: Path, dst: Path, spec: FilterSpec) -> tuple[str, str | None]:
    """Read, filter, write one file.  Returns ``("done", None)`` or ``("failed", reason line)``."""
    try:
        image = read_image(src, max_pixels=spec.max_pixels, bgr=True)
        out = filter_array(image, spec)
        fmt = spec.out_format or image_format(dst)
        data = encode_image(fit_format(out, fmt), fmt, quality=spec.quality, path=dst, bgr=True)
        atomic_write_bytes(dst, data)
    except ImageError as exc:
        return "failed", str(exc)
    except MemoryError:
        return "failed", f"{show_path(src)}: out of memory"
    except OSError as exc:
        return "failed", f"{show_path(src)}: cannot write {show_path(dst)} ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return "failed", f"{show_path(src)}: {type(exc).__name__}: {exc}"
    return "done", None


def try_spec(spec: FilterSpec) -> None:
    """Run the filter once on a tiny image, so that a bad option combination fails before the batch.

    Raises :class:`ValueError` with the filter's own reason.
    """
    filter_array(np.zeros((8, 8, 3), np.uint8), spec)


def default_jobs(n_files: int, backend: str) -> int:
    """Worker processes when --jobs is not given: 1 below 16 files (or for torch), else cores or files / 8."""
    if backend == "torch" or n_files < 16:
        return 1
    return max(1, min(usable_cores(), n_files // 8))


_WORKER_SPEC: FilterSpec | None = None


def _init_worker(spec: FilterSpec) -> None:
    """Per worker process: remember the spec, one OpenCV thread per process, malloc keeps freed blocks.

    Every image of a folder allocates the same few megabyte-sized planes; keeping freed blocks
    (:func:`filterkit.filters.memory.keep_freed_memory`) saves a page fault storm per image, at the
    price of the process keeping its peak memory until it exits.
    """
    global _WORKER_SPEC
    import cv2

    from filterkit.filters.memory import keep_freed_memory

    cv2.setNumThreads(1)
    keep_freed_memory()
    _WORKER_SPEC = spec


def _work(task: tuple[Path, Path]) -> tuple[str, str | None]:
    assert _WORKER_SPEC is not None
    return process_file(task[0], task[1], _WORKER_SPEC)


def run_local(todo: Sequence[tuple[Path, Path]], spec: FilterSpec, jobs: int) -> Iterator[tuple[str, str | None]]:
    """Filter ``(source, destination)`` pairs with ``jobs`` processes; yield ``(status, message)`` as they finish.

    Workers are forked (they inherit the imported filters; spawned where fork is missing).
    """
    jobs = max(1, min(jobs, len(todo)))
    chunk = max(1, min(32, len(todo) // (jobs * 8)))
    for _, result in fan_out(_work, todo, jobs, initializer=_init_worker, initargs=(spec,), start="fork",
                             chunksize=chunk):
        yield result
