"""Exactly rounded uint8 smoothing: float32 rows, float64 recomputation next to .5 ties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from filterkit.filters import border, kernels
from filterkit.filters._backends.exact_round import _smooth, float32_error_bound, smooth_uint8_exact

MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]


def scipy_exact(image: np.ndarray, g: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """scipy's float64 correlation with ``outer(g, g)`` (per channel) and its rounding to uint8.

    The image is padded first: scipy's N-D filters read outside the array in ``reflect`` mode when
    the kernel is more than about twice the image (see filterkit.filters.ndimage).
    """
    r = g.size // 2
    weights = np.outer(g, g) if image.ndim == 2 else np.outer(g, g)[:, :, None]
    pad = ((r, r), (r, r)) + (((0, 0),) if image.ndim == 3 else ())
    padded = border.pad_numpy(image.astype(np.float64), pad, mode)
    exact = ndi.correlate(padded, weights, mode="constant")[r : r + image.shape[0], r : r + image.shape[1]]
    return exact, np.clip(np.rint(exact), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(11).integers(0, 256, (512, 384), dtype=np.uint8)


@pytest.mark.parametrize("mode", MODES)
def test_equals_scipy_rounded_to_the_last_pixel(image, mode):
    g = kernels.gaussian_1d(1.0)
    _, expected = scipy_exact(image, g, mode)
    unfixed = _smooth(image, g, mode, threshold=1.0)  # the float32 rows alone, no recomputation
    assert np.count_nonzero(unfixed != expected) > 0, "no tie in this image: the test would not test anything"
    np.testing.assert_array_equal(smooth_uint8_exact(image, g, border.opencv_border(mode)), expected)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5, 4.5])
def test_float32_rows_are_wrong_only_within_the_bound_of_a_tie(image, sigma):
    """Every pixel the float32 rows alone round wrongly has its exact value within the bound of a .5 tie."""
    g = kernels.gaussian_1d(sigma)  # 3 to 37 taps: one to five blocks of pairs
    exact, expected = scipy_exact(image, g, "mirror")
    wrong = _smooth(image, g, "mirror", threshold=1.0) != expected
    tie_distance = np.abs(exact - np.floor(exact) - 0.5)
    assert np.all(tie_distance[wrong] < float32_error_bound(g.size))
    np.testing.assert_array_equal(_smooth(image, g, "mirror", threshold=None), expected)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 13), (61, 67), (5, 9, 3), (17, 4, 2)])
@pytest.mark.parametrize("mode", MODES)
def test_the_float64_recomputation_alone_is_exact(shape, mode):
    """Threshold 0 sends every pixel (also the bytes after the last 8-byte word) through the float64 path."""
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    g = kernels.gaussian_1d(0.8)
    _, expected = scipy_exact(image, g, mode)
    np.testing.assert_array_equal(_smooth(image, g, mode, threshold=0.0), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(203, 37), (97, 41, 3), (6, 50, 4), (2, 3)])
@pytest.mark.parametrize("sigma", [0.7, 1.5, 5.0])
def test_interleaved_channels_any_size_any_mode(mode, shape, sigma):
    """Channels stay apart; kernels wider than the image repeat the border rule like scipy."""
    image = np.random.default_rng(len(shape) + shape[0]).integers(0, 256, shape, dtype=np.uint8)
    g = kernels.gaussian_1d(sigma)
    _, expected = scipy_exact(image, g, mode)
    np.testing.assert_array_equal(_smooth(image, g, mode, threshold=None), expected)


def test_flat_and_extreme_images_saturate_exactly():
    g = kernels.gaussian_1d(1.2)
    for value in (0, 1, 254, 255):
        flat = np.full((20, 30, 3), value, np.uint8)
        np.testing.assert_array_equal(smooth_uint8_exact(flat, g, border.opencv_border("reflect")), flat)


def test_rejects_what_it_cannot_do():
    g = kernels.gaussian_1d(1.0)
    with pytest.raises(ValueError, match="symmetric"):
        smooth_uint8_exact(np.zeros((4, 4), np.uint8), np.array([0.2, 0.3, 0.5]), border.opencv_border("mirror"))
    with pytest.raises(ValueError, match="uint8 plane"):
        smooth_uint8_exact(np.zeros((4, 4), np.float32), g, border.opencv_border("mirror"))
    with pytest.raises(ValueError, match="non-empty uint8"):
        _smooth(np.zeros((4, 4), np.float64), g, "mirror", None)


def test_ndimage_float32_gaussian_is_opencvs_within_the_float32_bound():
    from filterkit.filters import ndimage

    image = np.random.default_rng(4).random((40, 60, 3)).astype(np.float32)
    for sigma in (1.0, 1.5, 3.0):
        out = ndimage.gaussian(image, sigma, channel_axis=-1)
        g = kernels.gaussian_1d(sigma)
        exact, _ = scipy_exact(image, g, "reflect")
        np.testing.assert_allclose(out, exact, rtol=0, atol=float32_error_bound(g.size, 1.0))
