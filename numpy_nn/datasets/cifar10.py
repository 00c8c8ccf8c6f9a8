"""CIFAR-10 (Krizhevsky, 2009): 32×32 colour images of 10 classes.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` as Keras does: uint8 images
in NHWC layout ``(N, 32, 32, 3)`` and uint8 labels of shape ``(N, 1)``.

Sources, in order: ``$NUMPY_NN_DATA_DIR`` holding ``cifar10.npz`` (arrays ``x_train``,
``y_train``, ``x_test``, ``y_test``; the project's shared copy has the full training set but
only the first 1,000 test images), Keras's extracted cache ``cifar-10-batches-py``, or a
download of the canonical archive (verified by SHA-256). The Python batches of the canonical
archive are pickles; they are read with an unpickler that only accepts NumPy arrays, lists,
dicts and bytes, so a tampered file cannot run code.
"""
from __future__ import annotations

import io
import os
import pickle
import tarfile
import warnings

import numpy as np

from numpy_nn.datasets._files import (
    DatasetNotFoundError,
    data_dir_candidates,
    download,
    download_cache_dir,
    keras_cache_dir,
    not_found_message,
)

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR batch dicts and refuses every other global (no code execution)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"CIFAR-10 batch file refers to {module}.{name}, which a "
                                     f"data file never needs; refusing to load it")


def _parse_batch(data):
    batch = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    return images.transpose(0, 2, 3, 1), labels.reshape(-1, 1)


def _from_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    for key in ("x_train", "x_test"):
        if arrays[key].dtype != np.uint8 or arrays[key].shape[1:] != (32, 32, 3):
            raise ValueError(f"{path}: {key} should be uint8 of shape (N, 32, 32, 3)")
    if len(arrays["x_test"]) < 10000:
        # stacklevel 4: _from_npz <- _read_all <- load_data <- the caller's line
        warnings.warn(f"{path} holds only {len(arrays['x_test'])} of the 10,000 CIFAR-10 test "
                      f"images; load_data() returns those", stacklevel=4)
    return arrays


def _read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def _from_batch_dir(directory):
    parts = [_parse_batch(_read_bytes(os.path.join(directory, name))) for name in BATCHES]
    return {"x_train": np.concatenate([p[0] for p in parts[:5]]),
            "y_train": np.concatenate([p[1] for p in parts[:5]]),
            "x_test": parts[5][0], "y_test": parts[5][1]}


def _from_archive(path):
    with tarfile.open(path, "r:gz") as archive:
        found = {}
        for member in archive.getmembers():
            name = os.path.basename(member.name)
            if member.isfile() and name in BATCHES:
                found[name] = _parse_batch(archive.extractfile(member).read())
    missing = set(BATCHES) - set(found)
    if missing:
        raise ValueError(f"{path} lacks CIFAR-10 batches {sorted(missing)}")
    parts = [found[name] for name in BATCHES]
    return {"x_train": np.concatenate([p[0] for p in parts[:5]]),
            "y_train": np.concatenate([p[1] for p in parts[:5]]),
            "x_test": parts[5][0], "y_test": parts[5][1]}


def search_places():
    npz = [os.path.join(d, "cifar10.npz") for d in data_dir_candidates("cifar10", "cifar-10")]
    batch_dirs = [os.path.join(keras_cache_dir(), "cifar-10-batches-py-target",
                               "cifar-10-batches-py"),
                  os.path.join(keras_cache_dir(), "cifar-10-batches-py")]
    archive = os.path.join(download_cache_dir(), "cifar-10-python.tar.gz")
    return npz, batch_dirs, archive


def _read_all():
    npz, batch_dirs, archive = search_places()
    for path in npz:
        if os.path.isfile(path):
            return _from_npz(path)
    for directory in batch_dirs:
        if all(os.path.isfile(os.path.join(directory, name)) for name in BATCHES):
            return _from_batch_dir(directory)
    if not os.path.isfile(archive):
        try:
            download(ORIGIN, archive, sha256=ARCHIVE_SHA256)
        except DatasetNotFoundError as error:
            raise DatasetNotFoundError(not_found_message(
                "CIFAR-10", npz + batch_dirs + [archive],
                f"Download failed ({error}). Set NUMPY_NN_DATA_DIR to a folder holding "
                f"cifar10.npz (or cifar10/cifar10.npz), or place Keras's extracted "
                f"cifar-10-batches-py in ~/.keras/datasets.")) from None
    return _from_archive(archive)


def load_data():
    """``(x_train, y_train), (x_test, y_test)``; uint8, NHWC, labels of shape ``(N, 1)``.

    Read from disk at each call, as Keras does: the arrays are fresh (the caller owns them)
    and nothing stays in memory after the caller drops them."""
    arrays = _read_all()
    return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))
