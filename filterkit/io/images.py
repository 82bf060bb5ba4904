"""Image reading and writing, with pixel limits checked before decoding.

Images are numpy arrays of shape ``(H, W)`` (grey) or ``(H, W, C)`` with
channels in **RGB(A)** order, dtype ``uint8``, ``uint16`` or ``float32``.
Grey+alpha stays two channels ``(H, W, 2)``, 8- or 16-bit.

* PNG, JPEG and BMP are decoded and encoded with OpenCV (``cv2.imdecode`` /
  ``cv2.imencode``).  The header is read first with Pillow's plugin for the
  format the bytes start with, and the pixel count is checked against
  ``max_pixels`` before anything is decoded (decompression bombs).  The check
  is local to the call: Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` is
  neither read nor changed, so threads with different limits do not interfere.
  Grey+alpha PNGs are written by :func:`_encode_grey_alpha_png` (OpenCV writes
  no two-channel PNG, Pillow no 16-bit one).
* TIFF goes through tifffile (8/16-bit integer and 32-bit float, written
  losslessly with Deflate compression).
* The decoder follows the file's content, not its suffix (a JPEG named
  ``.png`` reads as a JPEG); a suffix is still needed to pick the format.
* JPEG EXIF orientation is applied on reading (the written file carries no
  metadata, so its pixels must already be upright); no other metadata is kept.

Every per-file problem (unreadable, truncated, not an image, zero-size, too
many pixels, unsupported pixel type) raises :class:`ImageError` with a one-line
message that names the file and the reason; a file that cannot be opened or
decoded gives ``"<path>: cannot read image (<short reason>)"``, e.g.
``"a.png: cannot read image (truncated PNG data)"`` (no decoder object reprs).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from filterkit.errors import UserError
from filterkit.io import atomic as _atomic

__all__ = [
    "ImageError",
    "IMAGE_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "image_format",
    "is_image_path",
    "read_image",
    "decode_image",
    "content_format",
    "encode_image",
    "write_image",
]

#: Pillow's decompression-bomb error threshold (``2 * PIL.Image.MAX_IMAGE_PIXELS``), in pixels.
DEFAULT_MAX_PIXELS = 178_956_970

#: format name -> file suffixes (lower case); the first suffix is used when writing.
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "tiff": (".tif", ".tiff"),
    "bmp": (".bmp",),
}
_SUFFIX_TO_FORMAT = {s: fmt for fmt, suffixes in IMAGE_FORMATS.items() for s in suffixes}
_CV2_SUFFIX = {"png": ".png", "jpeg": ".jpg", "bmp": ".bmp"}
# the first bytes of each format, to tell "not this format at all" from "damaged"
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "bmp": (b"BM",),
    "tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    "gif": (b"GIF87a", b"GIF89a"),
}
_MAX_REASON = 100  # characters of a decoder's message kept in a reason


class ImageError(UserError):
    """One image file could not be read or written; the message names the file and the reason."""


# ------------------------------------------------------------------ image files


def image_format(path: str | os.PathLike) -> str | None:
    """``"png"``, ``"jpeg"``, ``"tiff"`` or ``"bmp"`` from the file suffix (any case), else None."""
    return _SUFFIX_TO_FORMAT.get(Path(path).suffix.lower())


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the suffix is one of :data:`IMAGE_FORMATS`."""
    return image_format(path) is not None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C libraries (libpng prints its own errors) by pointing fd 2 at /dev/null."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{path}: zero-size image ({width}x{height} pixels)")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,} "
            "(possible decompression bomb; raise --max-pixels if you trust the file)"
        )


def _pillow_plugin(kind: str | None):
    """Pillow's image-file class for ``kind`` (``"png"``, ``"jpeg"``, ``"bmp"``), else None.

    The class is called directly rather than through ``Image.open``: that runs
    Pillow's bomb check against the process-wide ``MAX_IMAGE_PIXELS``, and the
    limit here is the caller's ``max_pixels``.
    """
    from PIL import BmpImagePlugin, JpegImagePlugin, PngImagePlugin

    plugins = {
        "png": PngImagePlugin.PngImageFile,
        "jpeg": JpegImagePlugin.JpegImageFile,
        "bmp": BmpImagePlugin.BmpImageFile,
    }
    return plugins.get(kind)


