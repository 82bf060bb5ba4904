"""The ``filterkit`` command line: :mod:`filterkit.cli.main` and one module per command."""

from filterkit.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
