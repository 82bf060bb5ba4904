"""Fixed image filters on numpy arrays, with one convention whatever the backend.

Functions: :func:`correlate`, :func:`convolve`, :func:`mean` (alias
:func:`box`), :func:`gaussian`, :func:`median`, :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`laplace` (alias :func:`laplacian`).  A torch tensor (``(B, C, H, W)``) given to
any of them is handed to the function of the same name in
:mod:`filterkit.filters.tensor`.

Shapes
    grey ``(H, W)``; colour ``(H, W, C)`` with ``channel_axis=-1`` (any axis
    may be named); every other axis is a batch axis, e.g. ``(N, H, W)`` or
    ``(N, H, W, C)``.  The spatial axes are the last two axes that are not the
    channel axis.  Filters never mix channels or batch items.

dtypes (details in :mod:`filterkit.filters.dtypes`)
    uint8, uint16, float32, float64.  Smoothing filters (mean, gaussian,
    median) return the input dtype, rounded half to even and saturated from
    the exact value.  Derivative filters and correlate/convolve return
    float32 (float64 for float64 input).

Borders
    ``mode`` is one of filterkit's five names (:mod:`filterkit.filters.border`):
    ``reflect`` (default, scipy's default), ``mirror`` (OpenCV's default
    BORDER_REFLECT_101), ``nearest``, ``constant`` (``cval``), ``wrap``.

Conventions (where the libraries disagree)
    * Kernels are applied by correlation (scipy, OpenCV ``filter2D``, torch);
      :func:`convolve` flips the kernel, which flips the sign of Sobel.
    * Derivative filters use scipy's scale and sign: ``sobel(axis=1)`` is
      ``[[-1,0,1],[-2,0,2],[-1,0,1]]``, ``laplace`` has a negative centre.
      ``normalize=True`` divides the kernel by the sum of its positive weights
      (Sobel /4, Scharr /16, Prewitt /3, Laplacian /4 or /8), which gives
      scikit-image's ``sobel_h/v``, ``scharr``, ``prewitt`` values (skimage
      additionally divides the magnitude by sqrt(2); kornia divides Sobel by 8).
    * Gaussian radius is ``int(truncate * sigma + 0.5)`` with ``truncate=4``
      for every dtype (as scipy; OpenCV's own rule is 3 sigma for uint8); the
      same explicit kernel goes to every backend.
    * Even-sized medians take the upper middle value (scipy) by default;
      ``even="lower"`` takes the lower one (torch).

Backends
    ``backend="auto"`` takes the first route of
    :data:`filterkit.filters._backends.dispatch.TABLE` (keyed by op, dtype, size and mode) that
    can compute the call: OpenCV wherever its result follows the conventions above (explicitly
    padding for borders OpenCV's filter lacks; a few routes run exact numba passes on OpenCV's
    borders, e.g. the uint8 Gaussian, rounded exactly where ``GaussianBlur``'s 8-bit weights are
    off by one), the numba median (:mod:`filterkit.filters._backends.median_numba`) for medians
    OpenCV cannot do, and scipy.ndimage otherwise.  ``"opencv"``, ``"scipy"`` and ``"numba"``
    force one (``ValueError`` if it cannot do the case).  Backends agree exactly except for float
    results at float32 rounding.  Kernels reaching past the far edge of the image go to scipy.

Constant borders
    ``cval`` pads the image itself, as a 2-D correlation defines it.
    (scipy.ndimage.sobel/prewitt apply ``cval`` again after their first 1-D
    pass, so they differ from filterkit near the border when ``cval != 0``.)
    A median's ``cval`` must be a value of the image dtype.

>>> import numpy as np
>>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 90
>>> mean(img)[1:4, 1:4]
array([[10, 10, 10],
       [10, 10, 10],
       [10, 10, 10]], dtype=uint8)
"""

from __future__ import annotations

import importlib
from typing import Callable, Literal

