"""``filterkit.errors``: the one way a message shows a user's path (one line, letters kept)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from filterkit.errors import one_line, show_path


@pytest.mark.parametrize("raw, shown", [
    ("plain/name.png", "plain/name.png"),
    ("bad\nnäme_日本.png", "bad\\nnäme_日本.png"),  # newline escaped, letters of any script kept
    ("tab\there\r", "tab\\there\\r"),
    ("esc\x1b[31mred", "esc\\x1b[31mred"),  # a terminal escape sequence cannot recolour the terminal
    ("line\u2028sep\x85", "line\\u2028sep\\x85"),  # Unicode line separators too
    ("it's a space", "it's a space"),
    (os.fsdecode(b"undecodable\xff.png"), "undecodable\\udcff.png"),  # surrogate escape: printable, encodable
])
def test_show_path_is_one_printable_line(raw, shown):
    assert show_path(raw) == shown == show_path(Path(raw)) == one_line(raw)
    assert show_path(raw).isprintable()
    show_path(raw).encode("utf-8")  # never a lone surrogate left to crash the print


def test_one_line_takes_any_object():
    assert one_line(ValueError("a\nb")) == "a\\nb"
