"""The ``filterkit`` command line: one subcommand per module, imported lazily.

Each subcommand lives in its own module that defines::

    HELP: str                       # one line shown by ``filterkit --help``
    def add_arguments(parser): ...  # argparse options (may add nested subparsers)
    def run(args) -> int: ...       # the work; heavy imports go inside run()

User mistakes are raised as :class:`filterkit.errors.UserError` and printed
as one line ``filterkit: error: ...`` with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from filterkit.cli.common import HelpFormatter
from filterkit.errors import UserError, one_line

# subcommand name -> module path (order is the order shown in --help)
COMMANDS: dict[str, str] = {
    "filter": "filterkit.cli.filter",
    "kernel": "filterkit.cli.kernel",
    "summary": "filterkit.cli.summary",
    "compare": "filterkit.cli.compare",
    "visualize": "filterkit.cli.visualize",
    "models": "filterkit.cli.models",
    "speech": "filterkit.apps.speech.cli",
    "text": "filterkit.apps.text.cli",
    "go": "filterkit.apps.go.cli",
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``filterkit filter: error: argument --size: ... (see --help)``.

    Subparsers (also an app's nested ones) are of this class too, and use :class:`HelpFormatter`
    unless they name another.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        text = " ".join(message.split())  # one line, whatever the value held
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _load(module_path: str):
    try:
        return importlib.import_module(module_path)
    except ModuleNotFoundError as exc:  # a subcommand not built (yet) is simply not offered
        if exc.name and module_path.startswith(exc.name):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    from filterkit import __version__

    parser = ArgumentParser(
        prog="filterkit",
        description="Fixed image filters, learnable conv layers and CNN applications.",
    )
    parser.add_argument("--version", action="version", version=f"filterkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_path in COMMANDS.items():
        module = _load(module_path)
        if module is None:
            continue
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=HelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _tolerant_streams() -> None:
    """Characters the terminal's encoding lacks (``PYTHONIOENCODING=ascii``, a C locale) are written as
    ``\\xe9``-style escapes instead of ending the command in a ``UnicodeEncodeError``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent on a replaced stream (io.StringIO, pytest)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # closed or detached stream: leave it as it is
                pass


def _run_with_json_on_stdout(args) -> int:
    import contextlib

    from filterkit.io import atomic

    atomic.json_stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return int(args._run(args) or 0)
    finally:
        atomic.json_stdout = None


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "json", None) == "-":  # stdout carries the JSON alone; other lines go to stderr
            return _run_with_json_on_stdout(args)
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"filterkit: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("filterkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
