# Earns its place: benchmarks/README.md, "Median" (cases medianBlur lacks, 21-46x scipy.ndimage, identical)
"""Exact 2-D median filter, equal to ``scipy.ndimage.median_filter``, many times faster.

Meant for the cases OpenCV's ``medianBlur`` cannot do (float32/uint16 windows of 7 and
more, float64, int16, even sizes, every border mode).  Two exact algorithms, both
compiled with numba and run on horizontal strips of the image (``threads`` strips at a
time; numba releases the GIL):

``network`` (default for small windows: up to 8x8 for float64, 10x10 for float32,
12x12 for 16-bit samples)
    A separable selection network: every window column is sorted once (Batcher's
    odd-even merge sort on ``size`` wires, shared by the ``size`` windows holding the
    column), then the sorted columns are merged by the upper levels of Batcher's network
    on ``size**2`` wires, pruned to the comparators the median depends on.  Applied to
    row chunks at once, so the compiler vectorises every compare-exchange.
``histogram`` (default for larger windows)
    Local rank transform + sliding histogram (Huang's running median with a two-level
    histogram).  Each tile of output pixels takes the padded input region it needs,
    sorts it once and replaces every sample by its rank in that region (unique integers
    in ``[0, region size)``); the window then slides over the tile in a snake path,
    adding and removing ``size`` ranks per step.  Ranks are unique, so the histogram is a
    bitset of 64-bit words plus a count per word (the two levels); the word holding the
    median is tracked from pixel to pixel and the median bit found inside it.  The rank
    maps back to the sample, so the result is one of the input values, exactly.  The
    region is sorted by an LSD radix sort of order-preserving integer keys.

Conventions that make the result scipy's (bit for bit, but for the sign of a zero median):

* the window of an even ``size`` spans offsets ``-(size // 2) .. size - 1 - size // 2``
  around the output pixel (scipy's origin 0);
* ``even="upper"`` takes rank ``size**2 // 2`` (0-based) of the window, which is what
  scipy returns; ``even="lower"`` takes rank ``(size**2 - 1) // 2``; both are the
  same for odd sizes;
* ``cval`` is converted to the image dtype first (C cast: round-to-nearest for floats,
  truncation toward zero for integers), as scipy does; an integer image refuses a
  ``cval`` outside its dtype's range (scipy's result is undefined there);
* ``-0.0`` and ``+0.0`` compare equal, and which one scipy returns for a zero median
  depends on the order its quickselect visits the window; here a zero median may carry
  the other sign (the values are equal: ``==`` holds everywhere).

NaN: scipy's median of a window holding NaN depends on the order of comparisons and
is not meaningful, so :func:`median_filter` raises ``ValueError`` for NaN in the image
(or a NaN ``cval`` with ``mode="constant"``).  ``inf`` and ``-inf`` are ordinary values.

Memory: the output plus, per thread, one padded strip of at most ``128 + size - 1``
rows with about 17 bytes of keys and indices per sample, and tile work arrays of a
few hundred kB (benchmarks/README.md has the peaks benchmarks/median.py measured).

The numba functions are cached on disk (``cache=True``): the first call per dtype
compiles for a few seconds, later processes load them in well under a second.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from filterkit.filters import border
from filterkit.filters._backends.dispatch import Decline

__all__ = ["median_filter", "median_planes", "selection_network", "default_method", "SUPPORTED_DTYPES", "METHODS"]

SUPPORTED_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.float32, np.float64)
)
"""Dtypes whose values are exact in float64 (scipy ranks in float64, so wider integers differ)."""

METHODS: tuple[str, ...] = ("auto", "network", "histogram")

_NETWORK_MAX_SIZE = {1: 13, 2: 12, 4: 10, 8: 8}
"""Largest window side the selection network is used for by default, per itemsize.

