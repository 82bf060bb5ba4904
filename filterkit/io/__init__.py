"""File input and output: atomic durable writes and reports (:mod:`.atomic`), images (:mod:`.images`)."""

from filterkit.io.atomic import (
    atomic_write,
    atomic_write_bytes,
    environment,
    refuse_overwrite,
    remove_stale_temporaries,
    write_json,
    write_report,
)
from filterkit.io.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_FORMATS,
    ImageError,
    content_format,
    decode_image,
    encode_image,
    image_format,
    is_image_path,
    read_image,
    write_image,
)

__all__ = [
    "atomic_write", "atomic_write_bytes", "environment", "refuse_overwrite", "remove_stale_temporaries",
    "write_json", "write_report", "DEFAULT_MAX_PIXELS", "IMAGE_FORMATS", "ImageError", "content_format",
    "decode_image", "encode_image", "image_format", "is_image_path", "read_image", "write_image",
]
