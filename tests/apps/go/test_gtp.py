import random
import sys
import time

import pytest

from filterkit.apps.go.engine import PolicyPlayer, gtp_handlers
from filterkit.apps.go.gtp import (MAX_LINE, EngineError, EngineExited, GtpClient, GtpError, GtpServer, clean_line,
                                   parse_command)
from filterkit.apps.go.model import load

from .conftest import assert_one_line_error, filterkit


def echo_server():
    return GtpServer({"echo": lambda args: " ".join(args), "boom": lambda args: 1 / 0}, "test", "1.0")


def test_protocol_layer_replies_and_ids():
    s = echo_server()
    assert s.handle("7 protocol_version") == "=7 2\n\n"
    assert s.handle("name") == "= test\n\n"
    assert s.handle("echo a  b") == "= a b\n\n"
    assert s.handle("3 nonsense") == "?3 unknown command\n\n"
    assert s.handle("known_command echo") == "= true\n\n"
    assert s.handle("known_command play") == "= false\n\n"
    assert s.handle("boom").startswith("? internal error: ZeroDivisionError")
    assert s.handle("  # only a comment") is None and s.handle("") is None
    assert s.handle("list_commands").splitlines()[:2] == ["= protocol_version", "name"]
    assert s.handle("quit") == "=\n\n" and s.finished


def test_engine_survives_garbage(tiny_checkpoint):
    import random

    model, config = load(tiny_checkpoint)
    s = GtpServer(gtp_handlers(PolicyPlayer(model, config), 9), "filterkit-go", "0")
    rng = random.Random(0)
    words = ["play", "genmove", "boardsize", "komi", "undo", "b", "w", "A1", "T19", "pass", "-1", "1e999",
             "nan", "", "\x00", "é", "99999999999999999999", "showboard", "final_score", "clear_board"]
    for _ in range(300):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
        reply = s.handle(line)
        assert reply is None or (reply[0] in "=?" and reply.endswith("\n\n"))
        assert "internal error" not in (reply or ""), line


def test_preprocessing():
    assert clean_line("\x01play\tb d4 # comment\r") == "play b d4"
    assert parse_command("12 genmove b") == ("12", "genmove", ["b"])
    assert parse_command("12") == ("12", "", [])


def test_engine_commands_and_standard_errors(tiny_checkpoint):
    model, config = load(tiny_checkpoint)
    s = GtpServer(gtp_handlers(PolicyPlayer(model, config), 9), "filterkit-go", "0")
    assert s.handle("boardsize 4") == "? unacceptable size\n\n"
    assert s.handle("boardsize x") == "? unacceptable size\n\n"
    assert s.handle("boardsize 9") == "=\n\n"
    assert s.handle("play b e5") == "=\n\n"
    assert s.handle("play w e5") == "? illegal move\n\n"
    assert s.handle("play w i5") == "? syntax error\n\n"
    assert s.handle("play purple e4") == "? syntax error\n\n"
    assert s.handle("komi 0.5") == "=\n\n"
    reply = s.handle("5 genmove w")
    assert reply.startswith("=5 ") and reply.split()[1].upper() != "E5"
    assert "(O)" in s.handle("showboard")
    assert s.handle("undo") == "=\n\n" and s.handle("undo") == "=\n\n"
    assert s.handle("undo") == "? cannot undo\n\n"
    assert s.handle("final_score") == "= W+0.5\n\n"  # empty 9x9 board, komi 0.5


def test_gtp_session_over_stdin_stdout(tiny_checkpoint):
    commands = ("1 protocol_version\n2 boardsize 9\n3 play b c3\n4 genmove w\n5 play b c3\nfoo\n"
                "6 time_settings 60 0 0\n7 time_left b 0.3 1\n8 genmove b\n9 quit\n")
    proc = filterkit("go", "gtp", "--model", tiny_checkpoint, "--playouts", "100000", input=commands)
    assert proc.returncode == 0, proc.stderr
    replies = proc.stdout.split("\n\n")
    assert replies[0] == "=1 2" and replies[1] == "=2" and replies[2] == "=3"
    assert replies[3].startswith("=4 ")
    assert replies[4] == "?5 illegal move" and replies[5] == "? unknown command"
    assert replies[6] == "=6" and replies[7] == "=7" and replies[8].startswith("=8 ") and replies[9] == "=9"


ECHO_ENGINE = """
import sys
from filterkit.apps.go.gtp import GtpServer, GtpError
def refuse(args):
    raise GtpError("illegal move")
GtpServer({"echo": lambda a: " ".join(a), "refuse": refuse}, "echo", "1").serve(sys.stdin, sys.stdout)
"""


def test_client_reads_replies_and_errors():
    with GtpClient([sys.executable, "-c", ECHO_ENGINE]) as client:
        assert client.send("name") == "echo"
        assert client.send("echo a b") == "a b"
        assert client.send("list_commands").splitlines()[-1] == "refuse"
        with pytest.raises(GtpError, match="illegal move"):
            client.send("refuse")
    with pytest.raises(FileNotFoundError):
        GtpClient("no-such-engine-here --mode gtp")


