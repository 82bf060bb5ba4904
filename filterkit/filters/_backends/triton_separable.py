"""Separable correlation on CUDA in one fused Triton kernel (one read, one write of the image).

:mod:`filterkit.filters.tensor` uses this for the separable filters (mean, gaussian,
sobel, prewitt, scharr, separable ``correlate``) of float16, bfloat16 and
float32 tensors on CUDA when Triton is installed (it comes with torch's CUDA
wheels) and no gradient is needed; everything else takes the torch path.

How: each program owns ``BLOCK_W`` columns and ``rows`` output rows of one
``(H, W)`` plane.  It walks down the padded rows once: the x pass of a row
(``len(cols)`` loads from L1) goes into a per-program ring of ``len(rows)``
rows, and every output row is the y pass over the ring.  Each thread reads back
only what it wrote (a barrier per row guards against the compiler giving the
load another thread layout than the store).  Borders follow
:mod:`filterkit.filters.border` for any pad width (index arithmetic in the kernel);
the result is the 2-D kernel ``outer(rows, cols)`` on the image padded in 2-D,
as in :func:`filterkit.filters.tensor.correlate`.  Arithmetic is float32 (weights
rounded to float32, as the torch path does); the result has the input dtype.

Tests run the kernel on CPU under Triton's interpreter (``TRITON_INTERPRET=1``).
It has not yet run on a GPU, so it is opt-in: set the environment variable
``FILTERKIT_TRITON=1`` (or :data:`ENABLED` to True) to use it.
"""

from __future__ import annotations

import os

import numpy as np
import torch

try:  # optional: only torch's CUDA builds ship Triton
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

__all__ = ["available", "usable", "separable", "TILE"]

DTYPES = (torch.float16, torch.bfloat16, torch.float32)
MODE_CODES = {"constant": 0, "nearest": 1, "wrap": 2, "reflect": 3, "mirror": 4}
ENABLED = os.environ.get("FILTERKIT_TRITON", "0") == "1"
"""Use the fused kernel where it applies.  Off by default until it is timed on a GPU (no device was lent
so far; benchmarks/gpu_tiles.py compares it with the torch path): ``FILTERKIT_TRITON=1`` switches it on."""
MAX_TAPS = 63  # the non-zero taps are a compile-time bit mask in an int64
TILE = {"block_w": 256, "rows": 128, "num_warps": 2}
"""Columns per program, output rows per program, warps per program: a first guess, not yet timed on a GPU
(benchmarks/gpu_tiles.py measures the alternatives and names the best)."""


def available() -> bool:
    """True when Triton can be imported."""
    return triton is not None


def usable(x: torch.Tensor, rows: np.ndarray, cols: np.ndarray) -> bool:
    """Whether :func:`separable` serves ``x`` (N, H, W) with these 1-D kernels (else use the torch path)."""
    return (
        ENABLED
        and triton is not None
        and x.device.type == "cuda"
        and x.dtype in DTYPES
        and not (torch.is_grad_enabled() and x.requires_grad)
        and len(rows) <= MAX_TAPS
        and len(cols) <= MAX_TAPS
        and x.shape[-2] * x.shape[-1] < 2**31
    )


def _mask(w: np.ndarray) -> int:
    """Bit ``j`` set where ``w[j] != 0`` (taps the kernel reads)."""
    return sum(1 << j for j in np.flatnonzero(w).tolist())


def separable(
    x: torch.Tensor, rows: np.ndarray, cols: np.ndarray, mode: str, cval: float = 0.0, *,
    out_dtype: torch.dtype | None = None, block_w: int | None = None, rows_per_program: int | None = None,
    num_warps: int | None = None,
) -> torch.Tensor:
    """Correlate each ``(H, W)`` plane of ``x`` (N, H, W) with ``outer(rows, cols)``; odd, centred kernels.

    mode: a canonical :mod:`filterkit.filters.border` name; ``constant`` pads with ``cval``.
    Returns a new ``(N, H, W)`` tensor of ``out_dtype`` (default: ``x``'s dtype).
    The other keyword options override :data:`TILE` (for tuning).
    """
    if triton is None:
        raise RuntimeError("filterkit.filters._backends.triton_separable needs Triton (pip install triton)")
    rows = np.asarray(rows, np.float64)
    cols = np.asarray(cols, np.float64)
    if len(rows) % 2 == 0 or len(cols) % 2 == 0:
        raise ValueError("separable: kernels need an odd number of taps")
    x = x.contiguous()
    n, h, w = x.shape
    block_w = block_w or TILE["block_w"]
    per_program = min(rows_per_program or TILE["rows"], h)
    out = torch.empty(x.shape, dtype=out_dtype or x.dtype, device=x.device)
    weights = torch.from_numpy(np.concatenate([cols, rows]).astype(np.float32)).to(x.device)
    grid = (triton.cdiv(w, block_w), triton.cdiv(h, per_program), n)
    ring = torch.empty(grid[0] * grid[1] * grid[2] * len(rows) * block_w, dtype=torch.float32, device=x.device)
    try:
        _separable_kernel[grid](
            x, out, ring, weights, h, w, float(cval), per_program,
            KX=len(cols), KY=len(rows), MASK_X=_mask(cols), MASK_Y=_mask(rows), MODE=MODE_CODES[mode],
            BLOCK_W=block_w, num_warps=num_warps or TILE["num_warps"], num_stages=1,
        )
    except triton.CompilationError as e:
        raise RuntimeError(
            f"the fused separable kernel does not compile with Triton {triton.__version__} "
            f"({str(e).strip().splitlines()[-1][:200]}); unset FILTERKIT_TRITON to use the torch path"
        ) from None
    return out


