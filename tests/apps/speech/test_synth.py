"""The espeak-ng demo dataset (skipped when espeak-ng is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from filterkit.apps.speech.data import find_clips, label_names
from filterkit.apps.speech.synth import espeak_available, synthesize_digits

pytestmark = pytest.mark.skipif(espeak_available() is None, reason="needs espeak-ng (apt-get install espeak-ng)")


def test_synthesized_digits_are_an_fsdd_style_dataset(tmp_path):
    import soundfile as sf

    paths = synthesize_digits(tmp_path, voices=2, takes=1, progress=False)
    assert len(paths) == 20
    clips, layout = find_clips(tmp_path)
    assert layout == "fsdd" and label_names(clips) == [str(d) for d in range(10)]
    assert {c.speaker for c in clips} == {"usm1", "gbf1"}
    info = sf.info(str(paths[0]))
    assert info.samplerate == 8000 and info.channels == 1 and 0.1 < info.duration < 2.0
    wave, _ = sf.read(str(paths[0]))
    assert np.max(np.abs(wave)) > 0.05
    # a rerun keeps existing files (same bytes), --force rewrites them
    before = paths[0].read_bytes()
    synthesize_digits(tmp_path, voices=2, takes=1, progress=False)
    assert paths[0].read_bytes() == before
