"""The API reference (docs/api, Sphinx + numpydoc) builds with warnings as errors.

Skipped where Sphinx or numpydoc is not installed (the ``docs`` extra, part of ``test``).  The build
goes to a temporary folder, fresh (``-E``), so every docstring is read again.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("filterkit.filters.ndimage", "filterkit.filters.tensor", "filterkit.filters.blockwise",
           "filterkit.filters.kernels", "filterkit.filters.border", "filterkit.io", "filterkit.nn.layers",
           "filterkit.nn.train", "filterkit.nn.summary", "filterkit.nn.zoo", "filterkit.visualize",
           "filterkit.models")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("numpydoc") is None,
    reason="the docs extra (sphinx, numpydoc) is not installed",
)


def test_api_reference_builds_without_warnings(tmp_path):
    out = tmp_path / "api"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(ROOT / "docs" / "api"), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-4000:]}"
    pages = (out / "index.html").read_text(encoding="utf-8")
    for module in MODULES:  # every module has its page, linked from the index
        assert f'href="{module.removeprefix("filterkit.")}.html"' in pages, module
    ndimage = (out / "filters.ndimage.html").read_text(encoding="utf-8")
    assert 'id="filterkit.filters.ndimage.median"' in ndimage and "Parameters" in ndimage
    assert 'id="filterkit.models.resolve"' in (out / "models.html").read_text(encoding="utf-8")
    assert 'id="filterkit.visualize.common.load_model"' in (out / "visualize.html").read_text(encoding="utf-8")
    pictures = {p.name for p in (ROOT / "docs" / "gallery").glob("*.png")}
    assert pictures and pictures <= {p.name for p in (out / "_images").glob("*.png")}
