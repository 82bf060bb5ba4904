"""THE dispatch table: which backend computes a numpy filter call, keyed by (op, dtype, size, mode).

:func:`routes` lists, in order, the :class:`Route` s that may compute a call; the first one that
does not decline computes it (a route declines where the kernel reaches past the far edge of the
image, a ``cval`` does not fit the dtype, or, for the numba median, the image holds NaN).  The
scipy route of every op matches every key, so ``backend="auto"`` always finds one.

``backend`` is the name a user can force (``filterkit.filters.ndimage``'s ``backend=``); ``engine``
says what runs: some OpenCV-path routes run numba passes on OpenCV's border handling, where they
buy exactness (:mod:`.exact_round`) or a benchmarks/README.md row at >= 1.5x (:mod:`.exact_round`'s
float32 passes, :mod:`.int_gradient`).

ops: the names of :mod:`filterkit.filters.ops`, plus ``magnitude`` (the gradient magnitude of
sobel/scharr/prewitt, ``axis=None``) and ``correlate`` (also convolve and laplace).
size: the window side (mean, median), the number of taps (gaussian), the kernel side (derivatives,
correlate: the larger one).

Routes on the OpenCV path that run numba: the uint8 Gaussian sums in float32 and recomputes in
float64 the pixels within the float32 error bound of a ``.5`` tie, so it equals scipy's float64
value rounded half to even; the uint8 gradient magnitude of 3x3 integer kernels takes both exact
derivatives and the magnitude in one pass (the float32 nearest to the exact magnitude).  uint16
means from 15x15 and uint16 Gaussians are summed in float64.  ``medianBlur`` always replicates the
edge, so for other modes its route recomputes only the border frame from small padded blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Decline", "Route", "TABLE", "BACKENDS", "routes", "describe"]

BACKENDS: tuple[str, ...] = ("auto", "opencv", "scipy", "numba")


class Decline(Exception):
    """An implementation cannot compute this call; the message says why (the next route computes it)."""


@dataclass(frozen=True)
class Route:
    """One row of :data:`TABLE`: the calls it matches, the backend and implementation that compute them."""

    op: str
    backend: str  # opencv | scipy | numba (what backend= forces)
    impl: str  # the key of the implementation in filterkit.filters.ndimage's table for this op
    engine: str  # what actually runs
    dtypes: tuple[str, ...] | None = None  # None: any
    sizes: tuple[int, int] | None = None  # inclusive; None: any
    odd: bool = False  # odd sizes only
    modes: tuple[str, ...] | None = None  # None: any
    why: str = ""

    def matches(self, op: str, dtype: str, size: int, mode: str) -> bool:
        return (
            op == self.op
            and (self.dtypes is None or dtype in self.dtypes)
            and (self.sizes is None or self.sizes[0] <= size <= self.sizes[1])
            and (not self.odd or size % 2 == 1)
            and (self.modes is None or mode in self.modes)
        )


_ANY = 1 << 30
_FLOATS = ("float32", "float64")

TABLE: tuple[Route, ...] = (
    # mean
    Route("mean", "opencv", "box_float64", "cv2.boxFilter(CV_64F) + round", ("uint16",), (15, _ANY),
          why="cv2.blur's 16-bit scaling is off by one from exact rounding for sizes >= 15"),
    Route("mean", "opencv", "blur", "cv2.blur", why="exact rounding; float sums in float64"),
    Route("mean", "scipy", "smooth", "scipy correlate1d x2"),
    # gaussian (size = taps)
    Route("gaussian", "opencv", "exact_uint8", "numba exact_round.smooth_uint8_exact", ("uint8",),
          why="exact: GaussianBlur's 8-bit fixed-point weights are off by one on 6-18 % of pixels"),
    Route("gaussian", "opencv", "sep_float64", "cv2.sepFilter2D(CV_64F) + round", ("uint16",),
          why="float32 sums are off by one near ties for 16-bit values"),
    Route("gaussian", "opencv", "gaussian_blur", "cv2.GaussianBlur(size, sigma)", _FLOATS,
          why="given size and sigma it samples exactly filterkit's kernel"),
    Route("gaussian", "scipy", "smooth", "scipy correlate1d x2"),
    # median
    Route("median", "opencv", "median_blur", "cv2.medianBlur", ("uint8",), odd=True),
    Route("median", "opencv", "median_blur", "cv2.medianBlur", ("uint16", "float32"), (3, 5), odd=True),
    Route("median", "numba", "numba", "numba median_numba.median_filter",
          why="what medianBlur lacks: even sizes, float64, uint16/float32 from 7x7"),
    Route("median", "scipy", "rank", "scipy rank_filter"),
    # derivatives: one axis, and the gradient magnitude
    *(Route(name, backend, impl, engine) for name in ("sobel", "scharr", "prewitt")
      for backend, impl, engine in (("opencv", "opencv", "cv2.sepFilter2D"), ("scipy", "scipy", "scipy correlate1d x2"))),
    Route("magnitude", "opencv", "int_gradient", "numba int_gradient.uint8_gradient_magnitude", ("uint8",), (3, 3),
          why="benchmarks/README.md: uint8 Sobel magnitude, float32 nearest to the exact value"),
    Route("magnitude", "opencv", "opencv", "cv2.sepFilter2D x2 + cv2.magnitude"),
    Route("magnitude", "scipy", "scipy", "scipy correlate1d x4 + np.hypot"),
    # correlate, convolve, laplace
    Route("correlate", "opencv", "opencv", "cv2.filter2D"),
    Route("correlate", "scipy", "scipy", "scipy correlate"),
)


def routes(op: str, dtype, size: int, mode: str, backend: str = "auto") -> list[Route]:
    """The routes that may compute ``op`` on ``dtype`` with ``size`` and ``mode``, best first.

    ``backend`` other than ``"auto"`` keeps only that backend's routes; ``ValueError`` if the backend
    is unknown or has no route for this key (saying what it does).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    dtype = str(dtype)
    found = [r for r in TABLE if r.matches(op, dtype, size, mode) and backend in ("auto", r.backend)]
    if not found:
        raise ValueError(_refusal(op, dtype, size, backend))
    return found


def _refusal(op: str, dtype: str, size: int, backend: str) -> str:
    own = [r for r in TABLE if r.op == op and r.backend == backend]
    if not own:
        ops = sorted({r.op for r in TABLE if r.backend == backend})
        return f"backend={backend!r} only exists for {', '.join(ops)}, not {op}"
    why = "even sizes" if size % 2 == 0 and all(r.odd for r in own) else f"size {size} on {dtype}"
    does = "; ".join(describe(r) for r in own)
    return f"backend={backend!r} cannot do {op} here ({why}); it does {op} for {does}; use backend='auto' or 'scipy'"


def describe(route: Route) -> str:
    """One line: the keys a route matches (for messages and docs)."""
    dtypes = "/".join(route.dtypes) if route.dtypes else "any dtype"
    sizes = "" if route.sizes is None else f", sizes {route.sizes[0]}" + (
        "" if route.sizes[0] == route.sizes[1] else f"-{route.sizes[1]}" if route.sizes[1] < _ANY else " and up")
    return f"{dtypes}{sizes}{', odd sizes' if route.odd else ''}"
