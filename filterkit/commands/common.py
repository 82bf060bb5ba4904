"""Options shared by several subcommands, defined once."""

from __future__ import annotations

import argparse


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json PATH``: write the command's figures as JSON (atomically)."""
    parser.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON to PATH")


def add_seed_option(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """``--seed N``: seed every random number generator for a reproducible run."""
    parser.add_argument("--seed", type=int, default=default, help=f"random seed (default {default})")


def add_device_option(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--device cpu|cuda|auto``."""
    parser.add_argument(
        "--device",
        default=default,
        help=f"torch device: cpu, cuda, cuda:N or auto (cuda when available; default {default})",
    )