if triton is not None:

    @triton.jit
    def _source(i, n, MODE: tl.constexpr):
        """Index in ``[0, n)`` that padded position ``i`` reads (:func:`filterkit.filters.border.pad_indices`).

        constant (MODE 0) returns ``i`` unchanged: the caller masks it.
        """
        if MODE == 1:  # nearest
            i = tl.minimum(tl.maximum(i, 0), n - 1)
        elif MODE == 2:  # wrap
            i = i % n
            i = tl.where(i < 0, i + n, i)
        elif MODE == 3:  # reflect: period 2n, edge repeated
            i = i % (2 * n)
            i = tl.where(i < 0, i + 2 * n, i)
            i = tl.where(i >= n, 2 * n - 1 - i, i)
        elif MODE == 4:  # mirror: period 2n - 2, edge not repeated (n == 1: always 0)
            period = tl.maximum(2 * n - 2, 1)
            i = i % period
            i = tl.where(i < 0, i + period, i)
            i = tl.where(i >= n, period - i, i)
        return i

    @triton.jit
    def _x_pass(row_ptr, limit, cols, w_ptr, W, cval, inside,
                KX: tl.constexpr, MASK_X: tl.constexpr, MODE: tl.constexpr, BLOCK_W: tl.constexpr):
        """``sum_j w[j] * xpad[row, cols + j - KX // 2]`` for one padded row, float32 ``(BLOCK_W,)``.

        constant: columns at or beyond ``limit`` (``W``, or 0 for a row outside the image) read ``cval``.
        """
        acc = tl.zeros([BLOCK_W], dtype=tl.float32)
        if inside:  # every column this program reads is in the image: plain loads
            for j in tl.static_range(KX):
                if (MASK_X >> j) & 1:
                    if MODE == 0:
                        v = tl.load(row_ptr + cols + (j - KX // 2), mask=cols < limit, other=cval)
                    else:
                        v = tl.load(row_ptr + cols + (j - KX // 2))
                    acc += tl.load(w_ptr + j) * v.to(tl.float32)
        else:
            for j in tl.static_range(KX):
                if (MASK_X >> j) & 1:
                    c = _source(cols + (j - KX // 2), W, MODE)
                    if MODE == 0:
                        v = tl.load(row_ptr + c, mask=(c >= 0) & (c < limit), other=cval)
                    else:
                        v = tl.load(row_ptr + c)
                    acc += tl.load(w_ptr + j) * v.to(tl.float32)
        return acc

    @triton.jit
    def _separable_kernel(x_ptr, out_ptr, ring_ptr, w_ptr, H, W, cval, rows_per_program,
                          KX: tl.constexpr, KY: tl.constexpr, MASK_X: tl.constexpr, MASK_Y: tl.constexpr,
                          MODE: tl.constexpr, BLOCK_W: tl.constexpr):
        pid_w = tl.program_id(0)
        pid_h = tl.program_id(1)
        plane = tl.program_id(2)
        program = (plane * tl.num_programs(1) + pid_h) * tl.num_programs(0) + pid_w
        lanes = tl.arange(0, BLOCK_W)
        cols = pid_w * BLOCK_W + lanes
        plane_offset = plane.to(tl.int64) * H * W
        x_plane = x_ptr + plane_offset
        out_plane = out_ptr + plane_offset
        ring = ring_ptr + program.to(tl.int64) * (KY * BLOCK_W) + lanes
        wy_ptr = w_ptr + KX
        first = pid_h * rows_per_program  # first output row of this program
        count = tl.minimum(rows_per_program, H - first)
        inside = (pid_w * BLOCK_W >= KX // 2) & (pid_w * BLOCK_W + BLOCK_W + KX // 2 <= W)
        # padded row first - KY//2 + q goes to ring slot q % KY, for q = 0 .. count + KY - 2
        for q in range(0, count + KY - 1):
            p = first - KY // 2 + q
            src = _source(p, H, MODE)
            limit = W
            if MODE == 0:
                limit = tl.where((p >= 0) & (p < H), W, 0)  # a row outside the image reads cval only
                src = tl.minimum(tl.maximum(src, 0), H - 1)  # a valid address; the loads are masked
            h = _x_pass(x_plane + src.to(tl.int64) * W, limit, cols, w_ptr, W, cval, inside,
                        KX, MASK_X, MODE, BLOCK_W)
            tl.store(ring + (q % KY) * BLOCK_W, h)
            tl.debug_barrier()  # each thread reads back its own columns; the barrier also covers a layout change
            if q >= KY - 1:  # ring holds rows q - KY + 1 .. q: output row first + q - KY + 1
                acc = tl.zeros([BLOCK_W], dtype=tl.float32)
                for i in tl.static_range(KY):
                    if (MASK_Y >> i) & 1:
                        acc += tl.load(wy_ptr + i) * tl.load(ring + ((q + 1 + i) % KY) * BLOCK_W)
                r = first + q - KY + 1
                tl.store(out_plane + r.to(tl.int64) * W + cols, acc.to(out_ptr.dtype.element_ty), mask=cols < W)
