"""Parity of filterkit.filters.ndimage with float64 scipy.ndimage (rounded/saturated by filterkit's rules),
scikit-image and OpenCV, on every operation x dtype x border mode x backend."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from filterkit.filters import ndimage as fk

cv2.setNumThreads(1)

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]
BACKENDS = ["auto", "scipy"]
SHAPE = (37, 53)


def random_image(dtype, shape=SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "u":
        return rng.integers(0, np.iinfo(dt).max + 1, size=shape, dtype=dt)
    return (rng.random(shape) * 3 - 1).astype(dt)


# ------------------------------------------------------------------ references
# Every reference is scipy.ndimage in float64 on one 2-D plane, written without filterkit's kernels.

SK = np.array([1.0, 2.0, 1.0])
DIFF = np.array([-1.0, 0.0, 1.0])


def ref_separable(x, rows, cols, mode, cval=0.0):
    x = x.astype(np.float64)
    return ndi.correlate(x, np.outer(rows, cols), mode=mode, cval=cval)


SMOOTHING = {
    # name: (filterkit call, float64 reference)
    "mean3": (
        lambda x, **kw: fk.mean(x, 3, **kw),
        lambda x, m, c: ndi.uniform_filter(x.astype(float), 3, mode=m, cval=c),
    ),
    "mean5": (
        lambda x, **kw: fk.box(x, 5, **kw),
        lambda x, m, c: ndi.uniform_filter(x.astype(float), 5, mode=m, cval=c),
    ),
    "gaussian1": (
        lambda x, **kw: fk.gaussian(x, 1.0, **kw),
        lambda x, m, c: ndi.gaussian_filter(x.astype(float), 1.0, mode=m, cval=c, truncate=4.0),
    ),
    "gaussian1.6": (
        lambda x, **kw: fk.gaussian(x, 1.6, **kw),
        lambda x, m, c: ndi.gaussian_filter(x.astype(float), 1.6, mode=m, cval=c, truncate=4.0),
    ),
    "gaussian_size5": (
        # size alone: OpenCV's sigma rule 0.3*((5-1)/2-1)+0.8 = 1.1, radius 2
        lambda x, **kw: fk.gaussian(x, size=5, **kw),
        lambda x, m, c: ndi.gaussian_filter(x.astype(float), 1.1, mode=m, cval=c, radius=2),
    ),
    "median3": (lambda x, **kw: fk.median(x, 3, **kw), lambda x, m, c: ndi.median_filter(x, 3, mode=m, cval=c)),
    "median4": (lambda x, **kw: fk.median(x, 4, **kw), lambda x, m, c: ndi.median_filter(x, 4, mode=m, cval=c)),
    "median5": (lambda x, **kw: fk.median(x, 5, **kw), lambda x, m, c: ndi.median_filter(x, 5, mode=m, cval=c)),
    "median7": (lambda x, **kw: fk.median(x, 7, **kw), lambda x, m, c: ndi.median_filter(x, 7, mode=m, cval=c)),
}

KERNEL = np.random.default_rng(1).normal(size=(3, 5))
DERIVATIVES = {
    "sobel_x": (lambda x, **kw: fk.sobel(x, 1, **kw), lambda x, m, c: ndi.sobel(x.astype(float), 1, mode=m, cval=c)),
    "sobel_y": (lambda x, **kw: fk.sobel(x, 0, **kw), lambda x, m, c: ndi.sobel(x.astype(float), 0, mode=m, cval=c)),
    "sobel_mag": (
        # not ndi.sobel: with cval != 0 its second 1-D pass pads the first pass's result with cval again
        lambda x, **kw: fk.sobel(x, **kw),
        lambda x, m, c: np.hypot(ref_separable(x, DIFF, SK, m, c), ref_separable(x, SK, DIFF, m, c)),
    ),
    "sobel5_x": (
        lambda x, **kw: fk.sobel(x, -1, size=5, **kw),
        lambda x, m, c: ref_separable(x, [1, 4, 6, 4, 1], [-1, -2, 0, 2, 1], m, c),
    ),
    "scharr_y": (lambda x, **kw: fk.scharr(x, -2, **kw), lambda x, m, c: ref_separable(x, DIFF, [3, 10, 3], m, c)),
    "prewitt_x": (
        lambda x, **kw: fk.prewitt(x, 1, **kw),
        lambda x, m, c: ndi.prewitt(x.astype(float), 1, mode=m, cval=c),
    ),
    "prewitt_x_normalized": (
        lambda x, **kw: fk.prewitt(x, 1, normalize=True, **kw),
        lambda x, m, c: ndi.prewitt(x.astype(float), 1, mode=m, cval=c) / 3,
    ),
    "laplace4": (lambda x, **kw: fk.laplace(x, **kw), lambda x, m, c: ndi.laplace(x.astype(float), mode=m, cval=c)),
    "laplace8": (
        lambda x, **kw: fk.laplace(x, neighbours=8, **kw),
        lambda x, m, c: ndi.correlate(x.astype(float), [[1, 1, 1], [1, -8, 1], [1, 1, 1]], mode=m, cval=c),
    ),
    "correlate": (
        lambda x, **kw: fk.correlate(x, KERNEL, **kw),
        lambda x, m, c: ndi.correlate(x.astype(float), KERNEL, mode=m, cval=c),
    ),
    "convolve": (
        lambda x, **kw: fk.convolve(x, KERNEL, **kw),
        lambda x, m, c: ndi.convolve(x.astype(float), KERNEL, mode=m, cval=c),
    ),
    "correlate_11x9": (
        lambda x, **kw: fk.correlate(x, KERNEL_BIG, **kw),
        lambda x, m, c: ndi.correlate(x.astype(float), KERNEL_BIG, mode=m, cval=c),
    ),
}
KERNEL_BIG = np.random.default_rng(2).random((11, 9))  # large enough for OpenCV's DFT path


def expected_smooth(x, ref, mode, cval):
    exact = ref(x, mode, cval)
    if np.dtype(x.dtype).kind == "u":
        info = np.iinfo(x.dtype)
        return np.clip(np.rint(exact), info.min, info.max).astype(x.dtype), exact
    return exact.astype(x.dtype), exact


def assert_smooth_matches(out, x, ref, mode, cval=0.0, tie_tolerance=False):
    expected, exact = expected_smooth(x, ref, mode, cval)
    assert out.dtype == x.dtype and out.shape == x.shape
    if x.dtype.kind == "u":
        diff = out.astype(np.int64) - expected.astype(np.int64)
        if not tie_tolerance:
            np.testing.assert_array_equal(out, expected)
        else:
            # off by one only next to an exact .5 tie
            assert np.abs(diff).max(initial=0) <= 1
            tie_distance = np.abs(exact - np.floor(exact) - 0.5)
            assert np.all(tie_distance[diff != 0] < 1e-4)
    else:
        rtol = 2e-6 if x.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol * np.abs(exact).max())


# ------------------------------------------------------------------ parity grid


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(SMOOTHING))
def test_smoothing_parity(op, dtype, mode, backend):
    x = random_image(dtype)
    fn, ref = SMOOTHING[op]
    out = fn(x, mode=mode, backend=backend)
    assert_smooth_matches(out, x, ref, mode)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(DERIVATIVES))
def test_derivative_parity(op, dtype, mode, backend):
    x = random_image(dtype)
    fn, ref = DERIVATIVES[op]
    out = fn(x, mode=mode, backend=backend)
    want = np.float64 if dtype == np.float64 else np.float32
    assert out.dtype == want and out.shape == x.shape
    exact = ref(x, mode, 0.0)
    rtol = 2e-6 if want == np.float32 else 1e-12
    np.testing.assert_allclose(out, exact, rtol=rtol, atol=rtol * np.abs(exact).max())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("op", ["sobel_x", "sobel_y", "laplace4", "correlate"])
def test_integer_derivatives_have_exact_values(op, dtype):
    """Integer kernels on integer images: every backend gives the exact integer result, no wraparound."""
    x = random_image(dtype, seed=3)
    fn, ref = DERIVATIVES[op]
    exact = ref(x, "mirror", 0.0)
    if op == "correlate":
        return  # real-valued kernel: covered by the parity grid
    for backend in BACKENDS:
        np.testing.assert_array_equal(fn(x, mode="mirror", backend=backend), exact)
    assert exact.min() < 0  # the negative values scipy's uint8 output would wrap around


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cval", [7.0, 0.5])
@pytest.mark.parametrize("op", ["mean3", "gaussian1", "median3", "median4"])
def test_constant_border_cval(op, cval, dtype):
    """cval that fits the dtype is padded on OpenCV; one that does not (0.5 on uint8) falls back to scipy."""
    x = random_image(dtype, seed=4)
    fn, ref = SMOOTHING[op]
    if op.startswith("median") and dtype in (np.uint8, np.uint16) and cval == 0.5:
        with pytest.raises(ValueError, match="cval"):
            fn(x, mode="constant", cval=cval)
        return
    for backend in BACKENDS:
        out = fn(x, mode="constant", cval=cval, backend=backend)
        # with cval=0.5 a mean of 9 values can be an exact .5 tie, which 1/9 weights cannot represent
        assert_smooth_matches(out, x, ref, "constant", cval, tie_tolerance=cval == 0.5)


@pytest.mark.parametrize("cval", [-2.5, 3.0])
@pytest.mark.parametrize("op", ["sobel_mag", "laplace8", "correlate"])
def test_constant_border_cval_derivatives(op, cval):
    x = random_image(np.float32, seed=5)
    fn, ref = DERIVATIVES[op]
    exact = ref(x, "constant", cval)
    for backend in BACKENDS:
        out = fn(x, mode="constant", cval=cval, backend=backend)
        np.testing.assert_allclose(out, exact, rtol=2e-6, atol=2e-6 * np.abs(exact).max())


@pytest.mark.parametrize("size", [9, 15, 31])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_large_box_and_median_exact(size, dtype):
    x = random_image(dtype, shape=(61, 47), seed=6)
    for backend in BACKENDS:
        box_ref = lambda a, m, c: ndi.uniform_filter(a.astype(float), size, mode=m, cval=c)  # noqa: E731
        assert_smooth_matches(fk.mean(x, size, mode="mirror", backend=backend), x, box_ref, "mirror")
        np.testing.assert_array_equal(
            fk.median(x, size, mode="reflect", backend=backend), ndi.median_filter(x, size, mode="reflect")
        )


@pytest.mark.parametrize("sigma", [0.7, 2.0, 3.3])
def test_uint8_gaussian_is_exact(sigma):
    """The OpenCV float32 path is fixed up next to .5 ties: equal to scipy's float64 value rounded."""
    x = random_image(np.uint8, shape=(256, 256), seed=7)
    ref = lambda a, m, c: ndi.gaussian_filter(a.astype(float), sigma, mode=m, cval=c)  # noqa: E731
    expected, _ = expected_smooth(x, ref, "mirror", 0.0)
    for backend in BACKENDS:
        np.testing.assert_array_equal(fk.gaussian(x, sigma, mode="mirror", backend=backend), expected)