import numpy as np

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters import ops as _ops
from filterkit.filters._backends import dispatch as _dispatch
from filterkit.filters._backends import opencv as _cv
from filterkit.filters._backends import scipy_ndimage as _sp
from filterkit.filters._backends.dispatch import Decline
from filterkit.filters._planes import _Planes, check_kernel, check_size, is_tensor
from filterkit.filters.dtypes import abs_to_uint8, float_dtype_for

__all__ = ["BACKENDS", "correlate", "convolve", "mean", "median", "gaussian", "sobel", "scharr", "prewitt", "laplace", "box", "laplacian"]  # ops.NAMES + aliases

Backend = Literal["auto", "opencv", "scipy", "numba"]
BACKENDS: tuple[str, ...] = _dispatch.BACKENDS


# ----------------------------------------------------------------- torch hand-off


def _to_tensor_backend(name: str, image, channel_axis, backend, **options):
    if channel_axis is not None:
        raise ValueError(f"{name}: channel_axis is for numpy arrays; torch tensors are (B, C, H, W)")
    if backend != "auto":
        raise ValueError(f"{name}: backend={backend!r} is for numpy arrays; torch tensors use filterkit.filters.tensor")
    tensor = importlib.import_module("filterkit.filters.tensor")  # torch: imported on first use

    return getattr(tensor, name)(image, **options)


# ------------------------------------------------------------------ dispatch


def _compute(op: str, planes: _Planes, size: int, mode: str, backend: str, impls: dict[str, Callable], *args):
    """The result planes of the first route of the dispatch table for ``(op, dtype, size, mode)`` that
    does not decline: ``impls[route.impl](planes, *args)``."""
    reason = ""
    for route in _dispatch.routes(op, planes.dtype, size, mode, backend):
        try:
            return impls[route.impl](planes, *args)
        except Decline as e:
            reason = str(e)
    raise ValueError(f"{planes.op}: backend={backend!r} cannot do this: {reason}; use backend='auto' or 'scipy'")


