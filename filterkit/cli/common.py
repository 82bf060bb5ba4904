"""What every command shares, defined once: the help formatter, the common options, value checks.

Conventions (the same for the core commands and the apps):

* ``--json PATH`` writes the command's figures (``-`` = stdout) with an ``environment`` block
  (:func:`filterkit.io.write_report`); ``--force`` allows overwriting any file the command writes.
* ``--quiet`` is the one switch that silences progress bars; bars go to a terminal only.
* ``--device`` defaults to ``auto`` (CUDA when available) everywhere; ``--seed`` seeds every generator.
* A model-using command takes ``--model NAME|PATH`` (a bundled name or a checkpoint path).
* Numeric options are checked at parse time (finite, in range), with the range in the message.
"""

from __future__ import annotations

import argparse
import math
import sys

__all__ = [
    "HelpFormatter",
    "add_json_option",
    "add_seed_option",
    "add_device_option",
    "add_quiet_option",
    "add_force_option",
    "show_progress",
    "int_range",
    "float_range",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The one help formatter: descriptions keep their line breaks, options show their defaults."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json PATH``: write the command's figures as JSON (``-`` for stdout)."""
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="write the figures as JSON to PATH ('-' for stdout), with the environment they ran on")


def add_seed_option(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """``--seed N``: seed every random number generator for a reproducible run."""
    parser.add_argument("--seed", type=int_range(0, 2**32 - 1), default=default, help=f"random seed (default {default})")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda|cuda:N|auto`` (default auto: CUDA when available)."""
    parser.add_argument("--device", default="auto",
                        help="torch device: cpu, cuda, cuda:N or auto (cuda when available; default auto)")


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars (they are shown on a terminal only anyway)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_force_option(parser: argparse.ArgumentParser, what: str = "output files") -> None:
    """``--force``: overwrite what the command writes (refused otherwise)."""
    parser.add_argument("--force", action="store_true", help=f"overwrite existing {what}")


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars: on a terminal, unless ``--quiet``."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def int_range(lo: int | None = None, hi: int | None = None):
    """An argparse ``type``: an integer in ``lo .. hi`` (either end open when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{value} is out of range ({_range_text(lo, hi)})")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False):
    """An argparse ``type``: a finite number in ``[lo, hi]`` (``lo_open``/``hi_open`` exclude the ends)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        bad = not math.isfinite(value)
        bad |= lo is not None and (value <= lo if lo_open else value < lo)
        bad |= hi is not None and (value >= hi if hi_open else value > hi)
        if bad and lo is None and hi is None:
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if bad:
            raise argparse.ArgumentTypeError(
                f"{text} is out of range ({_range_text(lo, hi, lo_open, hi_open)}, finite)")
        return value

    parse.__name__ = "number"
    return parse


def _range_text(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"{'>' if lo_open else '>='} {lo} and {'<' if hi_open else '<='} {hi}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi}"
    return "any"