def test_rounding_not_truncation():
    """scipy truncates integer smoothing; filterkit rounds half to even."""
    x = np.zeros((5, 5), np.uint8)
    x[2, 2] = 5  # 5/9 = 0.56 -> 1 around the centre; scipy gives 0
    out = fk.mean(x, mode="constant")
    assert out[2, 2] == 1 and out[1, 1] == 1 and out[0, 0] == 0
    assert ndi.uniform_filter(x, 3, mode="constant")[2, 2] == 0
    y = np.full((3, 3), 65535, np.uint16)
    assert fk.gaussian(y, 1.0).max() == 65535  # saturates, never wraps


# --------------------------------------------------------------- hand-checked


def test_hand_checked_correlation():
    """5x5 binary image, 3x3 kernel 1..9, zero border: each 1 stamps the kernel rotated by 180 degrees."""
    img = np.array(
        [
            [0, 0, 0, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
        ],
        np.uint8,
    )
    kernel = np.arange(1, 10).reshape(3, 3)
    expected = np.array(
        [
            [9, 17, 15, 7, 0],
            [15, 19, 16, 4, 0],
            [9, 10, 7, 10, 8],
            [3, 2, 1, 6, 5],
            [0, 0, 0, 3, 2],
        ],
        np.float32,
    )
    for backend in BACKENDS:
        np.testing.assert_array_equal(fk.correlate(img, kernel, mode="constant", backend=backend), expected)
        # convolution stamps the kernel itself: the same image convolved with the rotated kernel
        np.testing.assert_array_equal(
            fk.convolve(img, kernel[::-1, ::-1], mode="constant", backend=backend), expected
        )


def test_hand_checked_sobel_and_laplace():
    img = np.array([[0, 0, 10, 10]] * 3, np.uint8)  # brightness grows to the right
    gx = fk.sobel(img, 1, mode="nearest")
    np.testing.assert_array_equal(gx, [[0, 40, 40, 0]] * 3)
    np.testing.assert_array_equal(fk.sobel(img, 0, mode="nearest"), np.zeros((3, 4)))
    np.testing.assert_array_equal(fk.sobel(img, mode="nearest"), gx)  # magnitude
    np.testing.assert_array_equal(fk.laplace(img, mode="nearest"), [[0, 10, -10, 0]] * 3)


def test_convolution_flips_sobel_sign():
    x = random_image(np.float64, seed=8)
    k = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    for backend in BACKENDS:
        np.testing.assert_allclose(fk.convolve(x, k, backend=backend), -fk.sobel(x, 1, backend=backend), atol=1e-12)
        np.testing.assert_allclose(fk.correlate(x, k, backend=backend), fk.sobel(x, 1, backend=backend), atol=1e-12)


# ---------------------------------------------------------- other libraries


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
def test_normalize_reproduces_scikit_image(name):
    filters = pytest.importorskip("skimage.filters")
    x = random_image(np.float64, seed=9)
    ours = getattr(fk, name)
    theirs = getattr(filters, name)
    for axis in (0, 1):
        np.testing.assert_allclose(ours(x, axis, normalize=True), theirs(x, axis=axis), atol=1e-12)
    np.testing.assert_allclose(ours(x, normalize=True) / np.sqrt(2), theirs(x), atol=1e-12)
    np.testing.assert_allclose(fk.laplace(x), -filters.laplace(x), atol=1e-12)


def test_scikit_image_median_and_gaussian():
    filters = pytest.importorskip("skimage.filters")
    x = random_image(np.uint8, seed=10)
    np.testing.assert_array_equal(
        fk.median(x, 5, mode="mirror"), filters.median(x, np.ones((5, 5), bool), mode="mirror")
    )
    xf = random_image(np.float64, seed=10)
    np.testing.assert_allclose(
        fk.gaussian(xf, 1.5, mode="mirror"),
        filters.gaussian(xf, sigma=1.5, mode="mirror", preserve_range=True),
        atol=1e-12,
    )


def assert_same_convention(ours, theirs, x, weight_sum):
    """Integers bit for bit; floats up to the order of the additions, which varies between OpenCV
    releases (5.1's float32 Sobel differs from 5.0's by 1 ulp on some pixels): the difference of two
    sums of the same products is at most a few roundings of the largest partial sum."""
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        np.testing.assert_array_equal(ours, theirs)
    else:
        bound = 4 * np.finfo(ours.dtype).eps * weight_sum * float(np.abs(x).max())
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=bound)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_opencv_same_convention(dtype):
    x = random_image(dtype, seed=11)
    b = cv2.BORDER_REFLECT_101
    same = lambda ours, theirs, weight_sum: assert_same_convention(ours, theirs, x, weight_sum)  # noqa: E731
    same(fk.mean(x, 5, mode="mirror"), cv2.blur(x, (5, 5), borderType=b), 1)
    np.testing.assert_array_equal(fk.median(x, 5, mode="nearest"), cv2.medianBlur(x, 5))
    same(fk.sobel(x, 1, mode="mirror"), cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, borderType=b), 8)
    same(fk.sobel(x, 0, mode="mirror"), cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3, borderType=b), 8)
    same(fk.scharr(x, 1, mode="reflect"), cv2.Scharr(x, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT), 32)
    same(fk.laplace(x, mode="nearest"), cv2.Laplacian(x, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REPLICATE), 8)


