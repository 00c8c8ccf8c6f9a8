"""benchmarks.blas_state, the experiment behind numpy_nn.backend.prime_blas (its products, one
real measurement in a fresh process, and the generated sentence from the numbers)."""
from benchmarks import blas_state


def test_every_product_of_the_networks_steps_is_listed():
    products = blas_state.products()
    # LeakyReLU MLP at batch 1024: x W, x^T delta of the first layer; no delta W^T there
    assert (1024, 784, 300) in products and (784, 1024, 300) in products
    assert products[(1024, 300, 784)] == ["batch_norm_mlp"]   # BN below the first Dense
    assert "elu_20x100_cifar" in products[(1024, 3072, 100)]


def test_one_measurement_runs_in_a_fresh_process_without_the_openblas_overrides(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert "OPENBLAS_CORETYPE" not in blas_state.child_env()
    found = blas_state.measure((32, 100, 300), blas_state.PRIMER, 1, 3)
    assert found["before"] > 0 and found["after"] > 0 and found["blas"]


def _row(before, after, same):
    return {"shape": (1024, 784, 300), "networks": ["leaky_relu_mlp"], "threads": 1,
            "flops": 1, "blas": [["openblas", "0.3", "Haswell"]],
            "wide": {"before": before, "after": after}, "same": {"before": before,
                                                                "after": same}}


def test_the_sentence_follows_the_numbers():
    history = blas_state.markdown([_row([0.042, 0.041], [0.014, 0.013], [0.042, 0.043])])
    assert "In 1 of 1 products" in history and "depends on the process's history" in history
    assert "| 1024×784 @ 784×300 | 1 | 41.50 [41.00, 42.00] | 13.50" in history
    none = blas_state.markdown([_row([0.014, 0.013], [0.014, 0.013], [0.014, 0.013])])
    assert "In none of the 1 products" in none

