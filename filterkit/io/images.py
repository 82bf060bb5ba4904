"""Image reading and writing, with pixel limits checked before decoding.

Images are numpy arrays of shape ``(H, W)`` (grey) or ``(H, W, C)`` with
channels in **RGB(A)** order, dtype ``uint8``, ``uint16`` or ``float32``.

* PNG, JPEG and BMP are decoded and encoded with OpenCV (``cv2.imdecode`` /
  ``cv2.imencode``): measured faster than Pillow/imageio here and, for
  decoding, bitwise identical to Pillow.  The header is read first, to
  check the pixel count (decompression bombs) before anything is decoded:
  JPEG frame headers directly, anything else (or any unusual JPEG) with Pillow.
* TIFF goes through tifffile (8/16-bit integer and 32-bit float, written
  losslessly with Deflate compression).
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
import warnings
from pathlib import Path
from typing import Iterator

from filterkit.errors import UserError
from filterkit.io import atomic as _atomic

__all__ = [
    "ImageError",
    "IMAGE_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "image_format",
    "is_image_path",
    "read_image",
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


# JPEG frame headers (SOF0-SOF15 but DHT, JPG and DAC): precision, height, width, components
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}


def _jpeg_frame(data: bytes) -> tuple[int, int, str] | None:
    """``(width, height, mode)`` from the markers of a well-formed JPEG before its first scan, else None.

    Walks the marker segments to the frame header (0.01 ms against Pillow's 0.3 ms for a camera
    JPEG); anything unusual (a zero height, no frame before the scan, a cut header, 2 components)
    returns None and Pillow reads the header instead, with its messages.
    """
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF:
            if length < 8 or i + 10 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            mode = _JPEG_MODES.get(data[i + 9])
            return (width, height, mode) if width and height and mode else None
        if length < 2:
            return None
        i += 2 + length
    return None


def _read_header(path: Path, data: bytes, fmt: str, max_pixels: int | None) -> str:
    """Check the header (nothing decoded yet): the pixel count before decoding; return Pillow's mode string."""
    frame = _jpeg_frame(data) if fmt == "jpeg" else None
    if frame is not None:
        width, height, mode = frame
        _check_pixels(path, width, height, max_pixels)
        return mode
    from PIL import Image, UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None if max_pixels is None else max(max_pixels, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                mode = im.mode
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refused as a possible decompression bomb ({_reason(exc)})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _unreadable(path, _header_reason(data, fmt, exc)) from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    _check_pixels(path, width, height, max_pixels)
    return mode


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


def _header_reason(data: bytes, fmt: str, exc: BaseException) -> str:
    """Short reason why Pillow could not read the header of ``fmt`` file ``data``."""
    from PIL import UnidentifiedImageError

    name = fmt.upper()
    found = _sniff(data)
    if found is None:
        return f"not a readable {name} file: no {name} signature"
    if found != fmt:
        return f"not a readable {name} file: the data starts like a {found.upper()} file"
    if isinstance(exc, UnidentifiedImageError):  # Pillow hides its format plugin's reason
        exc = _plugin_error(data, fmt) or exc
    text = _reason(exc)
    if "truncat" in text.lower() or "buffer" in text.lower():  # struct.error on a short read
        return f"truncated {name} header"
    if isinstance(exc, UnidentifiedImageError):
        return f"damaged {name} header"
    return f"damaged {name} header: {text}"


def _plugin_error(data: bytes, fmt: str) -> BaseException | None:
    """The exception of Pillow's own ``fmt`` plugin on ``data`` (None if it opens)."""
    from PIL import BmpImagePlugin, JpegImagePlugin, PngImagePlugin

    plugin = {
        "png": PngImagePlugin.PngImageFile,
        "jpeg": JpegImagePlugin.JpegImageFile,
        "bmp": BmpImagePlugin.BmpImageFile,
    }[fmt]
    try:
        plugin(io.BytesIO(data)).close()
    except Exception as exc:  # noqa: BLE001 - any plugin error is the reason we report
        return exc
    return None


def _decode_with_cv2(path: Path, data: bytes, fmt: str, mode: str, bgr: bool):
    import cv2
    import numpy as np

    # JPEG: ANYCOLOR|ANYDEPTH keeps grey grey and applies EXIF orientation;
    # others: UNCHANGED keeps alpha and 16-bit samples.
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if fmt == "jpeg" else cv2.IMREAD_UNCHANGED
    with _quiet_stderr():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise _unreadable(path, _pillow_reason(data, fmt))
    if image.ndim == 3 and image.shape[2] == 4 and mode in ("LA", "La"):
        if np.array_equal(image[..., 0], image[..., 1]):
            return np.ascontiguousarray(image[..., [0, 3]])  # grey + alpha stays grey + alpha
    if image.ndim == 3 and not bgr:
        image = _swap_red_blue(image)
    return image


def _swap_red_blue(image):
    """RGB(A) <-> BGR(A); other channel counts unchanged."""
    import cv2

    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return image


def _pillow_reason(data: bytes, fmt: str) -> str:
    """Why Pillow cannot decode ``data`` (used only after OpenCV failed), e.g. ``"truncated PNG data"``."""
    from PIL import Image

    name = fmt.upper()
    try:
        with Image.open(io.BytesIO(data)) as im:
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
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes)")
    if fmt == "tiff":
        image = _check_array(path, _read_tiff(path, data, max_pixels))
        return _swap_red_blue(image) if bgr else image
    mode = _read_header(path, data, fmt, max_pixels)
    return _check_array(path, _decode_with_cv2(path, data, fmt, mode, bgr))


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
        if fmt != "png" or image.dtype != np.uint8:
            raise ImageError(f"{path}: grey+alpha {image.dtype} cannot be written as {fmt.upper()}; use --format tiff")
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image, "LA").save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    import cv2

    if not bgr:
        image = _swap_red_blue(image)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg" else []
    ok, encoded = cv2.imencode(_CV2_SUFFIX[fmt], image, params)
    if not ok:  # pragma: no cover - OpenCV reports failure without a reason
        raise ImageError(f"{path}: OpenCV could not encode the image as {fmt.upper()}")
    return encoded.tobytes()


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
