"""Tests for filterkit.apps.digits.model: the three first layers of the lecture CNN."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.apps.digits.config import VARIANTS
from filterkit.apps.digits.model import (
    build_variant,
    count_parameters,
    first_conv,
    fixed_bank_names,
)

from filterkit.nn.layers import FIXED_BANK, kernel_bank


def test_variants_share_init_and_differ_only_in_conv1():
    learned, fixed, random = (build_variant(v, seed=3) for v in ("learned", "fixed", "random"))
    conv_l, conv_f, conv_r = (first_conv(m)[2] for m in (learned, fixed, random))
    assert conv_l.weight.shape == conv_f.weight.shape == (25, 1, 3, 3)
    # the random frozen conv1 is the learned variant's starting point (paired runs)
    torch.testing.assert_close(conv_l.weight, conv_r.weight, rtol=0, atol=0)
    # the fixed conv1 holds the bank's kernels, cycled to 25 filters
    names = fixed_bank_names(25)
    assert len(names) == 25 and set(names) == set(FIXED_BANK)
    expected = kernel_bank(names, 3)
    np.testing.assert_allclose(conv_f.weight.detach().numpy()[:, 0], expected, rtol=0, atol=1e-7)
    # every later layer starts from the same weights in all variants
    later = [(n, p) for n, p in learned.named_parameters() if not n.startswith(_conv1_prefix(learned))]
    fixed_params = dict(fixed.named_parameters())
    for name, p in later:
        torch.testing.assert_close(p, fixed_params[name], rtol=0, atol=0)
    x = torch.zeros(2, 1, 28, 28)
    assert learned(x).shape == fixed(x).shape == (2, 10)


def _conv1_prefix(model) -> str:
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            return name + "."
    raise AssertionError("no conv")


def test_parameter_counts_total_and_trainable():
    counts = {v: count_parameters(build_variant(v, seed=0)) for v in VARIANTS}
    total_learned, trainable_learned = counts["learned"]
    conv1 = 25 * 1 * 3 * 3 + 25  # weight + bias
    assert trainable_learned == total_learned
    for frozen in ("fixed", "random"):
        assert counts[frozen][0] == total_learned
        assert counts[frozen][1] == total_learned - conv1
