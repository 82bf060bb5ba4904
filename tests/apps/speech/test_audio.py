"""Audio reading: conversions are documented and bad files give one clear error."""

from __future__ import annotations

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

from filterkit.apps.speech.audio import AudioError, fit_length, load_audio  # noqa: E402
from filterkit.errors import UserError  # noqa: E402


def _tone(sr, seconds=0.5, f=440.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_stereo_48k_is_mixed_to_mono_and_resampled(tmp_path):
    sr = 48000
    left, right = _tone(sr), 0.5 * _tone(sr)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), sr, subtype="PCM_16")
    wave = load_audio(path, 8000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.size - 4000) <= 1
    # the mono mix of a 440 Hz tone keeps its frequency after resampling
    spectrum = np.abs(np.fft.rfft(wave))
    peak_hz = np.argmax(spectrum) * 8000 / wave.size
    assert abs(peak_hz - 440) < 5
    assert abs(np.max(np.abs(wave)) - 0.225) < 0.02


@pytest.mark.parametrize("content,reason", [(b"", "not a readable audio"), (b"hello, not audio", "not a readable audio")])
def test_not_audio(tmp_path, content, reason):
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=reason) as info:
        load_audio(path, 8000)
    assert str(path) in str(info.value) and isinstance(info.value, UserError)


def test_empty_and_silent_and_missing(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match="empty"):
        load_audio(empty, 8000)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(silent, 8000)
    assert load_audio(silent, 8000, allow_silent=True).size == 800
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav", 8000)


def test_fit_length_pads_and_crops_centred():
    w = np.arange(1, 5, dtype=np.float32)
    np.testing.assert_array_equal(fit_length(w, 8), [0, 0, 1, 2, 3, 4, 0, 0])
    np.testing.assert_array_equal(fit_length(w, 2), [2, 3])
    np.testing.assert_array_equal(fit_length(w, 6, offset=0), [1, 2, 3, 4, 0, 0])
    np.testing.assert_array_equal(fit_length(w, 6, offset=-2), [3, 4, 0, 0, 0, 0])


def _pcm_wav(path, samples: int, rate: int):
    """A 16-bit mono WAV with ``samples`` samples of a tone, its header claiming ``rate`` Hz."""
    import wave

    tone = (8000 * np.sin(np.arange(samples) / 8)).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone)
    return path


@pytest.mark.parametrize("rate", [1, 999, 384_001, 2_000_000])
def test_sample_rate_outside_the_range_is_refused_before_resampling(tmp_path, rate):
    """A header claiming 1 Hz once turned 800 samples into 800 s of audio at 8 kHz."""
    path = _pcm_wav(tmp_path / "odd rate.wav", 800, rate)
    with pytest.raises(AudioError, match="sample rate") as info:
        load_audio(path, 8000)
    assert str(path) in str(info.value) and "1,000..384,000 Hz" in str(info.value)


def test_clip_over_the_length_limit_is_refused(tmp_path):
    path = _pcm_wav(tmp_path / "long.wav", 3 * 1000, 1000)  # 3 s at 1 kHz
    with pytest.raises(AudioError, match=r"3\.0 s of audio, longer than the 2 s limit") as info:
        load_audio(path, 1000, max_seconds=2)
    assert str(path) in str(info.value)
    assert load_audio(path, 1000, max_seconds=3).size == 3000  # at the limit: read


def test_file_name_with_a_newline_stays_on_one_line(tmp_path):
    path = _pcm_wav(tmp_path / "bad\nname.wav", 800, 1)
    with pytest.raises(AudioError) as info:
        load_audio(path, 8000)
    assert "\n" not in str(info.value) and "bad\\nname.wav" in str(info.value)
