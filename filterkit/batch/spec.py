"""What decides one output file's pixels: :class:`FilterSpec`, and the filter call it makes.

The operation names come from the one op registry, :mod:`filterkit.filters.ops`; the file batch adds
the ``-x`` / ``-y`` variants of the gradient filters (the signed derivative along columns / rows).

>>> op_call(FilterSpec(op="sobel-y"))
('sobel', {'axis': 0})
>>> op_call(FilterSpec(op="gaussian", size=5))
('gaussian', {'sigma': None, 'size': 5})
"""

from __future__ import annotations

from dataclasses import dataclass

from filterkit.filters.ops import ALIASES, GRADIENTS, NAMES, OPS, SMOOTHING

__all__ = [
    "FilterSpec",
    "BATCH_OPS",
    "SCALES",
    "BACKENDS",
    "MAX_SIZE",
    "MAX_SIGMA",
    "parse_op",
    "op_call",
    "is_smoothing",
    "takes_size",
]

#: the batch's operation names: the registry's, plus NAME-x / NAME-y for the gradient filters
BATCH_OPS: tuple[str, ...] = tuple(
    variant for name in NAMES for variant in ((name, f"{name}-x", f"{name}-y") if name in GRADIENTS else (name,))
)
SCALES = ("abs", "clip", "minmax")
BACKENDS = ("auto", "opencv", "scipy", "numba", "torch")
#: largest window side accepted (pixels): far beyond any useful filter of a real image, and small
#: enough that the padded work arrays of one image stay a few hundred megabytes
MAX_SIZE = 4097
#: largest Gaussian sigma (pixels): its radius ``4 * sigma`` stays within :data:`MAX_SIZE`
MAX_SIGMA = 512.0


@dataclass(frozen=True)
class FilterSpec:
    """Everything that decides the output pixels of one file (picklable, sent to workers).

    ``op`` is one of :data:`BATCH_OPS`; ``size``/``sigma`` in pixels; ``mode``/``cval`` the border
    (:mod:`filterkit.filters.border`); ``scale``/``gain`` map signed derivatives into the input's
    integer dtype (:mod:`filterkit.batch.scaling`) unless ``float_output``.
    """

    op: str
    size: int | None = None
    sigma: float | None = None
    mode: str = "reflect"
    cval: float = 0.0
    scale: str = "abs"
    gain: float = 1.0
    float_output: bool = False
    out_format: str | None = None  # None: the input's format
    quality: int = 95
    max_pixels: int | None = None
    backend: str = "auto"
    device: str = "cpu"


def parse_op(text: str) -> str:
    """``"Sobel_X"`` -> ``"sobel-x"``, ``"box"`` -> ``"mean"``; :class:`ValueError` naming the choices."""
    key = text.strip().lower().replace("_", "-")
    base, dash, axis = key.partition("-")
    if dash and axis in ("x", "y"):
        key = f"{ALIASES.get(base, base)}-{axis}"
    else:
        key = ALIASES.get(key, key)
    if key not in BATCH_OPS:
        aliases = ", ".join(f"{a} = {b}" for a, b in ALIASES.items())
        raise ValueError(f"unknown op {text!r}; choose one of {', '.join(BATCH_OPS)} (aliases: {aliases})")
    return key


def is_smoothing(op: str) -> bool:
    """True for ops whose result keeps the input's dtype (mean, median, gaussian)."""
    return op in SMOOTHING


def op_call(spec: FilterSpec) -> tuple[str, dict]:
    """The filter function's name (in every filter API) and its op-specific keyword arguments."""
    name, _, axis = spec.op.partition("-")
    options = OPS[name].options
    kw: dict = {}
    if "sigma" in options:
        kw["sigma"] = spec.sigma if (spec.sigma is not None or spec.size is not None) else 1.0
    if "axis" in options:
        kw["axis"] = {"": None, "x": 1, "y": 0}[axis]  # None: gradient magnitude
    if "size" in options:
        if spec.size is not None:
            kw["size"] = spec.size
        elif name in SMOOTHING and "sigma" not in options:
            kw["size"] = 3
    return name, kw


def takes_size(op: str) -> bool:
    """Whether ``--size`` applies to ``op`` (scharr, prewitt and laplace have fixed 3x3 kernels)."""
    return "size" in OPS[op.partition("-")[0]].options

