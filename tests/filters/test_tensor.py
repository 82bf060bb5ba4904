"""Tests of filterkit.filters.tensor: parity with scipy.ndimage for every op and border mode,
shapes, dtypes, devices, gradients, modules and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from filterkit.filters import border, kernels
from filterkit.filters import tensor as T

MODES = border.MODES
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
CVAL = 0.7  # a non-zero constant makes the constant border visible


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """Batch 2 x 3 channels of an odd-sized 17 x 23 float64 image."""
    return np.random.default_rng(0).random((2, 3, 17, 23))


def per_plane(fn, a: np.ndarray) -> np.ndarray:
    """Apply a 2-D scipy reference to every (H, W) plane of a (B, C, H, W) array."""
    return np.stack([[fn(p) for p in batch] for batch in a])


def sobel_magnitude(p, mode, cval, kernel=kernels.sobel):
    """hypot of the 2-D correlations: scipy.ndimage.sobel pads each 1-D pass with cval again, we do not."""
    return np.hypot(*(ndi.correlate(p, kernel(a), mode=mode, cval=cval) for a in (0, 1)))


# op name -> (our call, scipy reference on one float64 plane)
CASES = {
    "gaussian_s1": (
        lambda x, m: T.gaussian(x, 1.0, mode=m, cval=CVAL),
        lambda p, m: ndi.gaussian_filter(p, 1.0, mode=m, cval=CVAL),
    ),
    "gaussian_s5_wider_than_image": (
        lambda x, m: T.gaussian(x, 5.0, mode=m, cval=CVAL),
        lambda p, m: ndi.gaussian_filter(p, 5.0, mode=m, cval=CVAL),
    ),
    "gaussian_size5": (
        lambda x, m: T.gaussian(x, 1.3, size=5, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, kernels.gaussian(1.3, 5), mode=m, cval=CVAL),
    ),
    "mean3": (
        lambda x, m: T.mean(x, 3, mode=m, cval=CVAL),
        lambda p, m: ndi.uniform_filter(p, 3, mode=m, cval=CVAL),
    ),
    "mean15": (
        lambda x, m: T.box(x, 15, mode=m, cval=CVAL),
        lambda p, m: ndi.uniform_filter(p, 15, mode=m, cval=CVAL),
    ),
    "sobel_x": (
        lambda x, m: T.sobel(x, 1, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, kernels.sobel(1), mode=m, cval=CVAL),
    ),
    "sobel_y": (
        lambda x, m: T.sobel(x, 0, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, kernels.sobel(0), mode=m, cval=CVAL),
    ),
    "sobel_magnitude": (
        lambda x, m: T.sobel(x, mode=m, cval=CVAL),
        lambda p, m: sobel_magnitude(p, m, CVAL),
    ),
    "scharr_magnitude": (
        lambda x, m: T.scharr(x, mode=m),
        lambda p, m: np.hypot(*(ndi.correlate(p, kernels.scharr(a), mode=m) for a in (0, 1))),
    ),
    "prewitt_x": (
        lambda x, m: T.prewitt(x, 1, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, kernels.prewitt(1), mode=m, cval=CVAL),
    ),
    "sobel5_x_normalized": (
        lambda x, m: T.sobel(x, 1, size=5, normalize=True, mode=m),
        lambda p, m: ndi.correlate(p, kernels.sobel(1, 5) / 48.0, mode=m),
    ),
    "laplace4": (
        lambda x, m: T.laplace(x, mode=m, cval=CVAL),
        lambda p, m: ndi.laplace(p, mode=m, cval=CVAL),
    ),
    "laplace8": (
        lambda x, m: T.laplace(x, neighbours=8, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, kernels.laplacian(8), mode=m, cval=CVAL),
    ),
    "correlate_5x7": (
        lambda x, m: T.correlate(x, np.arange(35.0).reshape(5, 7) - 10, mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, np.arange(35.0).reshape(5, 7) - 10, mode=m, cval=CVAL),
    ),
    "convolve_5x7": (
        lambda x, m: T.convolve(x, np.arange(35.0).reshape(5, 7) - 10, mode=m, cval=CVAL),
        lambda p, m: ndi.convolve(p, np.arange(35.0).reshape(5, 7) - 10, mode=m, cval=CVAL),
    ),
    "correlate_rank1_taller_than_image": (
        lambda x, m: T.correlate(x, np.outer(np.arange(1.0, 42.0), [1.0, -2.0, 0.5]), mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, np.outer(np.arange(1.0, 42.0), [1.0, -2.0, 0.5]), mode=m, cval=CVAL),
    ),
    "correlate_separable": (
        lambda x, m: T.correlate(x, kernels.Separable(rows=np.array([1.0, 2, 3]), cols=np.array([0.5, -1, 4, 1, 2])), mode=m, cval=CVAL),
        lambda p, m: ndi.correlate(p, np.outer([1.0, 2, 3], [0.5, -1, 4, 1, 2]), mode=m, cval=CVAL),
    ),
    "median3": (
        lambda x, m: T.median(x, 3, mode=m, cval=CVAL),
        lambda p, m: ndi.median_filter(p, 3, mode=m, cval=CVAL),
    ),
    "median4_even_upper": (
        lambda x, m: T.median(x, 4, mode=m, cval=CVAL),
        lambda p, m: ndi.median_filter(p, 4, mode=m, cval=CVAL),
    ),
    "median4_even_lower": (
        lambda x, m: T.median(x, 4, even="lower", mode=m, cval=CVAL),
        lambda p, m: ndi.rank_filter(p, 7, size=4, mode=m, cval=CVAL),
    ),
    "median5_small_chunks": (
        lambda x, m: T.median(x, 5, mode=m, cval=CVAL, chunk_bytes=1),
        lambda p, m: ndi.median_filter(p, 5, mode=m, cval=CVAL),
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_float64_matches_scipy(case, mode, image):
    ours, ref = CASES[case]
    out = ours(torch.from_numpy(image), mode)
    assert out.dtype == torch.float64 and out.shape == image.shape
    expected = per_plane(lambda p: ref(p, mode), image)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_matches_scipy(case, image):
    ours, ref = CASES[case]
    out = ours(torch.from_numpy(image).float(), "reflect")
    assert out.dtype == torch.float32
    expected = per_plane(lambda p: ref(p, "reflect"), image)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", MODES)
def test_large_images_take_the_in_place_block_path(mode, device):
    """Images several Toeplitz blocks long (interior written in place, padded end strips),
    a length that is not a multiple of the block, two planes, long and short kernels."""
    a = np.random.default_rng(1).random((2, 1, 100, 151))
    x = torch.from_numpy(a).to(device)
    for ours, ref in [
        (T.gaussian(x, 1.0, mode=mode, cval=CVAL), lambda p: ndi.gaussian_filter(p, 1.0, mode=mode, cval=CVAL)),
        (T.mean(x, 33, mode=mode, cval=CVAL), lambda p: ndi.uniform_filter(p, 33, mode=mode, cval=CVAL)),
        (T.sobel(x, mode=mode, cval=CVAL), lambda p: sobel_magnitude(p, mode, CVAL)),
        (T.laplace(x, neighbours=8, normalize=True, mode=mode, cval=CVAL),
         lambda p: ndi.correlate(p, kernels.laplacian(8) / 8, mode=mode, cval=CVAL)),
        (T.correlate(x, np.arange(27.0).reshape(3, 9), mode=mode, cval=CVAL),
         lambda p: ndi.correlate(p, np.arange(27.0).reshape(3, 9), mode=mode, cval=CVAL)),
        # long asymmetric rows: the x pass of 15+ taps (a depthwise conv1d on CPU), separable and not
        (T.correlate(x, kernels.Separable(rows=np.array([1.0, 2, 3]), cols=np.arange(17.0) - 5), mode=mode, cval=CVAL),
         lambda p: ndi.correlate(p, np.outer([1.0, 2, 3], np.arange(17.0) - 5), mode=mode, cval=CVAL)),
        (T.correlate(x, np.arange(57.0).reshape(3, 19) ** 1.5, mode=mode, cval=CVAL),
         lambda p: ndi.correlate(p, np.arange(57.0).reshape(3, 19) ** 1.5, mode=mode, cval=CVAL)),
    ]:
        expected = per_plane(ref, a)
        np.testing.assert_allclose(ours.cpu().numpy(), expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())



@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", [128, 129, 159, 160, 161, 200])
def test_x_pass_blocks_read_the_image_and_padded_strips(mode, width):
    """x passes by the Toeplitz GEMM (5-14 taps) at widths around its 32-sample blocks: interior
    blocks read the image, the blocks over either border read padded strips."""
    a = np.random.default_rng(width).random((2, 1, 5, width))
    x = torch.from_numpy(a)
    asym = kernels.Separable(rows=np.array([1.0]), cols=np.arange(13.0) ** 1.3 - 4)
    for ours, ref in [
        (T.gaussian(x, 1.0, mode=mode, cval=CVAL), lambda p: ndi.gaussian_filter(p, 1.0, mode=mode, cval=CVAL)),
        (T.correlate(x, asym, mode=mode, cval=CVAL), lambda p: ndi.correlate(p, asym.full(), mode=mode, cval=CVAL)),
    ]:
        expected = per_plane(ref, a)
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (4, 5), (6, 1), (7, 9), (13, 40)])
def test_shifted_view_passes_at_every_image_size(mode, shape):
    """Passes with few non-zero taps (written in place from shifted views, end strips padded),
    on images shorter than, as long as and longer than the kernel, along both axes."""
    a = np.random.default_rng(5).random((2, 1, *shape))
    x = torch.from_numpy(a)
    sparse = kernels.Separable(rows=np.array([1.0, 0, 0, 0, -2, 0, 3]), cols=np.array([0.5, 0, 2]))
    for ours, ref in [
        (T.mean(x, 3, mode=mode, cval=CVAL), lambda p: ndi.uniform_filter(p, 3, mode=mode, cval=CVAL)),
        (T.mean(x, 5, mode=mode, cval=CVAL), lambda p: ndi.uniform_filter(p, 5, mode=mode, cval=CVAL)),
        (T.sobel(x, mode=mode, cval=CVAL), lambda p: sobel_magnitude(p, mode, CVAL)),
        (T.correlate(x, sparse, mode=mode, cval=CVAL), lambda p: ndi.correlate(p, sparse.full(), mode=mode, cval=CVAL)),
    ]:
        expected = per_plane(ref, a)
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(expected).max()))

@pytest.mark.parametrize("mode", MODES)
def test_pads_much_wider_than_the_image(mode):
    a = np.random.default_rng(3).random((1, 2))  # a 1 x 2 image, 15 x 15 window
    x = torch.from_numpy(a)
    np.testing.assert_allclose(T.mean(x, 15, mode=mode, cval=CVAL).numpy(), ndi.uniform_filter(a, 15, mode=mode, cval=CVAL), atol=1e-12)
    np.testing.assert_array_equal(T.median(x, 15, mode=mode, cval=CVAL).numpy(), ndi.median_filter(a, 15, mode=mode, cval=CVAL))


def test_median_with_ties_is_exact():
    a = np.random.default_rng(4).integers(0, 4, size=(3, 19, 21)).astype(np.float32)
    for size in (2, 3, 6, 7):
        expected = np.stack([ndi.median_filter(p, size) for p in a])
        np.testing.assert_array_equal(T.median(torch.from_numpy(a), size).numpy(), expected)


# ------------------------------------------------------------------ shapes, dtypes


@pytest.mark.parametrize("shape", [(17, 23), (3, 17, 23), (2, 3, 17, 23), (1, 1, 1, 1)])
@pytest.mark.parametrize("op", [T.gaussian, T.mean, T.median, T.sobel, T.laplace])
def test_rank_and_shape_are_kept(shape, op):
    x = torch.rand(shape, dtype=torch.float64)
    out = op(x, 1.0) if op is T.gaussian else op(x)
    assert out.shape == x.shape
    flat = out.reshape(-1, *shape[-2:])
    ref = (op(x.reshape(-1, 1, *shape[-2:]), 1.0) if op is T.gaussian else op(x.reshape(-1, 1, *shape[-2:])))
    torch.testing.assert_close(flat, ref.reshape(-1, *shape[-2:]))  # planes filtered independently


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_float_dtype_and_device_are_kept(dtype, device):
    x = torch.rand(2, 3, 9, 11, device=device).to(dtype)
    ref = ndi.gaussian_filter(x.double().cpu().numpy(), (0, 0, 1.5, 1.5))
    for op in (lambda t: T.gaussian(t, 1.5), T.mean, T.median, T.sobel, T.laplace, lambda t: T.correlate(t, np.eye(3))):
        out = op(x)
        assert out.dtype == dtype and out.device == x.device and out.shape == x.shape
    out = T.gaussian(x, 1.5).double().cpu().numpy()
    tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2}.get(dtype, 1e-6)
    np.testing.assert_allclose(out, ref, atol=tol)


def test_uint8_smoothing_is_rounded_half_to_even_and_saturated():
    a = np.random.default_rng(5).integers(0, 256, size=(2, 16, 19), dtype=np.uint8)
    x = torch.from_numpy(a)
    for ours, exact in [
        (T.gaussian(x, 1.2, mode="mirror"), ndi.gaussian_filter(a.astype(float), (0, 1.2, 1.2), mode="mirror")),
        (T.mean(x, 5, mode="constant", cval=400.0), ndi.uniform_filter(a.astype(float), (1, 5, 5), mode="constant", cval=400.0)),
    ]:
        assert ours.dtype == torch.uint8
        np.testing.assert_array_equal(ours.numpy(), np.clip(np.rint(exact), 0, 255).astype(np.uint8))
    assert (T.mean(x, 5, mode="constant", cval=400.0).numpy() == 255).any()  # saturation really happened
    # separable 2-D kernels are factored from their own entries: exact halves stay exact
    half = T.correlate(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64), [[0.5, 0.5, 0.0]], mode="nearest")
    assert half.tolist() == [[1.0, 1.5, 2.5]]
    median = T.median(x, 3)
    assert median.dtype == torch.uint8
    np.testing.assert_array_equal(median.numpy(), ndi.median_filter(a, (1, 3, 3)))


def test_uint16_smoothing_equals_the_numpy_uint16_path():
    """torch.uint16 (few torch kernels) is computed in float64/float32 and comes back as uint16 with the
    numpy layer's rules: exact value rounded half to even, saturated at 0 and 65535."""
    ndimage = pytest.importorskip("filterkit.filters.ndimage")
    rng = np.random.default_rng(10)
    a = rng.integers(0, 65536, size=(17, 20), dtype=np.uint16)
    a[:6, :7] = rng.integers(65000, 65536, size=(6, 7))  # near the top: rounding must not wrap around
    x = torch.from_numpy(a)
    calls = [
        lambda f, i: f.mean(i, 3),
        lambda f, i: f.mean(i, 5, mode="constant", cval=70000.0),  # saturates
        lambda f, i: f.mean(i, 7, mode="constant", cval=-5.0),
        lambda f, i: f.gaussian(i, 1.3, mode="mirror"),
        lambda f, i: f.gaussian(i, size=5, mode="wrap"),
        lambda f, i: f.median(i, 3),
        lambda f, i: f.median(i, 4, mode="constant", cval=65535),
        lambda f, i: f.median(i, 7, mode="nearest"),
    ]
    for call in calls:
        ours, theirs = call(T, x), call(ndimage, a)
        assert ours.dtype == torch.uint16 and theirs.dtype == np.uint16
        np.testing.assert_array_equal(ours.numpy(), theirs)
    assert (T.mean(x, 5, mode="constant", cval=70000.0).numpy() == 65535).any()
    exact = ndi.uniform_filter(a.astype(np.float64), 5, mode="constant", cval=70000.0)
    np.testing.assert_array_equal(T.mean(x, 5, mode="constant", cval=70000.0).numpy(), np.clip(np.rint(exact), 0, 65535))
    # batch and channel axes, and the derivatives (float32, as for uint8)
    batch = torch.from_numpy(np.stack([a, a[::-1].copy()]))[:, None]
    assert T.gaussian(batch, 1.0).dtype == torch.uint16 and T.gaussian(batch, 1.0).shape == (2, 1, 17, 20)
    np.testing.assert_allclose(T.sobel(x, 1).numpy(), ndi.sobel(a.astype(np.float64), 1), rtol=1e-6, atol=0.1)
    assert T.sobel(x, 1).dtype == torch.float32


