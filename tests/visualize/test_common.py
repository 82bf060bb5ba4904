"""Tests for filterkit.visualize.common: loading models and images, reaching layers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from filterkit.apps.digits.data import load_builtin_digits
from filterkit.errors import UserError
from filterkit.visualize.common import (
    DIGITS_MEAN,
    DIGITS_STD,
    OUTPUT,
    gaussian_blur,
    layer_names,
    load_image,
    load_model,
    to_uint8,
)
from filterkit.apps.digits.train import train_digits_cnn


def test_zoo_model_is_seeded_frozen_and_in_eval_mode():
    a, b, c = (load_model("zoo:lecture_cnn", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.module.conv1.weight, b.module.conv1.weight)
    assert not torch.equal(a.module.conv1.weight, c.module.conv1.weight)
    assert not a.module.training and not any(p.requires_grad for p in a.module.parameters())
    assert a.input_shape == (1, 28, 28)


def test_activations_stop_early_so_conv_layers_take_any_size():
    vm = load_model("zoo:lecture_cnn")
    x = torch.rand(2, 1, 64, 80)
    conv2 = vm.activations(x, "conv2")
    assert conv2.shape == (2, 50, 29, 37)  # 64x80 -> conv 62x78 -> pool 31x39 -> conv 29x37
    with pytest.raises(RuntimeError):  # the full model needs 28x28
        vm.forward(x)
    x28 = torch.rand(1, 1, 28, 28)
    conv1, out = vm.activations(x28, ["conv1", OUTPUT])
    expected = torch.nn.functional.conv2d(vm.normalize(x28), vm.module.conv1.weight, vm.module.conv1.bias)
    torch.testing.assert_close(conv1, expected)
    torch.testing.assert_close(out, vm.forward(x28))


def test_captured_layer_is_not_changed_by_a_following_inplace_relu():
    vm = load_model("zoo:lecture_cnn")
    conv1, _ = vm.activations(torch.rand(1, 1, 28, 28), ["conv1", "relu1"])
    assert (conv1 < 0).any()


def test_unknown_layer_and_model_are_user_errors():
    vm = load_model("zoo:lecture_cnn")
    with pytest.raises(UserError, match="no layer 'conv9'"):
        vm.activations(torch.rand(1, 1, 28, 28), "conv9")
    with pytest.raises(UserError, match="unknown model"):
        load_model("zoo:nope")
    with pytest.raises(UserError, match="checkpoint not found"):
        load_model("/nonexistent/model.pt")
    assert ("output", "the model's output (logits)") in layer_names(vm.module)


def test_checkpoint_round_trip_records_model_and_normalisation(tmp_path):
    data = load_builtin_digits().limit(128)
    trainer = train_digits_cnn(data, epochs=1, seed=0)
    path = trainer.save_checkpoint(tmp_path / "cnn.pt")
    vm = load_model(path)
    assert vm.name == "lecture_cnn" and vm.label_names == [str(i) for i in range(10)]
    assert vm.mean == (DIGITS_MEAN,) and vm.std == (DIGITS_STD,)
    x = torch.rand(3, 1, 28, 28)
    trainer.module.eval()
    torch.testing.assert_close(vm.forward(x), trainer.module((x - DIGITS_MEAN) / DIGITS_STD))


def test_load_image_grey_resize_invert(tmp_path):
    from filterkit.io import write_image

    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 0] = 255
    write_image(tmp_path / "red.png", rgb)
    grey = load_image(tmp_path / "red.png", channels=1)
    assert grey.shape == (1, 1, 10, 20)
    np.testing.assert_allclose(grey.numpy(), 1 / 3, atol=1e-6)
    assert load_image(tmp_path / "red.png", channels=3, size=5).shape == (1, 3, 5, 10)
    np.testing.assert_allclose(load_image(tmp_path / "red.png", invert=True).numpy(), 2 / 3, atol=1e-6)
    brick = load_image("skimage:brick", size=(32, 32))
    assert brick.shape == (1, 1, 32, 32) and 0 <= float(brick.min()) and float(brick.max()) <= 1
    with pytest.raises(UserError, match="skimage:nope"):
        load_image("skimage:nope")


def test_blur_keeps_mean_of_constant_and_to_uint8_rounds():
    x = torch.full((1, 1, 9, 9), 0.25)
    torch.testing.assert_close(gaussian_blur(x, 1.0), x)
    assert to_uint8(torch.tensor([[[0.0, 0.5, 1.2]]])).tolist() == [[0, 128, 255]]
