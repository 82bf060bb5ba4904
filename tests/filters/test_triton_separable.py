"""filterkit.filters._backends.triton_separable: the fused CUDA kernel, run on CPU under Triton's interpreter.

The interpreter must be switched on before Triton compiles anything, so the
cases run in one subprocess with ``TRITON_INTERPRET=1`` and report their
errors as JSON; each case is then checked here.  On a CUDA machine
tests/filters/test_tensor.py runs the same kernel compiled (its ``cuda`` cases).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from filterkit.filters._backends import triton_separable as fused

ROOT = Path(__file__).resolve().parents[2]

# (planes, H, W, mode, rows taps, cols taps, block_w, rows per program, dtype): tiles inside and at the
# border, pads wider than the image (1x1, 2x3 with 21 taps), a ring longer than a program's rows
CASES = [
    (2, 13, 40, "reflect", 3, 3, 16, 4, "float32"),
    (1, 13, 40, "mirror", 5, 7, 16, 4, "float32"),
    (1, 13, 40, "nearest", 9, 1, 16, 5, "float32"),
    (1, 13, 40, "constant", 1, 9, 16, 4, "float32"),
    (1, 13, 40, "wrap", 7, 5, 8, 3, "float32"),
    (1, 1, 1, "reflect", 3, 3, 8, 4, "float32"),
    (1, 1, 1, "mirror", 5, 3, 8, 4, "float32"),
    (1, 1, 1, "constant", 3, 5, 8, 4, "float32"),
    (1, 2, 3, "reflect", 21, 3, 8, 4, "float32"),
    (1, 2, 3, "mirror", 21, 3, 8, 4, "float32"),
    (1, 2, 3, "wrap", 3, 21, 8, 4, "float32"),
    (1, 2, 3, "nearest", 21, 21, 8, 4, "float32"),
    (1, 3, 2, "constant", 21, 3, 8, 4, "float32"),
    (1, 20, 33, "constant", 5, 3, 16, 8, "float16"),
    (1, 20, 33, "reflect", 3, 5, 16, 8, "bfloat16"),
]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from filterkit.filters._backends import triton_separable as fused
    from filterkit.filters.border import pad_numpy
    results = []
    for i, (n, h, w, mode, ky, kx, bw, per, dtype) in enumerate(json.loads(sys.argv[1])):
        rng = np.random.default_rng(i)
        rows, cols = rng.normal(size=ky), rng.normal(size=kx)
        if kx >= 3:
            cols[kx // 2] = 0.0  # a zero tap is skipped at compile time
        x = torch.from_numpy(rng.normal(size=(n, h, w)).astype(np.float32)).to(getattr(torch, dtype))
        xd = x.double().numpy()
        # the definition: the 2-D kernel on the image padded in 2-D (scipy.ndimage.correlate reads
        # outside its buffer for reflect pads wider than the image: scipy 1.17, 2x3 image, 21 taps)
        pad = ((0, 0), (ky // 2, ky // 2), (kx // 2, kx // 2))
        xp = pad_numpy(xd, pad, mode, cval=1.5)
        ref = np.zeros((n, h, w))
        for a in range(ky):
            for b in range(kx):
                ref += rows[a] * cols[b] * xp[:, a:a + h, b:b + w]
        y = fused.separable(x, rows, cols, mode, 1.5, block_w=bw, rows_per_program=per, num_warps=1)
        err = float(np.abs(y.double().numpy() - ref).max() / max(np.abs(ref).max(), 1e-9))
        results.append({"dtype": str(y.dtype), "shape": list(y.shape), "err": err})
    print(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def interpreted() -> list[dict]:
    if not fused.available():
        pytest.skip("needs Triton (pip install triton; its interpreter runs the kernel on CPU)")
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(CASES)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[3]}-{c[1]}x{c[2]}-{c[4]}x{c[5]}-{c[8]}" for c in CASES])
def test_matches_the_padded_2d_definition(interpreted, case):
    result, dtype = interpreted[case], CASES[case][8]
    assert result["dtype"] == f"torch.{dtype}"
    assert result["shape"] == list(CASES[case][:3])
    tolerance = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 1e-2}[dtype]  # one rounding of the output
    assert result["err"] < tolerance


def test_off_unless_switched_on():
    assert fused.ENABLED == (os.environ.get("FILTERKIT_TRITON") == "1")


def test_usable_only_for_float_cuda_tensors_without_gradient(monkeypatch):
    monkeypatch.setattr(fused, "ENABLED", True)
    k = np.ones(3)
    assert not fused.usable(torch.zeros(1, 4, 4), k, k)  # CPU: the torch path
    if fused.available() and torch.cuda.is_available():
        x = torch.zeros(1, 4, 4, device="cuda")
        assert fused.usable(x, k, k)
        assert not fused.usable(x.double(), k, k)
        assert not fused.usable(x.to(torch.uint8), k, k)
        assert not fused.usable(x.requires_grad_(), k, k)
        assert not fused.usable(x.detach(), np.ones(65), k)


def test_refuses_even_kernels():
    if not fused.available():
        pytest.skip("needs Triton")
    with pytest.raises(ValueError, match="odd"):
        fused.separable(torch.zeros(1, 4, 4), np.ones(2), np.ones(3), "reflect")


CUDA_TRITON = pytest.mark.skipif(not (fused.available() and torch.cuda.is_available()),
                                 reason="needs a CUDA device and Triton")


@CUDA_TRITON
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant", "wrap"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_filterkit_tensor_with_the_kernel_matches_the_torch_path(monkeypatch, mode, dtype):
    from filterkit.filters import tensor as T

    x = torch.rand(2, 3, 67, 301, generator=torch.Generator().manual_seed(0)).to("cuda", dtype)
    calls = [lambda t: T.gaussian(t, 1.0, mode=mode, cval=0.5), lambda t: T.gaussian(t, 5.0, mode=mode, cval=0.5),
             lambda t: T.mean(t, 15, mode=mode, cval=0.5), lambda t: T.sobel(t, mode=mode, cval=0.5),
             lambda t: T.prewitt(t, axis=1, mode=mode, cval=0.5),
             lambda t: T.correlate(t, np.outer([1.0, -2.0, 0.5], [0.25, 0.5, 0.25, 2.0, 1.0]), mode=mode, cval=0.5)]
    tolerance = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}[dtype]
    for call in calls:
        monkeypatch.setattr(fused, "ENABLED", False)
        expected = call(x)
        monkeypatch.setattr(fused, "ENABLED", True)
        got = call(x)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        err = ((got.double() - expected.double()).abs().max() / expected.double().abs().max()).item()
        assert err < tolerance
