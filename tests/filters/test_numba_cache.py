"""The numba kernels load from numba's disk cache in a new process instead of compiling again.

Each CLI worker is a new process: a kernel whose cache never matches (numba
closures, for one) costs every worker seconds of compilation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")
pytest.importorskip("cv2")

SCRIPT = """
import json
import numpy as np
import filterkit
from filterkit.filters._backends import exact_round, int_gradient, median_numba as median_fast

image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
filterkit.gaussian(image, 1.0, channel_axis=-1)
filterkit.sobel(image, channel_axis=-1)
filterkit.median(image.astype(np.float32), 7, channel_axis=-1)
kernels = {"exact_round": exact_round._smooth_rows, "int_gradient": int_gradient._magnitude,
           "median_fast": median_fast._network_strip}
print(json.dumps({name: [sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values())]
                  for name, k in kernels.items()}))
"""


def _run(cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_compiled_kernels(tmp_path):
    first = _run(tmp_path)
    assert all(misses >= 1 for _, misses in first.values()), first  # compiled and stored
    second = _run(tmp_path)
    assert second == {name: [1, 0] for name in first}, second  # loaded, nothing compiled
