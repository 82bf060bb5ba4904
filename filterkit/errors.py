"""Exceptions that carry a message meant for the user (printed as one line, no traceback)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: bad path, bad option, unreadable file.

    The CLI prints ``filterkit: error: <message>`` and exits with status 2.
    Messages name the file (or option) and the problem, and say what to do.
    """
