import subprocess
import sys

import pytest

from filterkit.apps.go.engine import PolicyPlayer, gtp_handlers
from filterkit.apps.go.gtp import GtpClient, GtpError, GtpServer, clean_line, parse_command
from filterkit.apps.go.pipeline import load_model


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

    model, config = load_model(tiny_checkpoint)
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
    model, config = load_model(tiny_checkpoint)
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
    commands = "1 protocol_version\n2 boardsize 9\n3 play b c3\n4 genmove w\n5 play b c3\nfoo\n6 quit\n"
    proc = subprocess.run([sys.executable, "-m", "filterkit.cli", "go", "gtp", "--model", str(tiny_checkpoint)],
                          input=commands, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    replies = proc.stdout.split("\n\n")
    assert replies[0] == "=1 2" and replies[1] == "=2" and replies[2] == "=3"
    assert replies[3].startswith("=4 ")
    assert replies[4] == "?5 illegal move" and replies[5] == "? unknown command" and replies[6] == "=6"


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
    base = [sys.executable, "-m", "filterkit.cli", "go", "gtp", "--model", str(tiny_checkpoint)]
    proc = subprocess.run(base + ["--tactics", "2"], input=commands, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n\n")[-3] == "= E4"  # the last liberty of D5-E5
    bad = subprocess.run(base + ["--tactics", "-1"], input="quit\n", capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip() == "filterkit: error: --tactics -1: must be 0 (off) or a number of stones"