def _read_header(path: Path, data: bytes, fmt: str, max_pixels: int | None) -> str:
    """Check the header of a PNG/JPEG/BMP file (nothing decoded yet); return the format of its content.

    fmt: the format named by the suffix (used in messages).  The pixel count is
    compared with ``max_pixels`` here, before decoding.
    """
    kind = _sniff(data)
    plugin = _pillow_plugin(kind)
    if plugin is None:
        raise _unreadable(path, _header_reason(data, fmt, None))
    try:
        with plugin(io.BytesIO(data)) as im:
            width, height = im.size
    except Exception as exc:  # noqa: BLE001 - a plugin raises many types for broken headers
        raise _unreadable(path, _header_reason(data, fmt, exc)) from None
    _check_pixels(path, width, height, max_pixels)
    return kind


def _unreadable(path: Path, reason: str) -> ImageError:
    """The one message for a file that cannot be opened or decoded (inner parentheses become ": ")."""
    reason = re.sub(r"\s*\(([^()]*)\)", r": \1", reason)
    return ImageError(f"{path}: cannot read image ({reason})")


def _clean(text: str) -> str:
    """First line of a library message, object reprs (``<... object at 0x...>``) removed, shortened."""
    lines = str(text).strip().splitlines()
    line = re.sub(r"\s*<[^<>]*(?: object at 0x[0-9a-fA-F]+| @-?\d+)>", "", lines[0] if lines else "").strip(" :")
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3].rstrip() + "..."


def _reason(exc: BaseException) -> str:
    return _clean(str(exc)) or type(exc).__name__


def _sniff(data: bytes) -> str | None:
    """The format ``data`` starts like (see ``_MAGIC``), else None."""
    for fmt, magics in _MAGIC.items():
        if data.startswith(magics):
            return fmt
    return None


def _header_reason(data: bytes, fmt: str, exc: BaseException | None) -> str:
    """Short reason why the header of a file named as ``fmt`` could not be read.

    exc: the error of Pillow's plugin for the format the data starts like (None when no plugin was tried).
    """
    name = fmt.upper()
    found = _sniff(data)
    if found is None:
        return f"not a readable {name} file: no {name} signature"
    if found != fmt or exc is None:
        return f"not a readable {name} file: the data starts like a {found.upper()} file"
    text = _reason(exc)
    if "truncat" in text.lower() or "buffer" in text.lower():  # struct.error on a short read
        return f"truncated {name} header"
    return f"damaged {name} header: {text}"


def _decode_with_cv2(path: Path, data: bytes, kind: str, bgr: bool):
    """Decode PNG/JPEG/BMP bytes (``kind``: the content's format) with OpenCV."""
    import cv2
    import numpy as np

    # JPEG: ANYCOLOR|ANYDEPTH keeps grey grey and applies EXIF orientation;
    # others: UNCHANGED keeps alpha and 16-bit samples.
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if kind == "jpeg" else cv2.IMREAD_UNCHANGED
    with _quiet_stderr():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise _unreadable(path, _pillow_reason(data, kind))
    if kind == "png" and _png_colour_type(data) == 4 and image.ndim == 3 and image.shape[2] == 4:
        # OpenCV expands grey+alpha (8- or 16-bit) to BGRA with B = G = R; keep grey + alpha
        return np.ascontiguousarray(image[..., [0, 3]])
    if image.ndim == 3 and not bgr:
        image = _swap_red_blue(image)
    return image


def _png_colour_type(data: bytes) -> int | None:
    """The colour type in a PNG's IHDR chunk (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA), else None."""
    return data[25] if len(data) > 25 and data[12:16] == b"IHDR" else None


def _swap_red_blue(image):
    """RGB(A) <-> BGR(A); other channel counts unchanged."""
    import cv2

    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return image


def _pillow_reason(data: bytes, kind: str) -> str:
    """Why Pillow cannot decode ``kind`` data (used only after OpenCV failed), e.g. ``"truncated PNG data"``."""
    name = kind.upper()
    try:
        with _pillow_plugin(kind)(io.BytesIO(data)) as im:
            im.load()
    except Exception as exc:  # noqa: BLE001 - any decoder error is the reason we report
        text = _reason(exc)
        if "truncat" in text.lower():
            return f"truncated {name} data"
        return f"corrupt {name} data: {text}"
    return f"corrupt {name} data: OpenCV could not decode it"


