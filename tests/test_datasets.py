"""``load_data()`` returns Keras's shapes and dtypes from ``$NUMPY_NN_DATA_DIR``, and a
missing dataset raises ``DatasetNotFoundError`` saying where it looked.

The expected statistics come from ``shared/data/README.md`` (which verified them against the
canonical files): Fashion-MNIST train pixel mean 72.94035, 6,000 images per class; CIFAR-10
per-channel train mean (125.307, 122.950, 113.865), labels starting 6, 9, 9, 4, 1.
"""
import gc
import gzip
import os
import tracemalloc
import warnings

import numpy as np
import pytest

from numpy_nn.datasets import DatasetNotFoundError, cifar10, fashion_mnist


def test_fashion_mnist_has_keras_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert x_train.mean() == pytest.approx(72.94035, abs=5e-6)
    assert np.array_equal(np.bincount(y_train), np.full(10, 6000))
    assert len(fashion_mnist.CLASS_NAMES) == 10
    x_train[:] = 0   # each call reads the files again: the caller's arrays are its own
    assert fashion_mnist.load_data()[0][0].mean() == pytest.approx(72.94035, abs=5e-6)


@pytest.mark.parametrize("loader", [fashion_mnist, cifar10])
def test_loaders_keep_nothing_once_the_caller_drops_the_arrays(loader):
    """As in Keras, ``load_data`` holds no copy of the data for the rest of the process (a
    cache would count the images twice in a training script's memory)."""
    gc.collect()
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # the shared CIFAR-10 copy's short test set
            arrays = loader.load_data()
        held = tracemalloc.get_traced_memory()[0]
        del arrays
        gc.collect()
        left = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held > 50e6, "tracemalloc saw the arrays (the check below means something)"
    assert left < 1e6, f"{left / 1e6:.0f} MB still held after the arrays were dropped"


@pytest.fixture
def fashion_labels(tmp_path):
    """The decompressed test-label file (10,008 bytes) to damage, and its stem."""
    stem = "t10k-labels-idx1-ubyte"
    source = fashion_mnist._find(stem, fashion_mnist.search_dirs())
    if source is None:
        # the reader checks the canonical MD5, so no stand-in file can replace the real one,
        # and tests never download
        pytest.skip("needs Fashion-MNIST's canonical t10k label file, not found on this "
                    "machine (set NUMPY_NN_DATA_DIR)")
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as handle:
        data = handle.read()
    return tmp_path / stem, stem, data


def test_fashion_mnist_reads_an_uncompressed_file(fashion_labels):
    path, stem, data = fashion_labels
    path.write_bytes(data)
    labels = fashion_mnist._read_idx(str(path), stem)
    assert labels.shape == (10000,) and labels.flags.writeable
    assert labels.tobytes() == data[8:]


@pytest.mark.parametrize("damage, says", [
    (lambda d: d[:-1], "truncated"),
    (lambda d: d + b"\0", "longer than its header says"),
    (lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:], "does not match the canonical content"),
    (lambda d: b"\0\0\x08\x0d" + d[4:], "is not an IDX file"),
])
def test_fashion_mnist_refuses_a_damaged_file(fashion_labels, damage, says):
    path, stem, data = fashion_labels
    path.write_bytes(damage(data))
    with pytest.raises(ValueError, match=says) as error:
        fashion_mnist._read_idx(str(path), stem)
    assert str(path) in str(error.value)


def test_fashion_mnist_refuses_a_cut_gzip_file(fashion_labels):
    path, stem, data = fashion_labels
    compressed = gzip.compress(data)
    cut = path.with_name(stem + ".gz")
    cut.write_bytes(compressed[:len(compressed) // 2])
    with pytest.raises(ValueError, match="is damaged"):
        fashion_mnist._read_idx(str(cut), stem)


def test_cifar10_has_keras_shapes_and_dtypes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (50000, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (50000, 1) and y_train.dtype == np.uint8
    assert x_test.shape[1:] == (32, 32, 3) and x_test.dtype == np.uint8
    assert y_test.shape == (len(x_test), 1) and y_test.dtype == np.uint8
    np.testing.assert_allclose(x_train.reshape(-1, 3).mean(axis=0), [125.307, 122.950, 113.865],
                               atol=1e-3)
    assert y_train[:5, 0].tolist() == [6, 9, 9, 4, 1]
    if len(x_test) < 10000:
        # the shared copy holds the first 1,000 test images only; the loader says so, and
        # the warning points at the caller's line, not at the loader's internals
        assert len(caught) == 1 and "1000 of the 10,000" in str(caught[0].message)
        assert caught[0].filename == __file__


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """An environment in which no copy of any dataset can be found or downloaded."""
    data_dir, home = tmp_path / "empty_data", tmp_path / "home"
    data_dir.mkdir()
    home.mkdir()
    monkeypatch.setenv("NUMPY_NN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NUMPY_NN_NO_DOWNLOAD", "1")
    monkeypatch.delenv("NUMPY_NN_CACHE_DIR", raising=False)
    # Debian's dataset-fashion-mnist package would be a legitimate place to find the data;
    # leave it out so the outcome does not depend on what this machine has installed.
    system_copy = "/usr/share/datasets/fashion-mnist"
    original = fashion_mnist.search_dirs
    monkeypatch.setattr(fashion_mnist, "search_dirs",
                        lambda: [d for d in original() if d != system_copy])
    return data_dir, home


@pytest.mark.parametrize("loader, name", [(fashion_mnist, "Fashion-MNIST"),
                                          (cifar10, "CIFAR-10")])
def test_missing_dataset_says_where_it_looked(nowhere, loader, name):
    data_dir, home = nowhere
    with pytest.raises(DatasetNotFoundError) as error:
        loader.load_data()
    message = str(error.value)
    assert message.startswith(f"{name} was not found. Looked in:")
    assert str(data_dir) in message
    assert os.path.join(str(home), ".keras", "datasets") in message
    assert "NUMPY_NN_DATA_DIR" in message, "and it says how to provide the data"
    assert "NUMPY_NN_NO_DOWNLOAD" in message, "and why it did not download"
    assert isinstance(error.value, FileNotFoundError)
