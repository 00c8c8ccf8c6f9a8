"""numpy_nn.backend.prime_blas: one wide float32 product, once per process, when a model is
compiled (why: benchmarks/results/blas_state.md); NUMPY_NN_PRIME_BLAS=0 turns it off."""
import numpy as np
import pytest

import numpy_nn
from numpy_nn import backend


@pytest.fixture
def products(monkeypatch):
    """The shapes of every np.matmul called, with the process's "primed" flag cleared."""
    calls = []
    real = np.matmul

    def spy(a, b, *args, **kwargs):
        calls.append((np.shape(a), np.shape(b), np.asarray(a).dtype))
        return real(a, b, *args, **kwargs)
    monkeypatch.setattr(backend, "_blas_primed", False)
    monkeypatch.setattr(backend.np, "matmul", spy)
    return calls


def _compile():
    model = numpy_nn.models.Sequential([numpy_nn.layers.Input((3,)),
                                        numpy_nn.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")


def test_the_first_compile_runs_one_wide_product_and_later_ones_none(products, monkeypatch):
    monkeypatch.delenv("NUMPY_NN_PRIME_BLAS", raising=False)
    _compile()
    rows, inner, columns = backend._PRIMER_SHAPE
    assert products == [((rows, inner), (inner, columns), np.float32)]
    _compile()
    backend.prime_blas()
    assert len(products) == 1


def test_numpy_nn_prime_blas_0_turns_it_off(products, monkeypatch):
    monkeypatch.setenv("NUMPY_NN_PRIME_BLAS", "0")
    _compile()
    assert products == []
