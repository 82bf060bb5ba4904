"""dtype rules: accepted dtypes, float result dtypes, round-half-to-even with saturation, 8-bit export."""

from __future__ import annotations

import numpy as np
import pytest

from filterkit.filters import dtypes


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
def test_supported_dtypes_pass(dtype):
    assert dtypes.check_dtype(dtype) == np.dtype(dtype)


@pytest.mark.parametrize(
    "dtype, advice",
    [
        (bool, "uint8"),
        (np.int16, "float32"),
        (np.int64, "float32"),
        (np.float16, "float32"),
        (np.uint32, "float64"),
        (np.complex64, "one of"),
    ],
)
def test_other_dtypes_are_refused_with_advice(dtype, advice):
    with pytest.raises(ValueError, match=f"unsupported image dtype.*{advice}"):
        dtypes.check_dtype(dtype)


def test_float_dtype_for():
    assert dtypes.float_dtype_for(np.uint8) == np.float32
    assert dtypes.float_dtype_for(np.uint16) == np.float32
    assert dtypes.float_dtype_for(np.float32) == np.float32
    assert dtypes.float_dtype_for(np.float64) == np.float64
    assert dtypes.is_integer_dtype(np.uint16) and not dtypes.is_integer_dtype(np.float32)


def test_round_half_to_even_and_saturate():
    values = np.array([-0.6, -0.4, 0.5, 1.5, 2.5, 3.49, 254.5, 255.5, 1e9])
    np.testing.assert_array_equal(dtypes.round_saturate(values, np.uint8), [0, 0, 0, 2, 2, 3, 254, 255, 255])
    np.testing.assert_array_equal(
        dtypes.round_saturate(np.array([65534.5, 65535.5, -3.0]), np.uint16), [65534, 65535, 0]
    )
    assert dtypes.round_saturate(values, np.uint8).dtype == np.uint8


def test_round_saturate_keeps_input_unless_overwrite():
    values = np.array([0.4, 1.6])
    dtypes.round_saturate(values, np.uint8)
    np.testing.assert_array_equal(values, [0.4, 1.6])
    dtypes.round_saturate(values, np.uint8, overwrite=True)
    np.testing.assert_array_equal(values, [0.0, 2.0])
    # integer input and float targets
    np.testing.assert_array_equal(dtypes.round_saturate(np.array([300, 7]), np.uint8), [255, 7])
    out = dtypes.round_saturate(np.array([0.25], np.float64), np.float32)
    assert out.dtype == np.float32 and out[0] == 0.25


def test_to_uint8_scales():
    x = np.array([-300.0, -20.5, -1.5, 0.0, 0.5, 21.5, 300.0])
    np.testing.assert_array_equal(dtypes.to_uint8(x, "abs"), [255, 20, 2, 0, 0, 22, 255])
    np.testing.assert_array_equal(dtypes.to_uint8(x, "clip"), [0, 0, 0, 0, 0, 22, 255])
    np.testing.assert_array_equal(dtypes.to_uint8(x, "abs", gain=0.5), [150, 10, 1, 0, 0, 11, 150])
    np.testing.assert_array_equal(dtypes.to_uint8(np.array([-1.0, 0.0, 1.0]), "minmax"), [0, 128, 255])
    np.testing.assert_array_equal(dtypes.to_uint8(np.full((2, 2), 7.0), "minmax"), np.zeros((2, 2)))
    assert dtypes.to_uint8(np.zeros((0, 3)), "minmax").shape == (0, 3)
    assert dtypes.to_uint8(np.ones((3, 4), np.float32)).dtype == np.uint8


def test_to_uint8_matches_convert_scale_abs():
    cv2 = pytest.importorskip("cv2")
    x = np.random.default_rng(0).normal(scale=200, size=(31, 29)).astype(np.float32)
    np.testing.assert_array_equal(dtypes.to_uint8(x, "abs", gain=0.7), cv2.convertScaleAbs(x, alpha=0.7))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dtypes.to_uint8(np.array([1.0]), "log"), "unknown scale"),
        (lambda: dtypes.to_uint8(np.array([np.nan]), "abs"), "NaN"),
        (lambda: dtypes.to_uint8(np.array(["a"]), "abs"), "real-valued"),
    ],
)
def test_to_uint8_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
