"""numpy_nn.kernels.blas.gemm, NumPy's own matrix product (or MKL's) called from compiled
code: every transpose combination and both dtypes, ``beta = 0`` overwriting and ``beta = 1``
adding, the same bits as ``np.matmul`` from NumPy's BLAS (within BLAS's error bound from MKL:
the whole module and the compiled step's tests run again in a process that chose
``NUMPY_NN_BLAS=mkl``, where gemm can call either library), and a shape mismatch refused."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba", reason="compiled code needs Numba")
from numpy_nn.kernels import blas  # noqa: E402 - only once Numba is known to be there

TRANSPOSES = list(itertools.product((False, True), repeat=2))
LIBRARIES = list(blas.CHOICES)          # (0,): NumPy's only, unless this process loaded MKL


def _operands(dtype, transpose_a, transpose_b, seed=0):
    """C-ordered ``a``, ``b`` holding A (33, 70) and B (70, 19), or their transposes."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((33, 70)).astype(dtype)
    b = rng.standard_normal((70, 19)).astype(dtype)
    stored_a = np.ascontiguousarray(a.T) if transpose_a else a
    stored_b = np.ascontiguousarray(b.T) if transpose_b else b
    return stored_a, stored_b, np.matmul(stored_a.T if transpose_a else stored_a,
                                         stored_b.T if transpose_b else stored_b)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a, transpose_b", TRANSPOSES)
def test_gemm_is_numpys_product(dtype, transpose_a, transpose_b, library):
    a, b, expected = _operands(dtype, transpose_a, transpose_b)
    out = np.full(expected.shape, np.nan, dtype)           # beta = 0 ignores what out held
    blas.gemm(a, b, out, transpose_a, transpose_b, dtype(1), dtype(0), library)
    if blas.SOURCES[library].startswith("NumPy's BLAS"):
        np.testing.assert_array_equal(out, expected)
    else:
        _assert_within_blas_error_bound(out, a.T if transpose_a else a,
                                        b.T if transpose_b else b)


def _assert_within_blas_error_bound(out, a, b):
    """Any summation order of a dot product of length k errs by at most
    gamma_k |A| |B|, gamma_k = k u / (1 - k u) (Higham, Accuracy and Stability of Numerical
    Algorithms, 2nd ed., eq. 3.13); the exact product is taken in extended precision."""
    k, unit_roundoff = a.shape[1], np.finfo(out.dtype).eps / 2
    gamma = k * unit_roundoff / (1 - k * unit_roundoff)
    exact = a.astype(np.longdouble) @ b.astype(np.longdouble)
    bound = gamma * (np.abs(a).astype(np.longdouble) @ np.abs(b).astype(np.longdouble))
    assert np.all(np.abs(out - exact) <= bound), float(np.max(np.abs(out - exact) / bound))


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a, transpose_b", TRANSPOSES)
def test_gemm_adds_alpha_times_the_product_into_out(dtype, transpose_a, transpose_b, library):
    """``beta = 1``, ``alpha = -0.1``: the SGD update ``W <- W - rate a^T delta``."""
    a, b, product = _operands(dtype, transpose_a, transpose_b, seed=1)
    start = np.random.default_rng(2).standard_normal(product.shape).astype(dtype)
    out = start.copy()
    blas.gemm(a, b, out, transpose_a, transpose_b, dtype(-0.1), dtype(1), library)
    np.testing.assert_allclose(out, start - dtype(0.1) * product,
                               rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("library", LIBRARIES)
def test_gemm_refuses_shapes_that_do_not_match(library):
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.gemm(a, np.ones((5, 2), np.float32), np.empty((3, 2), np.float32), False, False,
                  np.float32(1), np.float32(0), library)
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.gemm(a, np.ones((4, 2), np.float32), np.empty((3, 3), np.float32), False, False,
                  np.float32(1), np.float32(0), library)


def test_numpys_blas_is_found_where_numpy_ships_scipy_openblas():
    """NumPy's wheels link scipy-openblas; with such a NumPy, gemm must call it, not fall back
    (another build may or may not export a name gemm knows; SOURCE says which it found)."""
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    found = blas._numpy_symbols() is not None         # whichever provider gemm calls
    assert found or config.get("name") != "scipy-openblas", (config.get("name"), blas.SOURCE)
    if blas.PROVIDER == "numpy":
        assert blas.SOURCE.startswith("NumPy's BLAS"), blas.SOURCE


def test_the_provider_is_the_one_the_environment_asks_for():
    assert blas.PROVIDER == blas.requested_provider()
    assert blas.SOURCES[0].startswith("NumPy's BLAS") or "np.dot" in blas.SOURCES[0]
    if blas.PROVIDER == "mkl":
        assert "MKL" in blas.SOURCE and blas.DEFAULT_LIBRARY == 1
    if blas.PROVIDER == "numpy":                  # MKL is loaded only when asked for
        assert blas.SOURCES[1] is None and blas.CHOICES == (0,)


@pytest.mark.parametrize("value, expected", [(None, "numpy"), ("", "numpy"), ("numpy", "numpy"),
                                             ("MKL", "mkl"), (" mkl ", "mkl")])
def test_numpy_nn_blas_names_the_provider(value, expected):
    environ = {} if value is None else {"NUMPY_NN_BLAS": value}
    assert blas.requested_provider(environ) == expected


def test_an_unknown_provider_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"NUMPY_NN_BLAS: expected one of numpy, mkl, "
                                         r"got 'blis'"):
        blas.requested_provider({"NUMPY_NN_BLAS": "blis"})


def test_mkl_missing_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(blas.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'numpy_nn\[mkl\]'"):
        blas._mkl_library()


_MKL_THREADS = """
import numpy
import threadpoolctl
threadpoolctl.threadpool_limits(1)
from numpy_nn.kernels import blas
print(blas.SOURCE)
print(sorted((p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info()
             if p["internal_api"] == "mkl"))
"""


def _root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _with_mkl(provider="mkl"):
    """The environment of a process that chooses ``provider``, or a skip when the mkl wheel
    is missing."""
    try:
        blas._mkl_library()
    except ImportError:
        pytest.skip("the mkl wheel is not installed (pip install 'numpy_nn[mkl]')")
    return {**os.environ, "NUMPY_NN_BLAS": provider, "PYTHONPATH": _root()}


def test_mkl_starts_with_the_threads_numpys_blas_was_limited_to():
    done = subprocess.run([sys.executable, "-c", _MKL_THREADS], capture_output=True, text=True,
                          env=_with_mkl(), cwd=_root(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    source, threads = done.stdout.strip().splitlines()[-2:]
    assert "MKL" in source
    assert threads == "[('mkl', 1)]"


def test_gemm_and_the_compiled_step_hold_with_mkl():
    """The tests above and the compiled step's agreement tests, again in a process whose
    compiled code calls MKL for every product: the products within BLAS's bound, the step
    within its error model."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_kernels_blas.py", "tests/test_compiled_step.py", "-k",
         "gemm and not mkl or provider or compiled_agrees"],
        capture_output=True, text=True, env=_with_mkl(), cwd=_root(), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]


def test_numpy_blas_threads_follows_threadpoolctl():
    import threadpoolctl  # a test dependency (the dev extra)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert blas.numpy_blas_threads() == 1