@contextlib.contextmanager
def _tifffile_messages() -> Iterator[list[str]]:
    """Collect tifffile's log messages (it logs "<tifffile.TiffPages @...> invalid offset ..." to stderr)."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(_clean(record.getMessage()))

    log = logging.getLogger("tifffile")
    handler, propagate = _Collect(logging.WARNING), log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield messages
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def _read_tiff(path: Path, data: bytes, max_pixels: int | None):
    import numpy as np
    import tifffile

    try:
        with _tifffile_messages() as messages, tifffile.TiffFile(io.BytesIO(data)) as tif:
            if not tif.pages:
                why = f": {messages[0]}" if messages and messages[0] else ""
                raise _unreadable(path, f"TIFF holds no image{why}")
            page = tif.pages[0]
            axes, shape = page.axes, page.shape
            y, x = axes.find("Y"), axes.find("X")
            if y < 0 or x < 0:
                raise ImageError(f"{path}: TIFF page has axes {axes!r}; expected an image with Y and X")
            _check_pixels(path, shape[x], shape[y], max_pixels)
            if len(tif.pages) > 1:
                raise ImageError(f"{path}: multi-page TIFF ({len(tif.pages)} pages); only single images are supported")
            image = page.asarray()
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types for broken files
        if _sniff(data) != "tiff":
            raise _unreadable(path, "not a readable TIFF file: no TIFF signature") from None
        raise _unreadable(path, f"damaged TIFF file: {_reason(exc)}") from None
    if axes == "SYX":  # planar (channel-first) storage
        image = np.moveaxis(image, 0, -1)
    elif axes not in ("YX", "YXS"):
        raise ImageError(f"{path}: TIFF page has axes {axes!r}; only YX (grey) and YXS (channels) are supported")
    return np.ascontiguousarray(image)


def _check_array(path: Path, image):
    import numpy as np

    if image.dtype == np.bool_:  # 1-bit images become 0/255
        image = image.astype(np.uint8) * np.uint8(255)
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageError(
            f"{path}: unsupported pixel type {image.dtype} (filterkit reads 8/16-bit unsigned integer and "
            "32-bit float images)"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] > 4):
        raise ImageError(f"{path}: unsupported image shape {image.shape} (expected HxW or HxWxC with C <= 4)")
    if image.size == 0:
        raise ImageError(f"{path}: zero-size image {image.shape}")
    return image


def read_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS, *, bgr: bool = False):
    """Read an image file as a numpy array ``(H, W)`` or ``(H, W, C)``, RGB(A) order.

    path: a ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff`` or ``.bmp`` file.
    max_pixels: refuse images with more than this many pixels (``H*W``),
    checked from the header before decoding; None disables the check.
    bgr: return colour in OpenCV's BGR(A) order instead (saves two channel
    swaps for per-channel work; pair with ``encode_image(..., bgr=True)``).
    Returns uint8, uint16 (16-bit PNG/TIFF) or float32 (float TIFF).
    Raises :class:`ImageError` naming the file and the reason.
    """
    path = Path(path)
    fmt = image_format(path)
    if fmt is None:
        raise ImageError(
            f"{path}: not an image file name (known suffixes: "
            f"{', '.join(sorted(_SUFFIX_TO_FORMAT))})"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc.strerror or _reason(exc)) from None
    return _decode(path, data, fmt, max_pixels, bgr)


def content_format(data: bytes) -> str | None:
    """The format of image bytes from their signature: ``"png"``, ``"jpeg"``, ``"tiff"``, ``"bmp"``, else None."""
    kind = _sniff(data)
    return kind if kind in IMAGE_FORMATS else None


def decode_image(data: bytes, name: str = "<stdin>", max_pixels: int | None = DEFAULT_MAX_PIXELS, *,
                 bgr: bool = False):
    """:func:`read_image` for bytes (e.g. standard input): the format is told by the content.

    name: what messages call the data.  Raises :class:`ImageError` as :func:`read_image` does.
    """
    fmt = content_format(data)
    if data and fmt is None:
        found = _sniff(data)
        why = f"the data starts like a {found.upper()} file" if found else "no known signature"
        raise ImageError(f"{name}: cannot read image (not a PNG, JPEG, TIFF or BMP image: {why})")
    return _decode(Path(name), data, fmt or "png", max_pixels, bgr)


def _decode(path: Path, data: bytes, fmt: str, max_pixels: int | None, bgr: bool):
    """Decode the bytes of ``path`` (``fmt``: the format its name says)."""
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes)")
    if _sniff(data) == "tiff":
        image = _check_array(path, _read_tiff(path, data, max_pixels))
        return _swap_red_blue(image) if bgr else image
    kind = _read_header(path, data, fmt, max_pixels)
    return _check_array(path, _decode_with_cv2(path, data, kind, bgr))


def encode_image(
    image, fmt: str, quality: int = 95, path: str | os.PathLike = "<image>", *, bgr: bool = False
) -> bytes:
    """Encode ``image`` (RGB(A) order; BGR(A) with ``bgr=True``) as ``fmt`` and return the file's bytes.

    png: uint8/uint16, 1-4 channels.  jpeg (lossy, ``quality`` 1-100): uint8,
    grey or RGB.  bmp: uint8, grey/RGB/RGBA.  tiff: uint8/uint16/float32,
    any channel count (Deflate compression, lossless).
    """
    import numpy as np

    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {', '.join(IMAGE_FORMATS)}")
    image = np.asarray(image)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if fmt == "tiff":
        import tifffile

        if bgr:
            image = _swap_red_blue(image)
        if image.dtype not in (np.uint8, np.uint16, np.float32):
            raise ImageError(f"{path}: TIFF output needs uint8, uint16 or float32 pixels, got {image.dtype}")
        buf = io.BytesIO()
        photometric = "rgb" if channels in (3, 4) else "minisblack"
        extrasamples = ("unassalpha",) if channels in (2, 4) else None
        tifffile.imwrite(
            buf, image, photometric=photometric, extrasamples=extrasamples, compression="zlib"
        )
        return buf.getvalue()

    allowed = {"png": (np.uint8, np.uint16), "jpeg": (np.uint8,), "bmp": (np.uint8,)}[fmt]
    if image.dtype not in allowed:
        names = " or ".join(np.dtype(d).name for d in allowed)
        raise ImageError(f"{path}: {fmt.upper()} needs {names} pixels, got {image.dtype} (use --format tiff)")
    if fmt == "jpeg" and channels not in (1, 3):
        raise ImageError(f"{path}: JPEG cannot store {channels} channels (alpha); use --format png or tiff")
    if channels == 2:
        if fmt != "png":
            raise ImageError(f"{path}: grey+alpha cannot be written as {fmt.upper()}; use --format png or tiff")
        return _encode_grey_alpha_png(image)

    import cv2

    if not bgr:
        image = _swap_red_blue(image)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg" else []
    ok, encoded = cv2.imencode(_CV2_SUFFIX[fmt], image, params)
    if not ok:  # pragma: no cover - OpenCV reports failure without a reason
        raise ImageError(f"{path}: OpenCV could not encode the image as {fmt.upper()}")
    return encoded.tobytes()


def _encode_grey_alpha_png(image) -> bytes:
    """PNG bytes (colour type 4, 8- or 16-bit, no row filters, zlib level 1) of a ``(H, W, 2)`` array."""
    import numpy as np

    height, width = image.shape[:2]
    depth = 8 * image.dtype.itemsize
    rows = np.ascontiguousarray(image, dtype=image.dtype.newbyteorder(">")).reshape(height, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter type 0 before each row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, 4, 0, 0, 0)
    pixels = zlib.compress(raw.tobytes(), 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def write_image(path: str | os.PathLike, image, fmt: str | None = None, quality: int = 95) -> Path:
    """Encode ``image`` and write it to ``path`` atomically (see :func:`encode_image`).

    fmt: defaults to the format implied by the suffix of ``path``.
    """
    path = Path(path)
    fmt = fmt or image_format(path)
    if fmt is None:
        raise ImageError(f"{path}: cannot tell the image format from the suffix; pass fmt=")
    data = encode_image(image, fmt, quality=quality, path=path)
    return _atomic.atomic_write_bytes(path, data)
