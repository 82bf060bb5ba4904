import pytest

from filterkit.apps.go import coords


def test_gtp_round_trip_and_skips_i():
    size = 19
    for p in range(size * size + 1):
        assert coords.from_gtp(coords.to_gtp(p, size), size) == p
    assert coords.to_gtp(0, 19) == "A19"  # row 0 is the top
    assert coords.to_gtp(18 * 19 + 8, 19) == "J1"  # ninth column is J, not I
    assert coords.from_gtp("a1", 9) == 8 * 9
    assert coords.from_gtp("PASS", 9) == 81


@pytest.mark.parametrize("bad", ["I5", "Z1", "A0", "A10", "", "5A", "A"])
def test_gtp_rejects_bad_vertices(bad):
    with pytest.raises(ValueError):
        coords.from_gtp(bad, 9)


def test_sgf_and_sgfmill_agree():
    size = 9
    for p in range(size * size + 1):
        assert coords.from_sgf(coords.to_sgf(p, size), size) == p
        assert coords.from_sgfmill(coords.to_sgfmill(p, size), size) == p
    assert coords.from_sgf("ab", 9) == 9  # column a, row b (second from the top)
    assert coords.from_sgf("tt", 19) == 361
    assert coords.to_sgfmill(0, 9) == (8, 0)  # sgfmill counts rows from the bottom


def test_sizes():
    assert coords.check_size(5) == 5
    for bad in (4, 20, 9.0):
        with pytest.raises(ValueError):
            coords.check_size(bad)
