"""benchmarks.blas_state, the experiment behind numpy_nn.backend.prime_blas (its products, one
real measurement in a fresh process, and the generated sentence from the numbers); and
benchmarks.elementwise_threads, the measurement behind NUMPY_NN_ELEMENTWISE_THREADS's default."""
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


# ------------------------------------------------- benchmarks.elementwise_threads, the same way
def _split_row(unsplit, workqueue, omp):
    return {"network": "leaky_relu_mlp", "batch": 1024, "threads": 2, "layers": {},
            "blas": [["openblas", "0.3", "Haswell", 2]],
            "times": {"unsplit": unsplit, "split, workqueue": workqueue, "split, omp": omp}}


def test_the_split_passes_verdicts_follow_the_numbers():
    from benchmarks import elementwise_threads as split
    text = split.markdown([_split_row([0.020, 0.021, 0.022], [0.030, 0.032, 0.031],
                                      [0.010, 0.011, 0.0105])])
    assert "| 784-300-100-10, LeakyReLU layers, He init, SGD | 1024 | 21.00 | 31.00 | 10.50 |" \
        in text
    assert "- split, workqueue: faster than unsplit with 95% confidence in 0 of 1 cells, " \
           "slower in 1, neither in 0." in text
    assert "- split, omp: faster than unsplit with 95% confidence in 1 of 1 cells, slower " \
           "in 0, neither in 0." in text


def test_a_split_measurement_sets_the_threads_and_the_layer(monkeypatch):
    from benchmarks import elementwise_threads as split
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    env = split.child_env("2", "workqueue", 2)
    assert env["NUMPY_NN_ELEMENTWISE_THREADS"] == "2" and env["NUMBA_THREADING_LAYER"] == \
        "workqueue" and env["OPENBLAS_NUM_THREADS"] == "2" and "OPENBLAS_CORETYPE" not in env
    assert "NUMBA_THREADING_LAYER" not in split.child_env("1", None, 2)
