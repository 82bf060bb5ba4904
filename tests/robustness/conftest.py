"""Helpers for the bad-input corpus: run the installed ``filterkit`` console script and judge its answer.

Every case runs ``filterkit`` in a subprocess (as a user runs it) with a time limit, and checks that a
bad input ends in a non-zero exit status (or the documented one), ONE line on stderr starting with
``filterkit`` (``filterkit: ...`` for a run-time error, ``filterkit CMD: error: ...`` for an argparse
usage error, optionally after argparse's ``usage:`` line), no ``Traceback`` anywhere, and no partial
file (``.NAME.*.part*``) left behind.  Bad files are generated inside each test (``tmp_path``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import zlib
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
FILTERKIT = shutil.which("filterkit")

# one torch thread per process (2 cores shared by the xdist workers), no torchrun leftovers
_DROP = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}
ENV = {k: v for k, v in os.environ.items() if k not in _DROP}
ENV.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
ENV.pop("PYTHONWARNINGS", None)


def run_cli(args, cwd, timeout: float = 60, input: str | bytes | None = None,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """``filterkit ARGS`` run in ``cwd``; stdout and stderr decoded as UTF-8 (bad bytes replaced).

    ``input`` (str or bytes) is fed to stdin; without it stdin is empty (never the terminal).
    A run past ``timeout`` seconds fails the test (a hang is a bug).
    """
    if FILTERKIT is None:
        pytest.fail("the filterkit console script is not installed (pip install -e .)")
    data = input.encode() if isinstance(input, str) else (input if input is not None else b"")
    try:
        proc = subprocess.run([FILTERKIT, *map(os.fsdecode, args)], cwd=cwd, input=data, capture_output=True,
                              check=False, timeout=timeout, env={**ENV, **(env or {})})
    except subprocess.TimeoutExpired:
        pytest.fail(f"filterkit {' '.join(map(str, args))[:200]} ran past {timeout} s")
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def _describe(proc) -> str:
    return f"exit {proc.returncode}\n--- stderr ---\n{proc.stderr[-3000:]}\n--- stdout ---\n{proc.stdout[-1500:]}"


def assert_no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, _describe(proc)


def error_lines(proc) -> list[str]:
    """stderr's lines (argparse's ``usage:`` line and its continuation lines left out)."""
    lines = proc.stderr.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines[1:] if not line.startswith(" ")]
    return lines


def assert_one_line_error(proc, status: int | None = None) -> str:
    """The run failed (with ``status`` if given, else any non-zero one) and said why in one line.

    Accepts ``filterkit: ...`` and argparse's ``filterkit CMD: error: ...`` (exit 2, optionally
    after its ``usage:`` line).  Returns the message line.
    """
    assert_no_traceback(proc)
    if status is None:
        assert proc.returncode != 0, _describe(proc)
    else:
        assert proc.returncode == status, _describe(proc)
    lines = error_lines(proc)
    assert len(lines) == 1, "expected one error line\n" + _describe(proc)
    line = lines[0]
    if line.startswith("filterkit: "):
        return line
    assert proc.returncode == 2 and line.startswith("filterkit ") and ": error: " in line, _describe(proc)
    return line


def assert_no_partial(*folders: Path) -> None:
    """No hidden ``.NAME.*.part*`` temporary left in (or below) any of ``folders``."""
    for folder in folders:
        if Path(folder).exists():
            left = [p for p in Path(folder).rglob(".*.part*")]
            assert not left, f"partial files left: {left}"


def files_in(folder: Path) -> list[Path]:
    """Every file below ``folder`` (empty when it does not exist)."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).exists() else []


@cache
def _options(command: tuple[str, ...]) -> dict[str, str | None]:
    """``{option string or positional dest: metavar}`` of ``filterkit COMMAND``, from the real argument parser.

    Read each time rather than written down: options were being renamed while this corpus was written.
    """
    from filterkit.cli.main import build_parser

    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    found = {}
    for action in parser._actions:
        for key in action.option_strings or [action.dest]:
            found[key] = action.metavar
    return found


def has_option(command, option: str) -> bool:
    """Whether ``filterkit COMMAND`` takes ``option`` (e.g. ``--data``)."""
    return option in _options(tuple(command))


def _takes_model_option(command: tuple[str, ...]) -> bool:
    """Whether the checkpoint goes in ``--model PATH`` (not the zoo-name ``--model NAME``) or a positional CKPT."""
    return _options(command).get("--model", "NAME") != "NAME"


def model_args(command: tuple[str, ...], checkpoint: Path, *rest: str) -> list[str]:
    """``COMMAND --model CKPT REST`` or ``COMMAND CKPT REST``, whichever the command's parser takes."""
    if _takes_model_option(tuple(command)):
        return [*command, "--model", str(checkpoint), *rest]
    return [*command, str(checkpoint), *rest]


# ---- small file makers (no binary junk is committed: every bad file is made here) ----

def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, bit_depth: int = 8, colour_type: int = 0, rows: bytes | None = None,
              idat: bool = True) -> bytes:
    """A PNG with the given header; ``rows`` (raw scanlines without filter bytes) default to zeros."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    stride = width * channels * bit_depth // 8
    if rows is None:
        rows = bytes(stride * height)
    raw = b"".join(b"\x00" + rows[i * stride:(i + 1) * stride] for i in range(height))
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type,
                                                                  0, 0, 0))
    if idat:
        out += png_chunk(b"IDAT", zlib.compress(raw))
    return out + png_chunk(b"IEND", b"")


def png_header(path: Path) -> tuple[int, int, int, int]:
    """``(width, height, bit_depth, colour_type)`` from a PNG's IHDR."""
    data = Path(path).read_bytes()[:29]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">IIBB", data[16:26])


def junk(n: int, seed: int = 0) -> bytes:
    """``n`` reproducible random bytes."""
    import random

    return random.Random(seed).randbytes(n)


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ---- checkpoints ----

def save_go_checkpoint(path: Path, size: int = 9) -> Path:
    """An untrained tiny go net (2 layers, width 4, stone planes, with the search's heads) as a 'go' checkpoint."""
    import torch
    from filterkit.apps.go.config import GoConfig
    from filterkit.apps.go.model import APP, build

    from filterkit.nn.train.checkpoint import CHECKPOINT_FORMAT

    torch.manual_seed(0)
    config = GoConfig(size=size, layers=2, width=4, features="stones", heads=True)
    torch.save({"format": CHECKPOINT_FORMAT, "app": APP, "config": config.to_dict(),
                "model": build(config).state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def go_checkpoint(tmp_path_factory) -> Path:
    """A tiny go checkpoint that ``filterkit go gtp --model`` accepts (skips without torch)."""
    pytest.importorskip("torch")
    return save_go_checkpoint(tmp_path_factory.mktemp("go") / "tiny.pt")
