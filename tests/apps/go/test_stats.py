import numpy as np
import pytest

from filterkit.apps.go.stats import game_bootstrap, wilson_interval


def test_wilson_known_values():
    low, high = wilson_interval(20, 40)
    assert low == pytest.approx(0.3520, abs=1e-4) and high == pytest.approx(0.6480, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_game_bootstrap_is_wider_for_correlated_games():
    rng = np.random.default_rng(0)
    games = np.repeat(np.arange(50), 100)
    per_game = rng.random(50) < 0.5
    values = per_game[games].astype(float)  # all positions of a game agree: strong clustering
    mean, low, high = game_bootstrap(values, games)
    assert low < mean < high
    assert high - low > 0.2  # ~ 50 effective samples, not 5000
