"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 70,000 grey 28×28 images of 10 clothing classes.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` exactly as Keras does:
uint8 images of shape ``(60000, 28, 28)`` / ``(10000, 28, 28)`` and uint8 labels of shape
``(60000,)`` / ``(10000,)``. The decompressed files are checked against the canonical MD5s.

Like Keras, every call reads the files again and returns fresh arrays; nothing is kept in
memory between calls, so a training script holds the images once (the 47 MB of uint8
training images, plus whatever float copy it makes), not once more in a loader cache.
"""
from __future__ import annotations

import gzip
import hashlib
import os

import numpy as np

from numpy_nn.datasets._files import (
    DatasetNotFoundError,
    data_dir_candidates,
    download,
    download_cache_dir,
    keras_cache_dir,
    not_found_message,
)

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


#: the IDX magic numbers of unsigned-byte data: 3-D (images) and 1-D (labels)
_IMAGES_MAGIC, _LABELS_MAGIC = b"\x00\x00\x08\x03", b"\x00\x00\x08\x01"
_CHUNK = 1 << 20


def _read_idx(path, stem):
    """The IDX file at ``path`` as a writable uint8 array, decompressed straight into it (no
    intermediate bytes object, so reading never holds the data twice), MD5-checked."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            magic = handle.read(4)
            if magic == _IMAGES_MAGIC:
                header = magic + handle.read(12)
                shape = tuple(int.from_bytes(header[i:i + 4], "big") for i in (4, 8, 12))
            elif magic == _LABELS_MAGIC:
                header = magic + handle.read(4)
                shape = (int.from_bytes(header[4:8], "big"),)
            else:
                raise ValueError(f"Fashion-MNIST file {path} is not an IDX file of unsigned "
                                 f"bytes (it starts with {magic!r})")
            array = np.empty(shape, np.uint8)
            view = memoryview(array).cast("B")
            filled = 0
            while filled < len(view):
                read = handle.readinto(view[filled:filled + _CHUNK])
                if not read:
                    break
                filled += read
            trailing = handle.read(1)
    except (OSError, EOFError) as error:
        raise ValueError(f"Fashion-MNIST file {path} is damaged: {error}") from None
    digest = hashlib.md5(header)
    digest.update(view[:filled])
    if filled < len(view) or trailing or digest.hexdigest() != FILES[stem]:
        raise ValueError(f"Fashion-MNIST file {path} does not match the canonical content "
                         f"(md5 {digest.hexdigest()}"
                         f"{', truncated' if filled < len(view) else ''}"
                         f"{', longer than its header says' if trailing else ''}); delete it or "
                         f"fix $NUMPY_NN_DATA_DIR")
    return array


def _read_all():
    """The four arrays, by file stem, read from the first place that has them."""
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
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, read from disk at each call
    (fresh arrays the caller owns and may modify)."""
    arrays = _read_all()
    return ((arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
            (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]))
