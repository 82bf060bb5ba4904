import pytest
import torch

from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.features import symmetry_permutations
from filterkit.apps.go.model import PolicyNet, build, load, symmetric_logits
from filterkit.errors import UserError
from filterkit.nn.summary import summarize


def test_shapes_masking_and_size():
    torch.manual_seed(0)
    net = PolicyNet(17, size=9, layers=4, width=8).eval()
    x = torch.rand(3, 17, 9, 9)
    legal = torch.rand(3, 81) > 0.5
    out = net(x, legal)
    assert out.shape == (3, 82)
    assert (out[:, :81][~legal] < -1e8).all() and (out[:, 81] > -1e8).all()
    assert PolicyNet(3, 9, 2, 4, pass_move=False)(torch.rand(1, 3, 9, 9)).shape == (1, 81)
    assert net(torch.rand(1, 17, 7, 7)).shape == (1, 50)  # fully convolutional on other sizes


def test_alphago_size_parameter_count():
    # 13 layers of 192 channels, 48 input planes: the paper's SL policy network (no BN, no pass)
    net = PolicyNet(48, 19, 13, 192, pass_move=False, batch_norm=False)
    convs = 48 * 192 * 25 + 192 + 11 * (192 * 192 * 9 + 192) + 192
    assert summarize(net, (48, 19, 19)).total_params == convs + 361


def test_symmetry_averaging_is_equivariant():
    torch.manual_seed(1)
    net = PolicyNet(5, size=7, layers=3, width=6).eval()
    x = torch.rand(2, 5, 7, 7)
    legal = torch.ones(2, 49, dtype=torch.bool)
    perm = torch.from_numpy(symmetry_permutations(7)[1])
    xr = x.reshape(2, 5, 49)[:, :, perm].reshape(2, 5, 7, 7)
    a = symmetric_logits(net, x, legal, 8)
    b = symmetric_logits(net, xr, legal, 8)
    assert torch.allclose(a[:, :49][:, perm], b[:, :49], atol=1e-5)
    assert torch.allclose(a.exp().sum(1), torch.ones(2), atol=1e-5)
    single = symmetric_logits(net, x, legal, 1)
    assert not torch.allclose(single, a, atol=1e-4)  # a random net is not symmetric by itself


def test_load_rebuilds_the_net_from_the_checkpoint_config(tiny_checkpoint):
    model, config = load(tiny_checkpoint)
    assert isinstance(config, GoConfig) and config.size == 9 and not model.training
    fresh = build(config)
    assert [p.shape for p in fresh.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("config"), "holds no go config"),
    (lambda c: c.__setitem__("config", {}), "holds no go config"),
    (lambda c: c["config"].__setitem__("width", 16), "does not hold a usable go network"),
    (lambda c: c["config"].__setitem__("features", "colour"), "does not hold a usable go network"),
    (lambda c: c.__setitem__("app", "text"), "trained by app 'text'"),
])
def test_a_broken_checkpoint_is_one_user_error(tiny_checkpoint, tmp_path, change, message):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    change(ckpt)
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(UserError, match=message):
        load(tmp_path / "bad.pt")
