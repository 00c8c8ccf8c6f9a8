"""Shared fixtures: offline data, a fresh seed and float32 for every test."""
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

os.environ.setdefault("NUMPY_NN_NO_DOWNLOAD", "1")
if not os.environ.get("NUMPY_NN_DATA_DIR"):
    _shared = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    if os.path.isdir(_shared):
        os.environ["NUMPY_NN_DATA_DIR"] = _shared

import numpy_nn  # noqa: E402
from numpy_nn import backend  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Unit tests multiply small matrices; on a shared 2-core machine OpenBLAS's second thread
    only spins (the chapter-model tests ran 6x slower with two threads under load). Results do
    not depend on this: the tests are written to hold for any summation order."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts from float32, the NumPy kernel path and seed 0."""
    floatx, path = backend.floatx(), backend.kernel_path()
    backend.set_floatx("float32")
    backend.set_random_seed(0)
    yield
    backend.set_floatx(floatx)
    backend.set_kernel_path(path)


@pytest.fixture
def float64():
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


@pytest.fixture(scope="session")
def _fashion_train_full():
    (x, y), _ = numpy_nn.datasets.fashion_mnist.load_data()
    return (x / 255.0).astype(np.float32), y


@pytest.fixture(scope="session")
def fashion_small(_fashion_train_full):
    """2,000 training and 500 validation Fashion-MNIST images scaled to [0, 1]."""
    x, y = _fashion_train_full
    return (x[5000:7000], y[5000:7000]), (x[:500], y[:500])


@pytest.fixture(scope="session")
def fashion_small_standardized(_fashion_train_full):
    """The same images standardised as the chapter does for SELU nets: per-pixel mean and
    standard deviation of the chapter's whole training set (the 55,000 images after the
    first 5,000). Statistics of the 2,000-image subset would not do: pixels that are almost
    always 0 in it get tiny standard deviations and blow up the few samples that use them."""
    x, y = _fashion_train_full
    means = x[5000:].mean(axis=0, keepdims=True)
    stds = x[5000:].std(axis=0, keepdims=True)
    return (((x[5000:7000] - means) / stds, y[5000:7000]),
            ((x[:500] - means) / stds, y[:500]))