def test_opencv_gaussianblur_is_not_our_convention():
    """Documents why filterkit never calls cv2.GaussianBlur on uint8: its fixed-point weights are off by one often."""
    x = random_image(np.uint8, shape=(128, 128), seed=12)
    ours = fk.gaussian(x, 1.0, mode="mirror", backend="scipy")
    theirs = cv2.GaussianBlur(x, (9, 9), 1.0, borderType=cv2.BORDER_REFLECT_101)
    assert np.count_nonzero(ours != theirs) > 100


# ------------------------------------------------------------- shapes, layout


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        lambda x, **kw: fk.gaussian(x, 1.2, **kw),
        lambda x, **kw: fk.median(x, 3, **kw),
        lambda x, **kw: fk.median(x, 5, mode="wrap", **kw),
        lambda x, **kw: fk.mean(x, 3, mode="constant", cval=3, **kw),
        lambda x, **kw: fk.sobel(x, **kw),
        lambda x, **kw: fk.correlate(x, KERNEL, **kw),
    ],
    ids=["gaussian", "median3", "median5wrap", "mean_cval", "sobel", "correlate"],
)
@pytest.mark.parametrize("channels", [2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_colour_equals_per_channel(call, dtype, channels, backend):
    x = random_image(dtype, shape=(19, 23, channels), seed=13)
    out = call(x, channel_axis=-1, backend=backend)
    assert out.shape == x.shape
    for c in range(channels):
        want = call(np.ascontiguousarray(x[..., c]), backend=backend)
        if out.dtype.kind == "f":  # OpenCV's interleaved and single-plane code may round float32 differently
            np.testing.assert_allclose(out[..., c], want, rtol=2e-6, atol=1e-6 * np.abs(want).max())
        else:
            np.testing.assert_array_equal(out[..., c], want)


def test_channel_first_batches_and_views():
    x = random_image(np.float32, shape=(2, 3, 17, 21), seed=14)  # (N, C, H, W)
    out = fk.gaussian(x, 1.0, channel_axis=1)
    assert out.shape == x.shape
    for n in range(2):
        for c in range(3):  # float32: OpenCV's interleaved and single-plane code round differently
            np.testing.assert_allclose(out[n, c], fk.gaussian(x[n, c], 1.0), rtol=2e-6, atol=1e-6)
    # grey batch: every leading axis is a batch axis
    stack = random_image(np.uint16, shape=(2, 2, 11, 13), seed=15)
    got = fk.median(stack, 3)
    for idx in np.ndindex(2, 2):
        np.testing.assert_array_equal(got[idx], ndi.median_filter(stack[idx], 3, mode="reflect"))
    # a non-contiguous view (transpose) is filtered as the array it shows
    img = random_image(np.uint8, shape=(29, 31), seed=16)
    np.testing.assert_array_equal(fk.mean(img.T), fk.mean(np.ascontiguousarray(img.T)))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (2, 3), (3, 1)])
