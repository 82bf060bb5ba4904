"""benchmarks/gpu.py runs end to end on CPU at tiny sizes and writes every figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ..conftest import load_benchmark

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


def _times(row: dict) -> list[float]:
    return [v for k, v in row.items() if k.endswith("_ms") or k == "ms" if v is not None]


def test_cpu_smoke_writes_positive_finite_figures(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    argv = ["--device", "cpu", "--size", "64", "--batch", "1", "--repeats", "1", "--app-batch", "2",
            "--go-nets", "2x8", "--text-vocab", "100", "--amp", "--seed", "3", "--json", str(out)]
    assert load_benchmark("gpu").main(argv) == 0
    report = json.loads(out.read_text())
    assert {"device", "device_name", "torch", "command", "seed", "copy", "filters", "training"} <= set(report)
    assert report["device"] == "cpu" and report["seed"] == 3 and report["shape"] == [1, 1, 64, 64]
    assert [c["dtype"] for c in report["copy"]] == ["float32", "float16", "bfloat16"]
    assert [c["bytes_per_pixel"] for c in report["copy"]] == [8, 4, 4]
    ops = {"gaussian s=1", "gaussian s=5", "mean 3", "mean 15", "sobel magnitude", "laplace", "median 3"}
    assert {r["op"] for r in report["filters"]} == ops and len(report["filters"]) == 3 * len(ops)
    models = {t["model"] for t in report["training"]}
    assert models == {"speech fstack", "text kim multichannel d50", "go policy 2x8", "lecture cnn"}
    # fp32 + bf16 for all; contiguous + channels_last for the two 2-D conv nets
    assert len(report["training"]) == 2 * (2 + 2 * 2)
    rows = report["copy"] + report["filters"] + report["training"]
    times = [t for row in rows for t in _times(row)]
    assert len(times) >= len(rows)
    assert all(math.isfinite(t) and t > 0 for t in times)
    for row in report["filters"]:
        assert math.isclose(row["ours_gpix_per_s"], 64 * 64 / (row["ours_ms"] / 1e3) / 1e9, rel_tol=1e-9)
    for t in report["training"]:
        assert math.isclose(t["samples_per_s"], 2 * t["steps_per_s"], rel_tol=1e-9)
    assert "median 3" in capsys.readouterr().out


def test_bad_option_is_one_line_error(capsys):
    assert load_benchmark("gpu").main(["--device", "cpu", "--size", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "benchmarks/gpu.py: error: --size 0: must be at least 1"


def test_bad_go_net_is_rejected():
    with pytest.raises(SystemExit):
        load_benchmark("gpu").parse_args(["--go-nets", "6by64"])


@pytest.mark.slow
def test_tile_sweep_runs_under_the_triton_interpreter(tmp_path):
    """benchmarks/gpu_tiles.py end to end on CPU (about 25 s): ready for the next lent GPU."""
    import os
    import subprocess
    import sys

    from filterkit.filters._backends import triton_separable

    if not triton_separable.available():
        pytest.skip("needs Triton")
    out = tmp_path / "tiles.json"
    root = SCRIPT.parents[1]
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "gpu_tiles.py"), "--device", "cpu", "--size", "16", "--batch", "1",
         "--repeats", "1", "--tiles", "16x16x1", "--seed", "2", "--json", str(out)],
        capture_output=True, text=True, env=dict(os.environ, TRITON_INTERPRET="1"), timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["best"] == "16x16x1" and report["seed"] == 2
    assert {r["op"] for r in report["rows"]} == {"gaussian s=1", "gaussian s=5", "mean 3", "mean 15"}
    assert all(r["rel_diff"] < 1e-5 and r["ms"] > 0 for r in report["rows"])


def test_gpu_refuses_a_malformed_tile(capsys):
    assert load_benchmark("gpu").main(["--device", "cpu", "--size", "8", "--no-apps", "--tile", "256x128"]) == 1
    assert "--tile 256x128" in capsys.readouterr().err


def test_tile_sweep_refuses_devices_it_cannot_use():
    import os
    import subprocess
    import sys

    root = SCRIPT.parents[1]
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "gpu_tiles.py"), "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "error:" in proc.stderr
