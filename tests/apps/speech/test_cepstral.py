"""Cepstral statistics and the regression head (apps/speech/cepstral.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.fft
import torch

from filterkit.apps.speech.cepstral import (
    CepstralHead,
    cepstral_stats,
    clip_statistics,
    deltas,
    fit_cepstral_head,
)
from filterkit.apps.speech.features import FeatureConfig


def test_deltas_match_librosa():
    librosa = pytest.importorskip("librosa")
    x = np.random.default_rng(0).normal(size=(5, 40))
    np.testing.assert_allclose(deltas(x)[:, 4:-4], librosa.feature.delta(x, width=9, axis=-1)[:, 4:-4], atol=1e-12)
    ramp = np.tile(np.arange(20.0), (2, 1))
    np.testing.assert_allclose(deltas(ramp)[:, 4:-4], 1.0)  # slope 1 inside, where no edge is repeated
    assert (deltas(np.ones((3, 1))) == 0).all()


def test_cepstral_stats_are_mfcc_moments():
    log_mel = np.random.default_rng(1).normal(size=(40, 30))
    stats = cepstral_stats(log_mel, n_ceps=13)
    ceps = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=0)[:13]
    assert stats.shape == (52,)
    np.testing.assert_allclose(stats[:13], ceps.mean(axis=1))
    np.testing.assert_allclose(stats[13:26], ceps.std(axis=1))
    np.testing.assert_allclose(stats[26:39], deltas(ceps).mean(axis=1))


def test_clip_statistics_use_each_clip_at_its_own_length():
    cfg = FeatureConfig()
    rng = np.random.default_rng(2)
    short, long = rng.normal(size=2000).astype(np.float32), rng.normal(size=9000).astype(np.float32)
    both = clip_statistics([short, long], cfg)
    assert both.shape == (2, 52)
    np.testing.assert_allclose(both[1], clip_statistics([long], cfg)[0])
    assert clip_statistics([], cfg).shape == (0, 52)


def _tones(n_per_class: int, seed: int):
    rng = np.random.default_rng(seed)
    waves, targets = [], []
    for label, freq in enumerate((300.0, 900.0, 2000.0)):
        for _ in range(n_per_class):
            t = np.arange(int(8000 * rng.uniform(0.3, 0.8))) / 8000
            waves.append((np.sin(2 * np.pi * freq * (1 + 0.03 * rng.normal()) * t)
                          + 0.05 * rng.normal(size=t.size)).astype(np.float32))
            targets.append(label)
    return waves, targets


def test_head_learns_and_mixes_with_the_cnn():
    cfg = FeatureConfig()
    waves, targets = _tones(12, 3)
    head = fit_cepstral_head(waves, targets, 4, cfg, mix=0.5)  # class 3 never seen in training
    test_waves, test_targets = _tones(5, 4)
    logp = head.log_proba(clip_statistics(test_waves, cfg))
    assert (logp.argmax(axis=1) == test_targets).all()
    assert np.exp(logp)[:, 3].max() < 1e-6
    uniform = np.full((len(test_waves), 4), 0.25)
    mixed = head.mix_with(uniform, clip_statistics(test_waves, cfg))
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0)
    assert (mixed.argmax(axis=1) == test_targets).all()
    head.mix = 1.0  # the CNN's weight 1: the CNN alone
    np.testing.assert_allclose(head.mix_with(uniform, clip_statistics(test_waves, cfg)), uniform)


def test_two_classes_keep_sklearn_probabilities():
    from sklearn.linear_model import LogisticRegression

    cfg = FeatureConfig()
    waves, targets = _tones(10, 5)
    waves, targets = waves[:20], targets[:20]  # classes 0 and 1
    head = fit_cepstral_head(waves, targets, 2, cfg, mix=0.3)
    stats = clip_statistics(waves, cfg)
    reference = LogisticRegression(C=1.0, max_iter=5000, random_state=0).fit((stats - head.mean) / head.scale, targets)
    np.testing.assert_allclose(np.exp(head.log_proba(stats)), reference.predict_proba((stats - head.mean) / head.scale),
                               atol=1e-9)


def test_head_round_trips_through_a_weights_only_checkpoint():
    waves, targets = _tones(6, 6)
    head = fit_cepstral_head(waves, targets, 3, FeatureConfig(), mix=0.5, c=0.3)
    buffer = io.BytesIO()
    torch.save({"extra": {"cepstral": head.to_dict()}}, buffer)
    buffer.seek(0)
    again = CepstralHead.from_dict(torch.load(buffer, weights_only=True)["extra"]["cepstral"])
    stats = clip_statistics(waves, FeatureConfig())
    np.testing.assert_array_equal(again.log_proba(stats), head.log_proba(stats))
    assert (again.mix, again.c, again.n_ceps, again.params) == (0.5, 0.3, 13, 52 * 2 + 52 * 3 + 3)
    assert again.macs(frames=101, n_mels=40) == 101 * 13 * (40 + 9) + 52 + 52 * 3
