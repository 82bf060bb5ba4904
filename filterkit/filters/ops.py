"""The one registry of filter operations: names, aliases, kind and options.

The numpy API (:mod:`.ndimage`), the torch API (:mod:`.tensor`), the blockwise API
(:mod:`.blockwise`) and the file batch (:mod:`filterkit.batch`) all take their list of operations
from here, so an operation is added or renamed in one place.

>>> resolve("box").name, resolve("laplacian").name
('mean', 'laplace')
>>> [op.name for op in OPS.values() if op.kind == "derivative"]
['sobel', 'scharr', 'prewitt', 'laplace']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Op", "OPS", "ALIASES", "NAMES", "SMOOTHING", "DERIVATIVES", "GRADIENTS", "resolve"]


@dataclass(frozen=True)
class Op:
    """One filter operation.

    Attributes:
        name: the function's name in every API (``filterkit.filters.ndimage.<name>``, ...).
        kind: ``"smoothing"`` keeps the input's dtype (integers rounded half to even);
            ``"derivative"`` gives float32 (float64 for float64) signed responses.
        options: the keyword arguments that set the window: ``size``, ``sigma``, ``axis``.
        summary: one line for help texts.
    """

    name: str
    kind: Literal["smoothing", "derivative"]
    options: tuple[str, ...]
    summary: str


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("mean", "smoothing", ("size",), "size x size average (box filter)"),
        Op("median", "smoothing", ("size",), "size x size median (removes salt-and-pepper noise)"),
        Op("gaussian", "smoothing", ("sigma", "size"), "Gaussian blur"),
        Op("sobel", "derivative", ("axis", "size"), "Sobel gradient magnitude, or d/dx, d/dy with axis"),
        Op("scharr", "derivative", ("axis",), "Scharr gradient magnitude, or d/dx, d/dy with axis"),
        Op("prewitt", "derivative", ("axis",), "Prewitt gradient magnitude, or d/dx, d/dy with axis"),
        Op("laplace", "derivative", (), "4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]]"),
    )
}
ALIASES: dict[str, str] = {"box": "mean", "blur": "mean", "laplacian": "laplace"}
NAMES: tuple[str, ...] = tuple(OPS)
SMOOTHING: tuple[str, ...] = tuple(n for n, op in OPS.items() if op.kind == "smoothing")
DERIVATIVES: tuple[str, ...] = tuple(n for n, op in OPS.items() if op.kind == "derivative")
GRADIENTS: tuple[str, ...] = ("sobel", "scharr", "prewitt")  # difference x smoothing, with an axis


def resolve(name: str) -> Op:
    """The :class:`Op` for ``name`` or one of its aliases; :class:`ValueError` naming the choices otherwise."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        return OPS[key]
    except KeyError:
        aliases = ", ".join(f"{a} = {b}" for a, b in ALIASES.items())
        raise ValueError(f"unknown filter {name!r}; choose one of {', '.join(NAMES)} (aliases: {aliases})") from None
