"""Tests for filterkit.apps.digits.data: IDX reader, checksums, MNIST folder lookup, built-in digits."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from filterkit.apps.digits import data as datasets
from filterkit.apps.digits.data import (
    KNOWN_CHECKSUMS,
    find_mnist_dir,
    load_builtin_digits,
    load_digits_data,
    load_mnist,
    read_idx,
    verify_checksum,
    write_idx,
)

from filterkit.errors import UserError

SHARED_MNIST = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"


def _write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload, mtime=0))
    return path


def _fake_mnist(folder: Path, n_train: int = 12, n_test: int = 5, train_name: str = "train-images-idx3-ubyte.gz"):
    rng = np.random.default_rng(0)
    files = {
        train_name: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in files.items():
        write_idx(folder / name, array)
    return files


# --------------------------------------------------------------------------- IDX reader


def test_read_idx_parses_big_endian_header_written_by_hand(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    # magic 0x00000803 = 2051 (uint8, 3 dims), then big-endian int32 sizes
    header = bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big")
    assert int.from_bytes(header[:4], "big") == 2051
    path = _write_gz(tmp_path / "imgs-idx3-ubyte.gz", header + images.tobytes())
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)


def test_read_idx_labels_magic_2049(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    header = bytes([0, 0, 0x08, 1]) + (5).to_bytes(4, "big")
    assert int.from_bytes(header[:4], "big") == 2049
    path = _write_gz(tmp_path / "labels-idx1-ubyte.gz", header + labels.tobytes())
    np.testing.assert_array_equal(read_idx(path), labels)


def test_read_idx_uncompressed_and_multibyte_big_endian(tmp_path):
    values = np.array([[1, -2], [300, 70000]], dtype=np.int32)
    header = bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big")
    path = tmp_path / "ints-idx2-int"
    path.write_bytes(header + values.astype(">i4").tobytes())
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype.isnative


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_idx_round_trip(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / "x.idx.gz", array)
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_truncated_file_names_file(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = _write_gz(tmp_path / "short-idx3-ubyte.gz", header + bytes(28 * 28 * 3))
    with pytest.raises(UserError, match=r"short-idx3-ubyte\.gz: truncated IDX file"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    path = _write_gz(tmp_path / "hdr.gz", bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(UserError, match="hdr.gz: truncated IDX file"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    full = gzip.compress(bytes([0, 0, 8, 1]) + (1000).to_bytes(4, "big") + bytes(1000), mtime=0)
    path = tmp_path / "cut.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(UserError, match="cut.gz: damaged gzip data"):
        read_idx(path)


def test_read_idx_bad_magic_and_extra_bytes(tmp_path):
    bad = _write_gz(tmp_path / "bad.gz", b"PK\x03\x04" + bytes(20))
    with pytest.raises(UserError, match="bad.gz: not an IDX file"):
        read_idx(bad)
    extra = _write_gz(tmp_path / "extra.gz", bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes(3))
    with pytest.raises(UserError, match="extra.gz: 1 unexpected bytes"):
        read_idx(extra)


def test_read_idx_missing_and_not_gzip(tmp_path):
    with pytest.raises(UserError, match="nope.gz: file not found"):
        read_idx(tmp_path / "nope.gz")
    plain = tmp_path / "plain.gz"
    plain.write_bytes(bytes([0, 0, 8, 1]) + (1).to_bytes(4, "big") + b"\x07")
    with pytest.raises(UserError, match="plain.gz: not a gzip file"):
        read_idx(plain)


# --------------------------------------------------------------------------- checksums


def test_verify_checksum_accepts_match_and_rejects_mismatch(tmp_path):
    path = tmp_path / "blob.gz"
    path.write_bytes(b"hello mnist")
    good = hashlib.sha256(b"hello mnist").hexdigest()
    verify_checksum(path, ("sha256", good))
    verify_checksum(path, ("md5", hashlib.md5(b"hello mnist").hexdigest()))
    with pytest.raises(UserError, match=r"blob\.gz: sha256 .* does not match .*--no-verify"):
        verify_checksum(path, ("sha256", "0" * 64))


def test_verify_checksum_uses_known_table_by_name(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"not the real labels")
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz: sha256"):
        verify_checksum(path)
    with pytest.raises(UserError, match="no known checksum"):
        verify_checksum(tmp_path.joinpath("other.gz"))


def test_known_checksums_cover_every_accepted_name():
    names = {name for names in datasets.MNIST_FILES.values() for name in names}
    assert names == set(KNOWN_CHECKSUMS)
    assert "train-images-idx3-ubyte.recon.gz" in names


# --------------------------------------------------------------------------- MNIST folder


def test_load_mnist_from_synthetic_folder(tmp_path):
    files = _fake_mnist(tmp_path / "mnist", train_name="train-images-idx3-ubyte.recon.gz")
    # the synthetic files fail the checksum, so verification must refuse them ...
    with pytest.raises(UserError, match="does not match"):
        load_mnist(tmp_path / "mnist")
    # ... and --no-verify accepts them; the parent folder works too (mnist/ subfolder)
    data = load_mnist(tmp_path, verify=False)
    np.testing.assert_array_equal(data.train_images, files["train-images-idx3-ubyte.recon.gz"])
    np.testing.assert_array_equal(data.test_labels, files["t10k-labels-idx1-ubyte.gz"])
    assert data.train_labels.dtype == np.int64
    assert "rebuilt" in data.description
    assert data.limit(4).train_images.shape == (4, 28, 28)
    assert data.limit(4).test_images.shape == (5, 28, 28)


def test_load_mnist_missing_file_names_it(tmp_path):
    _fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match=r"t10k-labels-idx1-ubyte\.gz: file not found"):
        load_mnist(tmp_path, verify=False)


def test_load_mnist_count_mismatch(tmp_path):
    _fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(UserError, match="3 labels for 12 images"):
        load_mnist(tmp_path, verify=False)


def test_find_mnist_dir_env_and_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "_default_mnist_dirs", lambda: [tmp_path / "nothing-here"])
    with pytest.raises(UserError, match="--data DIR"):
        find_mnist_dir(None)
    _fake_mnist(tmp_path / "fallback")
    monkeypatch.setattr(datasets, "_default_mnist_dirs", lambda: [tmp_path / "nothing-here", tmp_path / "fallback"])
    assert find_mnist_dir(None) == tmp_path / "fallback"
    _fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(tmp_path))
    assert find_mnist_dir(None) == tmp_path / "mnist"
    with pytest.raises(UserError, match="data folder not found"):
        find_mnist_dir(tmp_path / "absent")


# --------------------------------------------------------------------------- built-in digits


def test_builtin_digits_shapes_and_dtypes():
    data = load_builtin_digits()
    assert data.train_images.shape == (1437, 28, 28) and data.test_images.shape == (360, 28, 28)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64
    assert set(np.unique(data.train_labels)) == set(range(10))
    # MNIST-like: ink centred in a 20x20 box, 4-pixel empty margin, full 0..255 range
    assert data.train_images[:, :4].max() == 0 and data.train_images[:, :, 24:].max() == 0
    assert data.train_images.max() == 255
    assert load_digits_data("builtin").name == "builtin"


@pytest.mark.data
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"real MNIST not present at {SHARED_MNIST}")
def test_real_mnist_checksums_and_counts():
    data = load_mnist(SHARED_MNIST)
    assert data.train_images.shape == (60000, 28, 28)
    assert data.test_images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(
        np.bincount(data.test_labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