@pytest.mark.parametrize("mode", MODES)
def test_tiny_images(shape, mode):
    """Kernels wider than the image: every mode repeats its rule like scipy."""
    x = random_image(np.uint8, shape=shape, seed=17)
    gauss_ref = lambda a, m, c: ndi.gaussian_filter(a.astype(float), 2.0, mode=m, cval=c)  # noqa: E731
    assert_smooth_matches(fk.gaussian(x, 2.0, mode=mode), x, gauss_ref, mode)
    np.testing.assert_array_equal(fk.median(x, 3, mode=mode), ndi.median_filter(x, 3, mode=mode))
    np.testing.assert_array_equal(fk.sobel(x, 1, mode=mode), ndi.sobel(x.astype(np.float32), 1, mode=mode))


def test_median_even_lower_and_upper():
    x = np.array([[1, 2], [3, 4]], np.uint8)
    # 2x2 window covering offsets -1..0: at (1, 1) it holds 1, 2, 3, 4
    assert fk.median(x, 2)[1, 1] == 3
    assert fk.median(x, 2, even="lower")[1, 1] == 2
    y = random_image(np.float32, seed=18)
    np.testing.assert_array_equal(fk.median(y, 4, even="lower"), ndi.rank_filter(y, 7, size=4, mode="reflect"))
    np.testing.assert_array_equal(fk.median(y, 1), y)


