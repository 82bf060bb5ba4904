"""Sphinx configuration of filterkit's API reference (docs/api).

Build (the ``docs`` extra: ``pip install -e ".[docs]"``)::

    sphinx-build -W -b html docs/api docs/_build/api

The output folder ``docs/_build/`` is ignored by git; tests/test_api_docs.py builds it with ``-W``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # a source checkout documents itself even when not installed

import filterkit

project = "filterkit"
author = "the filterkit authors"
copyright = "the filterkit authors, MIT licence"
version = release = filterkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

# autodoc: members in source order, type hints in the signature (the docstrings name shapes and dtypes)
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autosummary_generate = False  # every page is written by hand (nothing generated into the source tree)

# numpydoc: render the numpydoc sections; no per-class member tables (autodoc lists the members)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"filterkit {release} API reference"
html_static_path: list[str] = []
templates_path: list[str] = []
exclude_patterns = ["_build"]
nitpicky = False
