"""Parity-suite set-up: TensorFlow without oneDNN, matching float types on both sides, seeds,
and the ``--parity-report`` option that ``make parity`` uses.

``TF_ENABLE_ONEDNN_OPTS=0`` must be in the environment *before* TensorFlow is imported: with
oneDNN, TensorFlow's float32 matmuls on this kind of CPU (AVX512-BF16) are not exact float32
arithmetic, and a NumPy step then differs from Keras by ~1e-5 instead of ~3e-7
(keras3-spec §0, "Measured here"). This file is imported before any parity test module.
"""
import os
import sys
import time

if "tensorflow" in sys.modules and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
    raise RuntimeError("parity_tests: TensorFlow was imported before parity_tests/conftest.py "
                       "with oneDNN enabled; run with TF_ENABLE_ONEDNN_OPTS=0 (make test does)")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NUMPY_NN_NO_DOWNLOAD", "1")
if not os.environ.get("NUMPY_NN_DATA_DIR"):
    _shared = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                           "data"))
    if os.path.isdir(_shared):
        os.environ["NUMPY_NN_DATA_DIR"] = _shared

import tensorflow as tf  # noqa: E402

try:
    # One thread per engine: identical rounding on any machine (Eigen may split a matmul's sum
    # across threads), and no spinning thread pools fighting over a shared 2-core CI box.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:   # TensorFlow already initialised by an earlier import: keep its setting
    pass

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import numpy_nn  # noqa: E402
from numpy_nn import backend  # noqa: E402
from numpy_nn.io_utils import atomic_write  # noqa: E402
from parity_tests import report  # noqa: E402


def set_floatx(dtype):
    """The same float type for numpy_nn and Keras."""
    backend.set_floatx(dtype)
    keras.config.set_floatx(dtype)


@pytest.fixture(scope="session", autouse=True)
def _single_blas_thread():
    """numpy's BLAS on one thread while the parity suite runs. Results do not depend on it;
    speed does: with both cores busy (TensorFlow, other jobs), OpenBLAS's spinning worker
    threads made a numpy_nn training step 10-100x slower here."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts in float32 on both sides, numpy_nn's NumPy path, fixed seeds."""
    path = backend.kernel_path()
    set_floatx("float32")
    backend.set_kernel_path("numpy")
    backend.set_random_seed(0)
    keras.utils.set_random_seed(0)
    yield
    set_floatx("float32")
    backend.set_kernel_path(path)


@pytest.fixture
def float64():
    """Run the test with float64 weights and arithmetic in both engines."""
    set_floatx("float64")
    yield "float64"
    set_floatx("float32")


@pytest.fixture(scope="session")
def fashion_subset():
    """1,024 training and 256 validation Fashion-MNIST images scaled to [0, 1] (float64
    arrays; each test casts them to its float type)."""
    (x, y), _ = numpy_nn.datasets.fashion_mnist.load_data()
    x = x[:1280] / 255.0
    y = y[:1280].astype(np.int64)
    return (x[:1024], y[:1024]), (x[1024:], y[1024:])


def pytest_configure(config):
    # Keras 3.15's own variables implement __array__ without numpy 2's copy= keyword, and NumPy
    # warns each time Keras converts one (e.g. inside model.save); nothing numpy_nn can act on.
    config.addinivalue_line(
        "filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword"
                          ":DeprecationWarning:keras")


# ------------------------------------------------------------------------ the report
def pytest_addoption(parser):
    parser.addoption("--parity-report", metavar="PATH", default=None,
                     help="write the parity table (component, tolerance, worst error, "
                          "pass/fail) to PATH as Markdown and print it")


_START = time.perf_counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    path = config.getoption("--parity-report")
    if not path or not report.has_rows():
        return
    elapsed = time.perf_counter() - _START
    text = ("# Parity with Keras 3\n\n"
            f"numpy_nn {numpy_nn.__version__} vs Keras {keras.__version__} "
            f"(TensorFlow {tf.__version__}, CPU, TF_ENABLE_ONEDNN_OPTS=0, one thread). Errors "
            f"are relative (max|a-b| / max|b|, see parity_tests/tolerances.py) unless marked σ "
            f"(z-score) or samples. Rows marked (Keras 2) compare numpy_nn.optimizers.legacy "
            f"with tf_keras {_tf_keras_version()}'s legacy (optimizer_v2) optimizers. "
            f"Suite run time: {elapsed:.0f} s.\n\n"
            + _skipped_note(terminalreporter) +
            "## Summary\n\n" + report.summary_table() + "\n\n"
            "## Every component\n\n" + report.markdown_table() + "\n")
    with atomic_write(path, "w") as handle:
        handle.write(text)
    terminalreporter.write_sep("=", "parity report")
    terminalreporter.write_line(text)
    terminalreporter.write_line(f"(written to {path})")



def _tf_keras_version():
    module = sys.modules.get("tf_keras")
    return getattr(module, "__version__", "(not imported)")


def _skipped_note(terminalreporter):
    """A line per distinct skip reason, so the report never hides tests that did not run."""
    reasons = {}
    for test_report in terminalreporter.stats.get("skipped", []):
        longrepr = test_report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] = reasons.get(
            reason.removeprefix("Skipped: "), 0) + 1
    return "".join(f"**Not run ({count} tests):** {reason}\n\n"
                   for reason, count in reasons.items())
