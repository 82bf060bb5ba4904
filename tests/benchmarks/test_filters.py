"""benchmarks/filters.py: the paired timing alternates the two contenders and returns their outputs."""

from __future__ import annotations

from ..conftest import load_benchmark


def test_time_pair_alternates_and_returns_outputs():
    bench = load_benchmark("filters")
    calls = []
    ms_a, out_a, ms_b, out_b = bench.time_pair(lambda: calls.append("a") or 1, lambda: calls.append("b") or 2,
                                               repeats=4, budget_s=10.0)
    assert calls == ["a", "b"] * 5  # one warm-up each, then a, b, a, b, ...
    assert (out_a, out_b) == (1, 2) and ms_a >= 0 and ms_b >= 0


def test_images_option_selects_the_images(monkeypatch):
    import argparse

    import numpy as np

    bench = load_benchmark("filters")
    seen = []

    def tiny(spec, rng):
        seen.append(spec)
        return np.zeros((4, 4), np.float32)

    monkeypatch.setattr(bench, "make_image", tiny)
    monkeypatch.setattr(bench, "implementations", lambda op, p, img: {"filterkit": lambda a: a})
    args = argparse.Namespace(seed=0, quick=False, images=["4096x4096-uint8", "2048x2048x3-uint8"], ops=["mean"],
                              repeats=1, budget=0.01, max_ref_seconds=1.0, max_ref_gb=1.0)
    cases = bench.run_cases(args, threads=1)
    assert sorted({c.image for c in cases}) == ["2048x2048x3 uint8", "4096x4096 uint8"]
    assert len(cases) == 6 and set(seen) == {"4096x4096 uint8", "2048x2048x3 uint8"}
