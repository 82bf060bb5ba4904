"""Zoo architectures: exact parameter counts, shapes, options, and the LeNet-5 details.

Large models are built on the meta device (no memory, no arithmetic); real
forwards only run on the small ones.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from filterkit.errors import UserError
from filterkit.nn.zoo import build_model, default_input, model_names
from filterkit.nn.zoo.lenet import C3_TABLE, DIGIT_BITMAPS, EuclideanRBF, PartialConv2d, Subsampling, rbf_codes

# total parameters with the default options, checked by hand in each module's docstring
EXPECTED_PARAMS = {
    "lecture_cnn": 137_660,
    "lenet5": 60_840,
    "alexnet": 61_100_840,
    "alexnet_grouped": 60_965_224,
    "vgg16": 138_357_544,
    "googlenet": 6_998_552,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "allcnn_c": 1_369_738,
    "strided_cnn_c": 954_730,
    "convpool_cnn_c": 1_369_738,
    "model_c": 954_730,
}
DEFAULT_CLASSES = {name: (10 if name in ("lecture_cnn", "lenet5") or name.endswith("_c") else 1000)
                   for name in EXPECTED_PARAMS}


def meta_model(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build_model(name, **kwargs)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_names_cover_the_issue_list():
    assert set(model_names()) == set(EXPECTED_PARAMS)
    assert len(model_names()) == len(set(model_names()))


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_total_parameters(name):
    assert n_params(meta_model(name)) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_default_input_gives_logits(name):
    model = meta_model(name).eval()
    out = model(torch.empty(2, *default_input(name), device="meta"))
    assert tuple(out.shape) == (2, DEFAULT_CLASSES[name])


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_num_classes_and_in_channels(name):
    model = meta_model(name, num_classes=7, in_channels=5).eval()
    _, h, w = default_input(name)
    out = model(torch.empty(1, 5, h, w, device="meta"))
    assert tuple(out.shape) == (1, 7)
    with pytest.raises(RuntimeError):  # the old channel count no longer fits the first layer
        model(torch.empty(1, default_input(name)[0], h, w, device="meta"))


def test_unknown_name_and_option_are_user_errors():
    with pytest.raises(UserError, match="choose one of: lecture_cnn, lenet5"):
        build_model("lenet6")
    with pytest.raises(UserError, match="no option depth"):
        build_model("vgg16", depth=19)
    with pytest.raises(UserError, match="lecture_cnn"):
        default_input("nope")


@pytest.mark.parametrize("name", ["lecture_cnn", "lenet5", "allcnn_c", "strided_cnn_c", "convpool_cnn_c", "model_c"])
def test_small_models_run_for_real(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    out = model(torch.randn(2, *default_input(name)))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_resnets_run_for_real_on_small_inputs():
    torch.manual_seed(0)
    for name in ("resnet18", "resnet50"):
        model = build_model(name, num_classes=3).eval()
        out = model(torch.randn(1, 3, 64, 64))
        assert out.shape == (1, 3) and torch.isfinite(out).all()


def test_lecture_cnn_layers():
    model = build_model("lecture_cnn")
    assert model.conv1.weight.shape == (25, 1, 3, 3) and model.conv1.padding == (0, 0)
    assert model.conv2.weight.shape == (50, 25, 3, 3)
    assert model.fc1.in_features == 1250 and model.fc1.out_features == 100
    assert isinstance(model.relu1, nn.ReLU)


def test_alexnet_grouped_layout_and_input_size():
    model = meta_model("alexnet_grouped")
    assert [model.get_submodule(f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    assert default_input("alexnet_grouped") == (3, 227, 227)
    assert n_params(meta_model("alexnet_grouped", groups=1)) == 62_378_344  # the "62.4 M" of one tower
    with pytest.raises(RuntimeError):  # 224 gives 54x54 after conv1 and a 5x5 map at fc6
        model.eval()(torch.empty(1, 3, 224, 224, device="meta"))


def test_googlenet_aux_heads_only_in_training():
    model = meta_model("googlenet", aux_logits=True)
    x = torch.empty(2, 3, 224, 224, device="meta")
    logits, aux1, aux2 = model.train()(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 1000)
    assert model.eval()(x).shape == (2, 1000)
    assert n_params(model) == 6_998_552 + 2 * (128 * 16 * 1024 + 1024 + 1024 * 1000 + 1000) + 65_664 + 67_712


def test_lenet5_modern_variant():
    model = build_model("lenet5", variant="modern")
    assert n_params(model) == 61_706
    with pytest.raises(ValueError, match="variant"):
        build_model("lenet5", variant="2020")


def test_c3_connection_table():
    assert len(C3_TABLE) == 16
    assert [len(t) for t in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert sum(len(t) for t in C3_TABLE) == 60
    assert all(len(set(t)) == len(t) for t in C3_TABLE)


def test_partial_conv_equals_masked_dense_conv():
    torch.manual_seed(0)
    layer = PartialConv2d(C3_TABLE, 6, 5)
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(2, 6, 14, 14)
    mask = torch.zeros(16, 6, 1, 1)
    for o, inputs in enumerate(C3_TABLE):
        mask[o, list(inputs)] = 1
    dense = layer.dense_weight()
    assert torch.equal(dense * mask, dense)  # nothing outside the table
    assert torch.count_nonzero(dense) == 1500
    torch.testing.assert_close(layer(x), F.conv2d(x, dense, layer.bias))
    # map 15 reads all six inputs; map 0 only S2 maps 0, 1, 2
    x_other = x.clone()
    x_other[:, 3:] = 0
    assert torch.equal(layer(x)[:, 0], layer(x_other)[:, 0])
    assert not torch.equal(layer(x)[:, 15], layer(x_other)[:, 15])
    assert sum(p.numel() for p in layer.parameters()) == 1516


def test_subsampling_is_scaled_block_sum_plus_bias():
    layer = Subsampling(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -1.0]))
        layer.bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.arange(32, dtype=torch.float32).reshape(1, 2, 4, 4)
    out = layer(x)
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0, 0, 0] == 2.0 * (0 + 1 + 4 + 5) + 0.5
    assert out[0, 1, 1, 1] == -1.0 * (26 + 27 + 30 + 31)


def test_rbf_output_is_negated_squared_distance_to_fixed_codes():
    codes = rbf_codes(10)
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(c.tolist()) for c in codes}) == 10
    assert all(len(b.replace(" ", "")) == 84 for b in DIGIT_BITMAPS)
    layer = EuclideanRBF(84, 10)
    assert not layer.weight.requires_grad
    x = codes[3:4].clone()
    out = layer(x)
    assert out[0, 3] == 0 and out.argmax().item() == 3
    assert out[0, 5] == -((codes[3] - codes[5]) ** 2).sum()
    assert rbf_codes(4).shape == (4, 84)


def test_lenet5_initial_weights_follow_fan_in_rule():
    torch.manual_seed(0)
    model = build_model("lenet5")
    assert model.c1.weight.abs().max() <= 2.4 / 25
    assert model.f6.weight.abs().max() <= 2.4 / 120
    fan_in = model.c3.fan_in()
    assert fan_in[0] == 75 and fan_in[15] == 150
    assert model.c3.weight[-6:].abs().max() <= 2.4 / 150  # the last 6 kernels feed map 15
    assert model.c3.weight[:3].abs().max() > 2.4 / 150  # map 0 has the wider range 2.4/75
