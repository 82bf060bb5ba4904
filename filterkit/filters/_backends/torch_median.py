"""The torch API's median: exact, in row chunks of bounded memory (see :func:`filterkit.filters.tensor.median`)."""

from __future__ import annotations

import numpy as np
import torch

from filterkit.filters import border as _border
from filterkit.filters._backends.torch_apply import gather

__all__ = ["median_planes", "median_cval"]

_MEDIAN_NETWORK_CACHE_BYTES = 4 * 2**20  # 3x3 median chunks that stay in cache (benchmarks/README.md)

def _median_network_3x3(xp: torch.Tensor, h: int, w: int, out: torch.Tensor, work: list[torch.Tensor]) -> None:
    """Exact 3x3 median of padded ``xp`` (N, h + 2, w + 2) into ``out`` (N, h, w): sort columns of
    3, then median = med3(max of column minima, med3 of column medians, min of column maxima).

    ``work``: three (N, >= h, w + 2) and three (N, >= h, w) buffers, reused from chunk to chunk
    (faster than fresh tensors).
    """
    lo, hi, mid = (t.narrow(1, 0, h) for t in work[:3])
    max_lo, min_hi, med_mid = (t.narrow(1, 0, h) for t in work[3:])
    a, b, c = xp.narrow(1, 0, h), xp.narrow(1, 1, h), xp.narrow(1, 2, h)
    torch.minimum(a, b, out=lo)
    torch.maximum(a, b, out=hi)
    torch.minimum(hi, c, out=mid)
    torch.maximum(lo, mid, out=mid)  # median of the column
    torch.minimum(lo, c, out=lo)
    torch.maximum(hi, c, out=hi)
    l0, l1, l2 = (lo.narrow(2, j, w) for j in range(3))
    h0, h1, h2 = (hi.narrow(2, j, w) for j in range(3))
    m0, m1, m2 = (mid.narrow(2, j, w) for j in range(3))
    torch.maximum(torch.maximum(l0, l1, out=max_lo), l2, out=max_lo)
    torch.minimum(torch.minimum(h0, h1, out=min_hi), h2, out=min_hi)
    # med3(m0, m1, m2) = max(min(m0, m1), min(max(m0, m1), m2)); ``out`` holds min(m0, m1) meanwhile
    torch.minimum(torch.maximum(m0, m1, out=med_mid), m2, out=med_mid)
    torch.maximum(torch.minimum(m0, m1, out=out), med_mid, out=med_mid)
    # med3(max_lo, med_mid, min_hi), the same way
    torch.minimum(torch.maximum(max_lo, med_mid, out=out), min_hi, out=out)
    torch.maximum(torch.minimum(max_lo, med_mid, out=max_lo), out, out=out)


def _padded_chunk(x: torch.Tensor, row_index: np.ndarray, col_index: np.ndarray, left: int,
                  cval: float, buf: torch.Tensor) -> torch.Tensor:
    """Rows ``row_index`` of ``x`` (N, H, W), padded to columns ``col_index``; index -1 is ``cval``.

    One copy into (the first rows of) ``buf``, a reused cache-sized buffer: the image rows go
    straight into its middle columns and each border column is copied from them (much faster
    than ``F.pad``'s reflect along W).
    """
    w = x.shape[2]
    buf = buf.narrow(1, 0, len(row_index))
    middle = buf.narrow(2, left, w)
    middle.copy_(gather(x, 1, row_index, cval))  # inner chunks: a view of the image rows, one copy
    for j in [*range(left), *range(left + w, len(col_index))]:  # the border columns only
        source = col_index[j]
        if source < 0:
            buf.select(2, j).fill_(cval)
        else:
            buf.select(2, j).copy_(middle.select(2, int(source)))
    return buf


def median_cval(cval: float, dtype: torch.dtype, name: str = "median") -> float:
    """``cval`` as the image dtype holds it (scipy converts it first)."""
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        if not float(cval).is_integer() or not info.min <= cval <= info.max:
            raise ValueError(f"{name}: cval={cval!r} does not fit the image dtype {dtype}")
        return float(cval)
    return float(torch.tensor(float(cval), dtype=dtype).item())


_INTS = (torch.uint8, torch.uint16, torch.int8, torch.int16, torch.int32, torch.int64)


def median_planes(planes, size: int, even: str, mode: str, cval: float, chunk_bytes: int) -> torch.Tensor:
    """The median of :func:`filterkit.filters.tensor.median` on checked ``planes`` (``(N, H, W)`` in ``planes.x``)."""
    with torch.no_grad():
        xs = planes.x
        if xs.dtype in (torch.float16, torch.bfloat16):
            xs = xs.float()
        elif xs.dtype in (torch.int32, torch.int64):
            xs = xs.double()
        elif xs.dtype in _INTS:
            xs = xs.float()
        n, h, w = xs.shape
        if size == 1:
            return planes.restore(planes.x.clone())
        before, after = size // 2, size - 1 - size // 2
        row_index = _border.pad_indices(h, before, after, mode)  # padded row p holds xs row row_index[p]
        item = xs.element_size()
        if size == 3:
            per_row = n * (w + 2) * item * 12

            work: list[torch.Tensor] = []

            def rows_median(block: torch.Tensor, rows: int, target: torch.Tensor) -> None:
                if not work:  # sized by the first (largest) chunk
                    work.extend(torch.empty((n, rows, w + 2 * (i < 3)), dtype=xs.dtype, device=xs.device)
                                for i in range(6))
                _median_network_3x3(block, rows, w, target, work)

        else:
            count = size * size
            rank = count // 2 + 1 if even == "upper" else (count - 1) // 2 + 1  # 1-based for kthvalue
            # the unfolded copy, kthvalue's own copy and its int64 index workspace (measured)
            per_row = n * w * (count * (2 * item + 8) + 16)

            def rows_median(block: torch.Tensor, rows: int, target: torch.Tensor) -> None:
                windows = block.unfold(1, size, 1).unfold(2, size, 1).reshape(n, rows, w, count)
                target.copy_(windows.kthvalue(rank, dim=-1).values)

        budget = int(chunk_bytes)
        if size == 3 and xs.device.type == "cpu":
            budget = min(budget, _MEDIAN_NETWORK_CACHE_BYTES)
        step = max(1, budget // per_row)
        out = torch.empty((n, h, w), dtype=xs.dtype, device=xs.device)
        col_index = _border.pad_indices(w, before, after, mode)
        chunk = torch.empty((n, min(step, h) + size - 1, w + size - 1), dtype=xs.dtype, device=xs.device)
        for r0 in range(0, h, step):
            rows = min(step, h - r0)
            block = _padded_chunk(xs, row_index[r0 : r0 + rows + size - 1], col_index, before, cval, chunk)
            rows_median(block, rows, out.narrow(1, r0, rows))
        return planes.restore(out.to(planes.dtype))
