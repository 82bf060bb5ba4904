"""``filterkit filter``: pixels equal to the Python API, folders, skipping, atomic writes, bad files."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

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
    return main(["filter", *map(str, argv), "--no-progress"])


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


def test_folder_structure_recursive_and_non_images_ignored(tmp_path, rng, capsys):
    src = tmp_path / "scans"
    for rel in ["a.png", "sub/b.png", "sub/deeper/c.bmp", "sub/C.JPG"]:
        write_image(src / rel, _grey(rng))
    (src / "notes.txt").write_text("not an image")
    (src / ".hidden.png").write_bytes(b"half")  # e.g. a leftover temporary file
    assert _run(src, "-o", tmp_path / "flat", "--op", "mean") == 0
    assert _tree(tmp_path / "flat") == ["a.png"]
    assert _run(src, "-o", tmp_path / "edges", "--op", "sobel", "--recursive") == 0
    assert _tree(tmp_path / "edges") == ["a.png", "sub/C.JPG", "sub/b.png", "sub/deeper/c.bmp"]
    assert "4 written" in capsys.readouterr().out


def test_glob_patterns_keep_structure_below_the_fixed_part(tmp_path, rng):
    src = tmp_path / "data"
    for rel in ["x1.png", "x2.tif", "d/x3.png"]:
        write_image(src / rel, _grey(rng))
    assert _run(f"{src}/*.png", "-o", tmp_path / "o1", "--op", "median") == 0
    assert _tree(tmp_path / "o1") == ["x1.png"]
    assert _run(f"{src}/**/*.png", "-o", tmp_path / "o2", "--op", "median") == 0
    assert _tree(tmp_path / "o2") == ["d/x3.png", "x1.png"]
    assert _run(f"{src}/*.jpg", "-o", tmp_path / "o3", "--op", "median") == 2  # matches nothing


def test_no_overwrite_without_force_and_rerun_skips(tmp_path, rng, capsys):
    for name in ["a.png", "b.png", "c.png"]:
        write_image(tmp_path / "in" / name, _grey(rng))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"precious")
    assert _run(tmp_path / "in", "-o", out, "--op", "median") == 0
    assert (out / "a.png").read_bytes() == b"precious"
    assert "2 written, 1 skipped (output exists; --force overwrites)" in capsys.readouterr().out
    assert _run(tmp_path / "in", "-o", out, "--op", "median") == 0
    assert "0 written, 3 skipped" in capsys.readouterr().out
    assert _run(tmp_path / "in", "-o", out, "--op", "median", "--force") == 0
    assert "3 written" in capsys.readouterr().out
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


def test_bad_files_reported_once_batch_continues(tmp_path, rng, capsys):
    src = tmp_path / "in"
    write_image(src / "good.png", _grey(rng))
    write_image(src / "big.png", _grey(rng, (100, 100)))
    png = (src / "good.png").read_bytes()
    (src / "truncated.png").write_bytes(png[: len(png) // 2])
    (src / "text.png").write_text("this is not a PNG\n")
    (src / "empty.png").write_bytes(b"")
    import tifffile

    tifffile.imwrite(src / "int32.tif", np.ones((8, 8), np.int32))
    rc = _run(src, "-o", tmp_path / "out", "--op", "median", "--max-pixels", "5000")
    captured = capsys.readouterr()
    assert rc == 1
    assert _tree(tmp_path / "out") == ["good.png"]
    lines = [line for line in captured.err.splitlines() if line]
    assert len(lines) == 5 and all(line.startswith("filterkit: ") for line in lines)
    reasons = {"truncated.png": "truncated", "text.png": "not a readable PNG", "empty.png": "empty file",
               "big.png": "exceeds the limit of 5,000", "int32.tif": "unsupported pixel type int32"}  # fmt: skip
    for name, reason in reasons.items():
        assert any(name in line and reason in line for line in lines), (name, lines)
    assert "1 written, 5 failed" in captured.out
    assert "Traceback" not in captured.err


def test_named_non_image_file_is_an_error_but_others_run(tmp_path, rng, capsys):
    write_image(tmp_path / "a.png", _grey(rng))
    (tmp_path / "notes.txt").write_text("x")
    assert _run(tmp_path / "a.png", tmp_path / "notes.txt", "-o", tmp_path / "out", "--op", "median") == 1
    assert "notes.txt: not an image file name" in capsys.readouterr().err
    assert (tmp_path / "out" / "a.png").exists()


@pytest.mark.parametrize(
    "setup, argv_tail, message",
    [
        (None, ["missing_dir"], "no such file or folder"),
        ("empty", ["empty"], "folder holds no images"),
        ("two", ["two", "--format", "png"], "would both be written to"),
        ("one", ["one", "--op", "mean", "--sigma", "2"], "--sigma applies to --op gaussian only"),
        ("one", ["one", "--size", "4"], "--size must be a positive odd number"),
        ("one", ["one", "--mode", "bogus"], "unknown border mode"),
        ("one", ["one", "--float", "--format", "png"], "--float writes 32-bit float TIFF"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(tmp_path, rng, capsys, monkeypatch, setup, argv_tail, message):
    monkeypatch.chdir(tmp_path)
    if setup == "empty":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "readme.txt").write_text("x")
    elif setup == "two":
        write_image(tmp_path / "two" / "a.png", _grey(rng))
        write_image(tmp_path / "two" / "a.bmp", _grey(rng))
    elif setup == "one":
        write_image(tmp_path / "one" / "a.png", _grey(rng))
    argv = ["filter", *argv_tail, "-o", "out"] + ([] if "--op" in argv_tail else ["--op", "median"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists() or _tree(tmp_path / "out") == []


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


def test_help_exits_0_and_explains_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["filter", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--op", "--size", "--sigma", "--mode", "--cval", "--scale", "--gain", "--float", "--format",
                   "--quality", "--recursive", "--force", "--jobs", "--max-pixels", "--backend", "--device",
                   "--no-progress", "Alpha is kept untouched", "lossy"):  # fmt: skip
        assert option in text, option


@pytest.mark.skipif(shutil.which("filterkit") is None, reason="console script not installed")
def test_console_script_on_the_samples_folder(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = ["filterkit", "filter", str(SAMPLES), "-o", str(tmp_path / "out"), "--op", "median", "--size", "3"]
    proc = subprocess.run(cmd + ["--jobs", "2"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    images = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg", ".tif"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == images
    assert "non-image files ignored" in proc.stdout and proc.stderr == ""
    sp = read_image(SAMPLES / "camera_saltpepper.png")
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "camera_saltpepper.png"), fk.median(sp, size=3))
    assert sys.executable  # the script ran in a separate process
