"""Fixtures shared across test folders."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` imported as module ``benchmark_NAME`` (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    spec.loader.exec_module(module)
    return module

# A sitecustomize module that logs "RANK path" for every file written through filterkit.io.atomic_write
# (checkpoints, write_json and PNG reports use it), in every process that has it on PYTHONPATH.
_SPY = textwrap.dedent(
    """
    import os
    import filterkit.io as _io
    import filterkit.io.atomic as _atomic

    def _spy(write):
        def spied(path, *args):
            out = write(path, *args)
            with open(os.environ["SPY_LOG"], "a") as log:
                log.write(os.environ.get("RANK", "-") + " " + str(path) + "\\n")
            return out
        return spied

    for _name in ("atomic_write", "atomic_write_bytes"):
        _spied = _spy(getattr(_atomic, _name))
        setattr(_atomic, _name, _spied)
        setattr(_io, _name, _spied)
    """
)
_TORCHRUN_VARS = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT"}


@dataclass
class WriteSpy:
    """``env`` for a subprocess (torchrun's variables removed, one torch thread, the spy on PYTHONPATH)."""

    env: dict[str, str]
    log: Path

    def writes(self) -> list[list[str]]:
        """``[rank, path]`` of every atomic write so far, in order."""
        return [line.split(" ", 1) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def write_spy(tmp_path: Path) -> WriteSpy:
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(_SPY)
    log = tmp_path / "writes.log"
    env = {k: v for k, v in os.environ.items() if k not in _TORCHRUN_VARS and not k.startswith("TORCHELASTIC_")}
    env.update(PYTHONPATH=os.pathsep.join([str(spy), os.environ.get("PYTHONPATH", "")]), SPY_LOG=str(log),
               OMP_NUM_THREADS="1")
    return WriteSpy(env, log)
