"""Parity-suite set-up: TensorFlow without oneDNN, matching float types on both sides, seeds,
and the ``--parity-report`` option that ``make parity`` uses.

``TF_ENABLE_ONEDNN_OPTS=0`` must be in the environment *before* TensorFlow is imported: with
oneDNN, TensorFlow's float32 matmuls on this kind of CPU (AVX512-BF16) are not exact float32
arithmetic, and a NumPy step then differs from Keras by ~1e-5 instead of ~3e-7 (measured on
such a CPU). This file is imported before any parity test module.
"""
import functools
import inspect
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
import tf_backend  # noqa: E402, F401 - loads every bridge module before the guard wraps them
from numpy_nn import backend  # noqa: E402
from numpy_nn.io_utils import atomic_write  # noqa: E402
from parity_tests import report  # noqa: E402

#: The one file whose tests exercise tf_backend on purpose; every other parity test builds its
#: Keras side with Keras's own classes.
BRIDGE_TESTS = "test_bridge.py"


def set_floatx(dtype):
    """The same float type for numpy_nn and Keras. Keras's layers take their dtype from the
    global dtype policy, which ``keras.config.set_floatx`` alone does not change once a layer
    has been created (``keras/src/dtype_policies/dtype_policy.py::dtype_policy`` caches the
    first one), so the policy is set too."""
    backend.set_floatx(dtype)
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)


