"""Every command line shown in the docs parses with the real argument parser, and the quick ones run.

Commands are taken from fenced ``bash`` blocks and from inline code spans that start with
``filterkit `` in README.md, apps/*/README.md, docs/*.md and benchmarks/README.md; ``torchrun ... -m
filterkit.cli ARGS`` counts as ``filterkit ARGS``.  A renamed or removed option fails here.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from filterkit.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *ROOT.glob("apps/*/README.md"), *ROOT.glob("docs/*.md"), ROOT / "benchmarks" / "README.md"])
FENCE = re.compile(r"```(?:bash|sh|console|shell)\n(.*?)```", re.S)
INLINE = re.compile(r"`(filterkit [^`]+)`")


def _commands(text: str) -> list[tuple[str, list[str]]]:
    """``(kind, args)``: ``"block"`` for a command in a fenced block (it must parse as it stands),
    ``"inline"`` for one quoted in prose (its subcommand and option names must exist)."""
    found = []
    for block in FENCE.findall(text):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            for part in re.split(r"\s*(?:&&|;|\|)\s*", line):
                found.append(("block", part))
    found += [("inline", part) for part in INLINE.findall(text)]
    commands = []
    for kind, part in found:
        part = re.sub(r"\s+#.*$", "", part.strip())
        words = _split(part)
        if not words:
            continue
        if words[0] == "filterkit" and len(words) > 1:
            args = words[1:]
        elif "-m" in words and "filterkit.cli" in words:
            args = words[words.index("filterkit.cli") + 1:]
        else:
            continue
        # a mention in prose (`filterkit speech ...`, `filterkit go`) or a usage template, not a command
        if len(args) > 1 and not any(a in ("...", "OPTIONS") or a.startswith("[") or "|" in a for a in args):
            commands.append((kind, args))
    return commands


def _split(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError:
        return []
    kept, skip = [], False
    for w in words:  # drop redirections: "< in.png", "> out.png", "2>/dev/null"
        if skip:
            skip = False
        elif w in ("<", ">", ">>", "2>"):
            skip = True
        elif not w.startswith(("<", ">", "2>")):
            kept.append(w)
    return kept


CASES = [(doc.relative_to(ROOT).as_posix(), kind, args) for doc in DOCS
         for kind, args in _commands(doc.read_text(encoding="utf-8"))]


def test_the_docs_show_commands():
    assert len(CASES) > 40, CASES  # the extraction still finds the documented commands


def _subparser(parser, args: list[str]):
    """The (sub)parser that ``args`` reach through subcommand names."""
    for word in args:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser


@pytest.mark.parametrize("doc,kind,args", CASES, ids=[f"{d}:{' '.join(a)[:60]}" for d, _, a in CASES])
def test_documented_command_parses(doc, kind, args, capsys):
    parser = build_parser()
    if kind == "inline":  # a command quoted in prose may leave out inputs: its names must exist
        sub = _subparser(parser, args)
        assert sub is not parser, f"{doc}: `filterkit {' '.join(args)}`: no such command"
        known = set(sub._option_string_actions)
        unknown = [a.split("=")[0] for a in args if a.startswith("--") and a.split("=")[0] not in known]
        assert not unknown, f"{doc}: `filterkit {' '.join(args)}`: unknown option(s) {unknown}"
        return
    try:
        parser.parse_args(args)
    except SystemExit as exc:
        if exc.code not in (0, None):  # --help and --version exit 0
            err = capsys.readouterr().err.strip().splitlines()
            pytest.fail(f"{doc}: `filterkit {' '.join(args)}` does not parse: {err[-1] if err else exc.code}")


QUICK = [  # documented commands that run in seconds on the samples (the README's first set-up command first)
    "filterkit filter samples/ -o {tmp}/out/ --op median --size 3",
    "filterkit kernel gaussian --size 5 --sigma 1",
    "filterkit summary lecture_cnn",
    "filterkit summary --list",
]


@pytest.mark.parametrize("line", QUICK)
def test_quick_documented_commands_run(line, tmp_path):
    in_docs = any(line.split(" {tmp}")[0].split(" -o")[0] in doc.read_text(encoding="utf-8") for doc in DOCS)
    assert in_docs, f"{line!r} is no longer in the docs: update this list"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(shlex.split(line.format(tmp=tmp_path)), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sys.executable


PATH_IN_CODE = re.compile(r"`((?:filterkit|apps|benchmarks|tests|samples|docs)/[\w./-]*)")


def _doc_paths() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for path in PATH_IN_CODE.findall(doc.read_text(encoding="utf-8")):
            path = path.rstrip(".")
            if not any(ch in path for ch in "*<>{}") and "/results/" not in path and "runs/" not in path:
                found.append((doc.relative_to(ROOT).as_posix(), path))
    return found


@pytest.mark.parametrize("doc,path", _doc_paths())
def test_paths_named_in_the_docs_exist(doc, path):
    assert (ROOT / path).exists(), f"{doc} names {path}, which does not exist"


PYTHON = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("index,code", list(enumerate(PYTHON.findall((ROOT / "README.md").read_text(encoding="utf-8")))))
def test_readme_python_runs_as_a_script(index, code, tmp_path):
    script = tmp_path / f"readme_{index}.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
