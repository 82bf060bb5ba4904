"""Augmentations do what they say and are reproducible."""

from __future__ import annotations

import numpy as np
import torch

from filterkit.apps.speech.augment import AugmentConfig, augment_features, mix_noise, spec_augment, vtlp


def test_mix_noise_hits_requested_snr():
    rng = np.random.default_rng(0)
    wave = np.sin(np.linspace(0, 200, 8000)).astype(np.float32)
    noise = rng.normal(size=3000).astype(np.float32)
    mixed = mix_noise(wave, noise, 10.0, np.random.default_rng(2))
    added = mixed - wave
    snr = 10 * np.log10(np.mean(wave.astype(np.float64) ** 2) / np.mean(added.astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 1e-3


def test_spec_augment_masks_with_mean_and_is_seeded():
    x = torch.randn(4, 20, 30)
    a = spec_augment(x, 2, 5, 2, 8, torch.Generator().manual_seed(3))
    b = spec_augment(x, 2, 5, 2, 8, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    changed = a != x
    assert changed.any()
    fill = x.mean(dim=(1, 2))
    for i in range(4):
        assert torch.allclose(a[i][changed[i]], fill[i].expand(int(changed[i].sum())))
    assert torch.equal(spec_augment(x, 0, 5, 0, 8, torch.Generator()), x)


def test_vtlp_moves_a_band_up_or_down():
    x = torch.zeros(2, 40, 5)
    x[:, 10] = 1.0
    out = vtlp(x, torch.tensor([1.2, 0.8]))
    assert int(out[0, :, 0].argmax()) == 12
    assert int(out[1, :, 0].argmax()) == 8
    torch.testing.assert_close(vtlp(x, torch.ones(2)), x)


def test_augment_features_off_is_identity():
    x = torch.randn(3, 16, 12)
    torch.testing.assert_close(augment_features(x, AugmentConfig.off(), torch.Generator()), x)
    cfg = AugmentConfig()
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
