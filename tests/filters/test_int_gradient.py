"""filterkit.filters._backends.int_gradient: exact int16 derivatives and a fused float32 magnitude for 8-bit images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

pytest.importorskip("cv2")

from filterkit.filters import border, ndimage  # noqa: E402
from filterkit.filters._backends.int_gradient import fits_int16, uint8_gradient_magnitude  # noqa: E402
from filterkit.filters.ndimage import _derivative_kernel  # noqa: E402


@pytest.mark.parametrize("name, size, expected", [
    ("sobel", 3, True), ("scharr", 3, True), ("prewitt", 3, True), ("sobel", 5, False),
])
def test_which_kernels_fit(name, size, expected):
    seps = [_derivative_kernel(name, a, size, False) for a in (0, 1)]
    assert fits_int16(seps) is expected
    assert fits_int16([_derivative_kernel(name, a, size, True) for a in (0, 1)]) is False  # normalised: not integer


def test_which_kernel_pairs_it_takes():
    from filterkit.filters.kernels import Separable, difference_times_smoothing, uint8_gradient_weights

    sobel = [_derivative_kernel("sobel", a, 3, False) for a in (0, 1)]
    assert difference_times_smoothing(sobel[0], 0) == (1.0, 1.0, 2.0)
    assert difference_times_smoothing(sobel[0], 1) is None  # the difference runs along y
    assert uint8_gradient_weights(*sobel) == (1.0, 1.0, 2.0, 1.0, 1.0, 2.0)
    assert uint8_gradient_weights(sobel[1], sobel[0]) is None  # axes swapped
    assert uint8_gradient_weights(*[_derivative_kernel("scharr", a, 3, False) for a in (0, 1)]) == (
        1.0, 3.0, 10.0, 1.0, 3.0, 10.0)
    assert uint8_gradient_weights(*[_derivative_kernel("sobel", a, 5, False) for a in (0, 1)]) is None
    one_sided = Separable(rows=np.array([0.0, -1.0, 1.0]), cols=np.array([1.0, 2.0, 1.0]))
    assert uint8_gradient_weights(one_sided, sobel[1]) is None  # integer and small, but not [-d, 0, d]
    lopsided = Separable(rows=np.array([-1.0, 0.0, 1.0]), cols=np.array([1.0, 2.0, 0.0]))
    assert uint8_gradient_weights(lopsided, sobel[1]) is None  # not [a, b, a]
    with pytest.raises(ValueError, match="uint8_gradient_weights"):
        uint8_gradient_magnitude(np.zeros((4, 4), np.uint8), one_sided, sobel[1], border.opencv_border("mirror"))


def test_a_difference_wider_than_one_is_folded_into_the_weights():
    """d = 2 along y and d = 3 along x: still exact (the d goes into the other half's weights)."""
    from filterkit.filters.kernels import Separable

    sep_y = Separable(rows=np.array([-2.0, 0.0, 2.0]), cols=np.array([1.0, 2.0, 1.0]))
    sep_x = Separable(rows=np.array([1.0, 1.0, 1.0]), cols=np.array([-3.0, 0.0, 3.0]))
    image = np.random.default_rng(9).integers(0, 256, (23, 31), dtype=np.uint8)
    out = uint8_gradient_magnitude(image, sep_y, sep_x, border.opencv_border("reflect"))
    x = image.astype(np.float64)
    d = [ndi.correlate(x, s.full(), mode="reflect") for s in (sep_y, sep_x)]
    np.testing.assert_array_equal(out, np.sqrt(d[0] ** 2 + d[1] ** 2).astype(np.float32))


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
def test_magnitude_is_the_float32_nearest_to_the_exact_one(name, mode):
    image = np.random.default_rng(7).integers(0, 256, (61, 83, 3), dtype=np.uint8)
    image[:8] = 255  # saturated rows: the largest derivatives
    seps = [_derivative_kernel(name, a, 3, False) for a in (0, 1)]
    out = uint8_gradient_magnitude(image, seps[0], seps[1], border.opencv_border(mode))
    x = image.astype(np.float64)
    d = [ndi.correlate(x, s.full()[:, :, None], mode=border.scipy_mode(mode)) for s in seps]
    exact = np.sqrt(d[0] ** 2 + d[1] ** 2)
    assert out.dtype == np.float32 and out.shape == image.shape
    np.testing.assert_array_equal(out, exact.astype(np.float32))  # squares of integers: exact, then one rounding
    assert out.max() > 600  # the saturated rows reach large values


def test_ndimage_uses_it_for_uint8_and_matches_the_float_path(monkeypatch):
    from filterkit.filters._backends import int_gradient

    calls = []
    real = int_gradient.uint8_gradient_magnitude
    monkeypatch.setattr(int_gradient, "uint8_gradient_magnitude", lambda *a: calls.append(1) or real(*a))
    image = np.random.default_rng(1).integers(0, 256, (40, 50), dtype=np.uint8)
    fast = ndimage.sobel(image, mode="wrap")  # padded explicitly, then the int16 path
    assert calls == [1]
    ndimage.sobel(image, axis=1)  # one derivative: the float32 path
    ndimage.sobel(image, size=5)  # 5x5 Sobel reaches 12,240: the float32 path
    assert calls == [1]
    slow = ndimage.sobel(image.astype(np.float32), mode="wrap")
    np.testing.assert_allclose(fast, slow, rtol=2.0**-22, atol=0)  # cv2.magnitude: up to 1 ulp off


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
def test_uint8_output_is_the_rounded_saturated_float32_magnitude(name, mode):
    import cv2

    image = np.random.default_rng(5).integers(120, 136, (37, 45, 3), dtype=np.uint8)
    image[:6] = 255
    image[6:9] = 0  # edges far above 255
    seps = [_derivative_kernel(name, a, 3, False) for a in (0, 1)]
    magnitude = uint8_gradient_magnitude(image, seps[0], seps[1], border.opencv_border(mode))
    saved = uint8_gradient_magnitude(image, seps[0], seps[1], border.opencv_border(mode), np.uint8)
    expected = cv2.convertScaleAbs(magnitude.reshape(37, -1)).reshape(image.shape)
    assert saved.dtype == np.uint8 and (saved == 255).any() and 0 < np.median(saved) < 255
    np.testing.assert_array_equal(saved, expected)
    with pytest.raises(ValueError, match="out_dtype"):
        uint8_gradient_magnitude(image, seps[0], seps[1], border.opencv_border(mode), np.float64)


@pytest.mark.parametrize("case", [
    dict(name="sobel"),  # the fused uint8 magnitude
    dict(name="scharr", mode="wrap"),  # padded, then fused
    dict(name="prewitt", mode="constant", cval=3),
    dict(name="sobel", axis=1),  # one derivative: float32, then rounded
    dict(name="sobel", size=5),  # beyond int16: float32, then rounded
    dict(name="sobel", dtype=np.float32),
    dict(name="scharr", dtype=np.uint16, axis=0),
    dict(name="laplace"),
    dict(name="laplace", neighbours=8, dtype=np.float32),
])
def test_as_uint8_equals_to_uint8_of_the_float_result(case):
    from filterkit.filters.dtypes import to_uint8

    case = dict(case)
    name, dtype = case.pop("name"), case.pop("dtype", np.uint8)
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    image = (np.random.default_rng(2).random((30, 41, 3)) * top).astype(dtype)
    fn = getattr(ndimage, name)
    saved = fn(image, channel_axis=-1, as_uint8=True, **case)
    assert saved.dtype == np.uint8 and saved.shape == image.shape
    np.testing.assert_array_equal(saved, to_uint8(fn(image, channel_axis=-1, **case), "abs"))


def test_as_uint8_is_for_numpy_images():
    torch = pytest.importorskip("torch")
    for fn in (ndimage.sobel, ndimage.laplace):
        with pytest.raises(ValueError, match="numpy"):
            fn(torch.zeros(1, 1, 8, 8), as_uint8=True)
