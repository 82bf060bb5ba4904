"""Bad images and bad options through ``filterkit filter``: one line per bad file, no traceback, no partial file."""

from __future__ import annotations

import os
import shutil
import time
import zlib

import pytest

from .conftest import (
    SAMPLES,
    assert_no_partial,
    assert_no_traceback,
    assert_one_line_error,
    error_lines,
    files_in,
    junk,
    png_bytes,
    png_chunk,
    png_header,
    run_cli,
)

FILTER = ["filter"]


def _filter(tmp_path, *inputs, extra=(), timeout=60, env=None):
    out = tmp_path / "out"
    proc = run_cli([*FILTER, *map(str, inputs), "-o", str(out), "--op", "median", *extra], cwd=tmp_path,
                   timeout=timeout, env=env)
    return proc, out


def _one_bad_file(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    proc, out = _filter(tmp_path, path)
    line = assert_one_line_error(proc, status=1)  # documented: 1 = some files failed
    assert files_in(out) == []
    assert_no_partial(tmp_path)
    return line


def test_empty_file(tmp_path):
    line = _one_bad_file(tmp_path, "empty.png", b"")
    assert "empty.png" in line


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_random_bytes(tmp_path, suffix):
    line = _one_bad_file(tmp_path, f"junk{suffix}", junk(4096, seed=len(suffix)))
    assert f"junk{suffix}" in line


@pytest.mark.parametrize("sample,keep", [("testcard.png", 0.5), ("testcard.png", 0.02), ("astronaut.jpg", 0.5),
                                         ("testcard16.tif", 0.5), ("testcard16.tif", 0.001)])
def test_truncated_sample(tmp_path, sample, keep):
    data = (SAMPLES / sample).read_bytes()
    cut = max(8, int(len(data) * keep))
    line = _one_bad_file(tmp_path, f"cut_{sample}", data[:cut])
    assert f"cut_{sample}" in line


def test_png_decompression_bomb_refused_before_decoding(tmp_path):
    # a valid header claiming 100000 x 100000 pixels (10^10 bytes once decoded), a tiny IDAT
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", (100000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0]))
            + png_chunk(b"IDAT", zlib.compress(bytes(100001 * 4))) + png_chunk(b"IEND", b""))
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    start = time.monotonic()
    proc, out = _filter(tmp_path, path, timeout=30)
    elapsed = time.monotonic() - start
    line = assert_one_line_error(proc, status=1)
    assert "bomb.png" in line and "pixel" in line.lower()
    assert elapsed < 20, f"refusal took {elapsed:.1f} s: decoded before checking the size?"
    assert files_in(out) == []


def test_file_name_with_newline_and_non_ascii_stays_one_line(tmp_path):
    name = "bad\nnäme_日本.png"
    (tmp_path / name).write_bytes(b"not an image")
    proc, out = _filter(tmp_path, tmp_path / name)
    line = assert_one_line_error(proc, status=1)
    assert "me_" in line  # the file is named (in some escaped form)
    assert files_in(out) == []


def test_non_ascii_name_on_an_ascii_terminal(tmp_path):
    """Non-ASCII file and folder names with an ASCII-only stdout/stderr: no UnicodeEncodeError traceback."""
    shutil.copy(SAMPLES / "testcard.png", tmp_path / "bild_é.png")
    (tmp_path / "kaputt_é.png").write_bytes(b"junk")
    out = tmp_path / "ausgabe_é"
    proc = run_cli([*FILTER, "bild_é.png", "kaputt_é.png", "-o", str(out), "--op", "median"], cwd=tmp_path,
                   env={"PYTHONIOENCODING": "ascii"})
    assert_one_line_error(proc, status=1)
    assert [p.name for p in files_in(out)] == ["bild_é.png"]


def test_directory_named_like_an_image(tmp_path):
    (tmp_path / "x.png").mkdir()
    proc, out = _filter(tmp_path, tmp_path / "x.png")
    assert_one_line_error(proc)
    assert files_in(out) == []