The crossover with the histogram method (benchmarks/median.py): the network's cost
grows with ``size**2 * log(size)**2`` and with the sample width (fewer lanes per
vector), the histogram's only slowly with ``size``.
"""

_NETWORK_CHUNK = 256
"""Output pixels per row chunk of the selection network (keeps the wires in L1/L2)."""


def default_method(size: int, dtype: np.dtype | type = np.float32) -> str:
    """The algorithm ``method="auto"`` picks for a ``size x size`` window on ``dtype`` samples."""
    return "network" if size <= _NETWORK_MAX_SIZE[np.dtype(dtype).itemsize] else "histogram"


def _strip_rows(size: int, method: str) -> int:
    """Output rows per strip (the tile height of the histogram method)."""
    if method == "network":
        return 32
    return _tile_cols(size)


def _tile_cols(size: int) -> int:
    """Output columns per tile of the histogram method (about 6 windows wide: benchmarks/median.py)."""
    return int(min(128, max(32, 6 * size)))


# ----------------------------------------------------------------------------- selection network


def _next_power_of_two(n: int) -> int:
    width = 1
    while width < n:
        width *= 2
    return width


def _batcher_pairs(lo: int, hi: int, block: int = 1) -> list[tuple[int, int]]:
    """Comparators of Batcher's odd-even merge sort of wires ``lo..hi`` (inclusive, power-of-2 count).

    Aligned blocks of ``block`` wires (a power of two) are taken as already sorted: only
    the merges above that level are returned.
    """

    def merge(lo: int, hi: int, r: int) -> list[tuple[int, int]]:
        step = 2 * r
        if step < hi - lo:
            pairs = merge(lo, hi, step) + merge(lo + r, hi, step)
            return pairs + [(i, i + r) for i in range(lo + r, hi - r, step)]
        return [(lo, lo + r)]

    if hi - lo + 1 <= block:
        return []
    mid = lo + (hi - lo) // 2
    return _batcher_pairs(lo, mid, block) + _batcher_pairs(mid + 1, hi, block) + merge(lo, hi, 1)


def _resolve_padding(pairs: list[tuple[int, int]], label: list[int | None]) -> tuple[list[tuple[int, int]], list]:
    """Run ``pairs`` symbolically where ``label[wire]`` is None for padding wires holding +inf.

    Comparators against +inf are no-ops or mere relabelings, so they vanish; the rest are
    returned on the real wires' labels, with the final label of every position.
    """
    label = list(label)
    kept = []
    for a, b in pairs:
        la, lb = label[a], label[b]
        if lb is None:
            continue
        if la is None:  # +inf meets a real value: they swap places
            label[a], label[b] = lb, None
            continue
        kept.append((la, lb))
    return kept, label


def _prune(pairs: list[tuple[int, int]], output: int) -> np.ndarray:
    """The comparators ``output`` depends on, as ``(low, high, kind)`` rows (see :func:`selection_network`)."""
    needed = {output}
    kept: list[tuple[int, int, int]] = []
    for a, b in reversed(pairs):
        need_lo, need_hi = a in needed, b in needed
        if not (need_lo or need_hi):
            continue
        kept.append((a, b, 0 if (need_lo and need_hi) else (1 if need_lo else 2)))
        needed.update((a, b))
    kept.reverse()
    return np.array(kept, dtype=np.int64).reshape(-1, 3)


@functools.lru_cache(maxsize=64)
def selection_network(size: int, rank: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A separable selection network for rank ``rank`` of a ``size x size`` window.

    Stage 1 sorts each window column (``size`` wires) and is shared by the ``size``
    windows that contain the column; stage 2 merges the sorted columns, pruned to what
    wire ``rank`` of the result depends on.  Window sample ``(row i, column c)`` sits,
    after stage 1, on stage-2 wire ``c * size + i`` (the ``i``-th smallest of column c).

    Returns ``(column_ops, merge_ops, output_wire)``: ops are ``(m, 3)`` int64 arrays of
    ``(low wire, high wire, kind)`` in execution order, kind 0 = compare-exchange,
    1 = only the minimum is needed (stored on the low wire), 2 = only the maximum (on
    the high wire).  Built from Batcher's odd-even merge sort on powers of two; the
    padding wires hold +inf and are resolved away symbolically.
    """
    n = size * size
    if size < 1 or not 0 <= rank < n:
        raise ValueError(f"rank {rank} outside 0..{n - 1} for size {size}")
    block = _next_power_of_two(size)
    column_pairs, _ = _resolve_padding(
        _batcher_pairs(0, block - 1), [i if i < size else None for i in range(block)]
    )
    column_ops = np.array([(a, b, 0) for a, b in column_pairs], dtype=np.int64).reshape(-1, 3)
    width = _next_power_of_two(size) * block
    labels = [(p // block) * size + p % block if p % block < size and p // block < size else None for p in range(width)]
    merge_pairs, final = _resolve_padding(_batcher_pairs(0, width - 1, block), labels)
    output = final[rank]
    return column_ops, _prune(merge_pairs, output), int(output)


@njit(cache=True, nogil=True)
def _apply_ops(wires, ops, m):
    """Run comparator rows ``ops`` on the first ``m`` lanes of ``wires`` (wire, lane)."""
    for c in range(ops.shape[0]):
        lo = wires[ops[c, 0]]
        hi = wires[ops[c, 1]]
        kind = ops[c, 2]
        if kind == 0:
            for x in range(m):
                a = lo[x]
                b = hi[x]
                lo[x] = min(a, b)
                hi[x] = max(a, b)
        elif kind == 1:
            for x in range(m):
                lo[x] = min(lo[x], hi[x])
        else:
            for x in range(m):
                hi[x] = max(lo[x], hi[x])


@njit(cache=True, nogil=True)
def _network_strip(padded, column_ops, merge_ops, output_wire, size, chunk_cols, out):
    """Median of every window of ``padded`` (strip with its border) into ``out`` (rows, cols)."""
    rows, cols = out.shape
    chunk = min(chunk_cols, cols)
    columns = np.empty((size, chunk + size - 1), dtype=padded.dtype)
    wires = np.empty((size * size, chunk), dtype=padded.dtype)
    for r in range(rows):
        for x0 in range(0, cols, chunk):
            m = min(chunk, cols - x0)
            span = m + size - 1
            for i in range(size):
                src = padded[r + i, x0 : x0 + span]
                dst = columns[i]
                for x in range(span):
                    dst[x] = src[x]
            _apply_ops(columns, column_ops, span)
            for c in range(size):
                for i in range(size):
                    src = columns[i, c : c + m]
                    dst = wires[c * size + i]
                    for x in range(m):
                        dst[x] = src[x]
            _apply_ops(wires, merge_ops, m)
            res = wires[output_wire]
            for x in range(m):
                out[r, x0 + x] = res[x]


# ----------------------------------------------------------------------------- rank histogram


def _sort_keys(padded: np.ndarray) -> np.ndarray:
    """uint64 keys whose order is the value order of ``padded`` (same shape; -0.0 before +0.0)."""
    dtype = padded.dtype
    if dtype.kind == "f":
        bits = padded.view(np.uint32 if dtype.itemsize == 4 else np.uint64).astype(np.uint64)
        top = np.uint64(8 * dtype.itemsize - 1)
        low = np.uint64((1 << (8 * dtype.itemsize - 1)) - 1)
        # negative: flip every bit; positive: set the sign bit
        bits ^= (bits >> top) * low + (low + np.uint64(1))
        return bits
    keys = padded.astype(np.int64)
    keys -= int(np.iinfo(dtype).min)
    return keys.view(np.uint64)


@njit(cache=True, nogil=True)
def _radix_argsort(keys, n, key_bytes, order, tmp_keys, tmp_order, counts):
    """Stable LSD radix argsort of ``keys[:n]`` (8-bit digits) into ``order[:n]``; returns nothing.

    ``keys`` is overwritten.  Digits on which all keys agree are skipped.
    """
    for i in range(n):
        order[i] = i
    src_k, src_o, dst_k, dst_o = keys, order, tmp_keys, tmp_order
    swapped = False
    for d in range(key_bytes):
        shift = np.uint64(8 * d)
        counts[:] = 0
        for i in range(n):
            counts[(src_k[i] >> shift) & np.uint64(255)] += 1
        if counts[(src_k[0] >> shift) & np.uint64(255)] == n:
            continue
        total = 0
        for b in range(256):
            c = counts[b]
            counts[b] = total
            total += c
        for i in range(n):
            key = src_k[i]
            digit = (key >> shift) & np.uint64(255)
            pos = counts[digit]
            counts[digit] = pos + 1
            dst_k[pos] = key
            dst_o[pos] = src_o[i]
        src_k, src_o, dst_k, dst_o = dst_k, dst_o, src_k, src_o
        swapped = not swapped
    if swapped:
        for i in range(n):
            order[i] = tmp_order[i]


_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_INDEX = np.array(
    [0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24,
     18, 12, 5, 63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25,
     14, 19, 9, 13, 8, 7, 6],
    dtype=np.int64,
)
"""Lowest-set-bit position by de Bruijn multiplication: index[((w & -w) * DEBRUIJN) >> 58]."""


@njit(cache=True, nogil=True, inline="always")
def _nth_set_bit(word, n):
    """Position of the ``n``-th (0-based) set bit of ``word`` (which has more than ``n`` set bits)."""
    for _ in range(n):
        word &= word - np.uint64(1)
    lowest = word & (~word + np.uint64(1))
    return _DEBRUIJN_INDEX[(lowest * _DEBRUIJN) >> np.uint64(58)]


@njit(cache=True, nogil=True, inline="always")
def _swap_ranks(bits, word_count, leaving, entering, median_word):
    """Take rank ``leaving`` out of the window bitset and put ``entering`` in.

    Returns the change of the count of window ranks in words below ``median_word``.
    """
    bits[leaving >> 6] ^= np.uint64(1) << np.uint64(leaving & 63)
    word_count[leaving >> 6] -= 1
    bits[entering >> 6] |= np.uint64(1) << np.uint64(entering & 63)
    word_count[entering >> 6] += 1
    return np.int64((entering >> 6) < median_word) - np.int64((leaving >> 6) < median_word)


@njit(cache=True, nogil=True)
def _histogram_strip(padded_keys, key_bytes, size, rank, tile_cols, out):
    """Flat index into the padded strip of every window's median sample, by local ranks and a sliding histogram.

    ``padded_keys`` (rows + size - 1, cols + size - 1) are order-preserving sample keys;
    ``out`` (rows, cols) receives indices into ``padded_keys.ravel()``.  The histogram of
    the window's ranks is a bitset (ranks are unique) in 64-bit words plus a count per
    word; the word holding the median is tracked from pixel to pixel.
    """
    rows, cols = out.shape
    padded_cols = padded_keys.shape[1]
    reg_rows = rows + size - 1
    max_cols = min(tile_cols, cols) + size - 1
    max_region = reg_rows * max_cols
    region_keys = np.empty(max_region, dtype=np.uint64)
    tmp_keys = np.empty(max_region, dtype=np.uint64)
    order = np.empty(max_region, dtype=np.int32)
    tmp_order = np.empty(max_region, dtype=np.int32)
    counts = np.empty(256, dtype=np.int64)
    sorted_at = np.empty(max_region, dtype=np.int64)
    keys = np.empty(max_region, dtype=np.int32)
    n_words = (max_region >> 6) + 1
    bits = np.zeros(n_words, dtype=np.uint64)
    word_count = np.zeros(n_words, dtype=np.int32)
    for x0 in range(0, cols, tile_cols):
        tw = min(tile_cols, cols - x0)
        rw = tw + size - 1
        region = reg_rows * rw
        for i in range(reg_rows):
            for j in range(rw):
                region_keys[i * rw + j] = padded_keys[i, x0 + j]
        _radix_argsort(region_keys, region, key_bytes, order, tmp_keys, tmp_order, counts)
        for i in range(region):
            o = order[i]
            keys[o] = i
            row = o // rw
            sorted_at[i] = row * padded_cols + x0 + o - row * rw
        bits[:] = 0
        word_count[:] = 0
        for i in range(size):
            for j in range(size):
                key = keys[i * rw + j]
                bits[key >> 6] |= np.uint64(1) << np.uint64(key & 63)
                word_count[key >> 6] += 1
        word = 0  # the word holding the median rank
        below = 0  # window ranks in words < word
        c = 0
        for r in range(rows):
            if r > 0:  # step down one row at column c
                for j in range(c, c + size):
                    below += _swap_ranks(bits, word_count, keys[(r - 1) * rw + j], keys[(r + size - 1) * rw + j], word)
            step = 1 if r % 2 == 0 else -1
            for t in range(tw):
                if t > 0:
                    if step == 1:  # window moves right: drop column c, take column c + size
                        drop = c
                        take = c + size
                        c += 1
                    else:  # moves left: drop column c + size - 1, take column c - 1
                        drop = c + size - 1
                        take = c - 1
                        c -= 1
                    for i in range(r, r + size):
                        below += _swap_ranks(bits, word_count, keys[i * rw + drop], keys[i * rw + take], word)
                while below > rank:
                    word -= 1
                    below -= word_count[word]
                while below + word_count[word] <= rank:
                    below += word_count[word]
                    word += 1
                p = (word << 6) + _nth_set_bit(bits[word], rank - below)
                out[r, x0 + c] = sorted_at[p]


# ----------------------------------------------------------------------------- driver


def _gather(image: np.ndarray, row_index: np.ndarray, col_index: np.ndarray, cval) -> np.ndarray:
    """``image[row_index][:, col_index]``, with ``cval`` where an index is -1 (constant mode)."""
    padded = image.take(np.maximum(row_index, 0), axis=0).take(np.maximum(col_index, 0), axis=1)
    if row_index.min() < 0 or col_index.min() < 0:
        padded[row_index < 0, :] = cval
        padded[:, col_index < 0] = cval
    return padded


def _cval_as(dtype: np.dtype, cval: float):
    """``cval`` converted like scipy's C cast ``(type)cval``; refuses values the dtype cannot hold."""
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            return dtype.type(cval)
    info = np.iinfo(dtype)
    cval = float(cval)
    if not np.isfinite(cval) or not (info.min - 1 < cval < info.max + 1):
        raise ValueError(f"cval={cval!r} does not fit the image dtype {dtype} ({info.min}..{info.max})")
    return dtype.type(int(cval))  # int() truncates toward zero, like C


def _strip_task(image, row_index, col_index, cval, size, rank, method, network, y0, rows, out):
    cols = out.shape[1]
    padded = _gather(image, row_index[y0 : y0 + rows + size - 1], col_index, cval)
    target = out[y0 : y0 + rows]
    if method == "network":
        column_ops, merge_ops, output_wire = network
        _network_strip(padded, column_ops, merge_ops, output_wire, size, _NETWORK_CHUNK, target)
    else:
        at = np.empty(target.shape, dtype=np.int32 if padded.size < 2**31 else np.int64)
        _histogram_strip(_sort_keys(padded), image.dtype.itemsize, size, rank, _tile_cols(size), at)
        np.take(padded.ravel(), at, out=target)


def median_filter(
    image: np.ndarray,
    size: int,
    mode: str = "reflect",
    cval: float = 0.0,
    even: str = "upper",
    *,
    threads: int = 1,
    method: str = "auto",
) -> np.ndarray:
    """Median of every ``size x size`` window of a 2-D image, identical to scipy.ndimage's.

    Args:
        image: 2-D array (H, W) of one of :data:`SUPPORTED_DTYPES`; no NaN.
        size: window side in pixels, >= 1 (odd or even; even windows reach one pixel
            further up/left than down/right, like scipy).
        mode: border mode of :mod:`filterkit.filters.border` (reflect, mirror, nearest,
            constant, wrap, or an alias).
        cval: fill value of ``mode="constant"``, converted to the image dtype.
        even: for an even number of window samples, ``"upper"`` (scipy's choice) or
            ``"lower"`` middle sample.
        threads: strips processed in parallel (numba releases the GIL).
        method: ``"auto"``, ``"network"`` or ``"histogram"`` (see the module docstring);
            all give the same result.

    Returns:
        Array (H, W) of the input dtype:
        ``scipy.ndimage.median_filter(image, size, mode=border.scipy_mode(mode), cval=cval)``
        when ``even="upper"`` (bit for bit, but for the sign of a zero).

    Raises:
        ValueError: bad size, mode, even, method or threads; NaN in the image; a cval
            the dtype cannot hold.
        TypeError: unsupported dtype or not 2-D.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise TypeError(f"median_filter needs a 2-D image, got shape {image.shape}")
    if image.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(str(d) for d in SUPPORTED_DTYPES)
        raise TypeError(f"median_filter does not support dtype {image.dtype}; use one of {names}")
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    size = int(size)
    mode = border.normalize_mode(mode)
    if even not in ("upper", "lower"):
        raise ValueError(f"even must be 'upper' or 'lower', got {even!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if image.size == 0:
        return image.copy()
    if image.dtype.kind == "f":
        if np.isnan(np.min(image)):
            raise ValueError("median_filter: the image contains NaN (the median of a window with NaN is undefined)")
        if mode == "constant" and np.isnan(cval):
            raise ValueError("median_filter: cval is NaN")
    fill = _cval_as(image.dtype, cval) if mode == "constant" else image.dtype.type(0)
    if size == 1:
        return image.copy()

    n = size * size
    rank = n // 2 if even == "upper" else (n - 1) // 2
    method = default_method(size, image.dtype) if method == "auto" else method
    network = selection_network(size, rank) if method == "network" else None
    height, width = image.shape
    before = size // 2
    after = size - 1 - before
    row_index = border.pad_indices(height, before, after, mode).astype(np.int64)
    col_index = border.pad_indices(width, before, after, mode).astype(np.int64)
    src = image  # any strides: strips are gathered with take()
    out = np.empty(image.shape, dtype=image.dtype)
    step = _strip_rows(size, method)
    starts = range(0, height, step)

    def task(y0: int) -> None:
        _strip_task(src, row_index, col_index, fill, size, rank, method, network, y0, min(step, height - y0), out)

    if threads == 1 or len(starts) == 1:
        for y0 in starts:
            task(y0)
    else:
        with ThreadPoolExecutor(max_workers=int(threads)) as pool:
            list(pool.map(task, starts))
    return out


def median_planes(x4: np.ndarray, size: int, even: str, mode: str, cval: float) -> np.ndarray:
    """:func:`median_filter` on every plane of ``x4`` ``(N, H, W, C)``; :class:`.dispatch.Decline` for NaN."""
    out = np.empty(x4.shape, x4.dtype)
    try:
        for i in range(x4.shape[0]):
            for j in range(x4.shape[3]):
                out[i, :, :, j] = median_filter(np.ascontiguousarray(x4[i, :, :, j]), size, mode, float(cval), even)
    except ValueError as e:  # NaN in a float image: refused here; scipy returns its (order-dependent) value
        raise Decline(str(e)) from None
    return out
