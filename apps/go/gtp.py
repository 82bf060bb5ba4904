"""Go Text Protocol v2: a server loop and a client, knowing nothing about go engines.

Server: :class:`GtpServer` reads commands from a text stream and writes
``=[id] response`` / ``?[id] error`` replies, each ended by a blank line.  It
answers the administrative commands itself (``protocol_version``, ``name``,
``version``, ``known_command``, ``list_commands``, ``quit``) and hands every
other command to a handler from the mapping it was given:
``handler(args: list[str]) -> str``, raising :class:`GtpError` with the
standard error text (``illegal move``, ``unacceptable size``, ...).  Any
other exception becomes ``? internal error: ...``: the server never crashes
on input.  Pre-processing follows the spec: control characters other than
tab/newline are removed, tabs become spaces, ``#`` comments and empty lines
are dropped.

Client: :class:`GtpClient` runs an engine as a subprocess (``"gnugo --mode
gtp --level 10"``; looked up on PATH, then in /usr/games) and sends one
command at a time.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from typing import Callable, Mapping, TextIO

PROTOCOL_VERSION = "2"
ADMIN_COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "quit")
EXTRA_ENGINE_DIRS = ("/usr/games", "/usr/local/games")  # where Debian puts gnugo, often off PATH
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GtpError(Exception):
    """A failure reply; the message is the standard GTP error text."""


class EngineExited(GtpError):
    """The engine process exited or closed its output (it crashed): no reply will come."""


def clean_line(line: str) -> str:
    """Spec pre-processing: drop control characters and comments, tabs to spaces, strip."""
    line = _CONTROL.sub("", line.replace("\t", " "))
    return line.split("#", 1)[0].strip()


def parse_command(line: str) -> tuple[str | None, str, list[str]] | None:
    """``(id or None, command, args)`` of a cleaned line, or None when it is empty."""
    words = line.split()
    if not words:
        return None
    cmd_id = None
    if words[0].isdigit():
        cmd_id, words = words[0], words[1:]
    if not words:
        return cmd_id, "", []
    return cmd_id, words[0].lower(), words[1:]


class GtpServer:
    """Serve ``handlers`` (command name -> function of the argument list) over GTP."""

    def __init__(self, handlers: Mapping[str, Callable[[list[str]], str]], name: str, version: str) -> None:
        self.handlers = dict(handlers)
        self.name, self.version = name, version
        self.finished = False

    def commands(self) -> list[str]:
        return list(ADMIN_COMMANDS) + [c for c in self.handlers if c not in ADMIN_COMMANDS]

    def handle(self, line: str) -> str | None:
        """The full reply (ending in a blank line) to one input line, or None for an empty line."""
        parsed = parse_command(clean_line(line))
        if parsed is None:
            return None
        cmd_id, command, args = parsed
        prefix = cmd_id or ""
        try:
            body = self._dispatch(command, args)
            ok = True
        except GtpError as exc:
            body, ok = str(exc), False
        except Exception as exc:  # noqa: BLE001 - the protocol must answer, whatever happened
            body, ok = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " "), False
        leading = body.startswith("\n")  # multi-line replies (showboard) start on their own line
        body = "\n".join(l for l in body.split("\n") if l.strip())  # a blank line would end the reply
        sep = "\n" if leading else " " if body else ""
        return f"{'=' if ok else '?'}{prefix}{sep}{body}\n\n"

    def _dispatch(self, command: str, args: list[str]) -> str:
        if command == "protocol_version":
            return PROTOCOL_VERSION
        if command == "name":
            return self.name
        if command == "version":
            return self.version
        if command == "known_command":
            if len(args) != 1:
                raise GtpError("syntax error")
            return "true" if args[0].lower() in self.commands() else "false"
        if command == "list_commands":
            return "\n".join(self.commands())
        if command == "quit":
            self.finished = True
            return ""
        handler = self.handlers.get(command)
        if handler is None:
            raise GtpError("unknown command")
        return handler(args)

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        """Answer commands until ``quit`` or end of input."""
        for line in stdin:
            reply = self.handle(line)
            if reply is not None:
                stdout.write(reply)
                stdout.flush()
            if self.finished:
                break


class GtpClient:
    """Talk GTP to an engine subprocess started from a command line."""

    def __init__(self, command: str | list[str], timeout: float | None = None) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("empty engine command")
        found = shutil.which(argv[0]) or shutil.which(argv[0], path=os.pathsep.join(EXTRA_ENGINE_DIRS))
        if found is None:
            raise FileNotFoundError(f"GTP engine {argv[0]!r} not found on PATH or in {', '.join(EXTRA_ENGINE_DIRS)}")
        self.argv = [found] + argv[1:]
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def send(self, command: str) -> str:
        """Send one command; return the success text or raise :class:`GtpError` with the failure text."""
        if self.process.poll() is not None:
            raise EngineExited(f"engine {self.argv[0]} has exited (status {self.process.returncode})")
        try:
            self.process.stdin.write(command.strip() + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise EngineExited(f"engine {self.argv[0]} closed its input") from None
        lines = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise EngineExited(f"engine {self.argv[0]} closed its output")
            line = line.rstrip("\r\n")
            if not line and lines:
                break
            if line or lines:
                lines.append(line)
        text = "\n".join(lines)
        status, body = text[:1], text[1:]
        body = re.sub(r"^\d+", "", body).strip()
        if status == "=":
            return body
        raise GtpError(body or "failed")

    def close(self) -> None:
        """Send ``quit`` and wait for the engine to exit (kill it after 5 s)."""
        if self.process.poll() is None:
            try:
                self.send("quit")
            except (GtpError, OSError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "GtpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
