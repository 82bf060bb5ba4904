"""One image through a pipe: ``filterkit filter - ... -o -`` (standard input to standard output).

The input is one PNG, JPEG, TIFF or BMP image, told by its content (there is no file name); it is
read whole, at most :data:`MAX_STREAM_BYTES`, and its pixel count is checked against the spec's
``max_pixels`` before decoding, as for files.  The output is encoded in the input's format unless the
spec names one (``--format``, ``--float``).
"""

from __future__ import annotations

from typing import BinaryIO

from filterkit.batch.engine import filter_array
from filterkit.batch.scaling import fit_format
from filterkit.batch.spec import FilterSpec
from filterkit.errors import UserError
from filterkit.io import content_format, decode_image, encode_image

__all__ = ["MAX_STREAM_BYTES", "STDIN_NAME", "read_stream", "filter_bytes"]

#: largest input accepted on standard input (bytes): 1 GiB
MAX_STREAM_BYTES = 1 << 30
#: what messages call standard input
STDIN_NAME = "<stdin>"


def read_stream(stream: BinaryIO, limit: int = MAX_STREAM_BYTES, name: str = STDIN_NAME) -> bytes:
    """All bytes of ``stream``; :class:`UserError` when there are none or more than ``limit``."""
    data = stream.read(limit + 1)
    if not data:
        raise UserError(f"{name}: no image data (empty input)")
    if len(data) > limit:
        raise UserError(f"{name}: more than {limit:,} bytes ({limit / 2**30:g} GiB), the limit for one image "
                        "on standard input; give the file's name instead")
    return data


def filter_bytes(data: bytes, spec: FilterSpec, name: str = STDIN_NAME) -> tuple[bytes, str]:
    """Decode one image, filter it as a batch file would be (:func:`filter_array`) and encode it.

    Returns ``(encoded bytes, format)``.  Raises :class:`filterkit.io.ImageError` (a
    :class:`UserError`) naming ``name`` for data that is not a readable image, or that the output
    format cannot hold.
    """
    image = decode_image(data, name, max_pixels=spec.max_pixels, bgr=True)
    fmt = spec.out_format or content_format(data) or "png"
    out = filter_array(image, spec)
    return encode_image(fit_format(out, fmt), fmt, quality=spec.quality, path=name, bgr=True), fmt
