"""Exceptions that carry a message meant for the user (printed as one line, no traceback)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: bad path, bad option, unreadable file.

    The CLI prints ``filterkit: error: <message>`` and exits with status 2.
    Messages name the file (or option) and the problem, and say what to do.
    """


def _escape_char(ch: str) -> str:
    """``ch`` as ``repr`` writes it inside a string (``\\n``, ``\\x1b``, ``\\u2028``): control and separator
    characters only; everything else (letters of any script, symbols) is kept as it is."""
    return repr(ch)[1:-1] if ch != "'" else ch


def one_line(text: object) -> str:
    """``text`` with every control character (newline, tab, ESC, ...) and every line or paragraph separator
    escaped as ``repr`` does, so a message naming it stays on one terminal line; printable characters,
    non-ASCII letters included, are kept.  Undecodable bytes of a file name (surrogate escapes) show as
    ``\\udcXX``."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def show_path(path: object) -> str:
    """A user's path (``str`` or ``os.PathLike``) as a message names it: one line (see :func:`one_line`)."""
    import os

    return one_line(os.fspath(path) if isinstance(path, os.PathLike) else path)
