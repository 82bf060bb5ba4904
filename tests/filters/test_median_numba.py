"""filterkit.filters._backends.median_numba: bit-identical to scipy.ndimage.median_filter for every dtype, mode, size and shape."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from filterkit.filters import border
from filterkit.filters._backends.median_numba import METHODS, SUPPORTED_DTYPES, median_filter, selection_network

DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)
SIZES = (1, 2, 3, 4, 5, 7, 15)
SHAPES = ((1, 23), (23, 1), (5, 5), (37, 53))
ALGORITHMS = ("network", "histogram")


def scipy_median(image: np.ndarray, size: int, mode: str, cval: float = 0.0) -> np.ndarray:
    return ndi.median_filter(image, size=size, mode=border.scipy_mode(mode), cval=cval)


def brute_force_rank(image: np.ndarray, size: int, rank: int, mode: str, cval: float = 0.0) -> np.ndarray:
    """Sort every window (scipy's window origin) and take element ``rank``."""
    before = size // 2
    pad = ((before, size - 1 - before), (before, size - 1 - before))
    padded = border.pad_numpy(image, pad, mode, cval=image.dtype.type(cval))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    flat = windows.reshape(*image.shape, size * size)
    return np.sort(flat, axis=-1)[..., rank]


def assert_identical(ours: np.ndarray, reference: np.ndarray, context: str) -> None:
    assert ours.dtype == reference.dtype, context
    assert ours.shape == reference.shape, context
    if ours.tobytes() != reference.tobytes():
        bad = np.argwhere(ours.view(np.uint8).reshape(*ours.shape, -1) != reference.view(np.uint8).reshape(*ours.shape, -1))
        y, x = bad[0][:2]
        raise AssertionError(f"{context}: first difference at ({y}, {x}): {ours[y, x]!r} != {reference[y, x]!r}")


def sample_image(shape: tuple[int, int], dtype, rng: np.random.Generator, levels: int | None = None) -> np.ndarray:
    """Random samples over most of the dtype's range (negative for signed/float), or ``levels`` values (ties)."""
    dtype = np.dtype(dtype)
    if levels is not None:
        values = rng.integers(0, levels, size=shape)
        return (values - (levels // 2 if dtype.kind in "if" else 0)).astype(dtype)
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 1e3).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("method", ALGORITHMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_identical_to_scipy_every_mode_size_shape(dtype, method):
    rng = np.random.default_rng(7)
    for shape in SHAPES:
        for levels in (None, 4):
            image = sample_image(shape, dtype, rng, levels)
            for size in SIZES:
                for mode in border.MODES:
                    cval = 3.0 if levels is None else 1.0
                    ours = median_filter(image, size, mode, cval=cval, method=method)
                    assert_identical(ours, scipy_median(image, size, mode, cval), f"{shape} size={size} {mode}")


@pytest.mark.parametrize("method", METHODS)
def test_several_tiles_and_strips(method):
    """Images larger than one strip/tile, so tile and strip seams are checked."""
    rng = np.random.default_rng(1)
    image = sample_image((150, 211), np.float32, rng)
    for size in (3, 6, 15):
        for mode in ("reflect", "constant"):
            ours = median_filter(image, size, mode, cval=-1.5, method=method)
            assert_identical(ours, scipy_median(image, size, mode, -1.5), f"size={size} {mode}")


def test_threads_give_the_same_result():
    rng = np.random.default_rng(2)
    image = sample_image((300, 97), np.uint16, rng)
    for method in ALGORITHMS:
        one = median_filter(image, 9, "mirror", method=method)
        two = median_filter(image, 9, "mirror", method=method, threads=2)
        assert_identical(two, one, method)
        assert_identical(one, scipy_median(image, 9, "mirror"), method)


@pytest.mark.parametrize("method", ALGORITHMS)
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_signed_zeros_and_infinities_match_in_value(dtype, method):
    """-0.0 == +0.0: a zero median equals scipy's, whichever sign its quickselect happens to return."""
    rng = np.random.default_rng(3)
    choices = np.array([-0.0, 0.0, np.inf, -np.inf, 1.0, -1.0], dtype=dtype)
    image = choices[rng.choice(len(choices), size=(41, 29), p=[0.3, 0.3, 0.1, 0.1, 0.1, 0.1])]
    assert np.signbit(image[image == 0]).any() and not np.signbit(image[image == 0]).all()
    for size in (2, 3, 4, 5, 7):
        for mode in border.MODES:
            for cval in (-0.0, 0.0):
                ours = median_filter(image, size, mode, cval=cval, method=method)
                np.testing.assert_array_equal(ours, scipy_median(image, size, mode, cval), f"size={size} {mode} cval={cval}")
                assert ours.dtype == image.dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_constant_image_stays_constant(dtype):
    image = np.full((19, 24), 5, dtype=dtype)
    for method in ALGORITHMS:
        for size in (2, 4, 7):
            out = median_filter(image, size, "nearest", method=method)
            assert_identical(out, image, f"{method} size={size}")


@pytest.mark.parametrize("method", ALGORITHMS)
@pytest.mark.parametrize("dtype", (np.uint16, np.float32, np.float64))
def test_even_lower_and_upper_against_brute_force(dtype, method):
    rng = np.random.default_rng(4)
    image = sample_image((23, 31), dtype, rng, levels=50)
    for size in (2, 3, 4, 6):
        n = size * size
        for mode in ("reflect", "constant", "wrap"):
            lower = median_filter(image, size, mode, cval=2.0, even="lower", method=method)
            upper = median_filter(image, size, mode, cval=2.0, even="upper", method=method)
            assert_identical(lower, brute_force_rank(image, size, (n - 1) // 2, mode, 2.0), f"lower {size} {mode}")
            assert_identical(upper, brute_force_rank(image, size, n // 2, mode, 2.0), f"upper {size} {mode}")
            if size % 2 == 0:
                assert (lower <= upper).all() and (lower < upper).any()
            else:
                assert_identical(lower, upper, f"odd {size}")


def test_cval_is_cast_to_the_dtype_like_scipy():
    rng = np.random.default_rng(5)
    small = sample_image((6, 7), np.uint8, rng, levels=5)
    for cval in (2.7, 254.9, 0.0):
        assert_identical(median_filter(small, 5, "constant", cval=cval), scipy_median(small, 5, "constant", cval), str(cval))
    floats = sample_image((6, 7), np.float32, rng, levels=3)
    for cval in (0.1, -1e-30, 1e39):
        ours = median_filter(floats, 5, "constant", cval=cval)
        with np.errstate(over="ignore"):
            reference = scipy_median(floats, 5, "constant", cval)
        assert_identical(ours, reference, str(cval))


def apply_comparators(wires: np.ndarray, ops: np.ndarray) -> None:
    for lo, hi, kind in ops:
        a, b = wires[lo].copy(), wires[hi].copy()
        if kind in (0, 1):
            wires[lo] = np.minimum(a, b)
        if kind in (0, 2):
            wires[hi] = np.maximum(a, b)


def test_selection_networks_select_the_right_rank():
    rng = np.random.default_rng(6)
    for size in (2, 3, 4, 5, 6, 7):
        n = size * size
        for rank in sorted({1, (n - 1) // 2, n // 2, n - 2}):
            column_ops, merge_ops, output = selection_network(size, rank)
            samples = rng.integers(0, 6, size=(size, size, 400))  # (row, column, lane), many ties
            columns = samples.copy()
            for c in range(size):
                column = columns[:, c]
                apply_comparators(column, column_ops)
                columns[:, c] = column
            np.testing.assert_array_equal(columns, np.sort(samples, axis=0), err_msg=f"column sort {size}")
            wires = columns.transpose(1, 0, 2).reshape(n, -1).copy()  # wire c * size + i
            apply_comparators(wires, merge_ops)
            expected = np.sort(samples.reshape(n, -1), axis=0)[rank]
            np.testing.assert_array_equal(wires[output], expected, err_msg=f"size={size} rank={rank}")


def test_network_is_pruned():
    # Batcher's full sort of 16 wires has 63 comparators and of 64 wires 543; the median of
    # presorted columns needs far fewer.
    assert len(selection_network(3, 4)[1]) < 20
    assert len(selection_network(7, 24)[1]) < 250


def test_refuses_bad_input():
    image = np.zeros((4, 4), dtype=np.float32)
    image[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        median_filter(image, 3)
    with pytest.raises(ValueError, match="NaN"):
        median_filter(np.zeros((4, 4), np.float64), 3, "constant", cval=np.nan)
    with pytest.raises(ValueError, match="cval"):
        median_filter(np.zeros((4, 4), np.uint8), 3, "constant", cval=-1)
    with pytest.raises(TypeError, match="dtype"):
        median_filter(np.zeros((4, 4), np.int64), 3)
    with pytest.raises(TypeError, match="2-D"):
        median_filter(np.zeros((4, 4, 3), np.uint8), 3)
    for bad_size in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="size"):
            median_filter(np.zeros((4, 4), np.uint8), bad_size)
    with pytest.raises(ValueError, match="even"):
        median_filter(np.zeros((4, 4), np.uint8), 2, even="middle")
    with pytest.raises(ValueError, match="border mode"):
        median_filter(np.zeros((4, 4), np.uint8), 3, mode="bogus")
    with pytest.raises(ValueError, match="threads"):
        median_filter(np.zeros((4, 4), np.uint8), 3, threads=0)


def test_strided_views_are_read_in_place():
    rng = np.random.default_rng(8)
    base = sample_image((40, 66), np.float32, rng)
    for view in (base[:, ::3], base.T, base[::-2, 5:]):
        for method in ALGORITHMS:
            out = median_filter(view, 4, "wrap", method=method)
            assert out.flags.c_contiguous
            assert_identical(out, scipy_median(np.ascontiguousarray(view), 4, "wrap"), f"{method} {view.strides}")


def test_output_is_a_new_array_and_input_untouched():
    image = np.arange(20, dtype=np.uint16).reshape(4, 5)
    before = image.copy()
    out = median_filter(image, 1)
    assert out is not image and not np.shares_memory(out, image)
    assert_identical(out, before, "size 1")
    median_filter(image, 3)
    assert_identical(image, before, "input")
    assert set(SUPPORTED_DTYPES) >= {np.dtype(d) for d in DTYPES}
