"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 70,000 grey 28×28 images of 10 clothing classes.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` exactly as Keras does:
uint8 images of shape ``(60000, 28, 28)`` / ``(10000, 28, 28)`` and uint8 labels of shape
``(60000,)`` / ``(10000,)``. The decompressed files are checked against the canonical MD5s.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os

import numpy as np

from numpy_nn.datasets._files import (DatasetNotFoundError, data_dir_candidates, download,
                                      download_cache_dir, keras_cache_dir, not_found_message)

FILES = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
#: MD5 of the canonical .gz files, checked after a download
GZ_MD5 = {
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


def search_dirs():
    return (data_dir_candidates("fashion_mnist", "fashion-mnist")
            + [os.path.join(keras_cache_dir(), "fashion-mnist"),
               "/usr/share/datasets/fashion-mnist"])


def _find(stem, dirs):
    for directory in dirs:
        for name in (stem + ".gz", stem):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
    return None


def _read_idx(path, stem):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"Fashion-MNIST file {path} is damaged: {error}") from None
    if hashlib.md5(data).hexdigest() != FILES[stem]:
        raise ValueError(f"Fashion-MNIST file {path} does not match the canonical content "
                         f"(md5 {hashlib.md5(data).hexdigest()}); delete it or fix "
                         f"$NUMPY_NN_DATA_DIR")
    if data[2:4] == b"\x08\x03":
        count = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)


@functools.lru_cache(maxsize=1)
def _load_cached():
    dirs = search_dirs()
    arrays = {}
    for stem in FILES:
        path = _find(stem, dirs)
        if path is None:
            target = os.path.join(download_cache_dir(), "fashion-mnist", stem + ".gz")
            try:
                path = download(ORIGIN + stem + ".gz", target, md5=GZ_MD5[stem])
            except DatasetNotFoundError as error:
                raise DatasetNotFoundError(not_found_message(
                    "Fashion-MNIST", dirs,
                    f"Download failed ({error}). Put the four canonical files "
                    f"({', '.join(s + '.gz' for s in FILES)}) in a folder and set "
                    f"NUMPY_NN_DATA_DIR to it, or install Debian's dataset-fashion-mnist.")) \
                    from None
        arrays[stem] = _read_idx(path, stem)
    return arrays


def load_data():
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays (copies, safe to modify)."""
    arrays = _load_cached()
    return ((arrays["train-images-idx3-ubyte"].copy(), arrays["train-labels-idx1-ubyte"].copy()),
            (arrays["t10k-images-idx3-ubyte"].copy(), arrays["t10k-labels-idx1-ubyte"].copy()))
