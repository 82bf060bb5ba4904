"""benchmarks/filters.py: the paired timing alternates the two contenders and returns their outputs."""

from __future__ import annotations

from .conftest import load_benchmark


def test_time_pair_alternates_and_returns_outputs():
    bench = load_benchmark("filters")
    calls = []
    ms_a, out_a, ms_b, out_b = bench.time_pair(lambda: calls.append("a") or 1, lambda: calls.append("b") or 2,
                                               repeats=4, budget_s=10.0)
    assert calls == ["a", "b"] * 5  # one warm-up each, then a, b, a, b, ...
    assert (out_a, out_b) == (1, 2) and ms_a >= 0 and ms_b >= 0
