"""filterkit: fixed image filters, learnable conv layers and CNN applications."""

from __future__ import annotations

__version__ = "0.1.0"