def test_directory_named_like_an_image_inside_a_folder_is_not_an_image(tmp_path):
    src = tmp_path / "src"
    (src / "x.png").mkdir(parents=True)
    shutil.copy(SAMPLES / "testcard.png", src / "good.png")
    proc, out = _filter(tmp_path, src)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in files_in(out)] == ["good.png"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.png"
    shutil.copy(SAMPLES / "testcard.png", path)
    path.chmod(0)
    try:
        proc, out = _filter(tmp_path, path)
    finally:
        path.chmod(0o644)
    line = assert_one_line_error(proc, status=1)
    assert "locked.png" in line
    assert files_in(out) == []


def test_zero_by_zero_png(tmp_path):
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", bytes(8) + bytes([8, 0, 0, 0, 0]))
            + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))
    line = _one_bad_file(tmp_path, "empty0x0.png", data)
    assert "empty0x0.png" in line


def test_one_pixel_wide_or_high_images_are_filtered(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shapes = {f"thin{w}x{h}.png": (w, h) for w, h in [(1, 7), (7, 1), (1, 1)]}
    for name, (w, h) in shapes.items():
        (src / name).write_bytes(png_bytes(w, h, rows=bytes(range(w * h))))
    proc, out = _filter(tmp_path, src)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    for name, shape in shapes.items():
        assert png_header(out / name)[:2] == shape
    assert_no_partial(out)


def test_16bit_grey_alpha_png_stays_grey_alpha(tmp_path, request):
    path = tmp_path / "la16.png"
    rows = b"".join((v * 4000).to_bytes(2, "big") + (65535 - v).to_bytes(2, "big") for v in range(12))
    path.write_bytes(png_bytes(4, 3, bit_depth=16, colour_type=4, rows=rows))
    proc, out = _filter(tmp_path, path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    width, height, depth, colour = png_header(out / "la16.png")
    if colour != 4:
        request.applymarker(pytest.mark.xfail(strict=False, reason="16-bit grey+alpha PNG written as RGBA "
                                                                   "(issue 19; being fixed in filterkit/io/images.py)"))
    assert (width, height, depth, colour) == (4, 3, 16, 4), "expected 16-bit grey+alpha (colour type 4)"


def test_folder_of_good_and_bad_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SAMPLES / "testcard.png", src / "good1.png")
    shutil.copy(SAMPLES / "astronaut.jpg", src / "good2.jpg")
    (src / "empty.png").write_bytes(b"")
    (src / "junk.jpg").write_bytes(junk(2000))
    (src / "cut.tif").write_bytes((SAMPLES / "testcard16.tif").read_bytes()[:5000])
    (src / "notes.txt").write_text("not an image, quietly ignored\n")
    proc, out = _filter(tmp_path, src)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    lines = error_lines(proc)
    assert len(lines) == 3, proc.stderr
    assert all(line.startswith("filterkit: ") for line in lines), proc.stderr
    for name in ("empty.png", "junk.jpg", "cut.tif"):
        assert sum(name in line for line in lines) == 1, (name, proc.stderr)
    assert [p.name for p in files_in(out)] == ["good1.png", "good2.jpg"]
    assert_no_partial(out)


# ---- bad options: refused while parsing (exit 2, one line), nothing written ----

BAD_OPTIONS = [
    ("--size", "0"),
    ("--size", "2147483649"),
    ("--size", "-3"),
    ("--size", "abc"),
    ("--sigma", "nan"),
    ("--sigma", "-1"),
    ("--sigma", "inf"),
    ("--cval", "nan"),
    ("--gain", "inf"),
    ("--gain", "nan"),
    ("--jobs", "0"),
    ("--jobs", "1000"),
    ("--quality", "101"),
    ("--quality", "0"),
    ("--max-pixels", "-1"),
    ("--op", "nosuch"),
    ("--mode", "nosuch"),
]


@pytest.mark.parametrize("option,value", BAD_OPTIONS, ids=[f"{o}={v}" for o, v in BAD_OPTIONS])
def test_bad_option_is_a_parse_time_error(tmp_path, option, value):
    shutil.copy(SAMPLES / "testcard.png", tmp_path / "in.png")
    out = tmp_path / "out"
    args = [*FILTER, "in.png", "-o", str(out), "--op", "gaussian" if option == "--sigma" else "median"]
    if option == "--op":
        args = [*FILTER, "in.png", "-o", str(out)]
    proc = run_cli([*args, f"{option}={value}"], cwd=tmp_path)
    assert_one_line_error(proc, status=2)
    assert option in proc.stderr or value in proc.stderr
    assert files_in(out) == []
