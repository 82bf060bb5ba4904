"""The one dispatch table (filterkit.filters._backends.dispatch) and the shared layout checks (_planes)."""

import numpy as np
import pytest

import filterkit
from filterkit.filters import ndimage, ops
from filterkit.filters._backends import dispatch
from filterkit.filters._planes import _Planes, check_size


@pytest.mark.parametrize(
    "key, engine",
    [
        (("mean", "float32", 15, "reflect"), "cv2.blur"),
        (("mean", "uint16", 15, "reflect"), "cv2.boxFilter(CV_64F) + round"),
        (("gaussian", "uint8", 9, "reflect"), "numba exact_round.smooth_uint8_exact"),
        (("median", "uint8", 15, "wrap"), "cv2.medianBlur"),
        (("median", "float32", 7, "reflect"), "numba median_numba.median_filter"),
        (("median", "uint8", 4, "reflect"), "numba median_numba.median_filter"),
        (("magnitude", "uint8", 3, "reflect"), "numba int_gradient.uint8_gradient_magnitude"),
        (("magnitude", "float32", 3, "reflect"), "cv2.sepFilter2D x2 + cv2.magnitude"),
    ],
)
def test_first_route(key, engine):
    assert dispatch.routes(*key)[0].engine == engine


def test_every_op_ends_in_scipy():
    for op in (*ops.NAMES, "magnitude", "correlate"):
        if op == "laplace":
            continue  # laplace is a correlation
        assert dispatch.routes(op, "float64", 3, "reflect")[-1].backend == "scipy", op


def test_forced_backend_refusals():
    with pytest.raises(ValueError, match="even sizes"):
        dispatch.routes("median", "uint8", 4, "reflect", "opencv")
    with pytest.raises(ValueError, match="only exists for median"):
        dispatch.routes("mean", "uint8", 3, "reflect", "numba")
    with pytest.raises(ValueError, match="unknown backend"):
        dispatch.routes("mean", "uint8", 3, "reflect", "cuda")


def test_laplacian_alias_everywhere():
    torch = pytest.importorskip("torch")
    from filterkit.filters import blockwise, tensor

    assert ndimage.laplacian is ndimage.laplace and filterkit.laplacian is ndimage.laplace
    assert tensor.laplacian is tensor.laplace and blockwise.laplacian is blockwise.laplace
    assert "laplacian" in dir(filterkit) and set(ops.NAMES) <= set(filterkit.__all__)
    x = torch.rand(1, 2, 9, 11, dtype=torch.float64)
    for name, module in (("sobel", tensor.Sobel), ("scharr", tensor.Scharr), ("prewitt", tensor.Prewitt)):
        torch.testing.assert_close(module(1)(x), getattr(tensor, name)(x, 1))


def test_one_size_rule():
    assert check_size(3, "mean", odd=True) == 3 and check_size(np.int64(4), "median") == 4
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="median: size must be a positive integer"):
            check_size(bad, "median")
    with pytest.raises(ValueError, match="odd"):
        check_size(4, "mean", odd=True)


def test_one_layout_for_numpy_and_torch():
    torch = pytest.importorskip("torch")
    a = np.zeros((2, 5, 6, 3), np.uint8)
    p = _Planes(a, -1, op="mean")
    assert p.x.shape == (2, 5, 6, 3) and p.restore(p.x).shape == a.shape
    t = torch.zeros(2, 3, 5, 6)
    q = _Planes(t, op="mean")
    assert tuple(q.x.shape) == (6, 5, 6) and q.restore(q.x).shape == t.shape
    with pytest.raises(ValueError, match="mean: empty"):
        _Planes(np.zeros((0, 4)), op="mean")
    with pytest.raises(TypeError, match="torch.Tensor"):
        _Planes(a, op="mean", torch_only=True)
