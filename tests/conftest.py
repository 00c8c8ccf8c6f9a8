"""Shared fixtures: offline data, a fresh seed and float32 for every test."""
import os

import numpy as np
import pytest

os.environ.setdefault("NUMPY_NN_NO_DOWNLOAD", "1")
if not os.environ.get("NUMPY_NN_DATA_DIR"):
    _shared = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    if os.path.isdir(_shared):
        os.environ["NUMPY_NN_DATA_DIR"] = _shared

import numpy_nn  # noqa: E402
from numpy_nn import backend  # noqa: E402


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
def fashion_small():
    """2,000 training and 500 validation Fashion-MNIST images scaled to [0, 1]."""
    (x, y), _ = numpy_nn.datasets.fashion_mnist.load_data()
    x = (x / 255.0).astype(np.float32)
    return (x[5000:7000], y[5000:7000]), (x[:500], y[:500])
