"""Fixed image filters on numpy arrays, with one convention whatever the backend.

Functions: :func:`correlate`, :func:`convolve`, :func:`mean` (alias
:func:`box`), :func:`gaussian`, :func:`median`, :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`laplace`.  A torch tensor (``(B, C, H, W)``) given to
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
    ``backend="auto"`` uses OpenCV wherever its result follows the
    conventions above (explicitly padding for borders OpenCV's filter lacks),
    the numba median (:mod:`filterkit.filters._backends.median_numba`, if present) for medians
    OpenCV cannot do, and scipy.ndimage otherwise.  ``"opencv"``,
    ``"scipy"`` and ``"numba"`` force one (``ValueError`` if it cannot do the
    case).  Backends agree exactly except for float results at float32
    rounding.  Two uint8 cases on the OpenCV path run in numba instead
    (imported on first use): ``gaussian`` sums in float32 and recomputes in
    float64 the pixels within the float32 error bound of a ``.5`` tie
    (:mod:`filterkit.filters._backends.exact_round`), so the result equals scipy's float64 value
    rounded half to even, to the last pixel; the gradient magnitude of 3x3
    integer kernels (``sobel``, ``scharr``, ``prewitt`` with ``axis=None``)
    takes both exact derivatives and the magnitude in one pass
    (:mod:`filterkit.filters._backends.int_gradient`).  Two float32 cases are faster in numba
    too: Gaussians of 13 taps and more (:mod:`filterkit.filters._backends.exact_round`) and
    grey means from 7x7 to 63x63 (:mod:`filterkit.filters._backends.running_box`).

    OpenCV calls (OpenCV's own thread pool applies: ``cv2.setNumThreads``):
    ``blur`` for mean (uint16 sizes >= 15: ``boxFilter`` in float64, as
    ``blur``'s 16-bit scaling is off by one there; float32 grey images from
    7x7 to 63x63 in :mod:`filterkit.filters._backends.running_box`'s numba pass, faster); ``sepFilter2D`` for
    derivatives; ``GaussianBlur`` with explicit size and sigma for float
    images up to 9 taps (same sampled kernel; float32 kernels of 13 taps and
    more run in :mod:`filterkit.filters._backends.exact_round`'s numba passes, 1.1-2.8x faster;
    never for uint8, where its 8-bit fixed-point weights are off by one on
    6-18 % of pixels); uint16
    Gaussians in float64 (float32 sums are off by one on ~0.2 % of pixels);
    ``filter2D`` for correlate and laplace; ``medianBlur``, which always
    replicates the edge, so for other modes only the border frame is
    recomputed from small padded blocks.  ``BORDER_WRAP`` and a nonzero
    ``cval`` are padded explicitly (``cv2.copyMakeBorder``); kernels reaching
    past the far edge of the image go to scipy.

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

from typing import Callable, Literal

import numpy as np

from filterkit.filters import border as _border
from filterkit.filters import kernels as _kernels
from filterkit.filters.dtypes import abs_to_uint8, check_dtype, float_dtype_for, round_saturate

__all__ = [
    "BACKENDS",
    "correlate",
    "convolve",
    "mean",
    "box",
    "gaussian",
    "median",
    "sobel",
    "scharr",
    "prewitt",
    "laplace",
]

Backend = Literal["auto", "opencv", "scipy", "numba"]
BACKENDS: tuple[str, ...] = ("auto", "opencv", "scipy", "numba")

_CV_DDEPTH = {np.dtype(np.float32): 5, np.dtype(np.float64): 6}  # cv2.CV_32F, cv2.CV_64F


# ----------------------------------------------------------------- torch hand-off


def _is_tensor(image) -> bool:
    return type(image).__module__.startswith("torch")


def _to_tensor_backend(name: str, image, channel_axis, backend, **options):
    if channel_axis is not None:
        raise ValueError("channel_axis is for numpy arrays; torch tensors are (B, C, H, W)")
    if backend != "auto":
        raise ValueError(f"backend={backend!r} is for numpy arrays; torch tensors use filterkit.filters.tensor")
    from filterkit.filters import tensor

    return getattr(tensor, name)(image, **options)


# ----------------------------------------------------------------------- layout


class _Planes:
    """An image seen as ``(N, H, W, C)``: batch, two spatial axes, channels (C=1 for grey)."""

    def __init__(self, image, channel_axis: int | None):
        x = np.asarray(image)
        check_dtype(x.dtype)
        if channel_axis is not None:
            if x.ndim < 3:
                raise ValueError(f"channel_axis={channel_axis} needs at least 3 dimensions, image has shape {x.shape}")
            if not -x.ndim <= channel_axis < x.ndim:
                raise ValueError(f"channel_axis={channel_axis} is out of range for an image of shape {x.shape}")
            self.channel_axis = channel_axis % x.ndim
            x = np.moveaxis(x, self.channel_axis, -1)
            spatial_end = x.ndim - 1
        else:
            if x.ndim < 2:
                raise ValueError(f"an image needs 2 spatial dimensions, got shape {x.shape}")
            self.channel_axis = None
            spatial_end = x.ndim
        if x.size == 0:
            raise ValueError(f"empty image (shape {np.shape(image)})")
        self.moved_shape = x.shape
        self.h, self.w = x.shape[spatial_end - 2 : spatial_end]
        c = x.shape[-1] if channel_axis is not None else 1
        self.x = x.reshape(-1, self.h, self.w, c)
        self.dtype = x.dtype

    def restore(self, out4: np.ndarray) -> np.ndarray:
        out = out4.reshape(self.moved_shape)
        return out if self.channel_axis is None else np.moveaxis(out, -1, self.channel_axis)

    def map_opencv(self, fn: Callable[[np.ndarray], np.ndarray], out_dtype, max_channels: int = 512) -> np.ndarray:
        """Apply ``fn`` to each contiguous ``(H, W)`` or ``(H, W, C)`` plane; result ``(N, H, W, C)``."""
        x = self.x
        n, _, _, c = x.shape
        if n == 1 and c == 1:  # the common grey image: no copies beyond OpenCV's own output
            return fn(np.ascontiguousarray(x[0, :, :, 0]))[None, :, :, None]
        if n == 1 and c <= max_channels:  # one interleaved colour image
            return fn(np.ascontiguousarray(x[0])).reshape(x.shape)
        out = np.empty(x.shape, out_dtype)
        for i in range(n):
            if c == 1:
                out[i, :, :, 0] = fn(np.ascontiguousarray(x[i, :, :, 0]))
            elif c <= max_channels:
                out[i] = fn(np.ascontiguousarray(x[i])).reshape(out.shape[1:])
            else:
                for j in range(c):
                    out[i, :, :, j] = fn(np.ascontiguousarray(x[i, :, :, j]))
        return out


# ---------------------------------------------------------------- option checks


def _check_backend(backend: str, name: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "numba" and name != "median":
        raise ValueError(f"backend='numba' only exists for median, not {name}")
    return backend


def _check_size(size, name: str = "size", odd: bool = False) -> int:
    if isinstance(size, bool) or int(size) != size or size < 1 or (odd and size % 2 == 0):
        kind = "a positive odd integer" if odd else "a positive integer"
        raise ValueError(f"{name} must be {kind}, got {size!r}")
    return int(size)


def _check_kernel(kernel) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(
            f"kernel must be a 2-D array with odd height and width (its centre is the middle sample), got shape "
            f"{np.shape(kernel)}; pad an even kernel with a row/column of zeros to choose its centre"
        )
    if not np.isfinite(k).all():
        raise ValueError("kernel contains NaN or infinity")
    return k


def _no_opencv(backend: str, why: str):
    if backend == "opencv":
        raise ValueError(f"backend='opencv' cannot do this: {why}; use backend='auto' or 'scipy'")


# ------------------------------------------------------------ OpenCV borders


def _cval_fits(cval: float, dtype: np.dtype) -> bool:
    """True if padding an image of ``dtype`` with ``cval`` loses nothing."""
    if dtype.kind == "f":
        return bool(np.asarray(cval, dtype=dtype) == cval)
    info = np.iinfo(dtype)
    return float(cval).is_integer() and info.min <= cval <= info.max


def _opencv_border_plan(mode: str, cval: float, planes: _Planes, ry: int, rx: int, native: set[str]):
    """How OpenCV gets ``mode``: ("native", borderType), ("pad", borderType), or None (cannot).

    ``native`` lists the modes the OpenCV function itself handles.  Other modes
    are padded explicitly with ``cv2.copyMakeBorder`` and the result cropped.
    Kernels reaching past the far edge (tiny images) go to scipy.
    """
    if ry >= planes.h or rx >= planes.w:
        return None
    if mode == "reflect" and ry <= 1 and rx <= 1:
        mode = "nearest"  # one sample of reflect padding is the edge sample itself
    if mode == "constant" and cval != 0:
        if not _cval_fits(cval, planes.dtype):
            return None
        return ("pad", _border.opencv_border(mode))
    if mode in native:
        return ("native", _border.opencv_border(mode))
    return ("pad", _border.opencv_border(mode))


def _with_border(plan, ry: int, rx: int, cval: float, filt: Callable[[np.ndarray, int], np.ndarray]):
    """Wrap ``filt(plane, borderType)`` so that it honours ``plan``."""
    import cv2

    how, border_type = plan
    if how == "native":
        return lambda plane: filt(plane, border_type)

    def padded(plane: np.ndarray) -> np.ndarray:
        value = [float(cval)] * 4
        p = cv2.copyMakeBorder(plane, ry, ry, rx, rx, border_type, value=value)
        out = filt(p, cv2.BORDER_REPLICATE)
        return out[ry : ry + plane.shape[0], rx : rx + plane.shape[1]]

    return padded


def _cv_round_saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """:func:`filterkit.filters.dtypes.round_saturate` for uint8/uint16 in one OpenCV pass (half to even, saturating)."""
    import cv2

    depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}[np.dtype(dtype)]
    flat = values.reshape(values.shape[0], -1)  # one channel: OpenCV adds a scalar to at most 4 channels
    return cv2.add(flat, 0.0, dtype=depth).reshape(values.shape)


# ------------------------------------------------------------------ scipy paths


def _scipy_separable(x4: np.ndarray, rows: np.ndarray, cols: np.ndarray, mode: str, cval: float, work) -> np.ndarray:
    from scipy import ndimage as ndi

    m = _border.scipy_mode(mode)
    if mode == "constant" and cval != 0:
        # two 1-D passes would pad the first pass's result with cval again (scipy.ndimage.sobel
        # does); the image padded with cval is what correlation means, so use the 2-D kernel
        return _scipy_correlate(x4, np.outer(rows, cols), mode, cval, work)
    tmp = ndi.correlate1d(x4, cols, axis=2, output=work, mode=m, cval=cval)
    return ndi.correlate1d(tmp, rows, axis=1, output=tmp, mode=m, cval=cval)


def _scipy_nd(filter_fn: Callable[..., np.ndarray], x4: np.ndarray, shape: tuple[int, int], mode: str, cval: float,
              **options) -> np.ndarray:
    """``filter_fn(x4, mode=..., cval=..., **options)``, an N-D scipy.ndimage filter whose footprint is
    ``shape`` (rows, columns) over the planes of ``x4`` (N, H, W, C).

    scipy.ndimage's N-D filters read outside the array in ``reflect`` mode when a footprint radius is
    four times an image side or more (scipy 1.17.1: a 2x3 image and 21 taps give values of 1e199; its
    1-D passes are right).  Where a pad is wider than the image, the planes are padded here by
    :func:`filterkit.filters.border.pad_numpy` and only the valid part is kept.
    """
    (kh, kw), (h, w) = shape, x4.shape[1:3]
    before, after = (kh // 2, kw // 2), (kh - 1 - kh // 2, kw - 1 - kw // 2)
    if mode == "constant" or max(before[0], after[0]) < h and max(before[1], after[1]) < w:
        return filter_fn(x4, mode=_border.scipy_mode(mode), cval=cval, **options)
    pad = ((0, 0), (before[0], after[0]), (before[1], after[1]), (0, 0))
    out = filter_fn(_border.pad_numpy(x4, pad, mode), mode="constant", cval=cval, **options)
    return np.ascontiguousarray(out[:, before[0]:before[0] + h, before[1]:before[1] + w])


def _scipy_correlate(x4: np.ndarray, kernel: np.ndarray, mode: str, cval: float, work) -> np.ndarray:
    from scipy import ndimage as ndi

    return _scipy_nd(ndi.correlate, x4, kernel.shape, mode, cval, weights=kernel[None, :, :, None], output=work)


# -------------------------------------------------------------- linear filters


def _separable_smooth(planes: _Planes, k1: np.ndarray, mode: str, cval: float, backend: str, opencv_fn) -> np.ndarray:
    """Shared by mean and gaussian: separable kernel ``k1`` on both axes, input dtype out."""
    r = len(k1) // 2
    dtype = planes.dtype
    plan = None
    if backend in ("auto", "opencv"):
        plan = _opencv_border_plan(mode, cval, planes, r, r, {"reflect", "mirror", "nearest", "constant"})
        if plan is None:
            _no_opencv(backend, "the kernel is wider than the image or cval does not fit the dtype")
    if plan is not None:
        out4 = planes.map_opencv(_with_border(plan, r, r, cval, opencv_fn), dtype)
        return planes.restore(out4)
    work = np.float64 if dtype.kind == "u" else dtype
    out4 = _scipy_separable(planes.x, k1, k1, mode, cval, work)
    return planes.restore(round_saturate(out4, dtype, overwrite=True))


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
    if _is_tensor(image):
        return _to_tensor_backend("correlate", image, channel_axis, backend, kernel=kernel, mode=mode, cval=cval)
    return _correlate(image, _check_kernel(kernel), mode, cval, channel_axis, backend, "correlate")


def _correlate(image, k: np.ndarray, mode, cval, channel_axis, backend, name) -> np.ndarray:
    _check_backend(backend, name)
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis)
    out_dtype = float_dtype_for(planes.dtype)
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    plan = None
    if backend in ("auto", "opencv"):
        plan = _opencv_border_plan(mode, cval, planes, ry, rx, {"reflect", "mirror", "nearest", "constant"})
        if plan is None:
            _no_opencv(backend, "the kernel is wider than the image or cval does not fit the dtype")
    if plan is not None:
        import cv2

        ddepth = _CV_DDEPTH[out_dtype]
        kc = k.astype(out_dtype)

        def filt(plane, border_type):
            return cv2.filter2D(plane, ddepth, kc, borderType=border_type)

        return planes.restore(planes.map_opencv(_with_border(plan, ry, rx, cval, filt), out_dtype))
    return planes.restore(_scipy_correlate(planes.x, k, mode, cval, out_dtype))


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
    if _is_tensor(image):
        return _to_tensor_backend("convolve", image, channel_axis, backend, kernel=kernel, mode=mode, cval=cval)
    k = _check_kernel(kernel)[::-1, ::-1]
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
    if _is_tensor(image):
        return _to_tensor_backend("mean", image, channel_axis, backend, size=size, mode=mode, cval=cval)
    _check_backend(backend, "mean")
    size = _check_size(size, odd=True)
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis)
    dtype = planes.dtype

    def opencv_fn(plane, border_type):
        import cv2

        if dtype == np.uint16 and size > 13:
            # cv2.blur's 16-bit scaling is off by one from exact rounding for sizes >= 15
            return _cv_round_saturate(cv2.boxFilter(plane, cv2.CV_64F, (size, size), borderType=border_type), dtype)
        if dtype == np.float32 and plane.ndim == 2 and _RUNNING_BOX_SIZES[0] <= size <= _RUNNING_BOX_SIZES[1]:
            from filterkit.filters._backends.running_box import box_float32  # numba: imported on first use

            return box_float32(plane, size, border_type)
        return cv2.blur(plane, (size, size), borderType=border_type)

    return _separable_smooth(planes, _kernels.box_1d(size), mode, cval, backend, opencv_fn)


box = mean

# float32 grey means of these sizes run in filterkit.filters._backends.running_box (1.06-1.6x faster than cv2.blur in
# quick checks on 2048x2048; below 7x7 and for interleaved colour cv2.blur was faster, from about 95x95 as fast)
_RUNNING_BOX_SIZES = (7, 63)


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
    if _is_tensor(image):
        return _to_tensor_backend(
            "gaussian", image, channel_axis, backend, sigma=sigma, size=size, truncate=truncate, mode=mode, cval=cval
        )
    _check_backend(backend, "gaussian")
    g = _kernels.gaussian_1d(sigma, size, truncate)
    sigma_used = float(sigma) if sigma is not None else _kernels.gaussian_sigma_for_size(size)
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis)
    dtype = planes.dtype

    def opencv_fn(plane, border_type):
        import cv2

        if dtype == np.uint16:  # float32 sums are off by one near ties for 16-bit values: use float64
            return _cv_round_saturate(cv2.sepFilter2D(plane, cv2.CV_64F, g, g, borderType=border_type), dtype)
        if dtype == np.uint8:  # not GaussianBlur: its 8-bit fixed-point weights are off by one often
            from filterkit.filters._backends.exact_round import smooth_uint8_exact  # numba: imported on first use

            return smooth_uint8_exact(plane, g, border_type)
        if dtype == np.float32 and len(g) > 9:  # the same numba passes: faster than OpenCV from 13 taps
            from filterkit.filters._backends.exact_round import smooth_float32

            return smooth_float32(plane, g, border_type)
        # floats: GaussianBlur given the size and sigma samples exactly this kernel (and is faster)
        return cv2.GaussianBlur(plane, (len(g), len(g)), sigma_used, borderType=border_type)

    return _separable_smooth(planes, g, mode, cval, backend, opencv_fn)


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
    if _is_tensor(image):
        return _to_tensor_backend("median", image, channel_axis, backend, size=size, even=even, mode=mode, cval=cval)
    _check_backend(backend, "median")
    size = _check_size(size)
    if even not in ("upper", "lower"):
        raise ValueError(f"even must be 'upper' or 'lower', got {even!r}")
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis)
    dtype = planes.dtype
    if mode == "constant" and not _cval_fits(cval, dtype):
        raise ValueError(f"median: cval={cval!r} is not a {dtype} value; a median must be one of the window's values")
    if size == 1:
        return planes.restore(planes.x.copy())
    r = size // 2

    if backend in ("auto", "opencv"):
        why = None
        if size % 2 == 0:
            why = "even sizes"
        elif not (dtype == np.uint8 or (size <= 5 and dtype in (np.uint16, np.float32))):
            why = f"size {size} on {dtype} (medianBlur: uint8 any odd size; uint16/float32 sizes 3 and 5)"
        plan = None if why else _opencv_border_plan(mode, cval, planes, r, r, {"nearest"})
        if plan is None and why is None:
            why = "the window is wider than the image"
        if plan is not None:
            import cv2

            if plan[0] == "native":
                filt = lambda p: cv2.medianBlur(p, size)  # noqa: E731
            else:
                filt = _median_opencv_any_border(size, mode, cval)
            # medianBlur takes 1, 3 or 4 interleaved channels; others go plane by plane
            channels = planes.x.shape[3]
            return planes.restore(planes.map_opencv(filt, dtype, max_channels=4 if channels != 2 else 1))
        _no_opencv(backend, why)

    if backend in ("auto", "numba"):
        try:
            from filterkit.filters._backends.median_numba import median_filter as _numba_median
        except ImportError:
            if backend == "numba":
                raise ValueError("backend='numba' needs filterkit.filters._backends.median_numba, which is not available") from None
        else:
            x = planes.x
            out = np.empty(x.shape, dtype)
            try:
                for i in range(x.shape[0]):
                    for j in range(x.shape[3]):
                        plane = np.ascontiguousarray(x[i, :, :, j])
                        out[i, :, :, j] = _numba_median(plane, size, mode, float(cval), even)
            except ValueError:
                if backend == "numba":
                    raise
                # NaN in a float image: numba refuses it; scipy returns its (order-dependent) value
            else:
                return planes.restore(out)

    from scipy import ndimage as ndi

    rank = (size * size) // 2 - (1 if (size % 2 == 0 and even == "lower") else 0)
    out = _scipy_nd(ndi.rank_filter, planes.x, (size, size), mode, cval, rank=rank, size=(1, size, size, 1))
    return planes.restore(out)


def _median_opencv_any_border(size: int, mode: str, cval: float) -> Callable[[np.ndarray], np.ndarray]:
    """``cv2.medianBlur`` with any border mode, for planes taller and wider than ``size // 2``.

    medianBlur always replicates the edge, which only changes the outer frame
    of ``size // 2`` pixels: the whole plane is filtered once, then the four
    frame strips are recomputed from small blocks padded with ``mode``
    (cheaper than padding the whole image).
    """
    import cv2

    r = size // 2

    def filt(plane: np.ndarray) -> np.ndarray:
        h, w = plane.shape[:2]
        out = cv2.medianBlur(plane, size)
        rows = _border.pad_indices(h, r, r, mode)  # padded position -> source index (-1: cval)
        cols = _border.pad_indices(w, r, r, mode)

        def frame(ri: np.ndarray, ci: np.ndarray, transpose: bool = False) -> np.ndarray:
            block = plane[np.ix_(np.maximum(ri, 0), np.maximum(ci, 0))]
            if mode == "constant":
                block[(ri < 0)[:, None] | (ci < 0)[None, :]] = cval
            if not transpose:
                return cv2.medianBlur(block, size)[r:-r, r:-r]
            # a square window's median is unchanged by transposing, and medianBlur is much
            # faster on a wide block than on a tall, narrow one
            wide = np.ascontiguousarray(block.swapaxes(0, 1))
            return cv2.medianBlur(wide, size)[r:-r, r:-r].swapaxes(0, 1)

        out[:r] = frame(rows[: 3 * r], cols)
        out[h - r :] = frame(rows[h - r :], cols)
        out[:, :r] = frame(rows, cols[: 3 * r], transpose=True)
        out[:, w - r :] = frame(rows, cols[w - r :], transpose=True)
        return out

    return filt


# ------------------------------------------------------------------ derivatives


def _derivative_kernel(name: str, axis: int, size: int, normalize: bool) -> _kernels.Separable:
    sep = _kernels.derivative_separable(name, axis, size)
    if not normalize:
        return sep
    full = sep.full()
    scale = full[full > 0].sum()
    return _kernels.Separable(rows=sep.rows / scale, cols=sep.cols)


_AS_UINT8_TENSOR = "as_uint8 is for numpy images; for tensors use filterkit.filters.dtypes.to_uint8 on the result"


def _derivative(name, image, axis, size, normalize, mode, cval, channel_axis, backend, as_uint8=False) -> np.ndarray:
    if _is_tensor(image):
        if as_uint8:
            raise ValueError(_AS_UINT8_TENSOR)
        return _to_tensor_backend(
            name, image, channel_axis, backend, axis=axis, size=size, normalize=normalize, mode=mode, cval=cval
        )
    _check_backend(backend, name)
    if axis is not None and axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0 (y, rows), 1 (x, columns) or None (gradient magnitude), got {axis!r}")
    mode = _border.normalize_mode(mode)
    planes = _Planes(image, channel_axis)
    out_dtype = float_dtype_for(planes.dtype)
    axes = (0, 1) if axis is None else (axis % 2,)
    seps = [_derivative_kernel(name, a, size, normalize) for a in axes]
    r = len(seps[0].rows) // 2
    plan = None
    if backend in ("auto", "opencv"):
        plan = _opencv_border_plan(mode, cval, planes, r, r, {"reflect", "mirror", "nearest", "constant"})
        if plan is None:
            _no_opencv(backend, "the kernel is wider than the image or cval does not fit the dtype")
    if axis is None and plan is not None and planes.dtype == np.uint8 and _kernels.uint8_gradient_weights(*seps):
        from filterkit.filters._backends import int_gradient as _int_gradient  # numba: imported on first use

        result_dtype = np.uint8 if as_uint8 else np.float32

        def magnitude(plane, border_type):  # exact derivatives and the magnitude in one pass
            return _int_gradient.uint8_gradient_magnitude(plane, seps[0], seps[1], border_type, result_dtype)

        return planes.restore(planes.map_opencv(_with_border(plan, r, r, cval, magnitude), result_dtype))
    result = _derivative_float(planes, seps, axis, plan, r, mode, cval, out_dtype)
    return abs_to_uint8(result) if as_uint8 else result


def _derivative_float(planes: _Planes, seps, axis, plan, r: int, mode: str, cval: float, out_dtype) -> np.ndarray:
    """The float derivative (or gradient magnitude) of :func:`_derivative`'s general path."""
    results = []
    for sep in seps:
        if plan is not None:
            import cv2

            ddepth = _CV_DDEPTH[out_dtype]
            kx, ky = sep.cols.astype(out_dtype), sep.rows.astype(out_dtype)

            def filt(plane, border_type, kx=kx, ky=ky):
                return cv2.sepFilter2D(plane, ddepth, kx, ky, borderType=border_type)

            results.append(planes.map_opencv(_with_border(plan, r, r, cval, filt), out_dtype))
        else:
            results.append(_scipy_separable(planes.x, sep.rows, sep.cols, mode, cval, out_dtype))
    if axis is not None:
        return planes.restore(results[0])
    gy, gx = results
    if plan is not None:
        import cv2

        # sqrt(gx^2 + gy^2) in the result dtype, several times faster than np.hypot
        return planes.restore(cv2.magnitude(gx.reshape(-1, planes.w), gy.reshape(-1, planes.w)).reshape(gx.shape))
    return planes.restore(np.hypot(gx, gy, out=gx))


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


sobel = _derivative_filter(
    "sobel",
    title="Sobel derivative (``[1, 2, 1]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
    sizes="3 or 5",
    norm="3x3: 4, 5x5: 48",
    example=" 0., 40., 40.",
)
scharr = _derivative_filter(
    "scharr",
    title="Scharr derivative (``[3, 10, 3]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
    sizes="3 only",
    norm="16",
    example="  0., 160., 160.",
)
prewitt = _derivative_filter(
    "prewitt",
    title="Prewitt derivative (``[1, 1, 1]`` smoothing x ``[-1, 0, 1]`` difference) or gradient magnitude.",
    sizes="3 only",
    norm="3",
    example=" 0., 30., 30.",
)


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
    if _is_tensor(image):
        if as_uint8:
            raise ValueError(_AS_UINT8_TENSOR)
        return _to_tensor_backend(
            "laplace", image, channel_axis, backend, neighbours=neighbours, normalize=normalize, mode=mode, cval=cval
        )
    k = _kernels.laplacian(neighbours)
    if normalize:
        k = k / k[k > 0].sum()
    result = _correlate(image, k, mode, cval, channel_axis, backend, "laplace")
    return abs_to_uint8(result) if as_uint8 else result