def test_uint8_derivatives_are_float32():
    a = np.random.default_rng(6).integers(0, 256, size=(12, 13), dtype=np.uint8)
    x = torch.from_numpy(a)
    for ours, ref in [
        (T.sobel(x, 1), ndi.sobel(a.astype(float), 1)),
        (T.laplace(x), ndi.laplace(a.astype(float))),
        (T.correlate(x, kernels.box(3)), ndi.uniform_filter(a.astype(float), 3)),
    ]:
        assert ours.dtype == torch.float32
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-3)


def test_agrees_with_the_numpy_layer(image):
    ndimage = pytest.importorskip("filterkit.filters.ndimage")
    a = image[0].transpose(1, 2, 0).astype(np.float32)  # (H, W, C)
    x = torch.from_numpy(image[0]).float()
    pairs = [
        (T.gaussian(x, 2.0, mode="wrap"), ndimage.gaussian(a, 2.0, mode="wrap", channel_axis=-1)),
        (T.mean(x, 5, mode="mirror"), ndimage.mean(a, 5, mode="mirror", channel_axis=-1)),
        (T.sobel(x, 1), ndimage.sobel(a, 1, channel_axis=-1)),
        (T.laplace(x, neighbours=8), ndimage.laplace(a, neighbours=8, channel_axis=-1)),
        (T.median(x, 5, mode="wrap"), ndimage.median(a, 5, mode="wrap", channel_axis=-1)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.transpose(2, 0, 1), rtol=1e-5, atol=1e-5)
    # and a tensor given to the numpy layer comes here, options intact
    torch.testing.assert_close(ndimage.sobel(x, 0, normalize=True, mode="wrap"), T.sobel(x, 0, normalize=True, mode="wrap"))
    torch.testing.assert_close(ndimage.median(x, 4, even="lower"), T.median(x, 4, even="lower"))


NUMPY_LAYER_OPS = {
    "mean3": lambda f, i, **kw: f.mean(i, 3, **kw),
    "mean15": lambda f, i, **kw: f.mean(i, 15, **kw),
    "gaussian": lambda f, i, **kw: f.gaussian(i, 1.5, **kw),
    "gaussian_size5": lambda f, i, **kw: f.gaussian(i, size=5, **kw),
    "median3": lambda f, i, **kw: f.median(i, 3, **kw),
    "median4": lambda f, i, **kw: f.median(i, 4, **kw),
    "median7": lambda f, i, **kw: f.median(i, 7, **kw),
    "correlate": lambda f, i, **kw: f.correlate(i, np.arange(15.0).reshape(3, 5) - 7, **kw),
    "correlate_rank1": lambda f, i, **kw: f.correlate(i, np.outer([1.0, 2, 1], [1.0, 0, -1, 2, 3]), **kw),
    "convolve": lambda f, i, **kw: f.convolve(i, np.arange(15.0).reshape(3, 5) - 7, **kw),
    "laplace4": lambda f, i, **kw: f.laplace(i, **kw),
    "laplace8": lambda f, i, **kw: f.laplace(i, neighbours=8, **kw),
    "laplace8_normalized": lambda f, i, **kw: f.laplace(i, neighbours=8, normalize=True, **kw),
    "sobel5_x": lambda f, i, **kw: f.sobel(i, 1, size=5, **kw),
    "sobel5_y": lambda f, i, **kw: f.sobel(i, 0, size=5, **kw),
}
for _name in ("sobel", "scharr", "prewitt"):
    for _axis, _label in ((1, "x"), (0, "y"), (None, "magnitude")):
        for _norm in (False, True):
            NUMPY_LAYER_OPS[f"{_name}_{_label}{'_normalized' if _norm else ''}"] = (
                lambda name, axis, norm: lambda f, i, **kw: getattr(f, name)(i, axis, normalize=norm, **kw)
            )(_name, _axis, _norm)


@pytest.mark.parametrize("op", sorted(NUMPY_LAYER_OPS))
def test_constant_border_with_nonzero_cval_agrees_with_the_numpy_layer(op):
    """mode="constant", cval=7.5 on a grey float32 image: the torch backend gives filterkit.filters.ndimage's numbers
    (the image padded with cval in 2-D; derivatives used to pad their second 1-D pass with cval again)."""
    ndimage = pytest.importorskip("filterkit.filters.ndimage")
    a = (np.random.default_rng(8).random((19, 23)) * 10).astype(np.float32)
    ours = NUMPY_LAYER_OPS[op](T, torch.from_numpy(a), mode="constant", cval=7.5)
    theirs = NUMPY_LAYER_OPS[op](ndimage, a, mode="constant", cval=7.5)
    assert ours.dtype == torch.float32 and theirs.dtype == np.float32 and ours.shape == a.shape
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=2e-6 * scale)
    # and both are the float64 reference of the image padded with 7.5 (cropped after filtering)
    padded = np.pad(a.astype(np.float64), 12, constant_values=7.5)
    exact = NUMPY_LAYER_OPS[op](T, torch.from_numpy(padded), mode="constant", cval=7.5)[12:-12, 12:-12].numpy()
    np.testing.assert_allclose(ours.numpy(), exact, rtol=0, atol=2e-6 * scale)


