"""Speech CNNs: output shapes, frequency-only filters, parameter and multiply-add counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from filterkit.apps.speech.model import FreqStack, build_model, model_names
from filterkit.nn.summary import summarize


@pytest.mark.parametrize("name", model_names())
@pytest.mark.parametrize("n_mels,n_frames", [(40, 32), (40, 101)])
def test_every_preset_maps_features_to_logits(name, n_mels, n_frames):
    net = build_model(name, n_mels, n_frames, 10).eval()
    assert net(torch.randn(3, n_mels, n_frames)).shape == (3, 10)
    s = summarize(net, (n_mels, n_frames))
    assert s.macs_complete and s.total_params == sum(p.numel() for p in net.parameters())


def test_fstack_filters_move_along_frequency_only():
    net = FreqStack(40, 32, 10, channels=(8, 16), k_f=(6, 3), pool_f=(2, 1), time_blocks=4)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].kernel_size == (6, 8) and convs[0].stride == (1, 8)  # one filter per 8-frame block
    assert all(c.kernel_size[1] == 1 for c in convs[1:])
    x = torch.randn(1, 40, 32)
    out = net.features(x.unsqueeze(1))
    assert out.shape == (1, 16, ((40 - 6 + 1) // 2) - 3 + 1, 4)
    # changing the last time block changes only the last block's outputs
    y = x.clone()
    y[..., 24:] += 1.0
    diff = (net.eval().features(y.unsqueeze(1)) - net.features(x.unsqueeze(1))).abs().sum(dim=(0, 1, 2))
    assert torch.all(diff[:3] == 0) and diff[3] > 0


def test_fstack_time_pooling_and_counts():
    net = FreqStack(40, 32, 10, channels=(4,), k_f=(8,), pool_f=(1,), time_blocks=4, time_pool="max")
    s = summarize(net, (40, 32), bias_macs=False)
    # conv: 4 filters x 8 bands x 8 frames, at 33 frequency positions x 4 blocks; BN scale per output; linear
    conv = 4 * 8 * 8 * 33 * 4
    assert s.total_macs == conv + 4 * 33 * 4 + 4 * 33 * 10
    with pytest.raises(ValueError, match="time_pool"):
        FreqStack(40, 32, 10, time_pool="median")
    with pytest.raises(ValueError, match="larger"):
        FreqStack(10, 32, 10, channels=(4, 4), k_f=(8, 8), pool_f=(1, 1))


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown speech model"):
        build_model("resnet", 40, 32, 10)


def test_fstack_overlapping_time_blocks():
    net = FreqStack(40, 32, 10, channels=(4, 6), k_f=(8, 3), pool_f=(3, 1), time_blocks=4, time_stride=4).eval()
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert conv.kernel_size == (8, 8) and conv.stride == (1, 4)  # 8-frame filters every 4 frames
    x = torch.randn(2, 40, 32)
    assert net.features(x.unsqueeze(1)).shape[-1] == (32 - 8) // 4 + 1 == 7
    assert net(x).shape == (2, 10)
    for bad in (0, 9):
        with pytest.raises(ValueError, match="time_stride"):
            FreqStack(40, 32, 10, time_blocks=4, time_stride=bad)


def test_trad_fpool3_sizes_can_shrink():
    paper = build_model("trad-fpool3", 40, 32, 10)
    small = build_model("trad-fpool3", 40, 32, 10, filters=(16, 16), k_t=(20, 4), stride_t=2)
    conv = next(m for m in small.modules() if isinstance(m, nn.Conv2d))
    assert conv.out_channels == 16 and conv.stride == (1, 2) and conv.kernel_size == (8, 20)
    assert small(torch.randn(2, 40, 32)).shape == (2, 10)
    assert summarize(small, (40, 32)).total_params < summarize(paper, (40, 32)).total_params // 5
    with pytest.raises(ValueError, match="two entries"):
        build_model("trad-fpool3", 40, 32, 10, filters=(16,))
