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
    (another build may or may not export a name gemm knows; SOURCES says which it found)."""
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    found = blas._numpy_symbols() is not None
    assert found or config.get("name") != "scipy-openblas", (config.get("name"), blas.SOURCES)
    if found:
        assert blas.SOURCES[0].startswith("NumPy's BLAS"), blas.SOURCES


def test_importing_chooses_nothing_and_finds_mkl_when_installed():
    """Import finds the routines; MKL is listed when its runtime is installed, whatever
    NUMPY_NN_BLAS says (the choice is each compiled step's)."""
    assert blas.SOURCES[0].startswith("NumPy's BLAS") or "np.dot" in blas.SOURCES[0]
    installed = blas._mkl_library() is not None
    assert (blas.SOURCES[1] is not None) == installed
    assert blas.CHOICES == ((0, 1) if installed else (0,))
    assert blas.library_index("numpy") == 0


@pytest.mark.parametrize("value, expected", [(None, "numpy"), ("", "numpy"), ("numpy", "numpy"),
                                             ("MKL", "mkl"), (" mkl ", "mkl")])
def test_numpy_nn_blas_is_the_default_choice(value, expected, monkeypatch):
    import numpy_nn as nn
    monkeypatch.delenv("NUMPY_NN_BLAS", raising=False)
    if value is not None:
        monkeypatch.setenv("NUMPY_NN_BLAS", value)
    assert nn.backend.blas() == expected
    nn.backend.set_blas("numpy")
    try:
        assert nn.backend.blas() == "numpy"          # set_blas wins over the environment
    finally:
        nn.backend.set_blas(None)
    assert nn.backend.blas() == expected


def test_an_unknown_library_is_refused_with_the_choices(monkeypatch):
    import numpy_nn as nn
    monkeypatch.setenv("NUMPY_NN_BLAS", "blis")
    with pytest.raises(ValueError, match=r"NUMPY_NN_BLAS: expected one of numpy, mkl, "
                                         r"got 'blis'"):
        nn.backend.blas()
    with pytest.raises(ValueError, match=r"set_blas: expected one of numpy, mkl or None, "
                                         r"got 'blis'"):
        nn.backend.set_blas("blis")
    with pytest.raises(ValueError, match=r"blas: expected one of numpy, mkl, got 'blis'"):
        blas.library_index("blis")


def test_mkl_missing_is_not_found_and_choosing_it_says_how_to_install_it(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(blas.ctypes.util, "find_library", lambda name: None)
    assert blas._mkl_library() is None
    monkeypatch.setattr(blas, "SOURCES", (blas.SOURCES[0], None))
    with pytest.raises(ImportError, match=r"NUMPY_NN_BLAS=mkl.*pip install 'numpy_nn\[mkl\]'"):
        blas.library_index("mkl")


_MKL_THREADS = """
import numpy
import threadpoolctl
threadpoolctl.threadpool_limits(1)
from numpy_nn.kernels import blas
print(blas.SOURCES[blas.library_index("mkl")])
print(sorted((p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info()
             if p["internal_api"] == "mkl"))
"""


def _root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _skip_without_mkl():
    """MKL is an optional extra (``pip install 'numpy_nn[mkl]'``, which ``make test`` installs); a
    machine without it has no second library to test."""
    if blas._mkl_library() is None:
        pytest.skip("the mkl wheel is not installed (pip install 'numpy_nn[mkl]')")


def _with_mkl(provider="mkl"):
    """The environment of a process that chooses ``provider`` (skipped without MKL)."""
    _skip_without_mkl()
    return {**os.environ, "NUMPY_NN_BLAS": provider, "PYTHONPATH": _root()}


def test_mkl_starts_with_the_threads_numpys_blas_was_limited_to():
    done = subprocess.run([sys.executable, "-c", _MKL_THREADS], capture_output=True, text=True,
                          env=_with_mkl(), cwd=_root(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    source, threads = done.stdout.strip().splitlines()[-2:]
    assert "MKL" in source
    assert threads == "[('mkl', 1)]"


def test_each_compiled_step_chooses_its_library_when_built():
    """Two models in one process, one built with each library; a change of ``set_blas``
    rebuilds a model's step at its next step (MKL's products: within BLAS's bound)."""
    import numpy_nn as nn
    from numpy_nn.models import jit
    _skip_without_mkl()
    models, libraries = [], []
    x = np.random.default_rng(0).standard_normal((32, 6)).astype(np.float32)
    y = np.arange(32) % 3
    try:
        for name in ("numpy", "mkl"):
            nn.backend.set_blas(name)
            nn.utils.set_random_seed(0)
            model = nn.models.Sequential([nn.layers.Input((6,)), nn.layers.Dense(8, "relu"),
                                          nn.layers.Dense(3, "softmax")])
            model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=True)
            model.fit(x, y, batch_size=8, verbose=0)
            models.append(model)
            libraries.append(model._compiled_step.library)
        assert libraries == [0, 1]
        assert [jit.compiled_step(m).library for m in models] == [1, 1]   # set_blas: mkl now
        nn.backend.set_blas("numpy")
        assert [jit.compiled_step(m).library for m in models] == [0, 0]
        assert "MKL" not in jit.compiled_step(models[0]).gemm_source
    finally:
        nn.backend.set_blas(None)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gemm_and_the_compiled_step_hold_with_mkl():
    """The tests above and the compiled step's agreement tests, again in a process whose
    compiled code calls MKL for every product: the products within BLAS's bound, the step
    within its error model."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_kernels_blas.py", "tests/test_compiled_step.py", "-k",
         "gemm and not mkl or chooses or compiled_agrees"],
        capture_output=True, text=True, env=_with_mkl(), cwd=_root(), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]


def test_numpy_blas_threads_follows_threadpoolctl():
    import threadpoolctl  # a test dependency (the dev extra)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert blas.numpy_blas_threads() == 1
