"""Digit data sets for the learnable-filter experiments: MNIST from IDX files, and a tiny built-in set.

* :func:`read_idx` reads one IDX file (``.gz`` or raw): big-endian header
  ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian int32 sizes, then the data.
* :func:`load_mnist` reads the four standard MNIST files from a folder, checks
  their checksums against :data:`KNOWN_CHECKSUMS` (unless ``verify=False``) and
  their shapes.  The training images may be the original
  ``train-images-idx3-ubyte.gz`` or the rebuilt ``train-images-idx3-ubyte.recon.gz``
  (see ``shared/data/mnist/SOURCE.md``); each is accepted under its own name.
* :func:`load_builtin_digits` turns scikit-learn's 1,797 8x8 digits into
  28x28 MNIST-like images (so everything runs offline and in tests).
* :func:`load_digits_data` picks one of those from a user-facing ``--data`` value.
* :func:`make_loaders` turns :class:`DigitsData` into torch batches, normalised with
  the MNIST mean and std (torch is imported there only: the CLI's parser imports this module).

Where MNIST is looked for (first match wins; the same order as the text app):
the ``--data`` folder given by the user, else the folder in the environment
variable ``FILTERKIT_DATA``, else ``../shared/data/mnist`` next to the
repository (or next to the current folder).  For the first two, the MNIST files
may sit in the folder directly or in its ``mnist/`` subfolder.  ``builtin``
selects the built-in digits.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from filterkit.apps.digits.config import MNIST_MEAN, MNIST_STD

from filterkit.errors import UserError

__all__ = [
    "BUILTIN",
    "DATA_ENV_VAR",
    "KNOWN_CHECKSUMS",
    "MNIST_FILES",
    "DigitsData",
    "file_checksum",
    "find_mnist_dir",
    "load_builtin_digits",
    "load_digits_data",
    "load_mnist",
    "make_loaders",
    "read_idx",
    "to_tensor",
    "verify_checksum",
    "write_idx",
]

BUILTIN = "builtin"
DATA_ENV_VAR = "FILTERKIT_DATA"

# IDX type code -> numpy dtype (big-endian where it matters), from the IDX format description.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# role -> accepted file names, in order of preference.
MNIST_FILES: dict[str, tuple[str, ...]] = {
    "train_images": ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte.recon.gz"),
    "train_labels": ("train-labels-idx1-ubyte.gz",),
    "test_images": ("t10k-images-idx3-ubyte.gz",),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",),
}

# file name -> (hash algorithm, hex digest).  sha256 values from shared/data/mnist/SOURCE.md;
# the original training-image file is only known by its widely published MD5.
KNOWN_CHECKSUMS: dict[str, tuple[str, str]] = {
    "t10k-images-idx3-ubyte.gz": ("sha256", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": ("sha256", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    "train-labels-idx1-ubyte.gz": ("sha256", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "train-images-idx3-ubyte.recon.gz": (
        "sha256",
        "2a81acb6247434f7dd8c9d0bf7eb0c6dbd27f17befa8dfcac9316e45b2100b87",
    ),
    "train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
}

_RECON_NAME = "train-images-idx3-ubyte.recon.gz"


@dataclass(frozen=True)
class DigitsData:
    """Train and test digits, MNIST layout.

    Images are ``uint8`` arrays of shape ``(N, 28, 28)`` (0 = background,
    255 = ink); labels are ``int64`` arrays of shape ``(N,)`` with values 0..9.
    ``name`` is a short id (``"mnist"``, ``"builtin"``); ``description`` is the
    one line to cite in reports.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    name: str
    description: str
    source: str = ""

    def limit(self, n_train: int | None) -> "DigitsData":
        """The same data with only the first ``n_train`` training images (all when ``None``)."""
        if n_train is None or n_train >= len(self.train_labels):
            return self
        if n_train < 1:
            raise UserError(f"--limit must be at least 1, got {n_train}")
        return replace(
            self,
            train_images=self.train_images[:n_train],
            train_labels=self.train_labels[:n_train],
            description=f"{self.description}, first {n_train} training images",
        )

    def summary(self) -> dict:
        """Counts and provenance, JSON-ready."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "train": int(len(self.train_labels)),
            "test": int(len(self.test_labels)),
            "image_shape": list(self.train_images.shape[1:]),
        }


# --------------------------------------------------------------------------- IDX


def _open_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise UserError(f"{path}: damaged gzip data ({exc})") from None
    if path.suffix == ".gz":
        raise UserError(f"{path}: not a gzip file (the name ends in .gz but the gzip magic bytes are missing)")
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a native-endian numpy array.

    Raises :class:`UserError` naming the file when it is missing, not IDX,
    not valid gzip, truncated, or longer than its header says.
    """
    path = Path(path)
    data = _open_bytes(path)
    if len(data) < 4:
        raise UserError(f"{path}: truncated IDX file ({len(data)} bytes, the header alone needs 4)")
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise UserError(f"{path}: not an IDX file (magic bytes {data[:4].hex()})")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise UserError(f"{path}: truncated IDX file (header needs {header_len} bytes, file has {len(data)})")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_len
    if found < expected:
        raise UserError(
            f"{path}: truncated IDX file (header says shape {shape}, {expected} data bytes; found {found})"
        )
    if found > expected:
        raise UserError(f"{path}: {found - expected} unexpected bytes after the IDX data of shape {shape}")
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``), atomically.

    The inverse of :func:`read_idx`; used to make test fixtures and subsets.
    """
    from filterkit.io import atomic_write

    path = Path(path)
    array = np.asarray(array)
    for code, dtype in _IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            break
    else:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX needs 1..255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(dtype, copy=False).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    return atomic_write(path, lambda tmp: tmp.write_bytes(payload))


# --------------------------------------------------------------------------- checksums


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of the file's bytes."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: tuple[str, str] | None = None) -> None:
    """Check ``path`` against ``expected = (algorithm, hex)`` (default: :data:`KNOWN_CHECKSUMS` by file name).

    Raises :class:`UserError` on a mismatch, or when no checksum is known for the name.
    """
    path = Path(path)
    if expected is None:
        expected = KNOWN_CHECKSUMS.get(path.name)
        if expected is None:
            raise UserError(f"{path}: no known checksum for this file name (use --no-verify to skip the check)")
    algorithm, want = expected
    got = file_checksum(path, algorithm)
    if got != want.lower():
        raise UserError(
            f"{path}: {algorithm} {got} does not match the known {want}; the file is damaged or not the "
            "standard MNIST file (use --no-verify to skip the check)"
        )


# --------------------------------------------------------------------------- MNIST


def _has_mnist_files(folder: Path) -> bool:
    return any((folder / name).is_file() for names in MNIST_FILES.values() for name in names)


def _default_mnist_dirs() -> list[Path]:
    """``../shared/data/mnist`` next to the repository and next to the current folder."""
    repo = Path(__file__).resolve().parents[2]  # apps/digits/data.py -> the repository
    return [repo.parent / "shared" / "data" / "mnist", Path.cwd().parent / "shared" / "data" / "mnist"]


def find_mnist_dir(data: str | os.PathLike | None = None) -> Path:
    """The folder holding the MNIST files (see the module docstring for the search order).

    ``data`` (else ``$FILTERKIT_DATA``) may hold the files or a ``mnist/`` subfolder with them.
    """
    if data is None:
        data = os.environ.get(DATA_ENV_VAR)
    if not data:
        for candidate in _default_mnist_dirs():
            if _has_mnist_files(candidate):
                return candidate
        raise UserError(
            f"no data folder: pass --data DIR (a folder with the MNIST .gz files), set {DATA_ENV_VAR}=DIR, "
            f"or use --data {BUILTIN} for the small built-in digits"
        )
    folder = Path(data).expanduser()
    if not folder.exists():
        raise UserError(f"{folder}: data folder not found")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder (expected a folder with the MNIST .gz files)")
    if not _has_mnist_files(folder) and _has_mnist_files(folder / "mnist"):
        return folder / "mnist"
    return folder


def _mnist_file(folder: Path, role: str) -> Path:
    for name in MNIST_FILES[role]:
        if (folder / name).is_file():
            return folder / name
    names = " or ".join(MNIST_FILES[role])
    raise UserError(f"{folder / MNIST_FILES[role][0]}: file not found (expected {names} in {folder})")


def load_mnist(data: str | os.PathLike | None = None, verify: bool = True) -> DigitsData:
    """Load MNIST (60,000 train + 10,000 test digits) from the IDX ``.gz`` files in a folder.

    ``data`` is the folder (see :func:`find_mnist_dir`).  With ``verify`` every
    file's checksum must match :data:`KNOWN_CHECKSUMS`.  Shapes and label
    values are always checked.
    """
    folder = find_mnist_dir(data)
    paths = {role: _mnist_file(folder, role) for role in MNIST_FILES}
    if verify:
        for path in paths.values():
            verify_checksum(path)
    arrays = {role: read_idx(path) for role, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_path, label_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise UserError(f"{image_path}: expected uint8 images of 28x28, got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise UserError(f"{label_path}: expected a 1-D uint8 label array, got {labels.dtype} {labels.shape}")
        if len(labels) != len(images):
            raise UserError(f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path.name}")
        if labels.size and labels.max() > 9:
            raise UserError(f"{label_path}: label {int(labels.max())} out of range 0..9")
    rebuilt = paths["train_images"].name == _RECON_NAME
    description = "MNIST (LeCun et al. 1998)"
    if rebuilt:
        description += "; MNIST train (rebuilt, ±1 gray level), test original"
    return DigitsData(
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].astype(np.int64),
        name="mnist",
        description=description,
        source=str(folder),
    )


# --------------------------------------------------------------------------- built-in digits


def _upsample_digits(images_8x8: np.ndarray) -> np.ndarray:
    """(N, 8, 8) values 0..16 -> (N, 28, 28) uint8: bilinear to 20x20, centred with a 4-pixel margin like MNIST."""
    from PIL import Image

    out = np.zeros((len(images_8x8), 28, 28), dtype=np.uint8)
    for i, small in enumerate(images_8x8):
        img = Image.fromarray(small.astype(np.float32) * (255.0 / 16.0), mode="F")
        big = np.asarray(img.resize((20, 20), Image.Resampling.BILINEAR))
        out[i, 4:24, 4:24] = np.clip(np.rint(big), 0, 255).astype(np.uint8)
    return out


def load_builtin_digits(test_fraction: float = 0.2) -> DigitsData:
    """scikit-learn's 1,797 8x8 digits upsampled to 28x28 (1,437 train / 360 test, stratified, fixed split)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        raise UserError("the built-in digits need scikit-learn (pip install scikit-learn)") from None
    digits = load_digits()
    images = _upsample_digits(digits.images)
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=0
    )
    return DigitsData(
        train_images=np.ascontiguousarray(train_x),
        train_labels=np.ascontiguousarray(train_y),
        test_images=np.ascontiguousarray(test_x),
        test_labels=np.ascontiguousarray(test_y),
        name=BUILTIN,
        description="scikit-learn 8x8 digits (UCI optdigits test set) upsampled to 28x28",
        source="sklearn.datasets.load_digits",
    )