def test_numba_backend_when_present():
    try:
        import filterkit.filters._backends.median_numba  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="median_fast"):
            fk.median(random_image(np.uint8), 3, backend="numba")
        pytest.skip("filterkit.filters._backends.median_numba not available yet")
    for dtype in DTYPES:
        x = random_image(dtype, seed=19)
        for size, mode in [(3, "reflect"), (4, "wrap"), (7, "constant")]:
            np.testing.assert_array_equal(
                fk.median(x, size, mode=mode, backend="numba"), ndi.median_filter(x, size, mode=mode)
            )
        np.testing.assert_array_equal(
            fk.median(x, 4, even="lower", backend="numba"), ndi.rank_filter(x, 7, size=4, mode="reflect")
        )
    nan_image = random_image(np.float64, seed=19)
    nan_image[3, 4] = np.nan
    assert fk.median(nan_image, 3).shape == nan_image.shape  # auto falls back to scipy
    with pytest.raises(ValueError, match="NaN"):
        fk.median(nan_image, 3, backend="numba")


def test_auto_uses_opencv_where_it_can(monkeypatch):
    calls = []
    real = cv2.medianBlur
    monkeypatch.setattr(cv2, "medianBlur", lambda *a: calls.append(a[1]) or real(*a))
    x = random_image(np.uint8, seed=20)
    fk.median(x, 3)
    fk.median(x, 4)  # even: not OpenCV
    fk.median(x.astype(np.float64), 3)  # float64: not OpenCV
    assert calls == [3]


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fk.mean(np.zeros((0, 5), np.uint8)), "empty"),
        (lambda: fk.mean(np.zeros((4, 5), bool)), "bool"),
        (lambda: fk.mean(np.zeros((4, 5), np.int64)), "int64"),
        (lambda: fk.mean(np.zeros((4, 5), np.float16)), "float16"),
        (lambda: fk.mean(np.zeros(5, np.uint8)), "2 spatial"),
        (lambda: fk.mean(np.zeros((4, 5), np.uint8), channel_axis=-1), "channel_axis"),
        (lambda: fk.mean(np.zeros((4, 5, 3), np.uint8), channel_axis=3), "out of range"),
        (lambda: fk.mean(np.zeros((4, 5), np.uint8), 4), "odd"),
        (lambda: fk.mean(np.zeros((4, 5), np.uint8), mode="bogus"), "border mode"),
        (lambda: fk.mean(np.zeros((4, 5), np.uint8), backend="cuda"), "backend"),
        (lambda: fk.mean(np.zeros((4, 5), np.uint8), backend="numba"), "median"),
        (lambda: fk.median(np.zeros((4, 5), np.uint8), 0), "positive"),
        (lambda: fk.median(np.zeros((4, 5), np.uint8), 2, even="middle"), "even"),
        (lambda: fk.median(np.zeros((9, 9), np.uint8), 4, backend="opencv"), "even sizes"),
        (lambda: fk.median(np.zeros((9, 9)), 3, backend="opencv"), "float64"),
        (lambda: fk.correlate(np.zeros((4, 5)), np.ones((2, 3))), "odd height"),
        (lambda: fk.correlate(np.zeros((4, 5)), np.ones(3)), "2-D"),
        (lambda: fk.correlate(np.zeros((4, 5)), [[np.nan]]), "NaN"),
        (lambda: fk.sobel(np.zeros((4, 5)), 2), "axis"),
        (lambda: fk.scharr(np.zeros((4, 5)), size=5), "sizes"),
        (lambda: fk.laplace(np.zeros((4, 5)), neighbours=6), "4 or 8"),
        (lambda: fk.gaussian(np.zeros((4, 5))), "sigma"),
        (lambda: fk.gaussian(np.zeros((2, 2), np.uint8), 3.0, backend="opencv"), "wider than the image"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_import_does_not_import_torch():
    code = "import sys, filterkit, filterkit.filters.ndimage, filterkit.filters.dtypes; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_torch_tensors_go_to_the_tensor_backend(monkeypatch):
    torch = pytest.importorskip("torch")
    import types

    seen = {}
    fake = types.ModuleType("filterkit.filters.tensor")
    fake.gaussian = lambda image, **kw: seen.update(kw) or "tensor result"
    monkeypatch.setitem(sys.modules, "filterkit.filters.tensor", fake)
    import filterkit

    monkeypatch.setattr(filterkit, "tensor", fake, raising=False)
    t = torch.zeros(1, 1, 4, 4)
    assert fk.gaussian(t, 1.5, mode="wrap") == "tensor result"
    assert seen == {"sigma": 1.5, "size": None, "truncate": 4.0, "mode": "wrap", "cval": 0.0}
    with pytest.raises(ValueError, match="B, C, H, W"):
        fk.gaussian(t, 1.5, channel_axis=1)


@pytest.mark.parametrize("name", ["mean", "median", "sobel", "laplace"])
def test_torch_results_match_numpy(name):
    torch = pytest.importorskip("torch")
    pytest.importorskip("filterkit.filters.tensor")
    x = random_image(np.float32, shape=(2, 3, 13, 17), seed=21)
    got = getattr(fk, name)(torch.from_numpy(x), mode="mirror")
    want = getattr(fk, name)(x, mode="mirror")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, size", [((8, 40), 15), ((40, 9), 17), ((5, 5), 9)])
def test_opencv_median_border_frames(mode, shape, size):
    """medianBlur replicates; the frame recomputed for other modes must be exact even when it is most of the image."""
    x = random_image(np.uint8, shape=shape, seed=22)
    kwargs = {"cval": 200} if mode == "constant" else {}
    got = fk.median(x, size, mode=mode, backend="opencv", **kwargs)
    np.testing.assert_array_equal(got, ndi.median_filter(x, size, mode=mode, **kwargs))


def test_top_level_exports():
    import filterkit

    for name in filterkit._NDIMAGE_EXPORTS:
        assert getattr(filterkit, name) is getattr(fk, name)
    assert filterkit.box is filterkit.mean
    with pytest.raises(AttributeError):
        filterkit.no_such_filter  # noqa: B018


def _padded_definition(x, kernel_shape, mode, cval, reduce):
    """``reduce(window)`` at every pixel of ``x`` padded by filterkit.filters.border (the meaning of each mode)."""
    from filterkit.filters.border import pad_numpy

    kh, kw = kernel_shape
    xp = pad_numpy(x.astype(np.float64), ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode, cval=cval)
    return np.array([[reduce(xp[i:i + kh, j:j + kw]) for j in range(x.shape[1])] for i in range(x.shape[0])])


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
@pytest.mark.parametrize("shape, kernel_shape", [((2, 3), (21, 3)), ((3, 2), (3, 21)), ((2, 2), (31, 31)), ((4, 4), (11, 11))])
def test_correlate_with_pads_wider_than_the_image(mode, shape, kernel_shape):
    # scipy.ndimage.correlate itself reads outside its buffer here in reflect mode (scipy 1.17.1)
    rng = np.random.default_rng(sum(shape) + kernel_shape[0])
    x, k = rng.normal(size=shape), rng.normal(size=kernel_shape)
    expected = _padded_definition(x, kernel_shape, mode, 0.5, lambda win: np.sum(win * k))
    np.testing.assert_allclose(fk.correlate(x, k, mode=mode, cval=0.5), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap"])
def test_scipy_median_with_pads_wider_than_the_image(mode):
    x = np.random.default_rng(5).normal(size=(2, 3))
    expected = _padded_definition(x, (21, 21), mode, 0.0, np.median)
    np.testing.assert_array_equal(fk.median(x, size=21, mode=mode, backend="scipy"), expected)
