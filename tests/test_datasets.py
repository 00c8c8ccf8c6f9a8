"""``load_data()`` returns Keras's shapes and dtypes from ``$NUMPY_NN_DATA_DIR``, and a
missing dataset raises ``DatasetNotFoundError`` saying where it looked.

The expected statistics come from ``shared/data/README.md`` (which verified them against the
canonical files): Fashion-MNIST train pixel mean 72.94035, 6,000 images per class; CIFAR-10
per-channel train mean (125.307, 122.950, 113.865), labels starting 6, 9, 9, 4, 1.
"""
import os
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
    x_train[:] = 0   # callers get copies: the cached arrays are not touched
    assert fashion_mnist.load_data()[0][0].mean() == pytest.approx(72.94035, abs=5e-6)


def test_cifar10_has_keras_shapes_and_dtypes():
    cifar10._load_cached.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    cifar10._load_cached.cache_clear()   # 150 MB: do not keep it for the rest of the session
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
    for loader in (fashion_mnist, cifar10):
        loader._load_cached.cache_clear()
    yield data_dir, home
    for loader in (fashion_mnist, cifar10):
        loader._load_cached.cache_clear()


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
