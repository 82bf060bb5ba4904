import pytest

from filterkit.apps.go.config import MODEL_KEYS, GoConfig


def test_round_trip_through_a_plain_dict():
    config = GoConfig(layers=3, width=8, size=9, move_counts=[1] * 82, init="a.pt")
    data = config.to_dict()
    assert all(isinstance(v, (str, int, float, bool, list, type(None))) for v in data.values())
    assert GoConfig.from_dict(data) == config
    assert GoConfig.from_dict({**data, "unknown": 1}) == config  # keys of other versions are ignored
    assert set(config.model_dict()) == set(MODEL_KEYS)


@pytest.mark.parametrize("bad", [{"features": "colour"}, {"lr_schedule": "step"}, {"layers": 1}, {"width": 0},
                                 {"size": "19"}, {"batch_size": True}])
def test_nonsense_is_refused(bad):
    with pytest.raises(ValueError):
        GoConfig(**bad)
