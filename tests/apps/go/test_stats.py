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


def test_elo_difference_and_its_interval():
    from filterkit.apps.go.stats import elo_difference, elo_interval, wilson_interval

    assert elo_difference(0.5) == 0.0
    assert elo_difference(10 / 11) == pytest.approx(400.0)  # 10:1 odds
    assert elo_difference(0.0) is None and elo_difference(1.0) is None
    elo, low, high = elo_interval(30, 50)
    w_low, w_high = wilson_interval(30, 50)
    assert low < elo < high and elo == pytest.approx(elo_difference(0.6))
    assert low == pytest.approx(elo_difference(w_low)) and high == pytest.approx(elo_difference(w_high))
    assert elo_interval(0, 10)[:2] == (None, None) and elo_interval(0, 10)[2] < 0  # no win: no lower bound