def test_separable_kernel_equals_its_full_kernel_at_a_constant_border():
    x = torch.from_numpy(np.random.default_rng(9).random((2, 9, 11)))
    sep = kernels.derivative_separable("sobel", 1)
    full = T.correlate(x, sep.full(), mode="constant", cval=-3.0)
    torch.testing.assert_close(T.correlate(x, sep, mode="constant", cval=-3.0), full, rtol=0, atol=1e-12)
    torch.testing.assert_close(T.sobel(x, 1, mode="constant", cval=-3.0), full, rtol=0, atol=1e-12)
    # scipy.ndimage.sobel pads its second pass with cval again: it differs at the border only
    scipy_sobel = per_plane(lambda q: ndi.sobel(q, 1, mode="constant", cval=-3.0), x.numpy()[None])[0]
    assert np.abs(scipy_sobel - full.numpy())[:, [0, -1], :].max() > 1.0
    np.testing.assert_allclose(scipy_sobel[:, 1:-1], full.numpy()[:, 1:-1], atol=1e-12)


# ---------------------------------------------------------------------- gradients


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "op",
    [
        lambda x, m: T.gaussian(x, 0.8, mode=m, cval=CVAL),
        lambda x, m: T.mean(x, 5, mode=m),
        lambda x, m: T.sobel(x, mode=m),  # magnitude
        lambda x, m: T.laplace(x, neighbours=8, mode=m, cval=CVAL),
        lambda x, m: T.laplace(x, mode=m, cval=CVAL),
        lambda x, m: T.convolve(x, [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, 0.0]], mode=m),
        lambda x, m: T.gaussian(x, 3.0, mode=m),  # kernel wider than the image, Toeplitz blocks
    ],
    ids=["gaussian", "mean5", "sobel_magnitude", "laplace8", "laplace4", "convolve", "gaussian_wide"],
)
def test_gradcheck(op, mode):
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) + 0.1
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: op(t, mode), (x,))


