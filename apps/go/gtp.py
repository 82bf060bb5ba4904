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
command at a time.  Every read from the engine has a timeout and a size cap;
so does every line the server reads (:data:`MAX_LINE`).
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import shutil
import subprocess
import time
from typing import Callable, Mapping, TextIO

PROTOCOL_VERSION = "2"
ADMIN_COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "quit")
EXTRA_ENGINE_DIRS = ("/usr/games", "/usr/local/games")  # where Debian puts gnugo, often off PATH
MAX_LINE = 64 * 1024  # bytes of one line, read or written
MAX_REPLY = 1024 * 1024  # bytes of one engine reply
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GtpError(Exception):
    """A failure reply; the message is the standard GTP error text."""


class EngineError(GtpError):
    """The engine broke the protocol: no reply in time, a reply too long, or not GTP at all."""


class EngineExited(EngineError):
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
        """Answer commands until ``quit`` or end of input (a line over :data:`MAX_LINE` is refused)."""
        while not self.finished:
            line = stdin.readline(MAX_LINE + 1)
            if not line:
                break
            if len(line) > MAX_LINE and not line.endswith("\n"):
                while line and not line.endswith("\n"):  # skip the rest of it, a bounded piece at a time
                    line = stdin.readline(MAX_LINE)
                stdout.write(f"? line too long (over {MAX_LINE} characters)\n\n")
                stdout.flush()
                continue
            reply = self.handle(line)
            if reply is not None:
                stdout.write(reply)
                stdout.flush()
            if self.finished:
                break


class GtpClient:
    """Talk GTP to an engine subprocess started from a command line.

    Every reply must come within ``timeout`` seconds, and start with ``=`` or
    ``?``; a line over :data:`MAX_LINE` bytes or a reply over :data:`MAX_REPLY`
    bytes is refused.  Each of these raises :class:`EngineError`, so an engine
    that never answers (``cat``, ``sleep``) or floods its output (``yes``) ends
    the conversation with a message instead of a hang or unbounded memory.
    """

    def __init__(self, command: str | list[str], timeout: float = 60.0) -> None:
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise EngineError(f"cannot read the engine command {command!r} ({exc})") from None
        else:
            argv = list(command)
        if not argv:
            raise EngineError("empty engine command")
        found = shutil.which(argv[0]) or shutil.which(argv[0], path=os.pathsep.join(EXTRA_ENGINE_DIRS))
        if found is None:
            raise FileNotFoundError(f"GTP engine {argv[0]!r} not found on PATH or in {', '.join(EXTRA_ENGINE_DIRS)}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.argv, self.timeout = [found] + argv[1:], float(timeout)
        self.name = os.path.basename(found)
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, bufsize=0)
        self._buffer = b""
        self._broken = False  # after a protocol failure the engine is killed, not asked to quit
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def _exited(self, what: str) -> EngineExited:
        try:
            status = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            status = None
        state = f"exited (status {status})" if status is not None else "closed its output"
        return EngineExited(f"engine {self.name} {state} {what}")

    def _read_line(self, deadline: float, command: str) -> bytes:
        """One line of output (without its end), waiting at most until ``deadline``."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
                if len(line) > MAX_LINE:
                    raise EngineError(f"engine {self.name} wrote a line over {MAX_LINE // 1024} KiB")
                return line.rstrip(b"\r")
            if len(self._buffer) > MAX_LINE:
                raise EngineError(f"engine {self.name} wrote a line over {MAX_LINE // 1024} KiB")
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise EngineError(f"engine {self.name} gave no reply to {command!r} within {self.timeout:g} s")
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise self._exited(f"before answering {command!r}")
            self._buffer += chunk

    def _read_reply(self, command: str) -> str:
        deadline = time.monotonic() + self.timeout
        lines: list[bytes] = []
        size = 0
        while True:
            line = self._read_line(deadline, command)
            if not lines:
                if not line.strip():
                    continue  # blank lines before a reply
                if line[:1] not in (b"=", b"?"):
                    text = line[:60].decode("utf-8", "replace")
                    raise EngineError(f"engine {self.name} answered {command!r} with {text!r}, not a GTP reply")
            elif not line.strip():
                break
            size += len(line) + 1
            if size > MAX_REPLY:
                raise EngineError(f"engine {self.name} sent a reply over {MAX_REPLY // 1024} KiB")
            lines.append(line)
        return b"\n".join(lines).decode("utf-8", "replace")

    def send(self, command: str) -> str:
        """Send one command; return the success text or raise :class:`GtpError` with the failure text."""
        command = command.strip()
        if self.process.poll() is not None:
            raise self._exited(f"before answering {command!r}")
        try:
            self.process.stdin.write(command.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise self._exited(f"before answering {command!r}") from None
        try:
            text = self._read_reply(command)
        except EngineError:
            self._broken = True
            raise
        status, body = text[:1], text[1:]
        body = re.sub(r"^\d+", "", body).strip()
        if status == "=":
            return body
        raise GtpError(body or "failed")

    def close(self) -> None:
        """Send ``quit`` and wait for the engine to exit (kill it after 5 s, or at once if it is broken)."""
        if self.process.poll() is None:
            self.timeout = min(self.timeout, 5.0)
            if not self._broken:
                try:
                    self.send("quit")
                except (GtpError, OSError):
                    pass
            try:
                self.process.wait(timeout=0 if self._broken else 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._selector.close()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def __enter__(self) -> "GtpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
