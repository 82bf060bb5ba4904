"""``filterkit filter``: pixels equal to the Python API, folders, skipping, atomic writes, bad files.

Pixel checks call ``main([...])`` in this process (many small runs); everything a user sees (messages,
exit status, files left behind) runs the installed ``filterkit`` console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

import filterkit.filters.ndimage as fk
from filterkit.cli import main
from filterkit.filters.dtypes import to_uint8
from filterkit.io import encode_image, read_image, write_image

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _grey(rng, shape=(37, 45)):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _run(*argv) -> int:
    return main(["filter", *map(str, argv), "--quiet"])


needs_script = pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*argv, timeout: float = 60, cwd=None) -> subprocess.CompletedProcess:
    """Run the installed ``filterkit filter`` console script."""
    cmd = ["filterkit", "filter", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, cwd=cwd)


def _expected(image, op, **kw):
    """The result computed with the public Python API, independently of the CLI code."""
    ca = {"channel_axis": -1} if image.ndim == 3 else {}
    if op in ("median", "mean"):
        return getattr(fk, op)(image, **kw, **ca)
    if op == "gaussian":
        return fk.gaussian(image, **kw, **ca)
    if op == "sobel":
        mag = np.hypot(fk.sobel(image, axis=1, **ca), fk.sobel(image, axis=0, **ca))
        return to_uint8(mag, "abs")
    if op == "scharr-y":
        return to_uint8(fk.scharr(image, axis=0, **ca), "abs")
    if op == "laplace":
        return to_uint8(fk.laplace(image, **ca), "clip")
    raise AssertionError(op)


@pytest.mark.parametrize(
    "op, options, kw",
    [
        ("median", ["--size", "3"], {"size": 3}),
        ("mean", ["--size", "5"], {"size": 5}),
        ("gaussian", ["--sigma", "1.5"], {"sigma": 1.5}),
        ("sobel", [], {}),
        ("scharr-y", [], {}),
        ("laplace", ["--scale", "clip"], {}),
    ],
)
@pytest.mark.parametrize("channels", [0, 3])
def test_png_output_equals_python_function(tmp_path, rng, op, options, kw, channels):
    image = _grey(rng) if channels == 0 else rng.integers(0, 256, (29, 31, 3), dtype=np.uint8)
    write_image(tmp_path / "in" / "x.png", image)
    assert _run(tmp_path / "in" / "x.png", "-o", tmp_path / "out", "--op", op, *options) == 0
    out = read_image(tmp_path / "out" / "x.png")
    np.testing.assert_array_equal(out, _expected(image, op, **kw))


def test_jpeg_output_is_the_encoded_python_result(tmp_path, rng):
    image = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    write_image(tmp_path / "p.jpg", image)
    src = read_image(tmp_path / "p.jpg")
    assert _run(tmp_path / "p.jpg", "-o", tmp_path / "out", "--op", "median", "--quality", "80") == 0
    expected = encode_image(fk.median(src, size=3, channel_axis=-1), "jpeg", quality=80)
    assert (tmp_path / "out" / "p.jpg").read_bytes() == expected


def test_16bit_tiff_round_trip_and_scaling(tmp_path, rng):
    image = rng.integers(0, 65536, (20, 24), dtype=np.uint16)
    write_image(tmp_path / "s.tif", image)
    assert _run(tmp_path / "s.tif", "-o", tmp_path / "med", "--op", "median", "--size", "5") == 0
    out = read_image(tmp_path / "med" / "s.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, fk.median(image, size=5))
    assert _run(tmp_path / "s.tif", "-o", tmp_path / "edge", "--op", "sobel-x", "--scale", "minmax") == 0
    edge = read_image(tmp_path / "edge" / "s.tif")
    dx = fk.sobel(image, axis=1).astype(np.float64)
    expected = np.rint((dx - dx.min()) * (65535 / (dx.max() - dx.min()))).astype(np.uint16)
    np.testing.assert_array_equal(edge, expected)
    for scale, gain, fold in [("abs", "1", np.abs), ("clip", "1", lambda v: v), ("abs", "0.3", np.abs)]:
        out_dir = tmp_path / f"{scale}{gain}"
        assert _run(tmp_path / "s.tif", "-o", out_dir, "--op", "sobel-y", "--scale", scale, "--gain", gain) == 0
        dy = fold(fk.sobel(image, axis=0).astype(np.float64)) * float(gain)
        expected = np.clip(np.rint(dy), 0, 65535).astype(np.uint16)
        np.testing.assert_array_equal(read_image(out_dir / "s.tif"), expected)
    assert _run(tmp_path / "s.tif", "-o", tmp_path / "f", "--op", "laplace", "--float") == 0
    np.testing.assert_array_equal(read_image(tmp_path / "f" / "s.tif"), fk.laplace(image))
    assert _run(tmp_path / "s.tif", "-o", tmp_path / "j", "--op", "median", "--format", "jpeg") == 0
    assert read_image(tmp_path / "j" / "s.jpg").dtype == np.uint8  # JPEG holds 8 bits


def test_alpha_is_kept_untouched(tmp_path, rng):
    rgba = rng.integers(0, 256, (21, 22, 4), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgba)
    assert _run(tmp_path / "a.png", "-o", tmp_path / "out", "--op", "sobel") == 0
    out = read_image(tmp_path / "out" / "a.png")
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], _expected(np.ascontiguousarray(rgba[..., :3]), "sobel"))


def _tree(root: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@needs_script
def test_folder_structure_recursive_and_non_images_ignored(tmp_path, rng):
    src = tmp_path / "scans"
    for rel in ["a.png", "sub/b.png", "sub/deeper/c.bmp", "sub/C.JPG"]:
        write_image(src / rel, _grey(rng))
    (src / "notes.txt").write_text("not an image")
    (src / ".hidden.png").write_bytes(b"half")  # e.g. a user's hidden file
    assert _cli(src, "-o", tmp_path / "flat", "--op", "mean").returncode == 0
    assert _tree(tmp_path / "flat") == ["a.png"]
    proc = _cli(src, "-o", tmp_path / "edges", "--op", "sobel", "--recursive")
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "edges") == ["a.png", "sub/C.JPG", "sub/b.png", "sub/deeper/c.bmp"]
    assert "4 written" in proc.stdout


def test_glob_patterns_keep_structure_below_the_fixed_part(tmp_path, rng):
    src = tmp_path / "data"
    for rel in ["x1.png", "x2.tif", "d/x3.png"]:
        write_image(src / rel, _grey(rng))
    assert _run(f"{src}/*.png", "-o", tmp_path / "o1", "--op", "median") == 0
    assert _tree(tmp_path / "o1") == ["x1.png"]
    assert _run(f"{src}/**/*.png", "-o", tmp_path / "o2", "--op", "median") == 0
    assert _tree(tmp_path / "o2") == ["d/x3.png", "x1.png"]
    assert _run(f"{src}/*.jpg", "-o", tmp_path / "o3", "--op", "median") == 2  # matches nothing


@needs_script
def test_symlink_loops_do_not_hang_globs_or_recursive_scans(tmp_path, rng):
    tree = tmp_path / "t"
    write_image(tree / "a.png", _grey(rng))
    write_image(tree / "sub" / "b.png", _grey(rng))
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)  # t/sub/loop -> t
    (tree / "self").symlink_to(".", target_is_directory=True)  # t/self -> t
    proc = _cli(f"{tree}/**/*.png", "-o", tmp_path / "o1", "--op", "median", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "o1") == ["a.png", "sub/b.png"]  # symlinked folders are not entered
    proc = _cli(tree, "-r", "-o", tmp_path / "o2", "--op", "median", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "o2") == ["a.png", "sub/b.png"]


@needs_script
def test_no_overwrite_without_force_and_rerun_skips(tmp_path, rng):
    for name in ["a.png", "b.png", "c.png"]:
        write_image(tmp_path / "in" / name, _grey(rng))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"precious")
    proc = _cli(tmp_path / "in", "-o", out, "--op", "median")
    assert proc.returncode == 0 and (out / "a.png").read_bytes() == b"precious"
    assert "2 written, 1 skipped (output exists; --force overwrites)" in proc.stdout
    assert "0 written, 3 skipped" in _cli(tmp_path / "in", "-o", out, "--op", "median").stdout
    proc = _cli(tmp_path / "in", "-o", out, "--op", "median", "--force")
    assert proc.returncode == 0 and "3 written" in proc.stdout
    np.testing.assert_array_equal(
        read_image(out / "a.png"), fk.median(read_image(tmp_path / "in" / "a.png"), size=3)
    )


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_no_partial_file(tmp_path, rng, monkeypatch, failure):
    write_image(tmp_path / "in" / "a.png", _grey(rng))
    real_write = os.write

    def half_then_fail(fd, data):  # filterkit.io.atomic_write_bytes writes into the temporary file's fd
        real_write(fd, bytes(data[: len(data) // 2]))
        raise failure

    monkeypatch.setattr(os, "write", half_then_fail)
    rc = _run(tmp_path / "in", "-o", tmp_path / "out", "--op", "median", "--jobs", "1")
    assert rc == (1 if isinstance(failure, OSError) else 130)
    assert _tree(tmp_path / "out") == []  # neither the output nor a temporary file


@needs_script
def test_stale_temporaries_of_an_interrupted_run_are_removed(tmp_path, rng):
    for name in ["a.png", "sub/b.png"]:
        write_image(tmp_path / "in" / name, _grey(rng))
    stale = [tmp_path / "out" / ".a.x1y2z3.part.png", tmp_path / "out" / "sub" / ".b.q9.part.png"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half an image")
    proc = _cli(tmp_path / "in", "-r", "-o", tmp_path / "out", "--op", "mean")
    assert proc.returncode == 0, proc.stderr
    assert "2 stale temporary files of an interrupted run removed" in proc.stdout
    assert _tree(tmp_path / "out") == ["a.png", "sub/b.png"]


@needs_script
def test_sigint_then_rerun_leaves_every_output_and_no_part_file(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    rng = np.random.default_rng(1)
    for i in range(120):
        write_image(src / f"{i:03d}.png", rng.integers(0, 256, (160, 160, 3), dtype=np.uint8))
    cmd = ["filterkit", "filter", str(src), "-o", str(out), "--op", "median", "--size", "7", "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and any(p.suffix == ".png" and not p.name.startswith(".") for p in out.iterdir()):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130), err  # 0: it finished before the signal arrived
    assert "Traceback" not in err
    rerun = _cli(src, "-o", out, "--op", "median", "--size", "7", "--jobs", "2", timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in src.iterdir())  # no .part files
    expected = fk.median(read_image(src / "119.png"), size=7, channel_axis=-1)
    np.testing.assert_array_equal(read_image(out / "119.png"), expected)


@needs_script
def test_bad_files_reported_once_batch_continues(tmp_path, rng):
    src = tmp_path / "in"
    write_image(src / "good.png", _grey(rng))
    write_image(src / "big.png", _grey(rng, (100, 100)))
    png = (src / "good.png").read_bytes()
    (src / "truncated.png").write_bytes(png[: len(png) // 2])
    (src / "text.png").write_text("this is not a PNG\n")
    (src / "empty.png").write_bytes(b"")
    import tifffile

    tifffile.imwrite(src / "int32.tif", np.ones((8, 8), np.int32))
    proc = _cli(src, "-o", tmp_path / "out", "--op", "median", "--max-pixels", "5000")
    assert proc.returncode == 1
    assert _tree(tmp_path / "out") == ["good.png"]
    lines = [line for line in proc.stderr.splitlines() if line]
    assert len(lines) == 5 and all(line.startswith("filterkit: ") for line in lines), lines
    reasons = {"truncated.png": "truncated", "text.png": "not a readable PNG", "empty.png": "empty file",
               "big.png": "exceeds the limit of 5,000", "int32.tif": "unsupported pixel type int32"}  # fmt: skip
    for name, reason in reasons.items():
        assert any(name in line and reason in line for line in lines), (name, lines)
    assert "1 written, 5 failed" in proc.stdout
    assert "Traceback" not in proc.stderr


@needs_script
def test_bad_file_with_control_characters_in_its_name_is_one_escaped_line(tmp_path, rng):
    """Per-file lines and the summary name paths in one line: control characters escaped, letters kept."""
    out = tmp_path / "aus\tgabe_é"
    (tmp_path / "bad\nnäme\r.png").write_bytes(b"not an image")
    write_image(tmp_path / "gut_日本.png", _grey(rng))
    proc = _cli(tmp_path / "bad\nnäme\r.png", tmp_path / "gut_日本.png", "-o", out, "--op", "median")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "bad\\nnäme\\r.png: cannot read image" in lines[0], proc.stderr
    assert proc.stdout.count("\n") == 1 and "aus\\tgabe_é (" in proc.stdout, proc.stdout
    assert _tree(out) == ["gut_日本.png"]


@needs_script
def test_named_non_image_file_is_an_error_but_others_run(tmp_path, rng):
    write_image(tmp_path / "a.png", _grey(rng))
    (tmp_path / "notes.txt").write_text("x")
    proc = _cli(tmp_path / "a.png", tmp_path / "notes.txt", "-o", tmp_path / "out", "--op", "median")
    assert proc.returncode == 1
    assert "notes.txt: not an image file name" in proc.stderr
    assert (tmp_path / "out" / "a.png").exists()


@needs_script
@pytest.mark.parametrize(
    "setup, argv_tail, message",
    [
        (None, ["missing_dir"], "no such file or folder"),
        (None, ["no\nsuch\x1bfile"], "no\\nsuch\\x1bfile: no such file or folder"),  # control characters escaped
        ("empty", ["empty"], "folder holds no images"),
        ("two", ["two", "--format", "png"], "would both be written to"),
        ("one", ["one", "--op", "mean", "--sigma", "2"], "--sigma applies to --op gaussian only"),
        ("one", ["one", "--size", "4"], "--size must be a positive odd number"),
        ("one", ["one", "--size", "2147483649"], "--size: 2147483649 is out of range (>= 1 and <= 4097)"),
        ("one", ["one", "--op", "gaussian", "--sigma", "1e6"], "--sigma: 1e6 is out of range"),
        ("one", ["one", "--mode", "bogus"], "unknown border mode"),
        ("one", ["one", "--float", "--format", "png"], "--float writes 32-bit float TIFF"),
        ("one", ["one", "--cval", "nan"], "--cval: expected a finite number, got 'nan'"),
        ("one", ["one", "--op", "sobel", "--gain", "nan"], "--gain: nan is out of range (> 0, finite)"),
        ("one", ["one", "--jobs", "1000"], "--jobs: 1000 is out of range (>= 1 and <= "),
        ("one", ["one", "--quality", "0"], "--quality: 0 is out of range (>= 1 and <= 100)"),
        ("one", ["one", "--op", "bogus"], "unknown op 'bogus'"),
        ("two", ["two", "-o", "result.png"], "looks like an image file name"),
        ("one", ["one", "-o", "one"], "the output folder is the input folder"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(tmp_path, rng, setup, argv_tail, message):
    if setup == "empty":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "readme.txt").write_text("x")
    elif setup == "two":
        write_image(tmp_path / "two" / "a.png", _grey(rng))
        write_image(tmp_path / "two" / "a.bmp", _grey(rng))
    elif setup == "one":
        write_image(tmp_path / "one" / "a.png", _grey(rng))
    argv = [*argv_tail] + ([] if "-o" in argv_tail else ["-o", "out"])
    argv += [] if "--op" in argv_tail else ["--op", "median"]
    before = _tree(tmp_path)
    proc = _cli(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert _tree(tmp_path) == before and not (tmp_path / "result.png").exists()


def test_output_inside_the_input_folder_is_not_read_back(tmp_path, rng, capsys):
    write_image(tmp_path / "a.png", _grey(rng))
    assert _run(tmp_path, "-o", tmp_path / "out", "--op", "median", "--recursive") == 0
    assert _run(tmp_path, "-o", tmp_path / "out", "--op", "median", "--recursive") == 0
    assert "0 written, 1 skipped" in capsys.readouterr().out
    assert _tree(tmp_path / "out") == ["a.png"]


def test_worker_processes_give_the_same_bytes(tmp_path, rng):
    for i in range(6):
        write_image(tmp_path / "in" / f"{i}.png", _grey(rng))
    assert _run(tmp_path / "in", "-o", tmp_path / "one", "--op", "gaussian", "--jobs", "1") == 0
    assert _run(tmp_path / "in", "-o", tmp_path / "two", "--op", "gaussian", "--jobs", "2") == 0
    for i in range(6):
        assert (tmp_path / "one" / f"{i}.png").read_bytes() == (tmp_path / "two" / f"{i}.png").read_bytes()


@pytest.mark.parametrize("op", ["median", "gaussian", "sobel-x"])
def test_torch_backend_on_cpu_matches_numpy(tmp_path, rng, op):
    pytest.importorskip("torch")
    write_image(tmp_path / "c.png", rng.integers(0, 256, (19, 23, 3), dtype=np.uint8))
    write_image(tmp_path / "g.tif", rng.integers(0, 65536, (19, 23), dtype=np.uint16))
    assert _run(tmp_path, "-o", tmp_path / "np", "--op", op) == 0
    assert _run(tmp_path, "-o", tmp_path / "pt", "--op", op, "--backend", "torch", "--device", "cpu") == 0
    for name in ("c.png", "g.tif"):
        a, b = read_image(tmp_path / "np" / name), read_image(tmp_path / "pt" / name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@needs_script
def test_help_exits_0_and_explains_every_option():
    proc = subprocess.run(["filterkit", "filter", "--help"], capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 0
    for option in ("--op", "--size", "--sigma", "--mode", "--cval", "--scale", "--gain", "--float", "--format",
                   "--quality", "--recursive", "--force", "--jobs", "--max-pixels", "--backend", "--device",
                   "--quiet", "--json", "--out", "Alpha is kept untouched", "lossy"):  # fmt: skip
        assert option in proc.stdout, option


@needs_script
def test_console_script_on_the_samples_folder_with_json(tmp_path):
    out = tmp_path / "out"
    proc = _cli(SAMPLES, "-o", out, "--op", "median", "--size", "3", "--jobs", "2", "--json", tmp_path / "r.json",
                timeout=120)
    assert proc.returncode == 0, proc.stderr
    images = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg", ".tif"))
    assert sorted(p.name for p in out.iterdir()) == images
    assert "non-image files ignored" in proc.stdout and proc.stderr == ""
    sp = read_image(SAMPLES / "camera_saltpepper.png")
    np.testing.assert_array_equal(read_image(out / "camera_saltpepper.png"), fk.median(sp, size=3))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["written"] == len(images) and report["failed"] == [] and "environment" in report
    again = _cli(SAMPLES, "-o", out, "--op", "median", "--json", tmp_path / "r.json")
    assert again.returncode == 2 and "r.json: already exists (use --force to overwrite)" in again.stderr
    to_stdout = _cli(SAMPLES, "-o", out, "--op", "median", "--json", "-")
    assert json.loads(to_stdout.stdout)["skipped"] == len(images)


# ---------------------------------------------------------------- standard input and output


def _pipe(argv, data: bytes, timeout: float = 60, cwd=None) -> subprocess.CompletedProcess:
    """Run ``filterkit filter ARGV`` with ``data`` on standard input (bytes in, bytes out)."""
    return subprocess.run(["filterkit", "filter", *map(str, argv)], input=data, capture_output=True, env=ENV,
                          timeout=timeout, cwd=cwd)


@needs_script
@pytest.mark.parametrize("sample, suffix, extra", [("camera_saltpepper.png", ".png", []),
                                                  ("astronaut.jpg", ".jpg", ["--quality", "90"]),
                                                  ("astronaut.jpg", ".tif", ["--format", "tiff"])])
def test_stdin_to_stdout_gives_the_bytes_of_the_file_batch(tmp_path, sample, suffix, extra):
    """`filterkit filter - --op median -o - < in > out` writes what the folder batch writes, same format."""
    src = SAMPLES / sample
    argv = ["--op", "median", "--size", "3", *extra]
    r = _pipe(["-", *argv, "-o", "-", "--json", tmp_path / "r.json"], src.read_bytes())
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    batch = _cli(src, *argv, "-o", tmp_path / "out", "--quiet")
    assert batch.returncode == 0, batch.stderr
    (written,) = (tmp_path / "out").iterdir()
    assert written.suffix == suffix and r.stdout == written.read_bytes()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["input"] == report["out"] == "-" and report["bytes_in"] == src.stat().st_size
    assert report["format"] == {".png": "png", ".jpg": "jpeg", ".tif": "tiff"}[suffix] and "environment" in report


@needs_script
@pytest.mark.parametrize("data, argv, message", [
    (b"hello, not an image\n", [], ("<stdin>: cannot read image (not a PNG, JPEG, TIFF or BMP image: no known "
                                     "signature)")),
    (b"GIF89a" + bytes(40), [], "not a PNG, JPEG, TIFF or BMP image: the data starts like a GIF file"),
    (None, [], "<stdin>: cannot read image (truncated PNG data)"),
    (b"", [], "<stdin>: no image data (empty input)"),
    (None, ["--max-pixels", "100"], "exceeds the limit of 100"),
    (None, ["--format", "jpeg", "--float"], "--float writes 32-bit float TIFF"),
    (None, ["--json", "-"], "give --json a file name"),
    (None, ["--scheduler", "dask://localhost:1"], "--scheduler"),
])
def test_stdin_mistakes_are_one_line_errors(data, argv, message):
    png = (SAMPLES / "camera_saltpepper.png").read_bytes()
    if data is None:
        data = png[: len(png) // 2] if not argv else png
    r = _pipe(["-", "--op", "median", "-o", "-", *argv], data)
    err = r.stderr.decode()
    assert r.returncode == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert r.stdout == b""


@needs_script
@pytest.mark.parametrize("argv, message", [
    (["-", "-o", "out"], "INPUT - (standard input) needs -o - (standard output)"),
    (["-", "x.png", "-o", "-"], "- (standard input) must be the only INPUT"),
    (["x.png", "-o", "-"], "-o - (standard output) takes the image of INPUT - (standard input) only"),
])
def test_stdin_and_stdout_go_together(tmp_path, argv, message):
    r = _pipe([*argv, "--op", "median"], b"", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.decode().strip() == f"filterkit: error: {message}"
    assert not (tmp_path / "out").exists()


@needs_script
def test_help_says_which_formats_stdin_and_stdout_take():
    out = subprocess.run(["filterkit", "filter", "--help"], capture_output=True, text=True, env=ENV, timeout=60).stdout
    assert "reads one PNG, JPEG, TIFF or BMP image" in out and "filterkit filter - --op median -o - < in.png" in out
