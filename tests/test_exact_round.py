"""Exact rounding of float32 smoothing results next to .5 ties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

cv2 = pytest.importorskip("cv2")

from filterkit import border, kernels  # noqa: E402
from filterkit.exact_round import float32_error_bound, round_uint8_exact  # noqa: E402


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(11).integers(0, 256, (1024, 1024), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
def test_fixes_the_float32_path_to_the_last_pixel(image, mode):
    g = kernels.gaussian_1d(1.0)
    k32 = g.astype(np.float32)
    approx = cv2.sepFilter2D(image, cv2.CV_32F, k32, k32, borderType=border.opencv_border(mode))
    exact = ndi.correlate(image.astype(np.float64), np.outer(g, g), mode=border.scipy_mode(mode))
    expected = np.clip(np.rint(exact), 0, 255).astype(np.uint8)
    plain = cv2.convertScaleAbs(approx)
    assert np.count_nonzero(plain != expected) > 0, "no tie in this image: the test would not test anything"
    np.testing.assert_array_equal(round_uint8_exact(approx, image, g, mode), expected)


def test_bound_covers_the_observed_float32_error(image):
    g = kernels.gaussian_1d(2.5)
    k32 = g.astype(np.float32)
    approx = cv2.sepFilter2D(image, cv2.CV_32F, k32, k32, borderType=cv2.BORDER_REFLECT_101)
    exact = ndi.correlate(image.astype(np.float64), np.outer(g, g), mode="mirror")
    assert np.abs(approx - exact).max() < float32_error_bound(g.size)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same"):
        round_uint8_exact(np.zeros((3, 3), np.float32), np.zeros((3, 4), np.uint8), np.ones(3) / 3, "mirror")


def test_interleaved_channels_are_independent():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    g = kernels.gaussian_1d(1.3)
    k32 = g.astype(np.float32)
    approx = cv2.sepFilter2D(rgb, cv2.CV_32F, k32, k32, borderType=cv2.BORDER_REFLECT)
    out = round_uint8_exact(approx, rgb, g, "reflect")
    for c in range(3):
        exact = ndi.correlate(rgb[..., c].astype(np.float64), np.outer(g, g), mode="reflect")
        np.testing.assert_array_equal(out[..., c], np.clip(np.rint(exact), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 13), (61, 67)])
def test_every_pixel_is_checked_whatever_the_size(shape):
    """Sizes not a multiple of 8: the last bytes after the 8-byte words are scanned too."""
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    g = kernels.gaussian_1d(0.8)
    exact = ndi.correlate(image.astype(np.float64), np.outer(g, g), mode="reflect")
    expected = np.clip(np.rint(exact), 0, 255).astype(np.uint8)
    # an approximation one unit off at every pixel next to a tie: force each pixel through the fix
    approx = (np.floor(exact) + 0.5).astype(np.float32)
    np.testing.assert_array_equal(round_uint8_exact(approx, image, g, "reflect"), expected)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
@pytest.mark.parametrize("shape", [(203, 37), (97, 41, 3)])
def test_strips_give_the_exact_result_at_every_strip_edge(monkeypatch, mode, shape):
    """Many small strips (each with its own context rows) must equal scipy's float64 result rounded."""
    from filterkit import exact_round

    monkeypatch.setattr(exact_round, "STRIP_BYTES", 64)  # forces strips of 16 * r rows
    image = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    for sigma in (0.7, 1.5):
        g = kernels.gaussian_1d(sigma)
        out = exact_round.smooth_uint8_exact(image, g, border.opencv_border(mode))
        weights = np.outer(g, g) if image.ndim == 2 else np.outer(g, g)[:, :, None]
        exact = ndi.correlate(image.astype(np.float64), weights, mode=border.scipy_mode(mode))
        np.testing.assert_array_equal(out, np.clip(np.rint(exact), 0, 255).astype(np.uint8))