def _backend_exists(backend: str, op: str) -> None:
    """Refuse an unknown backend, or one with no route for ``op``, before any work."""
    if backend not in BACKENDS:
        raise ValueError(f"{op}: unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    key = "correlate" if op in ("convolve", "laplace") else op
    if backend != "auto" and not any(r.op == key and r.backend == backend for r in _dispatch.TABLE):
        ops = sorted({r.op for r in _dispatch.TABLE if r.backend == backend})
        raise ValueError(f"{op}: backend={backend!r} only exists for {', '.join(ops)}, not {op}")


def _median_numba(planes: _Planes, size: int, even: str, mode: str, cval: float) -> np.ndarray:
    from filterkit.filters._backends.median_numba import median_planes  # numba: imported on first use

    return median_planes(planes.x, size, even, mode, cval)


def _float_magnitude(fn: Callable) -> Callable:
    """``fn`` computing in float32 where a uint8 result is asked for, then rounded and saturated."""
    def magnitude(planes, seps, mode, cval, out_dtype):
        if out_dtype != np.uint8:
            return fn(planes, seps, mode, cval, out_dtype)
        return abs_to_uint8(fn(planes, seps, mode, cval, np.float32))
    return magnitude


# the implementation of each route (its `impl`) of the dispatch table, per op
_MEAN = {
    "box_float64": _cv.box_float64,
    "blur": _cv.blur,
    "smooth": lambda planes, size, mode, cval: _sp.smooth(planes, _kernels.box_1d(size), mode, cval),
}
_GAUSSIAN = {
    "exact_uint8": _cv.exact_uint8,
    "sep_float64": _cv.sep_float64,
    "gaussian_blur": _cv.gaussian_blur,
    "smooth": lambda planes, g, sigma, mode, cval: _sp.smooth(planes, g, mode, cval),
}
_MEDIAN = {
    "median_blur": lambda planes, size, even, mode, cval: _cv.median_blur(planes, size, mode, cval),
    "numba": _median_numba,
    "rank": lambda planes, size, even, mode, cval: _sp.rank(
        planes, size, (size * size) // 2 - (1 if (size % 2 == 0 and even == "lower") else 0), mode, cval),
}
_DERIVATIVE = {
    "opencv": _cv.derivative,
    "scipy": lambda planes, sep, mode, cval, dtype: _sp.separable(planes.x, sep.rows, sep.cols, mode, cval, dtype),
}
_MAGNITUDE = {
    "int_gradient": _cv.int_magnitude,
    "opencv": _float_magnitude(_cv.magnitude),
    "scipy": _float_magnitude(_sp.magnitude),
}
_CORRELATE = {
    "opencv": _cv.filter2d,
    "scipy": lambda planes, k, mode, cval, dtype: _sp.correlate(planes.x, k, mode, cval, dtype),
}


# -------------------------------------------------------------- linear filters


def correlate(
    image,
    kernel,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
) -> np.ndarray:
    """Correlate every spatial plane with a 2-D kernel: ``out[p] = sum_k kernel[k] * image[p + k - centre]``.

    Parameters
    ----------
    image : ndarray
        ``(H, W)``, ``(H, W, C)`` with ``channel_axis``, or with batch axes in front.
    kernel : array_like
        2-D weights with odd height and width; the centre sample sits on ``p``.
    mode, cval : str, float
        Border mode (:mod:`filterkit.filters.border`) and the constant for ``"constant"``.
    channel_axis : int or None
        Axis holding colour channels (not filtered across).
    backend : {"auto", "opencv", "scipy"}

    Returns
    -------
    ndarray
        float32 (float64 for float64 input), same shape as ``image``.  Never
        rounded or clipped, whatever the kernel.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((3, 3), np.uint8); img[1, 1] = 1
    >>> correlate(img, [[1, 2, 3], [4, 5, 6], [7, 8, 9]], mode="constant")
    array([[9., 8., 7.],
           [6., 5., 4.],
           [3., 2., 1.]], dtype=float32)
    """
    if is_tensor(image):
        return _to_tensor_backend("correlate", image, channel_axis, backend, kernel=kernel, mode=mode, cval=cval)
    return _correlate(image, check_kernel(kernel, "correlate"), mode, cval, channel_axis, backend, "correlate")



def _correlate(image, k: np.ndarray, mode, cval, channel_axis, backend, name) -> np.ndarray:
    _backend_exists(backend, "correlate")
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis, op=name)
    out_dtype = float_dtype_for(planes.dtype)
    out = _compute("correlate", planes, max(k.shape), mode, backend, _CORRELATE, k, mode, cval, out_dtype)
    return planes.restore(out)


def convolve(
    image,
    kernel,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
) -> np.ndarray:
    """True convolution: :func:`correlate` with the kernel flipped in both axes.

    Flipping changes the sign of every odd kernel: ``convolve(img, sobel_x)``
    is ``-correlate(img, sobel_x)`` (scipy.ndimage.convolve agrees; OpenCV's
    ``filter2D`` and torch's ``conv2d`` correlate).  Parameters and the
    float32/float64 result as in :func:`correlate`.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((3, 3), np.uint8); img[1, 1] = 1
    >>> convolve(img, [[1, 2, 3], [4, 5, 6], [7, 8, 9]], mode="constant")
    array([[1., 2., 3.],
           [4., 5., 6.],
           [7., 8., 9.]], dtype=float32)
    """
    if is_tensor(image):
        return _to_tensor_backend("convolve", image, channel_axis, backend, kernel=kernel, mode=mode, cval=cval)
    k = check_kernel(kernel, "convolve")[::-1, ::-1]
    return _correlate(image, np.ascontiguousarray(k), mode, cval, channel_axis, backend, "convolve")



def mean(
    image,
    size: int = 3,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
) -> np.ndarray:
    """Mean over a ``size x size`` square (box filter), in the input dtype.

    Parameters
    ----------
    image : ndarray
        See :func:`correlate` for shapes; uint8, uint16, float32, float64.
    size : int
        Odd side of the square, in pixels.
    mode, cval, channel_axis, backend
        As in :func:`correlate`.

    Returns
    -------
    ndarray, same shape and dtype as ``image``; integer results are the exact
    mean rounded half to even (scipy's ``uniform_filter`` truncates).

    Examples
    --------
    >>> import numpy as np
    >>> mean(np.array([[0, 0, 0], [0, 0, 0], [0, 0, 5]], np.uint8), mode="constant")
    array([[0, 0, 0],
           [0, 1, 1],
           [0, 1, 1]], dtype=uint8)
    """
    if is_tensor(image):
        return _to_tensor_backend("mean", image, channel_axis, backend, size=size, mode=mode, cval=cval)
    _backend_exists(backend, "mean")
    size = check_size(size, "mean", odd=True)
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis, op="mean")
    return planes.restore(_compute("mean", planes, size, mode, backend, _MEAN, size, mode, cval))


