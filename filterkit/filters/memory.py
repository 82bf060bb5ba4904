"""Process memory settings for repeated work on large arrays (numpy, OpenCV and torch alike)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Callable

import numpy as np

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
_OLD_GLIBC_MMAP_CAP = 32 * 2**20  # HEAP_MAX_SIZE / 2 on 64-bit: the most that glibc < 2.35 accepts


def keep_freed_memory(limit_bytes: int = 2**30) -> bool:
    """Let glibc's malloc reuse freed large blocks instead of unmapping them (opt-in, process-wide).

    By default glibc serves each block over its mmap threshold (128 KiB, rising by itself
    to at most 32 MiB) with a fresh ``mmap`` and ``munmap``s it on free, so a large array
    or CPU tensor (a 2048x2048 float32 image is 16 MiB) is often page-faulted in again on every
    call.  This raises ``M_MMAP_THRESHOLD``
    and ``M_TRIM_THRESHOLD`` to ``limit_bytes`` (``mallopt``, through ctypes): blocks up
    to that size come from the heap and freed memory stays there for the next call.

    What it saves (page faults, time per call): benchmarks/README.md, "Torch backend"
    (``python benchmarks/torch_filters.py --keep-freed-memory``).

    Trade-off: the process keeps freed memory (its resident size stays near its peak
    instead of shrinking after each call), and it affects every allocation of the process,
    not only filterkit's.  It is never called at import.

    Cap: blocks over ``limit_bytes`` still use ``mmap``.  glibc 2.36 (tested) accepts and
    applies any ``int`` value, 1 GiB included; older glibc's ``malloc.c`` rejects mmap
    thresholds over ``HEAP_MAX_SIZE / 2`` (32 MiB on 64-bit), and then 32 MiB is used.  The
    alternative is the environment, set before the process starts:
    ``MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824``; on glibc 2.36
    it is not capped either (tested: a 200 MiB block came from the heap); older glibc
    applies it through the same function, so with the same cap.

    Args:
        limit_bytes: new thresholds in bytes, 1 .. 2**31 - 1 (``mallopt`` takes an ``int``).
    Returns:
        True if both thresholds were set; False where there is no glibc ``mallopt``
        (macOS, Windows, musl) or it refused — never raises for that.
    Raises:
        ValueError: ``limit_bytes`` is not an integer in 1 .. 2**31 - 1.
    """
    if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, (int, np.integer)) or not 0 < limit_bytes < 2**31:
        raise ValueError(f"limit_bytes must be an integer in 1 .. 2**31 - 1, got {limit_bytes!r}")
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    try:
        mmap_ok = mallopt(_M_MMAP_THRESHOLD, int(limit_bytes)) == 1
        if not mmap_ok and limit_bytes > _OLD_GLIBC_MMAP_CAP:
            mmap_ok = mallopt(_M_MMAP_THRESHOLD, _OLD_GLIBC_MMAP_CAP) == 1
        return mmap_ok and mallopt(_M_TRIM_THRESHOLD, int(limit_bytes)) == 1
    except (OSError, ctypes.ArgumentError):
        return False


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``int mallopt(int, int)``, or None on another C library or platform."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallopt
    except (OSError, AttributeError, ValueError):  # no confstr name, no libc, no mallopt
        return None
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return fn
