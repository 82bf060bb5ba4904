"""Garbage on ``filterkit go gtp``'s stdin: every command gets a ``=`` or ``?`` reply, the engine never crashes."""

from __future__ import annotations

import random

import pytest

from .conftest import (
    assert_no_partial,
    assert_no_traceback,
    assert_one_line_error,
    model_args,
    run_cli,
)

pytest.importorskip("torch")

GTP = ("go", "gtp")


def _replies(stdout: str) -> list[str]:
    """The replies in GTP's output (each ends in a blank line)."""
    return [r for r in stdout.replace("\r\n", "\n").split("\n\n") if r.strip()]


def _gtp(tmp_path, checkpoint, lines: list[bytes], timeout: float = 90):
    data = b"".join(line + b"\n" for line in lines)
    proc = run_cli(model_args(GTP, checkpoint, "--playouts", "16"), cwd=tmp_path, timeout=timeout, input=data)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip() == "", proc.stderr[-2000:]
    replies = _replies(proc.stdout)
    for reply in replies:
        assert reply[:1] in ("=", "?"), f"not a GTP reply: {reply[:200]!r}"
        assert "internal error" not in reply, reply[:500]
    return replies


# (line, expected reply: "=", "?" or None for no reply at all)
GARBAGE = [
    (b"", None),
    (b"   \t  ", None),
    (b"# only a comment", None),
    (b"x" * 1_000_000, "?"),
    (b"play b " + b"A1 " * 200_000, "?"),
    (b"\xff\xfe\x80 not utf-8 \xc3\x28", "?"),
    (b"play b \xff\xfe", "?"),
    (b"\x00\x01\x02", None),
    (b"nosuch", "?"),
    (b"42 nosuch", "?"),
    (b"42", "?"),
    (b"play red A1", "?"),
    (b"play b Z99", "?"),
    (b"play b J9", "=" ),  # 9x9 board: J is the ninth column (GTP skips I)
    (b"play b J9", "?"),  # occupied
    (b"play w I5", "?"),  # GTP has no column I
    (b"play b A0", "?"),
    (b"play b A-1", "?"),
    (b"play b", "?"),
    (b"play", "?"),
    (b"play b A1 extra", "?"),
    (b"genmove purple", "?"),
    (b"genmove", "?"),
    (b"boardsize 0", "?"),
    (b"boardsize 1000", "?"),
    (b"boardsize -1", "?"),
    (b"boardsize abc", "?"),
    (b"boardsize 99999999999999999999999", "?"),
    (b"boardsize", "?"),
    (b"komi nan", "?"),
    (b"komi inf", "?"),
    (b"komi 1e400", "?"),
    (b"komi abc", "?"),
    (b"known_command", "?"),
    (b"undo", "="),  # undoes J9
    (b"undo", "?"),  # nothing left to undo
    (b"genmove b", "="),
    (b"showboard", "="),
    (b"final_score", "="),
    (b"protocol_version", "="),
    (b"quit", "="),
    (b"name", None),  # after quit: never read
]


def test_gtp_garbage_lines_get_error_replies(tmp_path, go_checkpoint):
    replies = _gtp(tmp_path, go_checkpoint, [line for line, _ in GARBAGE])
    expected = [kind for _, kind in GARBAGE if kind is not None]
    got = [r.lstrip("\n")[0] for r in replies]
    sent = [line[:40] for line, kind in GARBAGE if kind is not None]
    assert len(got) == len(expected), (len(got), len(expected), [r[:60] for r in replies])
    mismatches = [(s, e, r[:80]) for s, e, r in zip(sent, expected, replies) if not r.startswith(e)]
    assert not mismatches, mismatches
    assert sum(len(r) for r in replies) < 20_000, "a reply echoes a huge line back"


def test_gtp_end_of_input_without_quit(tmp_path, go_checkpoint):
    replies = _gtp(tmp_path, go_checkpoint, [b"boardsize 1000", b"play b A1"])
    assert [r[0] for r in replies] == ["?", "="]


def _random_line(rng: random.Random) -> bytes:
    commands = ["play", "genmove", "boardsize", "komi", "undo", "clear_board", "showboard", "final_score",
                "known_command", "list_commands", "time_left", "time_settings", "name", "version", "nosuch",
                "protocol_version", ""]
    words = ["b", "w", "black", "white", "B", "pass", "resign", "A1", "T19", "J9", "I5", "Z0", "a1", "9", "19",
             "0", "-1", "1e9", "nan", "inf", "7.5", "\u00e9", "\u65e5", "#", "\t", "  ", "x" * rng.randint(1, 300)]
    parts = [rng.choice(commands)] if rng.random() < 0.9 else []
    if rng.random() < 0.1:
        parts.insert(0, str(rng.randint(0, 10 ** 6)))
    parts += [rng.choice(words) for _ in range(rng.randint(0, 3))]
    line = " ".join(parts).encode()
    if rng.random() < 0.05:  # raw bytes: control characters, invalid UTF-8
        line += bytes(rng.randrange(256) for _ in range(rng.randint(1, 20))).replace(b"\n", b"")
    return line


def test_gtp_fuzz_10000_random_lines(tmp_path, go_checkpoint):
    rng = random.Random(19)
    lines = [_random_line(rng) for _ in range(10_000)]
    lines = [line for line in lines if line.split(b"#")[0].strip(b" \t\r").lower() not in (b"quit",)]
    replies = _gtp(tmp_path, go_checkpoint, [*lines, b"quit"], timeout=180)
    assert replies and replies[-1].startswith("=")
    assert len(replies) <= len(lines) + 1


# ---- go match against broken opponents: every read has a timeout and a size cap ----

OPPONENTS = {
    "exits-at-once": "false",
    "floods-output": "yes",
    "never-answers": "cat",
    "not-installed": "no-such-gtp-engine-19 --mode gtp",
}


@pytest.mark.parametrize("case", list(OPPONENTS))
def test_go_match_broken_opponent(tmp_path, go_checkpoint, case):
    games = tmp_path / "out" / "games"
    args = model_args(("go", "match"), go_checkpoint, "--opponent", OPPONENTS[case], "--games", "1",
                      "--timeout", "3", "--sgf-dir", str(games), "--quiet")
    proc = run_cli(args, cwd=tmp_path, timeout=60)
    line = assert_one_line_error(proc)
    assert OPPONENTS[case].split()[0] in line, line
    assert_no_partial(tmp_path / "out")