def test_gradient_equals_the_adjoint_of_the_forward():
    """<correlate(x), y> = <x, grad> for the 33-column Toeplitz path too."""
    x = torch.rand(1, 1, 40, 70, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 40, 70, dtype=torch.float64)
    out = T.gaussian(x, 4.0, mode="mirror")
    (out * y).sum().backward()
    with torch.no_grad():
        # the same filter as an explicit matrix-free check: perturbation along a random direction
        d = torch.rand_like(x)
        eps = 1e-6
        numeric = ((T.gaussian(x + eps * d, 4.0, mode="mirror") - out) * y).sum() / eps
    assert torch.allclose((x.grad * d).sum(), numeric, rtol=1e-5)


def test_magnitude_gradient_is_finite_where_the_gradient_vanishes():
    x = torch.ones(1, 1, 6, 7, dtype=torch.float64)
    x[..., 3:, :] = 2.0  # flat regions: both derivatives exactly 0 there
    x.requires_grad_(True)
    T.sobel(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_median_is_not_differentiable():
    x = torch.rand(1, 1, 5, 5, requires_grad=True)
    assert not T.median(x).requires_grad


# ------------------------------------------------------------------------ modules


def test_modules_equal_functions(image):
    x = torch.from_numpy(image)
    pairs = [
        (T.Gaussian(1.5, mode="wrap"), T.gaussian(x, 1.5, mode="wrap")),
        (T.Mean(5, mode="constant", cval=2.0), T.mean(x, 5, mode="constant", cval=2.0)),
        (T.Median(4, even="lower"), T.median(x, 4, even="lower")),
        (T.Sobel(0, normalize=True), T.sobel(x, 0, normalize=True)),
        (T.Laplace(neighbours=8), T.laplace(x, neighbours=8)),
        (T.Correlate([[1.0, 0.0, -1.0]]), T.correlate(x, [[1.0, 0.0, -1.0]])),
        (T.Correlate([[1.0, 0.0, 2.0]], convolve=True), T.convolve(x, [[1.0, 0.0, 2.0]])),
        (T.Correlate(kernels.derivative_separable("scharr", 1)), T.scharr(x, 1)),
    ]
    for module, expected in pairs:
        assert isinstance(module, torch.nn.Module)
        torch.testing.assert_close(module(x), expected, rtol=1e-12, atol=1e-12)


def test_correlate_module_kernel_is_a_buffer():
    m = T.Correlate(np.ones((3, 3)))
    assert "kernel" in dict(m.named_buffers()) and not list(m.parameters())
    assert "kernel" in m.state_dict()
    m.kernel.mul_(2.0)  # the buffer is what forward uses
    x = torch.rand(1, 1, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(m(x), T.correlate(x, 2.0 * np.ones((3, 3))))


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: T.gaussian(x, 1.0, mode="bogus"), ValueError, "unknown border mode"),
        (lambda x: T.mean(x, 4), ValueError, "odd"),
        (lambda x: T.mean(x, 0), ValueError, "odd"),
        (lambda x: T.median(x, 0), ValueError, "positive"),
        (lambda x: T.median(x, 3, even="middle"), ValueError, "even"),
        (lambda x: T.gaussian(x), ValueError, "sigma"),
        (lambda x: T.gaussian(x, -1.0), ValueError, "sigma"),
        (lambda x: T.sobel(x, 2), ValueError, "axis"),
        (lambda x: T.scharr(x, 1, size=5), ValueError, "sizes"),
        (lambda x: T.laplace(x, neighbours=6), ValueError, "neighbours"),
        (lambda x: T.correlate(x, np.ones((2, 3))), ValueError, "odd"),
        (lambda x: T.correlate(x, [[np.nan]]), ValueError, "NaN"),
        (lambda x: T.median(x.to(torch.uint8), 3, mode="constant", cval=-1), ValueError, "cval"),
        (lambda x: T.mean(x[0, 0, 0]), ValueError, "shape"),
        (lambda x: T.mean(x[None]), ValueError, "shape"),
        (lambda x: T.mean(x.bool()), ValueError, "dtype"),
        (lambda x: T.mean(x.numpy()), TypeError, "torch.Tensor"),
        (lambda x: T.mean(x[:, :, :0]), ValueError, "empty"),
        (lambda x: T.keep_freed_memory(0), ValueError, "limit_bytes"),
        (lambda x: T.keep_freed_memory(2**31), ValueError, "limit_bytes"),
    ],
)
def test_errors(call, error, message):
    x = torch.rand(1, 1, 5, 5)
    with pytest.raises(error, match=message):
        call(x)
