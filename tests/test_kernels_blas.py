"""numpy_nn.kernels.blas.gemm, NumPy's own matrix product called from compiled code: every
transpose combination and both dtypes, ``beta = 0`` overwriting and ``beta = 1`` adding, the
same bits as ``np.matmul`` when it found NumPy's BLAS, and a shape mismatch refused."""
import itertools

import numpy as np
import pytest

pytest.importorskip("numba", reason="compiled code needs Numba")
from numpy_nn.kernels import blas  # noqa: E402 - only once Numba is known to be there

TRANSPOSES = list(itertools.product((False, True), repeat=2))


def _operands(dtype, transpose_a, transpose_b, seed=0):
    """C-ordered ``a``, ``b`` holding A (33, 70) and B (70, 19), or their transposes."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((33, 70)).astype(dtype)
    b = rng.standard_normal((70, 19)).astype(dtype)
    stored_a = np.ascontiguousarray(a.T) if transpose_a else a
    stored_b = np.ascontiguousarray(b.T) if transpose_b else b
    return stored_a, stored_b, np.matmul(stored_a.T if transpose_a else stored_a,
                                         stored_b.T if transpose_b else stored_b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a, transpose_b", TRANSPOSES)
def test_gemm_is_numpys_product(dtype, transpose_a, transpose_b):
    a, b, expected = _operands(dtype, transpose_a, transpose_b)
    out = np.full(expected.shape, np.nan, dtype)           # beta = 0 ignores what out held
    blas.gemm(a, b, out, transpose_a, transpose_b, dtype(1), dtype(0))
    if blas.SOURCE.startswith("NumPy's BLAS"):
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a, transpose_b", TRANSPOSES)
def test_gemm_adds_alpha_times_the_product_into_out(dtype, transpose_a, transpose_b):
    """``beta = 1``, ``alpha = -0.1``: the SGD update ``W <- W - rate a^T delta``."""
    a, b, product = _operands(dtype, transpose_a, transpose_b, seed=1)
    start = np.random.default_rng(2).standard_normal(product.shape).astype(dtype)
    out = start.copy()
    blas.gemm(a, b, out, transpose_a, transpose_b, dtype(-0.1), dtype(1))
    np.testing.assert_allclose(out, start - dtype(0.1) * product,
                               rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


def test_gemm_refuses_shapes_that_do_not_match():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.gemm(a, np.ones((5, 2), np.float32), np.empty((3, 2), np.float32), False, False,
                  np.float32(1), np.float32(0))
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.gemm(a, np.ones((4, 2), np.float32), np.empty((3, 3), np.float32), False, False,
                  np.float32(1), np.float32(0))


def test_numpys_blas_is_found_where_numpy_ships_scipy_openblas():
    """NumPy's wheels link scipy-openblas; with such a NumPy, gemm must call it, not fall back
    (another build may or may not export a name gemm knows; SOURCE says which it found)."""
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    found = blas.SOURCE.startswith("NumPy's BLAS")
    assert found or config.get("name") != "scipy-openblas", (config.get("name"), blas.SOURCE)
