"""Board coordinates, defined once for the whole go app.

A point is a flat index ``p = row * size + col`` (``int``), with

* ``row 0`` = the **top** row as printed (SGF row ``a``; GTP row ``size``),
* ``col 0`` = the left column (SGF column ``a``; GTP column ``A``),

and ``PASS = size * size`` for a given board size (see :func:`pass_point`).
Arrays of board planes are shaped ``(size, size)`` in the same row order, so
``planes.reshape(-1)[p]`` is point ``p``.

GTP vertices are a column letter skipping ``I`` (``A..T``) and a row number
counted from the bottom (``A1`` is the lower-left corner); ``pass`` passes.
SGF points are two lower-case letters, column then row, from the top-left
(``aa``); ``""`` (and ``tt`` on boards up to 19x19) means pass.
"""

from __future__ import annotations

MIN_SIZE, MAX_SIZE = 5, 19
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRST"  # no I
SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def check_size(size: int) -> int:
    """Return ``size`` if it is a supported board size (5..19), else raise ``ValueError``."""
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"board size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    return size


def pass_point(size: int) -> int:
    """The index that stands for a pass on a ``size`` board (``size * size``)."""
    return size * size


def to_point(row: int, col: int, size: int) -> int:
    """Flat index of ``(row, col)``, row 0 at the top."""
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"({row}, {col}) is off a {size}x{size} board")
    return row * size + col


def to_row_col(point: int, size: int) -> tuple[int, int]:
    """``(row, col)`` of a flat index (row 0 at the top)."""
    return divmod(point, size)


def from_gtp(vertex: str, size: int) -> int:
    """Parse a GTP vertex (``"D4"``, ``"pass"``, case-insensitive) into a point; ``ValueError`` if invalid."""
    text = vertex.strip().upper()
    if text == "PASS":
        return pass_point(size)
    if len(text) < 2 or text[0] not in GTP_COLUMNS[:size] or not text[1:].isdigit():
        raise ValueError(f"invalid vertex {vertex!r} for a {size}x{size} board")
    number = int(text[1:])
    if not 1 <= number <= size:
        raise ValueError(f"invalid vertex {vertex!r} for a {size}x{size} board")
    return to_point(size - number, GTP_COLUMNS.index(text[0]), size)


def to_gtp(point: int, size: int) -> str:
    """GTP vertex of a point (``"pass"`` for the pass index)."""
    if point == pass_point(size):
        return "pass"
    row, col = to_row_col(point, size)
    if not (0 <= row < size):
        raise ValueError(f"point {point} is off a {size}x{size} board")
    return f"{GTP_COLUMNS[col]}{size - row}"


def from_sgf(text: str, size: int) -> int:
    """Parse an SGF point (``"dd"``; ``""``/``"tt"`` = pass) into a point; ``ValueError`` if invalid."""
    if text == "" or (text == "tt" and size <= 19):
        return pass_point(size)
    if len(text) != 2 or text[0] not in SGF_LETTERS[:size] or text[1] not in SGF_LETTERS[:size]:
        raise ValueError(f"invalid SGF point {text!r} for a {size}x{size} board")
    return to_point(SGF_LETTERS.index(text[1]), SGF_LETTERS.index(text[0]), size)


def to_sgf(point: int, size: int) -> str:
    """SGF point of a point (``""`` for a pass, the FF[4] form)."""
    if point == pass_point(size):
        return ""
    row, col = to_row_col(point, size)
    return SGF_LETTERS[col] + SGF_LETTERS[row]


def from_sgfmill(move: tuple[int, int] | None, size: int) -> int:
    """Convert sgfmill's ``(row, col)`` (row 0 at the **bottom**; ``None`` = pass) into a point."""
    if move is None:
        return pass_point(size)
    row, col = move
    return to_point(size - 1 - row, col, size)


def to_sgfmill(point: int, size: int) -> tuple[int, int] | None:
    """Inverse of :func:`from_sgfmill`."""
    if point == pass_point(size):
        return None
    row, col = to_row_col(point, size)
    return size - 1 - row, col
