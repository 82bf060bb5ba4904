"""filterkit.nn.mixing: the weighted geometric mean of two classifiers' probabilities."""

from __future__ import annotations

import numpy as np

from filterkit.nn.mixing import mix_log_probabilities


def test_ends_and_middle_of_the_mix():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    q = np.array([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])
    np.testing.assert_allclose(mix_log_probabilities(np.log(p), np.log(q), 1.0), p)
    np.testing.assert_allclose(mix_log_probabilities(np.log(p), np.log(q), 0.0), q)
    g = p**0.25 * q**0.75
    np.testing.assert_allclose(mix_log_probabilities(np.log(p), np.log(q), 0.25), g / g.sum(axis=1, keepdims=True))


def test_large_log_probabilities_do_not_overflow():
    log_p = np.array([[-1000.0, 0.0]])
    log_q = np.array([[-2000.0, -1e-9]])
    out = mix_log_probabilities(log_p, log_q, 0.5)
    assert np.isfinite(out).all() and out[0, 1] == 1.0
