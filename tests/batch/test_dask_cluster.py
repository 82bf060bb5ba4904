"""filterkit.batch.dask_cluster: ``filterkit filter --scheduler`` on a Dask cluster equals the local run.

One LocalCluster (2 worker processes on loopback, 1 thread each) serves most of the
module; a worker is killed in the middle of a batch and the output folder must
still hold every expected file once, with the local run's bytes, and no
temporary ``.part`` files.  One test starts a real ``dask scheduler`` and ``dask worker``
as separate processes and runs the installed ``filterkit`` console script against them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from filterkit.cli import main  # noqa: E402
from filterkit.batch import FilterSpec, process_file  # noqa: E402
from filterkit.batch.dask_cluster import filter_files, map_files, remove_partial_files, scheduler_address  # noqa: E402
from filterkit.errors import UserError  # noqa: E402
from filterkit.io import write_image  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0"
    ) as lc, Client(lc) as client:
        yield lc, client


def _make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        shape = (40 + i % 7, 50) if i % 3 else (33, 41, 3)
        path = folder / f"img{i:03d}.png"
        write_image(path, rng.integers(0, 256, shape, dtype=np.uint8))
        paths.append(path)
    return paths


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_cli_on_cluster_writes_the_bytes_of_a_local_run(tmp_path, cluster, capsys):
    lc, _ = cluster
    src = tmp_path / "in"
    _make_images(src, 12)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    options = ["--op", "gaussian", "--sigma", "1.5", "--mode", "mirror", "--quiet"]
    assert main(["filter", str(src), "-o", str(tmp_path / "local"), *options]) == 1
    local_err = capsys.readouterr().err
    address = lc.scheduler_address.replace("tcp://", "dask://")
    assert main(["filter", str(src), "-o", str(tmp_path / "dask"), *options, "--scheduler", address]) == 1
    captured = capsys.readouterr()
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")
    assert len(_files(tmp_path / "dask")) == 12
    # the bad file is reported once, named as given, in the same words as locally
    def bad_lines(err):  # (Pillow's reason names an object address: not comparable)
        return [re.sub(r"0x[0-9a-f]+", "0x", line) for line in err.splitlines() if "broken.png" in line]

    bad_line = bad_lines(captured.err)
    assert bad_line == bad_lines(local_err)
    assert bad_line and str(src / "broken.png") in bad_line[0]
    assert "12 written" in captured.out and "1 failed" in captured.out and "2 Dask workers" in captured.out
    # rerun: nothing to do without --force
    assert main(["filter", str(src / "img000.png"), "-o", str(tmp_path / "dask"), *options, "--scheduler", address]) == 0
    assert "1 skipped" in capsys.readouterr().out


def test_killed_worker_loses_and_duplicates_nothing(tmp_path, cluster):
    _, client = cluster
    sources = _make_images(tmp_path / "in", 40, seed=1)
    spec = FilterSpec(op="median", size=5, mode="reflect")
    local, remote = tmp_path / "local", tmp_path / "dask"
    for s in sources:
        assert process_file(s, local / s.name, spec) == ("done", None)
    todo = [(s, remote / s.name) for s in sources]
    # the temporary file a worker killed mid-write would leave (atomic_write's naming)
    remote.mkdir()
    stale = remote / ".img007.k1ll3d.part.png"
    stale.write_bytes(b"half an image")

    pids = client.run(os.getpid)
    statuses, killed_with = [], []
    for i, (pair, status, message) in enumerate(map_files(todo, spec, client, batch=3)):
        statuses.append((pair, status, message))
        if i == 0:  # the busiest worker dies with the tasks it holds; the scheduler reruns them elsewhere
            address, keys = max(client.processing().items(), key=lambda item: len(item[1]))
            killed_with = list(keys)
            os.kill(pids[address], signal.SIGKILL)
    assert killed_with, "the killed worker held no task: the test did not test anything"
    assert sorted(p for p, _, _ in statuses) == sorted(todo)
    assert all(status == "done" for _, status, _ in statuses), statuses
    assert client.run(os.getpid) != pids  # a worker was really replaced
    assert _files(remote) == _files(local)  # every file once, same bytes, nothing else (no .part)
    assert not stale.exists()


def test_python_api_accepts_a_client_and_reports_failures(tmp_path, cluster):
    _, client = cluster
    sources = _make_images(tmp_path / "in", 3, seed=2)
    missing = tmp_path / "in" / "gone.png"
    todo = [(s, tmp_path / "out" / s.name) for s in sources] + [(missing, tmp_path / "out" / "gone.png")]
    report = filter_files(todo, FilterSpec(op="sobel"), client)
    assert sorted(report.done) == sorted(d for _, d in todo[:3])
    assert len(report.failed) == 1 and str(missing) in report.failed[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(s.name for s in sources)


def test_scheduler_addresses():
    assert scheduler_address("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("tls://head:8786") == "tls://head:8786"
    with pytest.raises(UserError, match="no port"):
        scheduler_address("dask://head")
    with pytest.raises(UserError, match="expected dask://HOST:PORT"):
        scheduler_address("http://head:8786")


def test_unreachable_scheduler_is_one_error_line(tmp_path, capsys, monkeypatch):
    import filterkit.batch.dask_cluster as fdist

    monkeypatch.setattr(fdist, "CONNECT_TIMEOUT_S", 1)
    src = tmp_path / "in"
    _make_images(src, 1)
    code = main(["filter", str(src), "-o", str(tmp_path / "out"), "--op", "mean", "--quiet",
                 "--scheduler", "dask://127.0.0.1:9"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("filterkit: error: --scheduler tcp://127.0.0.1:9: cannot reach the Dask scheduler")
    assert "Traceback" not in err


def test_jobs_and_scheduler_are_exclusive(tmp_path, capsys):
    src = tmp_path / "in"
    _make_images(src, 1)
    code = main(["filter", str(src), "-o", str(tmp_path / "out"), "--op", "mean", "--jobs", "2",
                 "--scheduler", "dask://127.0.0.1:8786"])  # fmt: skip
    assert code == 2
    assert "--jobs is for local runs" in capsys.readouterr().err


def test_remove_partial_files_only_touches_the_given_outputs(tmp_path):
    keep = [tmp_path / ".other.abc.part.png", tmp_path / "a.png", tmp_path / ".a.abc.part.tif"]
    drop = [tmp_path / ".a.x1y2.part.png", tmp_path / ".a.zz.part.png"]
    for p in keep + drop:
        p.write_bytes(b"x")
    assert remove_partial_files([tmp_path / "a.png"]) == 2
    assert sorted(tmp_path.iterdir()) == sorted(keep)


def test_a_task_that_raises_on_the_worker_is_one_failed_line(tmp_path, cluster, monkeypatch):
    import filterkit.batch.dask_cluster as fdist

    _, client = cluster
    sources = _make_images(tmp_path / "in", 2, seed=3)

    def explode(files, spec):  # stands in for a task the scheduler gave up on (KilledWorker)
        if files[0][0].endswith("img001.png"):
            raise RuntimeError("worker crashed")
        return fdist._process(files, spec)

    monkeypatch.setattr(fdist, "_process", explode)
    results = {p[0].name: (s, m) for p, s, m in map_files([(s, tmp_path / "out" / s.name) for s in sources],
                                                         FilterSpec(op="mean"), client, batch=1)}  # fmt: skip
    assert results["img000.png"] == ("done", None)
    status, message = results["img001.png"]
    assert status == "failed"
    assert message == f"{sources[1]}: lost on the Dask cluster (RuntimeError: worker crashed)"


def test_default_batch_follows_the_local_pool_rule():
    from filterkit.batch.dask_cluster import default_batch

    assert default_batch(10, 2) == 1
    assert default_batch(2000, 2) == 32
    assert default_batch(800, 4) == 25
    assert default_batch(5, 0) == 1


# ---------------------------------------------------------------- a real scheduler and worker, as a user runs them


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the worker's nanny and worker process too
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture()
def real_cluster(tmp_path):
    """``dask scheduler`` and one ``dask worker`` on 127.0.0.1; yields the scheduler's tcp:// address."""
    dask_cli = shutil.which("dask")
    if dask_cli is None:
        pytest.skip("the dask command is not installed")
    sched_file = tmp_path / "scheduler.json"
    procs = [_start([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched_file)], tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        if not sched_file.exists():
            pytest.fail("dask scheduler did not start:\n" + (tmp_path / "scheduler.log").read_text())
        import json

        address = json.loads(sched_file.read_text())["address"]
        procs.append(_start([dask_cli, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                             "--host", "127.0.0.1"], tmp_path / "worker.log"))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")
def test_console_script_against_a_real_dask_scheduler_and_worker(tmp_path, real_cluster):
    """Issue 19: the CLI's own client is not Dask's default client; this crashed with 'No clients found'."""
    src = tmp_path / "in"
    sources = _make_images(src, 5, seed=4)
    spec = FilterSpec(op="median", size=3)
    for s in sources:
        assert process_file(s, tmp_path / "local" / s.name, spec) == ("done", None)
    address = real_cluster.replace("tcp://", "dask://")
    cmd = ["filterkit", "filter", str(src), "-o", str(tmp_path / "out"), "--op", "median", "--quiet",
           "--scheduler", address]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "5 written, 0 failed" in proc.stdout and "1 Dask worker)" in proc.stdout
    assert _files(tmp_path / "out") == _files(tmp_path / "local")


def test_docs_python_snippet_runs_as_a_script(tmp_path):
    """The Python example of docs/scale.md, run as a script (it starts worker processes: needs __main__)."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "scale.md"
    text = doc.read_text()
    start = text.index("```python\nfrom pathlib import Path\nfrom distributed")
    snippet = text[start + len("```python\n"): text.index("```", start + 10)]
    assert 'if __name__ == "__main__":' in snippet
    _make_images(tmp_path / "scans", 3, seed=5)
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("3 written")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img000.png", "img001.png", "img002.png"]


def test_batch_imports_nothing_from_the_cli():
    code = ("import sys, filterkit.batch, filterkit.batch.dask_cluster\n"
            "print(sorted(m for m in sys.modules if m.startswith('filterkit.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
