"""float32 box mean in one numba pass: within its error bound of the exact mean, every border mode."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

pytest.importorskip("numba")
pytest.importorskip("cv2")

import filterkit  # noqa: E402
from filterkit.filters import border  # noqa: E402
from filterkit.filters._backends.running_box import _roundings, box_error_bound, box_float32  # noqa: E402

MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]


def exact_mean(image: np.ndarray, size: int, mode: str, cval: float) -> tuple[np.ndarray, np.ndarray]:
    """float64 mean of each window and mean of ``|x|`` (padding included), per channel.

    The image is padded first (scipy's N-D filters misread reflect padding wider than the image).
    """
    r = size // 2
    pad = ((r, r), (r, r)) + (((0, 0),) if image.ndim == 3 else ())
    padded = border.pad_numpy(image.astype(np.float64), pad, mode, cval)
    window = (size, size) + ((1,) if image.ndim == 3 else ())
    crop = (slice(r, r + image.shape[0]), slice(r, r + image.shape[1]))
    mean = ndi.uniform_filter(padded, window, mode="constant")[crop]
    abs_mean = ndi.uniform_filter(np.abs(padded), window, mode="constant")[crop]
    return mean, abs_mean


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 3), (7, 13), (61, 67), (9, 1, 2), (20, 17, 3)])
@pytest.mark.parametrize("size", [1, 3, 7, 15, 31])
@pytest.mark.parametrize("mode", MODES)
def test_within_the_bound_of_the_exact_mean(shape, size, mode):
    rng = np.random.default_rng(shape[0] * 100 + size)
    image = (rng.standard_normal(shape) * 40 + 10).astype(np.float32)  # signed: sums cancel
    cval = -2.5 if mode == "constant" else 0.0
    got = box_float32(image, size, border.opencv_border(mode), cval)
    assert got.dtype == np.float32 and got.shape == image.shape
    mean, abs_mean = exact_mean(image, size, mode, cval)
    assert np.all(np.abs(got - mean) <= box_error_bound(size) * abs_mean)


def test_sizes_with_many_binary_ones():
    """63 = 0b111111: six blocks along x (the eight-term sum); 511 and 1023: more than eight."""
    image = np.random.default_rng(3).random((90, 200), dtype=np.float32)
    for size in (63, 95, 127, 511, 1023):
        mean, abs_mean = exact_mean(image, size, "mirror", 0.0)
        got = box_float32(image, size, border.opencv_border("mirror"))
        assert np.all(np.abs(got - mean) <= box_error_bound(size) * abs_mean)


def test_the_bound_counts_roundings():
    assert _roundings(15) == 9  # f32 column sum, 3 doublings, 2 in the four-term sum, 1/225, product, spare
    assert _roundings(63) == _roundings(15) + 2 + 1  # 2 more doublings, eight-term sum (depth 3)
    assert _roundings(1023) == _roundings(63) + 4 + 2  # 4 more doublings, 2 blocks past the eighth
    assert box_error_bound(511) < 1e-6 < box_error_bound(1023)


def test_constant_border_uses_cval():
    image = np.zeros((5, 5), np.float32)
    got = box_float32(image, 3, border.opencv_border("constant"), 9.0)
    assert got[0, 0] == pytest.approx(5 * 9.0 / 9)  # 5 of the 9 samples of a corner are padding
    assert got[2, 2] == 0.0


def test_nan_stays_below_and_within_the_window_columns():
    """Like OpenCV's and scipy's running sums, a NaN stays in its column sum: rows below, size // 2 columns."""
    image = np.zeros((30, 40), np.float32)
    image[5, 20] = np.nan
    got = box_float32(image, 7, border.opencv_border("reflect"))
    rows, cols = np.nonzero(np.isnan(got))
    assert rows.min() == 2 and cols.min() == 17 and cols.max() == 23
    assert not np.isnan(got[:2]).any() and not np.isnan(got[:, :17]).any()


def test_rejects_what_it_cannot_do():
    with pytest.raises(ValueError, match="float32"):
        box_float32(np.zeros((4, 4), np.float64), 3, 4)
    with pytest.raises(ValueError, match="odd"):
        box_float32(np.zeros((4, 4), np.float32), 4, 4)
    with pytest.raises(ValueError, match="float32"):
        box_float32(np.zeros((0, 4), np.float32), 3, 4)


@pytest.mark.parametrize("mode", MODES)
def test_filterkit_mean_uses_it_for_grey_float32(mode, monkeypatch):
    image = np.random.default_rng(7).random((40, 50), dtype=np.float32)
    calls = []
    import filterkit.filters._backends.running_box as running_box

    real = running_box.box_float32
    monkeypatch.setattr(running_box, "box_float32", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    got = filterkit.mean(image, 9, mode=mode, cval=1.5)
    assert calls == [9]
    mean, abs_mean = exact_mean(image, 9, mode, 1.5 if mode == "constant" else 0.0)
    assert np.all(np.abs(got - mean) <= box_error_bound(9) * abs_mean)
    filterkit.mean(image, 5, mode=mode)  # small windows and colour stay with cv2.blur
    filterkit.mean(np.dstack([image] * 3), 9, mode=mode, channel_axis=-1)
    assert calls == [9]
