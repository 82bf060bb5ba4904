"""Nonsense numeric options of the other commands: refused while parsing, one line, exit 2."""

from __future__ import annotations

import pytest

from .conftest import assert_one_line_error, files_in, run_cli

CASES = [
    ["kernel", "gaussian", "--sigma", "nan"],
    ["kernel", "mean", "--size", "2147483649"],
    ["visualize", "style", "noise", "skimage:brick", "--size", "0", "-o", "out/s.png"],
    ["text", "train", "x.csv", "--dim", "0"],
    ["text", "train", "x.csv", "--dropout", "nan"],
    ["go", "eval", "--model", "x.pt", "data", "--batch-size", "0"],
    ["go", "gtp", "--model", "x.pt", "--size", "1000"],
    ["go", "match", "--model", "x.pt", "--opponent", ""],
    ["go", "prepare", "x", "--out", "out", "--max-games", "-1"],
    ["speech", "train", "x", "--epochs", "0"],
    ["speech", "features", "a.wav", "--n-mels", "0"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a[:2]) + " " + a[-2] + "=" + a[-1] for a in CASES])
def test_bad_option_refused_at_parse_time(tmp_path, args):
    proc = run_cli(args, cwd=tmp_path)
    assert_one_line_error(proc, status=2)
    assert files_in(tmp_path) == []