box = mean


def gaussian(
    image,
    sigma: float | None = None,
    *,
    size: int | None = None,
    truncate: float = 4.0,
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
) -> np.ndarray:
    """Gaussian blur in the input dtype, with the kernel of :func:`filterkit.filters.kernels.gaussian_1d`.

    Parameters
    ----------
    image : ndarray
        See :func:`correlate`.
    sigma : float, optional
        Standard deviation in pixels.  Alone: radius ``int(truncate*sigma+0.5)``.
    size : int, optional
        Odd kernel width in pixels.  Alone: sigma follows OpenCV's size rule.
    truncate : float
        Radius in sigmas when only ``sigma`` is given (4, as scipy, for every dtype).
    mode, cval, channel_axis, backend
        As in :func:`correlate`.

    Returns
    -------
    ndarray, same shape and dtype as ``image`` (integers rounded half to even
    and saturated; see the module notes for the uint8 OpenCV tolerance).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((1, 5), np.uint8); img[0, 2] = 100
    >>> gaussian(img, 1.0, truncate=1.0, mode="nearest")
    array([[ 0, 27, 45, 27,  0]], dtype=uint8)
    """
    if is_tensor(image):
        return _to_tensor_backend(
            "gaussian", image, channel_axis, backend, sigma=sigma, size=size, truncate=truncate, mode=mode, cval=cval
        )
    _backend_exists(backend, "gaussian")
    if size is not None:
        size = check_size(size, "gaussian", odd=True)
    g = _kernels.gaussian_1d(sigma, size, truncate)
    sigma_used = float(sigma) if sigma is not None else _kernels.gaussian_sigma_for_size(size)
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis, op="gaussian")
    return planes.restore(_compute("gaussian", planes, len(g), mode, backend, _GAUSSIAN, g, sigma_used, mode, cval))


def median(
    image,
    size: int = 3,
    *,
    even: Literal["upper", "lower"] = "upper",
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
) -> np.ndarray:
    """Median over a ``size x size`` square, in the input dtype (exact: an order statistic).

    Parameters
    ----------
    image : ndarray
        See :func:`correlate`.
    size : int
        Side of the square in pixels; even sizes allowed.  The window covers
        offsets ``-(size // 2) .. (size - 1) // 2`` (scipy's placement).
    even : {"upper", "lower"}
        For even ``size`` the window has two middle values: ``"upper"``
        (scipy.ndimage.median_filter) or ``"lower"`` (torch).
    mode, cval, channel_axis
        As in :func:`correlate`.
    backend : {"auto", "opencv", "numba", "scipy"}
        OpenCV's ``medianBlur`` does odd sizes on uint8, and sizes 3 and 5 on
        uint16/float32; it always replicates the border, so other modes are
        padded explicitly.  ``"numba"`` is :mod:`filterkit.filters._backends.median_numba`.

    Examples
    --------
    >>> import numpy as np
    >>> median(np.array([[0, 9, 0, 0], [9, 9, 9, 0], [0, 9, 0, 0]], np.uint8), mode="nearest")
    array([[9, 9, 0, 0],
           [9, 9, 0, 0],
           [9, 9, 0, 0]], dtype=uint8)
    """
    if is_tensor(image):
        return _to_tensor_backend("median", image, channel_axis, backend, size=size, even=even, mode=mode, cval=cval)
    _backend_exists(backend, "median")
    size = check_size(size, "median")
    if even not in ("upper", "lower"):
        raise ValueError(f"median: even must be 'upper' or 'lower', got {even!r}")
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis, op="median")
    if mode == "constant" and not _cv.cval_fits(cval, planes.dtype):
        raise ValueError(f"median: cval={cval!r} is not a {planes.dtype} value; a median must be one of the window's values")
    if size == 1:
        return planes.restore(planes.x.copy())
    return planes.restore(_compute("median", planes, size, mode, backend, _MEDIAN, size, even, mode, cval))


