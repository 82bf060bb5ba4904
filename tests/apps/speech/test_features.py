"""Log-mel features match librosa and keep every setting explicit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

librosa = pytest.importorskip("librosa")

from filterkit.apps.speech.features import (  # noqa: E402
    FeatureConfig, LogMel, clip_features, mel_filterbank, normalize_features,
)


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(8000, 256, 40, 20.0, None), (16000, 512, 64, 0.0, 7600.0),
                                                       (22050, 2048, 128, 300.0, 3000.0)])
def test_mel_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax):
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    np.testing.assert_allclose(mel_filterbank(sr, n_fft, n_mels, fmin, fmax), ref, rtol=1e-5, atol=1e-8)


def test_stretch_placement_fills_every_frame_whatever_the_speaking_rate():
    cfg = FeatureConfig(placement="stretch", stretch_frames=24)
    front = LogMel(cfg)
    t = np.arange(4000) / 8000
    word = np.sin(2 * np.pi * (300 + 1500 * t) * t).astype(np.float32)  # a rising chirp, 0.5 s
    slow = np.repeat(word, 2)[: 8000]  # half the speed (and pitch) of the same sweep
    padded = np.concatenate([np.zeros(2000, np.float32), word, np.zeros(3000, np.float32)])
    x = clip_features([word, padded, slow], front)
    assert x.shape == (3, 40, 24)
    # silence around the clip is trimmed: the same frames as the bare clip
    torch.testing.assert_close(x[1], x[0], atol=0.15, rtol=0)
    # the loudest band moves up over the 24 frames for both rates
    peaks = x.argmax(dim=1)
    assert peaks[0, -3] > peaks[0, 2] and peaks[2, -3] > peaks[2, 2]
    with pytest.raises(ValueError, match="placement"):
        FeatureConfig(placement="left")


def _chirp(sr: int, seconds: float = 0.7, seed: int = 0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(seed)
    return (0.5 * np.sin(2 * np.pi * (200 + 900 * t) * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)


@pytest.mark.parametrize("sr,win_ms,hop_ms,n_mels", [(8000, 25.0, 10.0, 40), (16000, 30.0, 10.0, 64)])
def test_db_features_match_librosa(sr, win_ms, hop_ms, n_mels):
    cfg = FeatureConfig(sample_rate=sr, win_ms=win_ms, hop_ms=hop_ms, n_mels=n_mels, normalize="none",
                        top_db=80.0, duration_s=None)
    y = _chirp(sr)
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=cfg.fft_size, hop_length=cfg.hop_length, win_length=cfg.win_length,
            n_mels=n_mels, fmin=cfg.fmin, fmax=cfg.fmax, center=True, pad_mode="constant", power=2.0,
        ),
        ref=1.0, amin=cfg.amin, top_db=80.0,
    )
    got = LogMel(cfg)(torch.from_numpy(y)).numpy()
    assert got.shape == ref.shape == (n_mels, 1 + y.size // cfg.hop_length)
    np.testing.assert_allclose(got, ref, atol=2e-3)


def test_batched_equals_single_and_keeps_dtype():
    cfg = FeatureConfig(normalize="cmvn", placement="center")
    waves = torch.from_numpy(np.stack([_chirp(8000, 1.0, s) for s in range(3)]))
    batch = LogMel(cfg)(waves)
    assert batch.shape == (3, cfg.n_mels, cfg.num_frames) and batch.dtype == torch.float32
    for i in range(3):
        torch.testing.assert_close(batch[i], LogMel(cfg)(waves[i]), atol=1e-4, rtol=1e-4)


def test_cmvn_zero_mean_unit_variance_per_band():
    x = torch.randn(2, 5, 30) * 4 + 7
    y = normalize_features(x, "cmvn")
    torch.testing.assert_close(y.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(-1, unbiased=False), torch.ones(2, 5), atol=1e-3, rtol=0)


def test_config_round_trip_and_errors():
    cfg = FeatureConfig(sample_rate=16000, n_mels=32)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.win_length == 400 and cfg.hop_length == 160 and cfg.fft_size == 512
    with pytest.raises(ValueError, match="hop_ms"):
        FeatureConfig(hop_ms=30.0, win_ms=25.0)
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({"nmels": 3})
    with pytest.raises(ValueError, match="scale"):
        FeatureConfig(scale="linear")


def test_settings_without_placement_mean_center():
    from filterkit.apps.speech.config import SpeechConfig

    d = SpeechConfig().to_dict()
    assert SpeechConfig.from_dict(d).features.placement == "stretch"
    del d["features"]["placement"]  # a checkpoint written before placements existed
    assert SpeechConfig.from_dict(d).features.placement == "center"


def test_pcen_matches_librosa_started_at_the_first_frame():
    import scipy.signal

    from filterkit.apps.speech.features import pcen

    rng = np.random.default_rng(0)
    energy = (rng.random((2, 40, 120)) ** 4 * 1e6).astype(np.float64)
    frames = 0.4 * 8000 / 80
    b = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)
    for k in range(2):
        zi = scipy.signal.lfilter_zi([b], [1, b - 1]) * energy[k, :, :1]
        expected = librosa.pcen(energy[k], sr=8000, hop_length=80, zi=zi)
        np.testing.assert_allclose(pcen(torch.from_numpy(energy), 8000, 80)[k].numpy(), expected, rtol=1e-10)


def test_pcen_front_end_is_loudness_invariant_after_the_first_frames():
    cfg = FeatureConfig(scale="pcen", normalize="none", placement="center", duration_s=1.0)
    wave = np.random.default_rng(1).normal(size=8000).astype(np.float32) * 0.1
    front = LogMel(cfg)
    quiet, loud = front(torch.from_numpy(wave * 0.1)), front(torch.from_numpy(wave))
    assert quiet.shape == (40, cfg.num_frames)
    # AGC: a 20 dB louder clip gives almost the same PCEN features (not 20 dB more, as db would)
    assert (loud - quiet).abs().mean() < 0.1 * loud.abs().mean()
