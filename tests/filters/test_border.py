"""Border vocabulary: names, aliases, backend mappings, and exact padding for any width."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from filterkit.filters import border

NUMPY_EQUIVALENT = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}


@pytest.mark.parametrize("mode", border.MODES)
@pytest.mark.parametrize("n, before, after", [(1, 2, 3), (2, 5, 1), (4, 3, 3), (5, 0, 2), (7, 1, 0)])
def test_pad_indices_match_numpy(mode, n, before, after):
    x = np.arange(10, 10 + n)
    idx = border.pad_indices(n, before, after, mode)
    assert idx.shape == (before + n + after,)
    if mode == "constant":
        expected = np.pad(x, (before, after), constant_values=-1)
        got = np.where(idx >= 0, x[np.maximum(idx, 0)], -1)
        np.testing.assert_array_equal(got, expected)
    elif n == 1 and mode == "mirror":
        np.testing.assert_array_equal(idx, 0)  # numpy refuses; OpenCV and scipy repeat the sample
    else:
        np.testing.assert_array_equal(x[idx], np.pad(x, (before, after), mode=NUMPY_EQUIVALENT[mode]))


@pytest.mark.parametrize("mode", border.MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_wide_pads_match_scipy(mode, n):
    """Pads much wider than the image: scipy's correlate with a shifted impulse reads the padded sample."""
    x = np.arange(1.0, n + 1)
    pad = 3 * n + 2
    idx = border.pad_indices(n, pad, pad, mode)
    padded = np.where(idx >= 0, x[np.maximum(idx, 0)], -7.0)
    for offset in range(-pad, pad + 1):
        weights = np.zeros(2 * pad + 1)
        weights[pad + offset] = 1.0
        got = ndi.correlate1d(x, weights, mode=border.scipy_mode(mode), cval=-7.0)
        np.testing.assert_array_equal(got, padded[pad + offset : pad + offset + n], err_msg=f"offset {offset}")


@pytest.mark.parametrize("mode", border.MODES)
def test_pad_numpy_2d(mode):
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = border.pad_numpy(img, ((4, 1), (0, 6)), mode, cval=9)
    assert out.shape == (8, 10) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[4:7, 0:4], img)
    rows = border.pad_indices(3, 4, 1, mode)
    cols = border.pad_indices(4, 0, 6, mode)
    for r, i in enumerate(rows):
        for c, j in enumerate(cols):
            assert out[r, c] == (9 if (i < 0 or j < 0) else img[i, j])


@pytest.mark.parametrize(
    "alias, canonical",
    [
        ("symmetric", "reflect"),
        ("REFLECT", "reflect"),
        ("reflect101", "mirror"),
        ("reflect-101", "mirror"),
        ("reflect_101", "mirror"),
        ("replicate", "nearest"),
        ("edge", "nearest"),
        ("zeros", "constant"),
        ("circular", "wrap"),
        ("periodic", "wrap"),
        ("grid-wrap", "wrap"),
        (" mirror ", "mirror"),
    ],
)
def test_aliases(alias, canonical):
    assert border.normalize_mode(alias) == canonical


@pytest.mark.parametrize("bad", ["", "reflection", "same", "valid", None])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="unknown border mode"):
        border.normalize_mode(bad)
    with pytest.raises(ValueError):
        border.pad_indices(3, 1, 1, bad)


def test_pad_empty_axis_refused():
    with pytest.raises(ValueError, match="empty"):
        border.pad_indices(0, 1, 1, "wrap")


def test_backend_mappings():
    cv2 = pytest.importorskip("cv2")
    assert border.opencv_border("mirror") == cv2.BORDER_REFLECT_101
    assert border.opencv_border("reflect") == cv2.BORDER_REFLECT
    assert border.opencv_border("replicate") == cv2.BORDER_REPLICATE
    assert border.opencv_border("constant") == cv2.BORDER_CONSTANT
    assert border.opencv_border("wrap") == cv2.BORDER_WRAP
    assert border.numpy_pad_mode("mirror") == "reflect"  # numpy's reflect is filterkit's mirror
    assert border.torch_pad_mode("mirror") == "reflect"
    assert border.torch_pad_mode("reflect") is None
    assert border.scipy_mode("edge") == "nearest"


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant", "wrap"])
def test_opencv_copymakeborder_agrees(mode):
    cv2 = pytest.importorskip("cv2")
    img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    ours = border.pad_numpy(img, ((2, 3), (4, 1)), mode, cval=200)
    theirs = cv2.copyMakeBorder(img, 2, 3, 4, 1, border.opencv_border(mode), value=200)
    np.testing.assert_array_equal(ours, theirs)


def test_opencv_border_round_trip():
    pytest.importorskip("cv2")
    for mode in ("reflect", "mirror", "nearest", "constant", "wrap"):
        assert border.mode_of_opencv_border(border.opencv_border(mode)) == mode
    with pytest.raises(ValueError, match="no filterkit mode"):
        border.mode_of_opencv_border(16)  # cv2.BORDER_ISOLATED


def test_rows_and_pad_indices():
    plane = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)[:, ::-1]  # not contiguous
    rows, channels, row_idx, col_idx = border.rows_and_pad_indices(plane, 2, "wrap")
    assert rows.shape == (2, 12) and rows.flags.c_contiguous and channels == 4
    np.testing.assert_array_equal(rows.reshape(2, 3, 4), plane)
    assert row_idx.dtype == col_idx.dtype == np.int64
    np.testing.assert_array_equal(row_idx, border.pad_indices(2, 2, 2, "wrap"))
    np.testing.assert_array_equal(col_idx, border.pad_indices(3, 2, 2, "wrap"))
    _, grey_channels, _, constant_cols = border.rows_and_pad_indices(plane[..., 0], 1, "constant")
    assert grey_channels == 1 and constant_cols.tolist() == [-1, 0, 1, 2, -1]