def test_gtp_engine_with_tactics_captures_two_stones_in_atari(tiny_checkpoint):
    moves = ["b d5", "w c5", "b e5", "w d6", "b a1", "w e6", "b a2", "w f5", "b a3", "w d4"]
    commands = "boardsize 9\n" + "".join(f"play {m}\n" for m in moves) + "genmove w\nquit\n"
    proc = filterkit("go", "gtp", "--model", tiny_checkpoint, "--playouts", "0", "--tactics", "2", input=commands)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n\n")[-3] == "= E4"  # the last liberty of D5-E5
    bad = filterkit("go", "gtp", "--model", tiny_checkpoint, "--tactics", "-1", input="quit\n")
    assert_one_line_error(bad, "--tactics", "-1 is out of range")


def test_client_times_out_on_an_engine_that_never_answers():
    with GtpClient(["sleep", "30"], timeout=0.5) as client:
        start = time.monotonic()
        with pytest.raises(EngineError, match="no reply to 'name' within 0.5 s"):
            client.send("name")
        assert time.monotonic() - start < 5


def test_client_refuses_echoes_floods_and_long_lines():
    with GtpClient("cat", timeout=5) as client:  # echoes the command: not a GTP reply
        with pytest.raises(EngineError, match="not a GTP reply"):
            client.send("name")
    with GtpClient("yes", timeout=5) as client:  # 'y' forever
        with pytest.raises(EngineError, match="not a GTP reply"):
            client.send("name")
    flood = "import sys; sys.stdout.write('= ' + 'x' * 10**7); sys.stdout.flush(); input()"
    with GtpClient([sys.executable, "-c", flood], timeout=10) as client:
        with pytest.raises(EngineError, match="line over 64 KiB"):
            client.send("name")
    endless = "import sys\nsys.stdout.write('= a\\n')\nwhile True: sys.stdout.write('x\\n')"
    with GtpClient([sys.executable, "-c", endless], timeout=10) as client:  # short lines, no blank line
        with pytest.raises(EngineError, match="reply over 1024 KiB"):
            client.send("name")


def test_client_reports_an_engine_that_exits_and_a_bad_command():
    with GtpClient("false", timeout=5) as client:
        with pytest.raises(EngineExited, match="engine false exited"):
            client.send("name")
    for command in ("", "   ", "'unbalanced"):
        with pytest.raises(EngineError):
            GtpClient(command)


def test_server_refuses_a_line_over_the_cap():
    import io

    out = io.StringIO()
    echo_server().serve(io.StringIO("x" * (MAX_LINE * 3) + "\nname\n"), out)
    assert out.getvalue() == f"? line too long (over {MAX_LINE} characters)\n\n= test\n\n"


FUZZ_WORDS = ["play", "genmove", "boardsize", "komi", "undo", "b", "w", "black", "white", "A1", "J9", "T19", "e5",
              "I5", "pass", "resign", "-1", "0", "7", "9", "19", "25", "1e999", "nan", "inf", "-0", "showboard",
              "final_score", "clear_board", "list_commands", "known_command", "name", "version", "protocol_version",
              "time_left", "time_settings", "#", "\t", "\r", "\x00", "\x1b", "\x7f", "é", "\u202e", "🀄",
              "99999999999999999999", "12", "=", "?", ""]


def _fuzz_line(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.7:
        text = " ".join(rng.choice(FUZZ_WORDS) for _ in range(rng.randint(0, 5)))
        if rng.random() < 0.3:
            text = f"{rng.randint(0, 10**6)} {text}"
        data = text.encode("utf-8")
    elif kind < 0.9:  # random bytes, invalid UTF-8 included
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    else:
        data = rng.choice(FUZZ_WORDS).encode("utf-8") * rng.randint(1, 300)
    return data.replace(b"\n", b" ")


def _expects_reply(line: bytes) -> bool | None:
    """True if the server must answer the line, False if it ignores it, None if it would quit."""
    parsed = parse_command(clean_line(line.decode("utf-8", "replace")))
    if parsed is None:
        return False
    return None if parsed[1] == "quit" else True


def test_gtp_fuzz_10000_random_lines(tiny_checkpoint):
    """10,000 random lines into one 'filterkit go gtp': no crash, every command answered with = or ?."""
    rng = random.Random(19)
    lines, expected = [], 0
    while len(lines) < 10_000:
        line = _fuzz_line(rng)
        answer = _expects_reply(line)
        if answer is None:
            continue  # 'quit' would end the session early
        lines.append(line)
        expected += answer
    data = b"\n".join(lines) + b"\nquit\n"
    import subprocess

    from .conftest import shutil

    start = time.monotonic()
    proc = subprocess.run([shutil.which("filterkit"), "go", "gtp", "--model", str(tiny_checkpoint), "--playouts", "16"],
                          input=data,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    replies = proc.stdout.decode("utf-8").split("\n\n")
    assert replies[-1] == "" and replies[-2] == "="  # the final quit
    replies = replies[:-2]
    assert len(replies) == expected
    assert all(r[:1] in ("=", "?") for r in replies)
    assert not [r for r in replies if "internal error" in r]
    assert time.monotonic() - start < 300
