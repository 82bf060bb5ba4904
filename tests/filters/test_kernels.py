"""Kernels: sums, symmetry, sizes, and agreement with scipy's and OpenCV's definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from filterkit.filters import kernels


@pytest.mark.parametrize("size", [1, 3, 5, 9])
def test_box_sums_to_one(size):
    k = kernels.box(size)
    assert k.shape == (size, size)
    np.testing.assert_allclose(k.sum(), 1.0)
    np.testing.assert_allclose(k, 1.0 / size**2)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_gaussian_sum_symmetry_radius(sigma):
    g = kernels.gaussian_1d(sigma)
    assert len(g) == 2 * int(4 * sigma + 0.5) + 1  # scipy's radius rule, truncate=4
    np.testing.assert_allclose(g.sum(), 1.0)
    np.testing.assert_array_equal(g, g[::-1])
    assert np.argmax(g) == len(g) // 2
    k = kernels.gaussian(sigma)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k.sum(), 1.0)


@pytest.mark.parametrize("sigma", [0.8, 1.5, 3.0])
def test_gaussian_matches_scipy_impulse_response(sigma):
    impulse = np.zeros(61)
    impulse[30] = 1.0
    g = kernels.gaussian_1d(sigma)
    r = len(g) // 2
    np.testing.assert_allclose(ndi.gaussian_filter1d(impulse, sigma)[30 - r : 31 + r], g, atol=1e-15)


@pytest.mark.parametrize("size", [11, 13, 15, 31])
def test_gaussian_size_rule_matches_opencv(size):
    cv2 = pytest.importorskip("cv2")
    np.testing.assert_allclose(kernels.gaussian_1d(size=size), cv2.getGaussianKernel(size, 0).ravel(), atol=1e-15)


@pytest.mark.parametrize("size", [3, 5, 7, 9, 15])
def test_gaussian_size_and_sigma_match_opencv(size):
    cv2 = pytest.importorskip("cv2")
    np.testing.assert_allclose(
        kernels.gaussian_1d(1.7, size), cv2.getGaussianKernel(size, 1.7, cv2.CV_64F).ravel(), atol=1e-15
    )


@pytest.mark.parametrize("size", [3, 5, 7, 9])
def test_opencv_small_sizes_use_fixed_tables(size):
    """With sigma <= 0 and ksize <= 9 OpenCV returns fixed binomial-like tables, not its sigma rule:
    filterkit always samples the Gaussian (so the kernels differ there, by design)."""
    cv2 = pytest.importorskip("cv2")
    theirs = cv2.getGaussianKernel(size, 0).ravel()
    assert np.abs(kernels.gaussian_1d(size=size) - theirs).max() > 1e-3


def test_gaussian_integer_kernels():
    w3, d3 = kernels.gaussian_integer(3)
    np.testing.assert_array_equal(w3, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert d3 == 16 == w3.sum()
    w5, d5 = kernels.gaussian_integer(5)
    assert d5 == 273 == w5.sum()
    np.testing.assert_array_equal(w5, w5.T)
    np.testing.assert_array_equal(w5, w5[::-1])
    # a rough textbook approximation of the sampled sigma-1 Gaussian
    np.testing.assert_allclose(w5 / d5, kernels.gaussian(1.0, 5), atol=0.013)
    w3[0, 0] = 99  # a copy: the table itself is not changed
    assert kernels.gaussian_integer(3)[0][0, 0] == 1
    with pytest.raises(ValueError, match="3 and 5"):
        kernels.gaussian_integer(7)


@pytest.mark.parametrize("name, size", [("sobel", 3), ("sobel", 5), ("scharr", 3), ("prewitt", 3)])
def test_derivative_kernels_sum_zero_and_antisymmetric(name, size):
    for axis in (0, 1):
        sep = kernels.derivative_separable(name, axis, size)
        k = sep.full()
        assert k.sum() == 0
        np.testing.assert_array_equal(k, -k[::-1, ::-1])
    kx = kernels.derivative_separable(name, 1, size).full()
    ky = kernels.derivative_separable(name, 0, size).full()
    np.testing.assert_array_equal(kx, ky.T)


@pytest.mark.parametrize("axis", [0, 1])
def test_sobel_sign_matches_scipy(axis):
    x = np.random.default_rng(0).random((12, 14))
    np.testing.assert_allclose(ndi.correlate(x, kernels.sobel(axis)), ndi.sobel(x, axis), atol=1e-13)
    np.testing.assert_allclose(ndi.correlate(x, kernels.prewitt(axis)), ndi.prewitt(x, axis), atol=1e-13)


def test_sobel_written_out():
    np.testing.assert_array_equal(kernels.sobel(1), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(kernels.scharr(0), [[-3, -10, -3], [0, 0, 0], [3, 10, 3]])


def test_sobel5_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    kx, ky = cv2.getDerivKernels(1, 0, 5)
    np.testing.assert_array_equal(kernels.sobel(1, 5), np.outer(ky.ravel(), kx.ravel()))


def test_laplacian():
    x = np.random.default_rng(1).random((9, 11))
    np.testing.assert_allclose(ndi.correlate(x, kernels.laplacian(4)), ndi.laplace(x), atol=1e-13)
    assert kernels.laplacian(8).sum() == 0 and kernels.laplacian(8)[1, 1] == -8
    with pytest.raises(ValueError, match="4 or 8"):
        kernels.laplacian(6)


def test_line_and_edge_kernels():
    for angle in (0, 45, 90, 135):
        k = kernels.line(angle)
        assert k.sum() == 0 and (k == 2).sum() == 3
    np.testing.assert_array_equal(kernels.edge(0), kernels.sobel(1))
    np.testing.assert_array_equal(kernels.edge(90), -kernels.sobel(0))  # up on screen = decreasing row
    np.testing.assert_array_equal(kernels.edge(180), -kernels.edge(0))
    with pytest.raises(ValueError):
        kernels.edge(30)
    with pytest.raises(ValueError):
        kernels.line(10)


def test_kirsch_compass_kernels():
    np.testing.assert_array_equal(kernels.kirsch(90), [[5, 5, 5], [-3, 0, -3], [-3, -3, -3]])  # north
    np.testing.assert_array_equal(kernels.kirsch(0), [[-3, -3, 5], [-3, 0, 5], [-3, -3, 5]])  # east
    np.testing.assert_array_equal(kernels.kirsch(45), [[-3, 5, 5], [-3, 0, 5], [-3, -3, -3]])
    for angle in range(0, 360, 45):
        k = kernels.get_kernel(f"kirsch_{angle}")
        assert k.sum() == 0 and (k == 5).sum() == 3 and (k == -3).sum() == 5
        np.testing.assert_array_equal(k, np.rot90(kernels.kirsch(angle - 90)))  # +90 deg = a CCW quarter turn
        assert np.sum(k * kernels.edge(angle)) > 0  # faces the same way as the Sobel-style edge
    with pytest.raises(ValueError, match="multiple of 45"):
        kernels.kirsch(30)


def test_emboss_and_mixed_derivative():
    np.testing.assert_array_equal(kernels.get_kernel("emboss"), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(kernels.emboss(), kernels.identity() - kernels.edge(135))
    flat = np.full((5, 5), 7.0)
    assert ndi.correlate(flat, kernels.emboss())[2, 2] == 7.0  # flat areas keep their value
    dxy = kernels.get_kernel("dxy")
    np.testing.assert_array_equal(dxy, [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    y, x = np.mgrid[0:7, 0:9].astype(float)
    surface = 3.0 * x * y + x**2 - 2.0 * y**2 + 5.0 * x
    np.testing.assert_allclose(ndi.correlate(surface, dxy)[1:-1, 1:-1], 4 * 3.0)  # 4 d2f/dxdy
    img = np.random.default_rng(2).random((8, 10))
    two_pass = ndi.correlate1d(ndi.correlate1d(img, [-1, 0, 1], axis=0), [-1, 0, 1], axis=1)
    np.testing.assert_allclose(ndi.correlate(img, dxy), two_pass, atol=1e-13)


def test_registry():
    for name in kernels.kernel_names():
        k = kernels.get_kernel(name)
        assert k.ndim == 2 and k.dtype == np.float64
    np.testing.assert_array_equal(kernels.get_kernel("Sobel-X"), kernels.sobel(1))
    np.testing.assert_allclose(kernels.get_kernel("gaussian", size=5, sigma=1), kernels.gaussian(1, 5))
    with pytest.raises(ValueError, match="unknown kernel"):
        kernels.get_kernel("blur")


@pytest.mark.parametrize(
    "call",
    [
        lambda: kernels.box(4),
        lambda: kernels.box(0),
        lambda: kernels.gaussian_1d(),
        lambda: kernels.gaussian_1d(-1.0),
        lambda: kernels.gaussian_1d(float("nan")),
        lambda: kernels.derivative_separable("roberts", 1),
        lambda: kernels.derivative_separable("scharr", 1, 5),
        lambda: kernels.derivative_separable("sobel", 2),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
