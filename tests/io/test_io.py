"""filterkit.io: atomic writes and image reading/writing."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest
from PIL import Image

from filterkit.io import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    atomic_write,
    atomic_write_bytes,
    encode_image,
    image_format,
    is_image_path,
    read_image,
    write_image,
    write_json,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_atomic_write_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.png"

    def half_then_fail(tmp):
        tmp.write_bytes(b"\x89PNG half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_and_uses_umask_permissions(tmp_path):
    target = tmp_path / "a" / "b.txt"
    atomic_write(target, lambda p: p.write_text("one"))
    atomic_write(target, lambda p: p.write_text("two"))
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_atomic_write_bytes_replaces_with_umask_permissions(tmp_path):
    target = tmp_path / "a" / "b.jpg"
    big = bytes(range(256)) * 4096  # 1 MiB: more than one os.write may take
    atomic_write_bytes(target, b"one")
    assert atomic_write_bytes(target, big) == target
    assert target.read_bytes() == big
    assert [p.name for p in target.parent.iterdir()] == ["b.jpg"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_atomic_write_bytes_failure_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")

    def no_space(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"] and target.read_bytes() == b"old"


def test_write_json_numpy(tmp_path):
    write_json(tmp_path / "r.json", {"a": np.float32(1.5), "b": np.arange(3)})
    assert (tmp_path / "r.json").read_text().split() == ["{", '"a":', "1.5,", '"b":', "[", "0,", "1,", "2", "]", "}"]


def test_formats_by_suffix():
    assert image_format("x.JPG") == "jpeg"
    assert image_format("a/b.tiff") == "tiff"
    assert image_format("notes.txt") is None
    assert is_image_path("scan.BMP") and not is_image_path("make_samples.py")


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
@pytest.mark.parametrize("shape", [(17, 23), (17, 23, 3), (17, 23, 4)])
def test_lossless_round_trip_uint8(tmp_path, rng, suffix, shape):
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    path = write_image(tmp_path / f"x{suffix}", image)
    back = read_image(path)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("shape", [(9, 11), (9, 11, 3)])
def test_round_trip_uint16(tmp_path, rng, suffix, shape):
    image = rng.integers(0, 65536, shape, dtype=np.uint16)
    back = read_image(write_image(tmp_path / f"x{suffix}", image))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_float_tiff_and_grey_alpha_png(tmp_path, rng):
    image = rng.normal(size=(6, 7)).astype(np.float32)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "f.tif", image)), image)
    la = rng.integers(0, 256, (6, 7, 2), dtype=np.uint8)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "la.png", la)), la)


def test_rgb_order_matches_pillow(tmp_path, rng):
    image = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    write_image(tmp_path / "c.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), image)
    Image.fromarray(image).save(tmp_path / "p.jpg", quality=90)
    np.testing.assert_array_equal(read_image(tmp_path / "p.jpg"), np.asarray(Image.open(tmp_path / "p.jpg")))


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_bgr_order_option(tmp_path, rng, suffix):
    image = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    path = write_image(tmp_path / f"c{suffix}", image)
    rgb = read_image(path)
    bgr = read_image(path, bgr=True)
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    assert encode_image(bgr, image_format(path), bgr=True) == encode_image(rgb, image_format(path))


def test_jpeg_grey_stays_grey_and_exif_orientation_applied(tmp_path):
    grey = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (8, 1))
    write_image(tmp_path / "g.jpg", grey)
    assert read_image(tmp_path / "g.jpg").ndim == 2
    tall = np.zeros((40, 20, 3), np.uint8)
    tall[:10] = 255  # bright top band
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer turns it 90 degrees clockwise
    Image.fromarray(tall).save(tmp_path / "o.jpg", exif=exif, quality=95)
    upright = read_image(tmp_path / "o.jpg")
    assert upright.shape == (20, 40, 3)
    assert upright[:, -5:].mean() > 200 and upright[:, :5].mean() < 50  # the band is now on the right


def test_encode_refusals_name_the_file():
    with pytest.raises(ImageError, match="JPEG cannot store 4 channels"):
        encode_image(np.zeros((4, 4, 4), np.uint8), "jpeg", path="a.jpg")
    with pytest.raises(ImageError, match="a.png: PNG needs uint8 or uint16"):
        encode_image(np.zeros((4, 4), np.float32), "png", path="a.png")


def _png_bytes(shape=(30, 40)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.png", b"", "empty file"),
        ("text.png", b"just some text, not an image\n", r"cannot read image \(not a readable PNG file: no PNG signature\)"),
        ("cut.png", _png_bytes()[:200], r"cannot read image \(truncated PNG data\)"),
        ("text.tif", b"II*\x00garbage", r"cannot read image \(TIFF holds no image: invalid offset to first page"),
        ("notes.txt", b"hello", "not an image file name"),
    ],
)
def test_bad_files_give_one_clear_reason(tmp_path, capfd, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert capfd.readouterr().err == ""  # libpng's own complaint is silenced


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _bad_crc_png() -> bytes:
    data = bytearray(_png_bytes())
    data[40] ^= 0xFF  # a byte of the first IDAT chunk's name
    return bytes(data)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("sig_garbage.png", _PNG_SIGNATURE + bytes(range(256)) * 3, "damaged PNG header: broken PNG file: chunk b'"),
        ("sig_only.png", _PNG_SIGNATURE, "truncated PNG header"),
        ("header_cut.png", _png_bytes()[:20], "truncated PNG header"),
        ("data_cut.png", _png_bytes()[:60], "truncated PNG data"),
        ("bad_chunk.png", _bad_crc_png(), "damaged PNG header: broken PNG file: chunk b'"),
        ("archive.png", b"PK\x03\x04" + bytes(200), "not a readable PNG file: no PNG signature"),
        ("jpeg_cut.png", b"\xff\xd8\xff\xe0" + bytes(20), "not a readable PNG file: the data starts like a JPEG file"),
        ("text.jpg", b"hello, not a photo\n", "not a readable JPEG file: no JPEG signature"),
        ("text.bmp", b"hello, not a bitmap\n", "not a readable BMP file: no BMP signature"),
        ("text.tiff", b"hello, not a TIFF\n", "not a readable TIFF file: no TIFF signature"),
    ],
)
def test_corrupt_and_non_image_files_give_one_line_without_object_reprs(tmp_path, capfd, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read image (") and message.endswith(")"), message
    assert message[len(f"{path}: cannot read image (") : -1].startswith(reason), message
    assert "\n" not in message and " at 0x" not in message and "<" not in message and "object" not in message
    assert capfd.readouterr().err == ""  # neither libpng nor tifffile's logger prints anything


def test_missing_file_and_folder_with_an_image_name(tmp_path):
    with pytest.raises(ImageError, match=r"gone.png: cannot read image \(No such file or directory\)$"):
        read_image(tmp_path / "gone.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageError, match=r"dir.png: cannot read image \(Is a directory\)$"):
        read_image(tmp_path / "dir.png")


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match=r"cut.jpg: cannot read image \(truncated JPEG data\)$"):
        read_image(tmp_path / "cut.jpg")


def _jpeg(image: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", **options)
    return buf.getvalue()


def test_jpeg_pixel_limit_checked_before_decoding(tmp_path):
    (tmp_path / "a.jpg").write_bytes(_jpeg(np.zeros((30, 40, 3), np.uint8)))
    assert read_image(tmp_path / "a.jpg", max_pixels=1200).shape == (30, 40, 3)
    with pytest.raises(ImageError, match="a.jpg: 40x30 = 1,200 pixels exceeds the limit of 1,199 "):
        read_image(tmp_path / "a.jpg", max_pixels=1199)


def test_pixel_limit_checked_before_decoding(tmp_path):
    (tmp_path / "a.png").write_bytes(_png_bytes((30, 40)))
    assert read_image(tmp_path / "a.png", max_pixels=1200).shape == (30, 40)
    with pytest.raises(ImageError, match="1,200 pixels exceeds the limit of 1,199"):
        read_image(tmp_path / "a.png", max_pixels=1199)
    with pytest.raises(ImageError, match="a.png: 40x30 = 1,200 pixels exceeds the limit of 100 .*decompression bomb"):
        read_image(tmp_path / "a.png", max_pixels=100)  # far over: still our message, not Pillow's
    write_image(tmp_path / "t.tif", np.zeros((30, 40), np.uint16))
    with pytest.raises(ImageError, match="decompression bomb"):
        read_image(tmp_path / "t.tif", max_pixels=100)
    assert DEFAULT_MAX_PIXELS == 2 * Image.MAX_IMAGE_PIXELS  # where Pillow raises; its setting is left alone


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_pillow_global_limit_neither_read_nor_changed(tmp_path, monkeypatch, suffix):
    path = write_image(tmp_path / f"a{suffix}", np.zeros((30, 40, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # Pillow itself would refuse (over 2x)
    assert read_image(path, max_pixels=None).shape == (30, 40, 3)
    assert read_image(path, max_pixels=1200).shape == (30, 40, 3)
    with pytest.raises(ImageError, match="exceeds the limit of 1,199"):
        read_image(path, max_pixels=1199)
    assert Image.MAX_IMAGE_PIXELS == 10


def test_pixel_limits_of_concurrent_threads_do_not_interfere(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    paths = [write_image(tmp_path / f"a{i}{s}", np.zeros((30, 40), np.uint8)) for i, s in enumerate([".png", ".jpg"])]

    def read(i: int) -> bool:
        try:
            read_image(paths[i % 2], max_pixels=None if i % 3 else 1199)
        except ImageError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(read, range(400))) == [bool(i % 3) for i in range(400)]


def _grey_alpha16_png(image: np.ndarray) -> bytes:
    """A 16-bit grey+alpha PNG built by hand (neither OpenCV nor Pillow writes one)."""
    import struct
    import zlib

    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in image)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 4, 0, 0, 0)
    return _PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_grey_alpha_16bit_png_stays_grey_alpha(tmp_path, rng):
    image = rng.integers(0, 65536, (6, 7, 2), dtype=np.uint16)
    (tmp_path / "la16.png").write_bytes(_grey_alpha16_png(image))
    back = read_image(tmp_path / "la16.png")
    assert back.dtype == np.uint16 and back.shape == (6, 7, 2)
    np.testing.assert_array_equal(back, image)
    assert read_image(tmp_path / "la16.png", bgr=True).shape == (6, 7, 2)
    written = write_image(tmp_path / "out.png", back).read_bytes()
    assert written[12:16] == b"IHDR" and written[24:26] == bytes([16, 4])  # 16-bit, colour type grey+alpha
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), image)
    with pytest.raises(ImageError, match="grey\\+alpha cannot be written as BMP"):
        encode_image(back.astype(np.uint8), "bmp", path="a.bmp")


def test_content_decides_the_decoder_not_the_suffix(tmp_path, rng):
    image = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    (tmp_path / "photo.png").write_bytes(encode_image(image, "jpeg"))
    (tmp_path / "photo.jpg").write_bytes(encode_image(image, "jpeg"))
    np.testing.assert_array_equal(read_image(tmp_path / "photo.png"), read_image(tmp_path / "photo.jpg"))
    (tmp_path / "scan.png").write_bytes(encode_image(image, "tiff"))
    np.testing.assert_array_equal(read_image(tmp_path / "scan.png"), image)


def test_unsupported_dtype_and_multipage_tiff(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "i32.tif", np.zeros((5, 5), np.int32))
    with pytest.raises(ImageError, match="unsupported pixel type int32"):
        read_image(tmp_path / "i32.tif")
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 5, 5), np.uint8), photometric="minisblack", metadata=None)
    with pytest.raises(ImageError, match="multi-page TIFF"):
        read_image(tmp_path / "stack.tif")


def test_zero_size_tiff(tmp_path):
    import tifffile

    with pytest.warns(UserWarning):
        tifffile.imwrite(tmp_path / "z.tif", np.zeros((0, 5), np.uint8))
    with pytest.raises(ImageError, match="z.tif"):
        read_image(tmp_path / "z.tif")