def load_digits_data(data: str | os.PathLike | None = None, verify: bool = True) -> DigitsData:
    """``"builtin"`` -> :func:`load_builtin_digits`; a folder or ``None`` -> :func:`load_mnist` (search order above)."""
    if data is not None and str(data) == BUILTIN:
        return load_builtin_digits()
    if data is None and os.environ.get(DATA_ENV_VAR) == BUILTIN:
        return load_builtin_digits()
    return load_mnist(data, verify=verify)


# --------------------------------------------------------------------------- torch batches


def to_tensor(images: np.ndarray):
    """``uint8`` images ``(N, 28, 28)`` -> normalised ``float32`` tensor ``(N, 1, 28, 28)`` (MNIST mean/std)."""
    import torch

    x = torch.from_numpy(np.asarray(images)).to(torch.float32)
    return x.div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)


def _tensors(images: np.ndarray, labels: np.ndarray):
    import torch

    return torch.utils.data.TensorDataset(to_tensor(images), torch.from_numpy(labels))


def make_loaders(data: DigitsData, batch_size: int, seed: int):
    """``(train_loader, test_loader)`` of normalised ``(N, 1, 28, 28)`` images; training order fixed by ``seed``."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    train = torch.utils.data.DataLoader(
        _tensors(data.train_images, data.train_labels), batch_size=batch_size, shuffle=True, generator=generator
    )
    test = torch.utils.data.DataLoader(_tensors(data.test_images, data.test_labels), batch_size=1000)
    return train, test
