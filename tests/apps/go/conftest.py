"""Shared fixtures for the go app tests."""

import shutil
import subprocess
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "go"


@pytest.fixture
def kgs_data() -> Path:
    """The shared KGS copy (skips when absent)."""
    if not (DATA / "manifest.csv.gz").is_file():
        pytest.skip(f"go data not found at {DATA}")
    return DATA


def random_game(size: int = 9, moves: int = 60, seed: int = 0, komi: float = 6.5):
    """A GameRecord of random legal moves (no own-eye filling), for tests that need games."""
    import numpy as np

    from filterkit.apps.go.engine import is_own_eye
    from filterkit.apps.go.records import GameRecord

    rng = np.random.default_rng(seed)
    rec = GameRecord(size=size, komi=komi, name=f"random-{seed}")
    board = rec.board()
    for _ in range(moves):
        legal = [int(p) for p in np.flatnonzero(board.legal_mask()) if not is_own_eye(board, int(p), board.to_play)]
        point = int(rng.choice(legal)) if legal else board.pass_point
        rec.moves.append((board.to_play, point))
        board.play(point)
        if board.game_over:
            break
    return rec


def save_tiny_checkpoint(path, size: int = 9, features: str = "full", seed: int = 0, heads: bool = True):
    """An untrained tiny policy net (with the ownership/score heads unless ``heads=False``) as a 'go' checkpoint."""
    import torch

    from filterkit.apps.go.config import GoConfig
    from filterkit.apps.go.model import APP, build
    from filterkit.nn.train import Trainer, seed_everything

    config = GoConfig(features=features, size=size, layers=3, width=8, move_counts=[1] * (size * size + 1),
                      heads=heads)
    seed_everything(seed)
    model = build(config)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.functional.cross_entropy,
                      app=APP, config=config.to_dict(), device="cpu", progress=False, tensorboard=False)
    trainer.save_checkpoint(path)
    trainer.close()
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("go") / "tiny.pt")


@pytest.fixture(scope="session")
def policy_only_checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("go") / "policy.pt", heads=False)


GNUGO = shutil.which("gnugo") or shutil.which("gnugo", path="/usr/games")
needs_gnugo = pytest.mark.skipif(GNUGO is None, reason="GNU Go (gnugo) is not installed")


def filterkit(*args, input=None, timeout: float = 120, env=None):
    """Run the installed ``filterkit`` console script; return the CompletedProcess (text)."""
    exe = shutil.which("filterkit")
    if exe is None:
        pytest.skip("the filterkit console script is not installed")
    return subprocess.run([exe, *map(str, args)], input=input, capture_output=True, text=True, timeout=timeout,
                          env=env)


def assert_one_line_error(proc, *fragments: str) -> None:
    """Exit status 2, one line on stderr (a 'filterkit' error), no traceback, each fragment in it."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    assert err.startswith("filterkit"), err
    for fragment in fragments:
        assert fragment in err, err


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz archive (bytes) holding ``members``."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
