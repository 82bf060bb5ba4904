"""filterkit.filters.blockwise: blockwise filters on dask arrays equal the in-memory filterkit.filters.ndimage result."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import filterkit.filters.blockwise as fd  # noqa: E402
from filterkit.filters import ndimage  # noqa: E402
from filterkit.filters.border import MODES  # noqa: E402

# uneven chunks, some narrower than the halo (they must be merged), one chunk spanning an axis
CHUNKS = [(10, 23), (4, 64), (37, 5)]


def _image(dtype, shape=(37, 45), seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 40).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


def _compute(x):
    return x.compute(scheduler="sync")


def _cval(mode, dtype):
    return 7.0 if mode == "constant" else 0.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "op, kw, dtype",
    [
        ("mean", {"size": 5}, np.uint8),
        ("mean", {"size": 15}, np.uint16),
        ("median", {"size": 3}, np.uint8),
        ("median", {"size": 4}, np.uint16),  # even: the window reaches one pixel less on the far side
        ("median", {"size": 7}, np.uint8),  # numba / OpenCV with the border frame recomputed
        ("gaussian", {"sigma": 1.5}, np.uint8),  # OpenCV float32 sums + exact tie rounding
        ("gaussian", {"sigma": 2.5}, np.uint16),
        ("gaussian", {"size": 5}, np.uint8),
    ],
)
def test_integer_smoothing_equals_in_memory_result(mode, op, kw, dtype):
    img = _image(dtype)
    cval = _cval(mode, dtype)
    expected = getattr(ndimage, op)(img, mode=mode, cval=cval, **kw)
    for chunks in CHUNKS:
        got = _compute(getattr(fd, op)(da.from_array(img, chunks=chunks), mode=mode, cval=cval, **kw))
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected, err_msg=f"{op} {kw} {mode} chunks={chunks}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "op, kw, dtype",
    [
        ("sobel", {}, np.uint8),
        ("sobel", {"size": 5, "axis": 1}, np.float32),
        ("scharr", {"axis": 0}, np.uint16),
        ("prewitt", {}, np.float64),
        ("laplace", {}, np.float32),
        ("gaussian", {"sigma": 2.0}, np.float32),
        ("mean", {"size": 7}, np.float64),
        ("correlate", {"kernel": np.arange(15.0).reshape(3, 5) - 7}, np.uint8),
        ("convolve", {"kernel": np.arange(21.0).reshape(7, 3) - 10}, np.float32),
    ],
)
def test_scipy_backend_is_exact_for_every_op_and_dtype(mode, op, kw, dtype):
    img = _image(dtype, seed=1)
    cval = _cval(mode, dtype)
    expected = getattr(ndimage, op)(img, mode=mode, cval=cval, backend="scipy", **kw)
    for chunks in CHUNKS[:2]:
        got = _compute(getattr(fd, op)(da.from_array(img, chunks=chunks), mode=mode, cval=cval, backend="scipy", **kw))
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected, err_msg=f"{op} {kw} {mode} chunks={chunks}")


@pytest.mark.parametrize("op, kw", [("sobel", {}), ("gaussian", {"sigma": 1.0}), ("laplace", {})])
def test_auto_backend_float_results_agree_to_float32_rounding(op, kw):
    # OpenCV's vectorised and scalar loops round differently depending on a pixel's column,
    # so float results are not bit-stable under re-blocking; they agree to float32 rounding
    img = _image(np.float32, seed=2)
    expected = getattr(ndimage, op)(img, mode="mirror", **kw)
    got = _compute(getattr(fd, op)(da.from_array(img, chunks=(10, 23)), mode="mirror", **kw))
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4 * float(np.abs(expected).max()))


def test_colour_and_batch_axes_chunked():
    img = _image(np.uint8, shape=(3, 29, 31, 3), seed=3)  # (N, H, W, C)
    x = da.from_array(img, chunks=(2, 9, 8, 2))
    for mode in ("mirror", "wrap"):
        expected = ndimage.median(img, 5, mode=mode, channel_axis=-1)
        np.testing.assert_array_equal(_compute(fd.median(x, 5, mode=mode, channel_axis=-1)), expected)
    planar = np.moveaxis(img[0], -1, 0)  # (C, H, W), channel axis first
    expected = ndimage.gaussian(planar, 1.2, mode="nearest", channel_axis=0)
    got = fd.gaussian(da.from_array(planar, chunks=(1, 10, 10)), 1.2, mode="nearest", channel_axis=0)
    np.testing.assert_array_equal(_compute(got), expected)


@pytest.mark.parametrize("mode", MODES)
def test_halo_wider_than_the_image(mode):
    # a 5-pixel-high image with a 21-pixel window: pads repeat the border rule (as scipy)
    img = _image(np.uint8, shape=(5, 40), seed=4)
    expected = ndimage.mean(img, 21, mode=mode, cval=3)
    got = fd.mean(da.from_array(img, chunks=(2, 7)), 21, mode=mode, cval=3)
    np.testing.assert_array_equal(_compute(got), expected)


def test_result_is_lazy_and_keeps_chunks():
    x = da.zeros((64, 64), dtype=np.uint8, chunks=(32, 16))
    y = fd.gaussian(x, 2.0)
    assert isinstance(y, da.Array)
    assert y.chunks == x.chunks
    assert y.dtype == np.uint8
    assert fd.sobel(x).dtype == np.float32


def test_radius_per_op():
    assert fd.radius("mean", size=7) == (3, 3)
    assert fd.radius("median", size=4) == (2, 2)
    assert fd.radius("gaussian", sigma=1.5) == (6, 6)  # int(4 * 1.5 + 0.5)
    assert fd.radius("gaussian", sigma=2.0, truncate=3.0) == (6, 6)
    assert fd.radius("gaussian", size=9) == (4, 4)
    assert fd.radius("sobel") == (1, 1)
    assert fd.radius("sobel", size=5) == (2, 2)
    assert fd.radius("laplace") == (1, 1)
    assert fd.radius("correlate", kernel=np.ones((3, 7))) == (1, 3)
    with pytest.raises(ValueError, match="unknown op"):
        fd.radius("blur")


def test_bad_options_fail_before_computing():
    x = da.zeros((16, 16), dtype=np.uint8, chunks=8)
    with pytest.raises(ValueError, match="size"):
        fd.mean(x, 4)
    with pytest.raises(ValueError, match="border mode"):
        fd.mean(x, 3, mode="bogus")
    with pytest.raises(ValueError, match="unsupported image dtype int64"):
        fd.mean(da.zeros((8, 8), dtype=np.int64), 3)


def test_tiff_memmap_backed_array(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    img = _image(np.uint16, shape=(48, 40), seed=5)
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, img)  # uncompressed: memory-mappable
    x = da.from_array(tifffile.memmap(path), chunks=(16, 16))
    expected = ndimage.gaussian(img, 1.7, mode="reflect")
    np.testing.assert_array_equal(_compute(fd.gaussian(x, 1.7)), expected)
