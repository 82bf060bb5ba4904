"""filterkit.filters.memory: glibc keeps freed large blocks; filters give the same results afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from filterkit.filters import memory


@pytest.mark.parametrize("limit", [0, 2**31, 1.5, True])
def test_bad_limits(limit):
    with pytest.raises(ValueError, match="limit_bytes"):
        memory.keep_freed_memory(limit)


def test_tensor_reexports_it():
    pytest.importorskip("torch")
    from filterkit.filters import tensor

    assert tensor.keep_freed_memory is memory.keep_freed_memory


_KEEP_FREED_CHILD = """
import ctypes, ctypes.util, json, os, torch
from filterkit.filters import tensor as T
torch.set_num_threads(1)
x = torch.rand(1, 1, 512, 512, generator=torch.Generator().manual_seed(0))
ops = [lambda: T.gaussian(x, 1.0), lambda: T.mean(x, 3), lambda: T.sobel(x), lambda: T.laplace(x), lambda: T.median(x, 3)]
before = [op() for op in ops]
applied = T.keep_freed_memory()
equal = all(torch.equal(op(), b) for op, b in zip(ops, before))
mmapped = None  # mmapped blocks added by a live 48 MiB tensor (over glibc's 32 MiB dynamic limit)
if (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = Info
        start = libc.mallinfo2().hblks
        big = torch.empty(12 * 2**20)
        mmapped = libc.mallinfo2().hblks - start
print(json.dumps(dict(applied=applied, equal=equal, mmapped=mmapped)))
"""


def test_keep_freed_memory_in_a_child_process():
    """Run in a child so this process keeps its allocator; filters must give identical results after."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _KEEP_FREED_CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(out["applied"], bool)
    assert out["equal"] is True
    glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc") if hasattr(os, "confstr") else False
    assert out["applied"] is glibc
    if out["mmapped"] is not None:
        assert out["mmapped"] == 0  # the 48 MiB block came from the heap: the 1 GiB threshold took effect


def test_keep_freed_memory_is_false_without_glibc(monkeypatch):
    monkeypatch.setattr(memory.os, "confstr", lambda name: None)
    assert memory.keep_freed_memory() is False
