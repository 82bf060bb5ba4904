"""Bad ``--model`` files through every model-using command: one line, no traceback, and never unpickle code."""

from __future__ import annotations

import os
import pickle
import wave

import pytest

from .conftest import (
    assert_one_line_error,
    files_in,
    has_option,
    junk,
    model_args,
    run_cli,
    save_go_checkpoint,
)

torch = pytest.importorskip("torch")

FORMAT = "filterkit-checkpoint-v1"


class _Evil:
    """Unpickling this runs ``touch MARKER`` (the test asserts it never does)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _wav(path, seconds: float = 0.5, rate: int = 16000):
    import math

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(int(8000 * math.sin(i / 8)).to_bytes(2, "little", signed=True)
                               for i in range(int(seconds * rate))))
    return path


# command (as a tuple of words), its app's name in checkpoints, and what else it needs: rest(tmp_path) -> args
def _text_rest(tmp):
    return ["a perfectly fine sentence"]


def _speech_rest(tmp):
    return [str(_wav(tmp / "clip.wav"))]


def _visualize_rest(tmp):
    return ["-o", str(tmp / "out" / "kernels.png")]


def _go_eval_rest(tmp):
    (tmp / "games").mkdir(exist_ok=True)
    (tmp / "games" / "g.sgf").write_text("(;GM[1]SZ[9]KM[6.5];B[ee];W[cc];B[gg])")
    data = ["--data", str(tmp / "games")] if has_option(("go", "eval"), "--data") else [str(tmp / "games")]
    return [*data, "--split", "all"]


COMMANDS = {
    "text-predict": (("text", "predict"), "text", _text_rest, "gensim"),
    "speech-predict": (("speech", "predict"), "speech", _speech_rest, "soundfile"),
    "visualize-kernels": (("visualize", "kernels"), "visualize", _visualize_rest, None),
    "go-gtp": (("go", "gtp"), "go", lambda tmp: [], None),
    "go-eval": (("go", "eval"), "go", _go_eval_rest, "sgfmill"),
}


def _make(kind: str, path, app: str, tmp):
    """Write the bad checkpoint ``kind`` to ``path``; returns the marker file a malicious one would create."""
    marker = tmp / "PWNED"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random-bytes":
        path.write_bytes(junk(10_000))
    elif kind == "malicious-pickle":
        path.write_bytes(pickle.dumps({"format": FORMAT, "app": app, "x": _Evil(marker)}))
    elif kind == "malicious-torch":
        torch.save({"format": FORMAT, "app": app, "config": {"x": _Evil(marker)}}, path)
    elif kind == "no-config":
        torch.save({"format": FORMAT, "app": app, "model": {"w": torch.zeros(2)}}, path)
    elif kind == "plain-tensors":  # a torch file, but not a filterkit checkpoint
        torch.save({"weight": torch.zeros(3, 3)}, path)
    elif kind == "other-app":
        if app == "go":
            torch.save({"format": FORMAT, "app": "text", "config": {"dim": 8}, "model": {}}, path)
        else:
            save_go_checkpoint(path)
    elif kind == "truncated":
        save_go_checkpoint(path)
        path.write_bytes(path.read_bytes()[:300])
    else:
        raise ValueError(kind)
    return marker


# every kind through go gtp (the loader corpus); through the other commands the kinds an app's own code sees
# (what the pickle may hold, what its config must hold); each case costs one torch start-up (seconds)
KINDS = ("empty", "random-bytes", "truncated", "malicious-pickle", "malicious-torch", "plain-tensors", "no-config",
         "other-app")
CASES = ([("go-gtp", kind) for kind in KINDS]
         + [(cmd, kind) for cmd in COMMANDS if cmd != "go-gtp" for kind in ("malicious-torch", "no-config")])


@pytest.mark.parametrize("command,kind", [pytest.param(c, k, id=f"{c}-{k}") for c, k in CASES])
def test_bad_checkpoint(tmp_path, command, kind):
    words, app, rest, extra = COMMANDS[command]
    if extra:
        pytest.importorskip(extra)
    ckpt = tmp_path / "bad.pt"
    marker = _make(kind, ckpt, app, tmp_path)
    proc = run_cli(model_args(words, ckpt, *rest(tmp_path)), cwd=tmp_path, timeout=90, input="quit\n")
    line = assert_one_line_error(proc)
    assert not marker.exists(), "loading the checkpoint ran code from its pickle"
    assert "bad.pt" in line, line
    assert files_in(tmp_path / "out") == []