@pytest.fixture(scope="session", autouse=True)
def _single_blas_thread():
    """numpy's BLAS on one thread while the parity suite runs. Results do not depend on it;
    speed does: with both cores busy (TensorFlow, other jobs), OpenBLAS's spinning worker
    threads made a numpy_nn training step 10-100x slower here."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _fresh_state(request):
    """Each test starts in float32 on both sides, numpy_nn's NumPy path, fixed seeds
    (``--parity-seed``, 0 by default)."""
    seed = request.config.getoption("--parity-seed")
    path = backend.kernel_path()
    set_floatx("float32")
    backend.set_kernel_path("numpy")
    backend.set_random_seed(seed)
    keras.utils.set_random_seed(seed)
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


# ------------------------------------------------------------------ who built the Keras side
_BRIDGE_USED = []


def _spy(function):
    @functools.wraps(function)
    def spied(*args, **kwargs):
        _BRIDGE_USED.append(function.__name__)
        return function(*args, **kwargs)
    return spied


#: tf_backend modules whose functions build nothing: the comparison tool takes both models as
#: given and translates no setting (it copies numpy_nn's weights into Keras, as the suite does).
COMPARES_ONLY = ("tf_backend.compare", "tf_backend.compare_report", "tf_backend.kinks")


def bridge_functions():
    """Every public function of every tf_backend module outside ``COMPARES_ONLY``: the
    entry points that return a Keras object, a numpy_nn object translated from Keras, or
    weights in Keras's order (``keras_weights_in_numpy_order``, ``metrics_to_keras``, ...),
    whether or not ``tf_backend.__all__`` lists them."""
    functions = {}
    for name, module in list(sys.modules.items()):
        if not (name == "tf_backend" or name.startswith("tf_backend.")) or name in COMPARES_ONLY:
            continue
        for attribute, value in vars(module).items():
            if inspect.isfunction(value) and not attribute.startswith("_") \
                    and value.__module__.startswith("tf_backend") \
                    and value.__module__ not in COMPARES_ONLY:
                functions[(value.__module__, value.__name__)] = value
    return functions


def _install_bridge_spies():
    """Replace every bridge function (:func:`bridge_functions`), wherever a tf_backend module
    holds it, by a wrapper noting that the running test used the bridge."""
    modules = [module for name, module in list(sys.modules.items())
               if name == "tf_backend" or name.startswith("tf_backend.")]
    for original in bridge_functions().values():
        spied = _spy(original)
        for module in modules:
            for attribute, value in list(vars(module).items()):
                if value is original:
                    setattr(module, attribute, spied)


_install_bridge_spies()

#: Keras objects built during the running test (layers and models, optimizers, losses,
#: metrics, callbacks, schedules; Keras 3's and tf_keras's): a test that builds none compares
#: with fixed values and is not counted as having a Keras side.
_KERAS_BUILT = []
_WATCHED = set()


def _watch_constructors(module_name, paths):
    """Note every construction of the classes at ``paths`` of ``module_name`` (and of their
    subclasses, which call the base ``__init__``), once the module is imported."""
    module = sys.modules.get(module_name)
    if module is None:
        return
    for path in paths:
        cls = module
        for part in path.split("."):
            cls = getattr(cls, part, None)
        if cls is None or cls in _WATCHED:
            continue
        original = cls.__init__

        def init(self, *args, __original=original, **kwargs):
            _KERAS_BUILT.append(type(self).__name__)
            __original(self, *args, **kwargs)
        cls.__init__ = init
        _WATCHED.add(cls)


KERAS_BASES = ("layers.Layer", "optimizers.Optimizer", "optimizers.legacy.Optimizer",
               "losses.Loss", "metrics.Metric",
               "callbacks.Callback", "optimizers.schedules.LearningRateSchedule")


@pytest.fixture(autouse=True)
def _keras_side_accounting(request):
    """Records, for the report, whether the test reached its Keras model through tf_backend
    (to_keras, train_side_by_side, optimizer_to_keras, ...) or built it with Keras's own
    classes. A test outside test_bridge.py that uses the bridge fails: a numpy_nn setting
    copied into Keras would hide a wrong numpy_nn default."""
    _BRIDGE_USED.clear()
    _KERAS_BUILT.clear()
    for name in ("keras", "tf_keras"):          # tf_keras is imported by the Keras 2 tests
        _watch_constructors(name, KERAS_BASES)
    yield
    used = sorted(set(_BRIDGE_USED))
    bridge_test = request.node.path.name == BRIDGE_TESTS
    if request.node.path.parent.name != "keras_conformance":   # those build no Keras model
        report.record_keras_side(request.node.nodeid, bridge_test=bridge_test,
                                 through_bridge=bool(used), built_keras=bool(_KERAS_BUILT))
    if used and not bridge_test:
        pytest.fail(f"{request.node.nodeid} built its Keras side through tf_backend "
                    f"({', '.join(used)}); parity tests build it with Keras's own classes "
                    f"(only {BRIDGE_TESTS} tests the bridge)", pytrace=False)


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
    parser.addoption("--parity-seed", type=int, default=0,
                     help="seed for numpy_nn's and Keras's random initial weights (0 by "
                          "default; other values show the spread of the measured errors)")


_START = time.perf_counter()
_COLLECTED = []


def pytest_collection_finish(session):
    """The parity tests collected (the report says how many, and a unit test compares that
    with the suite as it is: a report older than the suite fails it)."""
    _COLLECTED[:] = [item.nodeid for item in session.items
                     if item.nodeid.startswith("parity_tests/")]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    path = config.getoption("--parity-report")
    if not path or not (report.has_rows() or report.conformance_section()):
        return
    elapsed = time.perf_counter() - _START
    text = ("# Parity with Keras 3\n\n"
            f"numpy_nn {numpy_nn.__version__} vs Keras {keras.__version__} "
            f"(TensorFlow {tf.__version__}, CPU, TF_ENABLE_ONEDNN_OPTS=0, one thread). Errors "
            f"are relative (max|a-b| / max|b|, see parity_tests/tolerances.py) unless marked σ "
            f"(z-score), KS (two-sample Kolmogorov-Smirnov) or samples. Rows marked (Keras 2) "
            f"compare numpy_nn.optimizers.legacy with tf_keras {_tf_keras_version()}'s legacy "
            f"(optimizer_v2) optimizers. "
            f"Suite run time: {elapsed:.0f} s. Parity tests collected: {len(_COLLECTED)}; "
            f"passed: {_outcomes(terminalreporter, 'passed')}, failed: "
            f"{_outcomes(terminalreporter, 'failed')}, skipped: "
            f"{_outcomes(terminalreporter, 'skipped')}.\n\n"
            + _skipped_note(terminalreporter) +
            "## Summary\n\n" + report.summary_table() + "\n\n"
            "## Every component\n\n" + report.markdown_table() + "\n"
            + ("\n## Keras's own test cases\n\n" + report.conformance_section() + "\n"
               if report.conformance_section() else ""))
    with atomic_write(path, "w") as handle:
        handle.write(text)
    terminalreporter.write_sep("=", "parity report")
    terminalreporter.write_line(text)
    terminalreporter.write_line(f"(written to {path})")



def _outcomes(terminalreporter, outcome):
    """How many parity tests ended with ``outcome`` (call phase; setup errors count as failed)."""
    reports = terminalreporter.stats.get(outcome, [])
    return len({r.nodeid for r in reports if r.nodeid.startswith("parity_tests/")})


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