# ------------------------------------------------------------------ derivatives


def _derivative_kernel(name: str, axis: int, size: int, normalize: bool) -> _kernels.Separable:
    sep = _kernels.derivative_separable(name, axis, size)
    if not normalize:
        return sep
    full = sep.full()
    scale = full[full > 0].sum()
    return _kernels.Separable(rows=sep.rows / scale, cols=sep.cols)


_AS_UINT8_TENSOR = "as_uint8 is for numpy images; for tensors use filterkit.filters.dtypes.to_uint8 on the result"



_AS_UINT8_TENSOR = "as_uint8 is for numpy images; for tensors use filterkit.filters.dtypes.to_uint8 on the result"


def _derivative(name, image, axis, size, normalize, mode, cval, channel_axis, backend, as_uint8=False) -> np.ndarray:
    if is_tensor(image):
        if as_uint8:
            raise ValueError(f"{name}: {_AS_UINT8_TENSOR}")
        return _to_tensor_backend(
            name, image, channel_axis, backend, axis=axis, size=size, normalize=normalize, mode=mode, cval=cval
        )
    _backend_exists(backend, name)
    if axis is not None and axis not in (0, 1, -1, -2):
        raise ValueError(f"{name}: axis must be 0 (y, rows), 1 (x, columns) or None (gradient magnitude), got {axis!r}")
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis, op=name)
    out_dtype = float_dtype_for(planes.dtype)
    if axis is not None:
        sep = _derivative_kernel(name, axis % 2, size, normalize)
        result = _compute(name, planes, size, mode, backend, _DERIVATIVE, sep, mode, cval, out_dtype)
    else:
        seps = [_derivative_kernel(name, a, size, normalize) for a in (0, 1)]
        direct = as_uint8 and planes.dtype == np.uint8  # int_gradient can write the uint8 image itself
        result = _compute("magnitude", planes, size, mode, backend, _MAGNITUDE, seps, mode, cval,
                          np.uint8 if direct else out_dtype)
        if result.dtype == np.uint8:
            return planes.restore(result)
    result = planes.restore(result)
    return abs_to_uint8(result) if as_uint8 else result


_DERIVATIVE_DOC = """{title}

    Parameters
    ----------
    image : ndarray
        See :func:`correlate` for shapes; uint8, uint16, float32, float64.
    axis : {{0, 1, None}}
        Spatial axis to differentiate: 1 (or -1) = x, columns, positive where
        brightness grows to the right; 0 (or -2) = y, rows, positive where it
        grows downwards.  Counted over the two spatial axes whatever the
        batch/channel axes.  None: gradient magnitude ``hypot(d/dx, d/dy)``.
    size : int
        Kernel size ({sizes}).
    normalize : bool
        Divide the kernel by the sum of its positive weights ({norm}); this
        reproduces scikit-image's ``{name}_h``/``{name}_v`` values (skimage's
        magnitude is this one divided by sqrt(2)).
    mode, cval, channel_axis, backend
        As in :func:`correlate`.
    as_uint8 : bool
        Return ``filterkit.filters.dtypes.to_uint8(result, "abs")`` instead: ``|value|``
        rounded half to even and saturated at 255, an 8-bit image for saving.
        For the uint8 gradient magnitude of 3x3 kernels it is computed without
        the float image (numpy images only).

    Returns
    -------
    ndarray of float32 (float64 for float64 input; uint8 with ``as_uint8``),
    same shape as ``image``.  Correlation sign and scale of
    scipy.ndimage.{name}; never wraps around.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[0, 0, 10]] * 3, np.uint8)
    >>> {name}(img, axis=1)[1]
    array([{example}], dtype=float32)
    """


