"""Filter kernels as plain numpy data: the one place kernels are built.

Conventions (stated once, used everywhere in filterkit):

* Axis 0 is rows (``y``, downwards), axis 1 is columns (``x``, to the right).
* Kernels are applied by **correlation** (as ``scipy.ndimage.correlate``,
  ``cv2.filter2D`` and ``torch.nn.functional.conv2d``): the output at ``p`` is
  ``sum_k kernel[k] * image[p + k - centre]``.  With that convention
  ``sobel_x`` is positive where brightness increases to the right, exactly as
  ``scipy.ndimage.sobel(axis=1)`` and ``cv2.Sobel(dx=1)``.  *Convolution*
  flips the kernel, which flips the sign of every odd (derivative) kernel.
* Smoothing kernels are normalised to sum to 1; derivative kernels sum to 0
  and are not scaled (``sobel_x`` has weights -1..2, as in scipy and OpenCV).

Separable kernels are also available as their 1-D factors, because every
backend is faster with two 1-D passes than with one 2-D pass.

>>> gaussian_integer(3)
(array([[1, 2, 1],
       [2, 4, 2],
       [1, 2, 1]]), 16)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "Separable",
    "box",
    "box_1d",
    "gaussian",
    "gaussian_1d",
    "gaussian_radius",
    "gaussian_sigma_for_size",
    "gaussian_integer",
    "sobel",
    "scharr",
    "prewitt",
    "derivative_separable",
    "laplacian",
    "identity",
    "line",
    "edge",
    "kirsch",
    "emboss",
    "mixed_derivative",
    "fits_int16",
    "difference_times_smoothing",
    "uint8_gradient_weights",
    "get_kernel",
    "kernel_names",
]


@dataclass(frozen=True)
class Separable:
    """A 2-D kernel written as ``outer(rows, cols)``.

    ``rows`` is applied along axis 0 (y), ``cols`` along axis 1 (x).
    """

    rows: np.ndarray
    cols: np.ndarray

    def full(self) -> np.ndarray:
        """The 2-D kernel, shape ``(len(rows), len(cols))``."""
        return np.outer(self.rows, self.cols)


_LARGEST = 4096  # |derivative| bound of filterkit.filters._backends.int_gradient: exact in float32, its square fits int32


def fits_int16(seps: list[Separable]) -> bool:
    """True if every kernel is 3x3, integer-valued, and its response to 8-bit data stays within +-4096."""
    for sep in seps:  # plain floats: nine products, no numpy call overhead (called once per image)
        rows, cols = np.asarray(sep.rows).tolist(), np.asarray(sep.cols).tolist()
        if len(rows) != 3 or len(cols) != 3:
            return False
        full = [a * b for a in rows for b in cols]
        if not all(float(v).is_integer() for v in full):
            return False
        if 255.0 * max(sum(v for v in full if v > 0), -sum(v for v in full if v < 0)) > _LARGEST:
            return False
    return True


def difference_times_smoothing(sep: Separable, axis: int) -> tuple[float, float, float] | None:
    """``(d, a, b)`` if ``sep`` is a difference ``[-d, 0, d]`` along ``axis`` (0: y, rows; 1: x,
    columns) times a smoothing ``[a, b, a]`` across it, as every 3x3 derivative kernel here; else None."""
    diff, smooth = (sep.rows, sep.cols) if axis == 0 else (sep.cols, sep.rows)
    diff, smooth = np.asarray(diff, dtype=float).tolist(), np.asarray(smooth, dtype=float).tolist()
    if len(diff) != 3 or len(smooth) != 3 or diff[1] != 0.0 or diff[0] != -diff[2] or smooth[0] != smooth[2]:
        return None
    return diff[2], smooth[0], smooth[1]


def uint8_gradient_weights(sep_y: Separable, sep_x: Separable) -> tuple[float, ...] | None:
    """``(dy, ay, by, dx, ax, bx)`` for :func:`filterkit.filters._backends.int_gradient.uint8_gradient_magnitude`, or None.

    The pair qualifies if both kernels pass :func:`fits_int16` and each is a
    :func:`difference_times_smoothing` along its own axis (Sobel, Scharr, Prewitt 3x3).
    """
    if not fits_int16([sep_y, sep_x]):
        return None
    wy, wx = difference_times_smoothing(sep_y, 0), difference_times_smoothing(sep_x, 1)
    return None if wy is None or wx is None else (*wy, *wx)


def _check_odd_size(size: int, name: str = "size") -> int:
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} must be a positive odd integer, got {size!r}")
    return int(size)


# --------------------------------------------------------------------------- box


def box_1d(size: int) -> np.ndarray:
    """1-D mean kernel of ``size`` taps, each ``1/size`` (float64)."""
    size = _check_odd_size(size)
    return np.full(size, 1.0 / size)


def box(size: int) -> np.ndarray:
    """``size x size`` mean (box) kernel, normalised to sum 1."""
    k = box_1d(size)
    return np.outer(k, k)


# ---------------------------------------------------------------------- gaussian


def gaussian_sigma_for_size(size: int) -> float:
    """OpenCV's rule for sigma when only the kernel size is given (pixels)."""
    size = _check_odd_size(size)
    return 0.3 * ((size - 1) * 0.5 - 1) + 0.8


def gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """scipy's radius rule: ``int(truncate * sigma + 0.5)`` pixels."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_1d(sigma: float | None = None, size: int | None = None, truncate: float = 4.0) -> np.ndarray:
    """Sampled, normalised 1-D Gaussian (float64).

    sigma: standard deviation in pixels.  size: odd number of taps.
    With only ``sigma`` the radius is ``int(truncate * sigma + 0.5)`` (scipy);
    with only ``size`` sigma follows OpenCV's rule
    (:func:`gaussian_sigma_for_size`); with both, both are used as given.
    """
    if sigma is None and size is None:
        raise ValueError("gaussian needs sigma, size, or both")
    if size is not None:
        size = _check_odd_size(size)
    if sigma is None:
        sigma = gaussian_sigma_for_size(size)
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    radius = (size - 1) // 2 if size is not None else gaussian_radius(sigma, truncate)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian(sigma: float | None = None, size: int | None = None, truncate: float = 4.0) -> np.ndarray:
    """2-D isotropic Gaussian kernel, ``outer(g, g)`` of :func:`gaussian_1d`."""
    g = gaussian_1d(sigma, size, truncate)
    return np.outer(g, g)


# The classic integer approximations found in textbooks.
_GAUSSIAN_INTEGER = {
    3: (np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]), 16),
    5: (
        np.array(
            [
                [1, 4, 7, 4, 1],
                [4, 16, 26, 16, 4],
                [7, 26, 41, 26, 7],
                [4, 16, 26, 16, 4],
                [1, 4, 7, 4, 1],
            ]
        ),
        273,
    ),
}


def gaussian_integer(size: int) -> tuple[np.ndarray, int]:
    """Textbook integer Gaussian ``(weights, divisor)``: 3x3 ``/16`` or 5x5 ``/273``."""
    if size not in _GAUSSIAN_INTEGER:
        raise ValueError(f"integer Gaussian exists for sizes 3 and 5, got {size!r}")
    w, d = _GAUSSIAN_INTEGER[size]
    return w.copy(), d


# ------------------------------------------------------------------- derivatives

_SMOOTH = {
    "sobel": {3: [1.0, 2.0, 1.0], 5: [1.0, 4.0, 6.0, 4.0, 1.0]},
    "scharr": {3: [3.0, 10.0, 3.0]},
    "prewitt": {3: [1.0, 1.0, 1.0]},
}
_DIFF = {3: [-1.0, 0.0, 1.0], 5: [-1.0, -2.0, 0.0, 2.0, 1.0]}


def derivative_separable(name: str, axis: int, size: int = 3) -> Separable:
    """First-derivative kernel ``name`` (sobel, scharr, prewitt) as 1-D factors.

    axis: 1 differentiates along x (columns), 0 along y (rows).
    """
    if name not in _SMOOTH:
        raise ValueError(f"unknown derivative kernel {name!r}; expected one of {sorted(_SMOOTH)}")
    if size not in _SMOOTH[name]:
        raise ValueError(f"{name} exists for sizes {sorted(_SMOOTH[name])}, got {size!r}")
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0 (y, rows) or 1 (x, columns), got {axis!r}")
    smooth = np.array(_SMOOTH[name][size])
    diff = np.array(_DIFF[size])
    if axis in (1, -1):
        return Separable(rows=smooth, cols=diff)
    return Separable(rows=diff, cols=smooth)


def sobel(axis: int, size: int = 3) -> np.ndarray:
    """Sobel kernel; ``sobel(1)`` is ``[[-1,0,1],[-2,0,2],[-1,0,1]]`` (d/dx)."""
    return derivative_separable("sobel", axis, size).full()


def scharr(axis: int) -> np.ndarray:
    """Scharr kernel; ``scharr(1)`` is ``[[-3,0,3],[-10,0,10],[-3,0,3]]``."""
    return derivative_separable("scharr", axis, 3).full()


def prewitt(axis: int) -> np.ndarray:
    """Prewitt kernel; ``prewitt(1)`` is ``[[-1,0,1]]*3`` (d/dx)."""
    return derivative_separable("prewitt", axis, 3).full()


def laplacian(neighbours: int = 4) -> np.ndarray:
    """Discrete Laplacian, centre negative (scipy.ndimage.laplace's sign).

    neighbours=4: ``[[0,1,0],[1,-4,1],[0,1,0]]``;
    neighbours=8: ``[[1,1,1],[1,-8,1],[1,1,1]]``.
    """
    if neighbours == 4:
        return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    if neighbours == 8:
        k = np.ones((3, 3))
        k[1, 1] = -8.0
        return k
    raise ValueError(f"laplacian neighbours must be 4 or 8, got {neighbours!r}")


# ----------------------------------------------------------- other fixed kernels


def identity(size: int = 3) -> np.ndarray:
    """``size x size`` kernel with a single 1 in the centre."""
    size = _check_odd_size(size)
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def line(angle_deg: float) -> np.ndarray:
    """3x3 line detector for a bright one-pixel line at 0, 45, 90 or 135 degrees.

    Angles are measured counter-clockwise from the x axis (image rows point down).
    Weights: 2 on the line, -1 elsewhere (sum 0).
    """
    lines = {
        0: [(1, 0), (1, 1), (1, 2)],
        45: [(2, 0), (1, 1), (0, 2)],
        90: [(0, 1), (1, 1), (2, 1)],
        135: [(0, 0), (1, 1), (2, 2)],
    }
    a = int(round(angle_deg)) % 180
    if a not in lines:
        raise ValueError(f"line angle must be 0, 45, 90 or 135 degrees, got {angle_deg!r}")
    k = -np.ones((3, 3))
    for r, c in lines[a]:
        k[r, c] = 2.0
    return k


def edge(angle_deg: float) -> np.ndarray:
    """3x3 Sobel-style edge kernel responding to brightness increasing towards ``angle_deg``.

    Angles are counter-clockwise from +x with y pointing up on screen (so 90
    means brighter towards the top of the image).  Multiples of 45 degrees;
    diagonal kernels are the rotated Sobel ``[[0,1,2],[-1,0,1],[-2,-1,0]]``.
    """
    a = int(round(angle_deg)) % 360
    if a % 45:
        raise ValueError(f"edge angle must be a multiple of 45 degrees, got {angle_deg!r}")
    # the 8 border cells of a 3x3 kernel in counter-clockwise order starting at +x
    ring = [(1, 2), (0, 2), (0, 1), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
    weights = [2.0, 1.0, 0.0, -1.0, -2.0, -1.0, 0.0, 1.0]
    shift = a // 45
    k = np.zeros((3, 3))
    for i, (r, c) in enumerate(ring):
        k[r, c] = weights[(i - shift) % 8]
    return k


def kirsch(angle_deg: float) -> np.ndarray:
    """3x3 Kirsch compass kernel for brightness increasing towards ``angle_deg``.

    Same angle convention as :func:`edge` (multiples of 45 degrees,
    counter-clockwise from +x, 90 = towards the top of the image).  Weights: 5
    on the three border cells facing ``angle_deg``, -3 on the other five, 0 in
    the centre (sum 0); ``kirsch(90)`` is the textbook north mask
    ``[[5,5,5],[-3,0,-3],[-3,-3,-3]]``.
    """
    a = int(round(angle_deg)) % 360
    if a % 45:
        raise ValueError(f"kirsch angle must be a multiple of 45 degrees, got {angle_deg!r}")
    ring = [(1, 2), (0, 2), (0, 1), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
    weights = [5.0, 5.0, -3.0, -3.0, -3.0, -3.0, -3.0, 5.0]
    k = np.zeros((3, 3))
    for i, (r, c) in enumerate(ring):
        k[r, c] = weights[(i - a // 45) % 8]
    return k


def emboss() -> np.ndarray:
    """3x3 emboss kernel ``[[-2,-1,0],[-1,1,1],[0,1,2]]`` (sum 1).

    By correlation it brightens where brightness increases towards the bottom
    right and keeps flat areas at their value (the identity plus a diagonal edge).
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def mixed_derivative() -> np.ndarray:
    """Mixed second derivative ``outer([-1,0,1], [-1,0,1])`` = ``[[1,0,-1],[0,0,0],[-1,0,1]]``.

    Four times the central difference of d2/dxdy (y downwards), the off-diagonal
    Hessian entry; not scaled, like the Sobel kernels.  Sum 0.
    """
    d = np.array(_DIFF[3])
    return np.outer(d, d)


# ------------------------------------------------------------------ name registry

_REGISTRY: dict[str, Callable[..., np.ndarray]] = {
    "box": lambda size=3, **_: box(size),
    "mean": lambda size=3, **_: box(size),
    "gaussian": lambda size=None, sigma=None, truncate=4.0, **_: gaussian(
        sigma, size if (size is not None or sigma is not None) else 3, truncate
    ),
    "sobel_x": lambda size=3, **_: sobel(1, size),
    "sobel_y": lambda size=3, **_: sobel(0, size),
    "scharr_x": lambda **_: scharr(1),
    "scharr_y": lambda **_: scharr(0),
    "prewitt_x": lambda **_: prewitt(1),
    "prewitt_y": lambda **_: prewitt(0),
    "laplacian4": lambda **_: laplacian(4),
    "laplacian8": lambda **_: laplacian(8),
    "identity": lambda size=3, **_: identity(size),
    "emboss": lambda **_: emboss(),
    "dxy": lambda **_: mixed_derivative(),
}
for _a in (0, 45, 90, 135):
    _REGISTRY[f"line_{_a}"] = (lambda a: (lambda **_: line(a)))(_a)
for _a in range(0, 360, 45):
    _REGISTRY[f"edge_{_a}"] = (lambda a: (lambda **_: edge(a)))(_a)
    _REGISTRY[f"kirsch_{_a}"] = (lambda a: (lambda **_: kirsch(a)))(_a)


def kernel_names() -> list[str]:
    """Names accepted by :func:`get_kernel`."""
    return sorted(_REGISTRY)


def get_kernel(name: str, **params) -> np.ndarray:
    """A named kernel as a 2-D float64 array, e.g. ``get_kernel("gaussian", size=5, sigma=1)``."""
    key = name.lower().replace("-", "_")
    if key not in _REGISTRY:
        raise ValueError(f"unknown kernel {name!r}; known kernels: {', '.join(kernel_names())}")
    return np.asarray(_REGISTRY[key](**params), dtype=np.float64)