def _derivative_filter(name: str, title: str, sizes: str, norm: str, example: str):
    """The public function ``name`` (sobel, scharr, prewitt): one signature, its own docstring."""

    def derivative_filter(
        image,
        axis: int | None = None,
        *,
        size: int = 3,
        normalize: bool = False,
        mode: str = "reflect",
        cval: float = 0.0,
        channel_axis: int | None = None,
        backend: Backend = "auto",
        as_uint8: bool = False,
    ) -> np.ndarray:
        return _derivative(name, image, axis, size, normalize, mode, cval, channel_axis, backend, as_uint8)

    derivative_filter.__name__ = derivative_filter.__qualname__ = name
    derivative_filter.__doc__ = _DERIVATIVE_DOC.format(title=title, name=name, sizes=sizes, norm=norm, example=example)
    return derivative_filter


_GRADIENT_DOCS = {  # title, sizes, norm, example: for each of filterkit.filters.ops.GRADIENTS
    "sobel": ("Sobel derivative (``[1, 2, 1]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
              "3 or 5", "3x3: 4, 5x5: 48", " 0., 40., 40."),
    "scharr": ("Scharr derivative (``[3, 10, 3]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
               "3 only", "16", "  0., 160., 160."),
    "prewitt": ("Prewitt derivative (``[1, 1, 1]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
                "3 only", "3", " 0., 30., 30."),
}
sobel, scharr, prewitt = (_derivative_filter(name, *_GRADIENT_DOCS[name]) for name in _ops.GRADIENTS)


def laplace(
    image,
    *,
    neighbours: int = 4,
    normalize: bool = False,
    mode: str = "reflect",
    cval: float = 0.0,
    channel_axis: int | None = None,
    backend: Backend = "auto",
    as_uint8: bool = False,
) -> np.ndarray:
    """Discrete Laplacian with scipy.ndimage.laplace's sign (negative at bright spots).

    Parameters
    ----------
    image : ndarray
        See :func:`correlate`.
    neighbours : {4, 8}
        4: ``[[0,1,0],[1,-4,1],[0,1,0]]`` (= scipy.ndimage.laplace,
        ``cv2.Laplacian(ksize=1)``); 8: ``[[1,1,1],[1,-8,1],[1,1,1]]``.
        scikit-image's ``laplace`` is the 4-neighbour one with the opposite sign.
    normalize : bool
        Divide by the sum of positive weights (4 or 8).
    mode, cval, channel_axis, backend
        As in :func:`correlate`.
    as_uint8 : bool
        Return ``filterkit.filters.dtypes.to_uint8(result, "abs")`` instead, an 8-bit
        image for saving (numpy images only), as for :func:`sobel`.

    Returns
    -------
    ndarray of float32 (float64 for float64 input; uint8 with ``as_uint8``),
    same shape as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((3, 3), np.uint8); img[1, 1] = 1
    >>> laplace(img, mode="constant")
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)
    """
    if is_tensor(image):
        if as_uint8:
            raise ValueError(f"laplace: {_AS_UINT8_TENSOR}")
        return _to_tensor_backend(
            "laplace", image, channel_axis, backend, neighbours=neighbours, normalize=normalize, mode=mode, cval=cval
        )
    k = _kernels.laplacian(neighbours)
    if normalize:
        k = k / k[k > 0].sum()
    result = _correlate(image, k, mode, cval, channel_axis, backend, "laplace")
    return abs_to_uint8(result) if as_uint8 else result


laplacian = laplace  # the name OpenCV, kornia and skimage use (filterkit.filters.ops.ALIASES)
