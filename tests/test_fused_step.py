"""The fused training step (numpy_nn.kernels.fused_step) against the reference: the same
weights bit for bit after several steps as ``model.train_on_batch`` on the NumPy path, the
same loss, and no array allocated in a steady-state step."""
import numpy as np
import pytest

import numpy_nn
from numpy_nn.kernels.fused_step import FusedTrainer, Unsupported

L = numpy_nn.layers


def _model(kind, dtype="float32", optimizer=None):
    previous = numpy_nn.backend.floatx()
    numpy_nn.backend.set_floatx(dtype)
    try:
        numpy_nn.utils.set_random_seed(7)
        if kind == "leaky":
            layers = [L.Input(shape=(6, 5)), L.Flatten(),
                      L.Dense(16, kernel_initializer="he_normal"), L.LeakyReLU(),
                      L.Dense(12, kernel_initializer="he_normal"), L.LeakyReLU(0.2)]
        elif kind == "selu":
            layers = [L.Input(shape=(30,))] + [
                L.Dense(16, activation="selu", kernel_initializer="lecun_normal")
                for _ in range(5)]
        elif kind == "bn":                   # the chapter's BN MLP: BN on the input and after
            layers = [L.Input(shape=(30,)), L.BatchNormalization(),  # each hidden layer
                      L.Dense(16, activation="relu"), L.BatchNormalization(),
                      L.Dense(12, activation="elu"), L.BatchNormalization()]
        else:
            layers = [L.Input(shape=(30,)), L.Dense(16, activation="relu"),
                      L.Dense(16, activation="elu"), L.Dense(12), L.ELU(0.5),
                      L.Dense(8, activation="leaky_relu")]
        model = numpy_nn.models.Sequential(layers + [L.Dense(4, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=optimizer or numpy_nn.optimizers.SGD(0.05),
                      metrics=["accuracy"])
    finally:
        numpy_nn.backend.set_floatx(previous)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["leaky", "selu", "mixed", "bn"])
def test_fused_steps_equal_the_reference_bit_for_bit(kind, dtype):
    numpy_nn.backend.set_kernel_path("numpy")
    previous = numpy_nn.backend.floatx()
    numpy_nn.backend.set_floatx(dtype)         # the loss tracker's dtype too
    try:
        _compare_steps(kind, dtype)
    finally:
        numpy_nn.backend.set_floatx(previous)


def _compare_steps(kind, dtype, make_optimizer=None):
    make_optimizer = make_optimizer or (lambda: None)
    reference = _model(kind, dtype, make_optimizer())
    fused = _model(kind, dtype, make_optimizer())
    trainer = FusedTrainer(fused)
    rng = np.random.default_rng(0)
    for step in range(6):
        n = 9 if step % 3 == 2 else 16                    # a second batch size too
        x = rng.standard_normal((n, 30), dtype=np.float64).astype(dtype)
        y = rng.integers(0, 4, n)
        expected = reference.train_on_batch(x.reshape((n,) + reference.input_shape[1:]), y,
                                            return_dict=True)
        loss, correct = trainer.train_step(x, y.astype(np.intp))
        assert loss == np.asarray(expected["loss"], dtype), (step, loss, expected["loss"])
        assert correct / n == pytest.approx(expected["accuracy"])
        for ours, theirs in zip(fused.weights, reference.weights):
            np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert fused.optimizer.iterations == reference.optimizer.iterations == 6


def test_fit_trains_in_the_model_own_weights_like_fit_without_shuffling():
    numpy_nn.backend.set_kernel_path("numpy")
    reference, fused = _model("leaky"), _model("leaky")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((70, 6, 5), dtype=np.float32)
    y = rng.integers(0, 4, 70)
    reference.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    history = FusedTrainer(fused).fit(x, y, batch_size=32, epochs=2, shuffle=False)
    for ours, theirs in zip(fused.weights, reference.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert len(history["loss"]) == 2 and 0 <= history["accuracy"][-1] <= 1


def test_a_steady_step_allocates_no_array():
    model = _model("selu")
    trainer = FusedTrainer(model)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 30), dtype=np.float32)
    y = rng.integers(0, 4, 64)
    _assert_no_allocation_per_step(trainer, x, y)


def _assert_no_allocation_per_step(trainer, x, y):
    """A shuffled epoch of 8 steps allocates exactly what one of 2 steps does (the per-call
    copies of x and y and the epoch's shuffled order), once the buffers of both batch sizes
    exist: nothing per step."""
    trainer.fit(x, y, batch_size=32)
    trainer.fit(x, y, batch_size=8)
    with count_allocations_() as two_steps:
        trainer.fit(x, y, batch_size=32)
    with count_allocations_() as eight_steps:
        trainer.fit(x, y, batch_size=8)
    assert eight_steps["numpy_count"] == two_steps["numpy_count"], (two_steps, eight_steps)


def count_allocations_():
    from benchmarks.allocations import count_allocations
    return count_allocations()


@pytest.mark.parametrize("change, message", [
    (lambda m: m.compile(loss="mse", optimizer="sgd"), "loss 'mean_squared_error'"),
])
def test_unsupported_models_are_refused_with_the_reason(change, message):
    model = _model("leaky")
    change(model)
    with pytest.raises(Unsupported, match=message):
        FusedTrainer(model)


OPTIMIZERS = {
    "nesterov": lambda: numpy_nn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: numpy_nn.optimizers.Adam(0.01),
    "nadam": lambda: numpy_nn.optimizers.Nadam(0.01),
    "rmsprop": lambda: numpy_nn.optimizers.RMSprop(0.01),
    "sgd_schedule_clipnorm": lambda: numpy_nn.optimizers.SGD(
        numpy_nn.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5), clipnorm=0.5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_other_optimizers_run_their_own_apply_bit_for_bit(name):
    """Anything but plain SGD gets the step's gradients and runs ``optimizer.apply``: the same
    weights, loss and iteration count as ``train_on_batch``, bit for bit on the NumPy path."""
    numpy_nn.backend.set_kernel_path("numpy")
    assert not FusedTrainer(_model("mixed", optimizer=OPTIMIZERS[name]())).plain_sgd
    _compare_steps("mixed", "float32", OPTIMIZERS[name])


@pytest.mark.parametrize("kind", ["mixed", "bn"])
@pytest.mark.parametrize("name", ["nadam", "sgd_schedule_clipnorm"])
def test_the_compiled_step_with_another_optimizer_agrees_with_fit_on_the_numba_path(name, kind):
    """Compiled, the gradients go straight into the optimizer's flat gradient buffer and its
    fused update runs; after several steps (two batch sizes) the weights equal those of
    ``train_on_batch`` on the Numba path bit for bit (the same BLAS products, exponential and
    update kernel), and the loss, summed in another order, is within 4 ulp."""
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    from numpy_nn.kernels import blas
    if blas.PROVIDER != "numpy":
        pytest.skip(f"bit for bit with fit needs NumPy's BLAS in both; NUMPY_NN_BLAS chose "
                    f"{blas.PROVIDER} (the ulp test covers the compiled step then)")
    numpy_nn.backend.set_kernel_path("numba")
    try:
        reference = _model(kind, optimizer=OPTIMIZERS[name]())
        fused = _model(kind, optimizer=OPTIMIZERS[name]())
        trainer = FusedTrainer(fused, compiled=True)
        rng = np.random.default_rng(6)
        for step in range(6):
            n = 9 if step % 3 == 2 else 16
            x = rng.standard_normal((n, 30), dtype=np.float32)
            y = rng.integers(0, 4, n)
            expected = reference.train_on_batch(x, y, return_dict=True)
            loss, _ = trainer.train_step(x, y.astype(np.intp))
            assert loss == pytest.approx(float(expected["loss"]), rel=4 * 2.0 ** -23)
        for ours, theirs in zip(fused.weights, reference.weights):
            np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        assert fused.optimizer.iterations == reference.optimizer.iterations == 6
    finally:
        numpy_nn.backend.set_kernel_path("numpy")


def test_train_step_names_a_wrong_shape():
    trainer = FusedTrainer(_model("selu"))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 30\), got \(4, 31\)"):
        trainer.train_step(np.zeros((4, 31), np.float32), np.zeros(4, np.intp))
    with pytest.raises(ValueError, match=r"labels must hold one class per sample.*got \(3,\)"):
        trainer.train_step(np.zeros((4, 30), np.float32), np.zeros(3, np.intp))
    loss, _ = trainer.train_step(np.zeros((4, 30), np.float32), np.zeros((4, 1), np.intp))
    assert np.isfinite(loss)                      # a column of labels is accepted


def test_a_regularized_layer_is_refused():
    model = numpy_nn.models.Sequential([
        L.Input(shape=(4,)), L.Dense(3, activation="relu", kernel_regularizer="l2"),
        L.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(Unsupported, match="has a regularizer or constraint"):
        FusedTrainer(model)


@pytest.mark.parametrize("layers, message", [
    ([L.Dense(3), L.BatchNormalization(), L.ReLU(), L.Dense(2, activation="softmax")],
     r"\(ReLU\) is not fused"),
    ([L.Dense(2), L.BatchNormalization()],
     r"\(BatchNormalization\) is not followed by a Dense layer"),
    ([L.BatchNormalization(center=False), L.Dense(2, activation="softmax")],
     "only one BatchNormalization of 2-D inputs with center, scale"),
])
def test_batch_normalization_where_it_is_not_fused_is_refused(layers, message):
    """Fused: a BatchNormalization of a Dense layer's input (the chapter's BN MLP, covered
    above); not one between a Dense layer and its activation, at the end, or without beta."""
    model = numpy_nn.models.Sequential([L.Input(shape=(4,))] + layers)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(Unsupported, match=message):
        FusedTrainer(model)


@pytest.mark.parametrize("kind", ["leaky", "selu", "mixed", "bn"])
def test_the_compiled_fused_step_agrees_with_the_numpy_one_within_a_few_ulp(kind):
    """Numba's exp/log and a row's summation order may move the last bits; after one step
    every weight is within 4 ulp (relative 4 * 2^-23, plus 1e-7 absolute for weights near 0)
    and the loss within 4 ulp; over several steps they stay close."""
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    numpy_nn.backend.set_kernel_path("numpy")
    reference, compiled = _model(kind), _model(kind)
    ours, theirs = FusedTrainer(compiled, compiled=True), FusedTrainer(reference)
    rng = np.random.default_rng(4)
    for step in range(4):
        n = 11 if step == 3 else 16
        x = rng.standard_normal((n, 30), dtype=np.float32)
        y = rng.integers(0, 4, n).astype(np.intp)
        loss, correct = ours.train_step(x, y)
        expected_loss, expected_correct = theirs.train_step(x, y)
        ulp = 4 * 2.0 ** -23 * (step + 1)
        assert loss == pytest.approx(expected_loss, rel=ulp)
        assert correct == expected_correct
        for a, b in zip(compiled.weights, reference.weights):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=ulp, atol=1e-7)


def test_the_compiled_step_allocates_no_array_either():
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    trainer = FusedTrainer(_model("mixed"), compiled=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 30), dtype=np.float32)
    y = rng.integers(0, 4, 64)
    _assert_no_allocation_per_step(trainer, x, y)


_COUNT_NUMBA_ALLOCATIONS = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from tests.test_fused_step import _model
from benchmarks.allocations import count_allocations
from numpy_nn.kernels.fused_step import FusedTrainer
counts = {}
for kind in ("mixed", "bn"):
    trainer = FusedTrainer(_model(kind), compiled=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 30), dtype=np.float32)
    y = rng.integers(0, 4, 16).astype(np.intp)
    trainer.train_step(x, y)
    with count_allocations() as one:
        trainer.train_step(x, y)
    with count_allocations() as nine:
        for _ in range(9):
            trainer.train_step(x, y)
    counts[kind] = {"one": one, "nine": nine}
print(json.dumps(counts))
"""


def test_the_compiled_step_makes_no_numba_runtime_allocation():
    """Beyond NumPy buffers, Numba's runtime allocates a record for every array passed into a
    compiled function; the compiled step passes typed Lists, so a steady step allocates
    nothing there either. Counted in a fresh process (``NUMBA_NRT_STATS`` must be set before
    Numba loads), as the benchmark's allocation table is."""
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    import json
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_NRT_STATS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _COUNT_NUMBA_ALLOCATIONS, root],
                          capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    for kind in ("mixed", "bn"):
        for steps in ("one", "nine"):
            assert counts[kind][steps]["numba_count"] == 0, counts
            assert counts[kind][steps]["numpy_count"] == 0, counts


@pytest.mark.parametrize("kind", ["leaky", "bn"])
def test_gemm_choices_name_a_library_for_every_product(kind):
    """``trainer.gemm_choices[n]``: per Dense layer, per product, the library the compiled step
    calls at batch size n and what timing chose it. ``numpy`` and ``mkl`` send every product
    to one library untimed; ``fastest`` times each product the step computes (not delta W^T
    below a first layer without BatchNormalization) at one BLAS thread, all of them together
    at two, and keeps NumPy's BLAS unless another is faster by more than the margin."""
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    import threadpoolctl  # a test dependency (the dev extra)

    from numpy_nn.kernels import blas
    from numpy_nn.kernels.fused_step import PRODUCTS
    trainer = FusedTrainer(_model(kind), compiled=True)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        together = trainer.buffers(12).libraries.copy()
    if blas.PROVIDER == "fastest" and len(blas.CHOICES) > 1:     # one library for the step
        assert len(set(together.ravel())) == 1
        assert len({str(t) for unit in trainer.gemm_choices[12]
                    for _, t in unit.values() if t is not None}) == 1
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        buffers = trainer.buffers(16)
    choices = trainer.gemm_choices[16]
    assert len(choices) == len(trainer.units) and all(set(u) == set(PRODUCTS) for u in choices)
    for i, unit in enumerate(choices):
        for j, product in enumerate(PRODUCTS):
            library, seconds = unit[product]
            assert library == blas.LIBRARIES[buffers.libraries[i, j]]
            timed = blas.PROVIDER == "fastest" and len(blas.CHOICES) > 1 and not (
                i == 0 and product == "delta W^T" and kind != "bn")
            if not timed:
                assert library == blas.LIBRARIES[blas.DEFAULT_LIBRARY] and seconds is None
                continue
            assert set(seconds) == {"numpy", "mkl"}
            if library == "mkl":
                assert seconds["mkl"] * (1 + blas.MARGIN) < seconds["numpy"]
    assert 11 not in trainer.gemm_choices           # made per batch size, when first needed
    trainer.buffers(11)
    assert 11 in trainer.gemm_choices


@pytest.mark.parametrize("kind", ["mixed", "bn"])
def test_the_step_calls_the_library_each_product_was_given(kind):
    """Every product sent to library 1 instead of 0: with NUMPY_NN_BLAS=numpy both indices
    are NumPy's BLAS, so the step is the same bit for bit (the index reaches every gemm and
    both symbols link); where library 1 is MKL, the weights stay within the ulp bound of the
    compiled step's other test."""
    pytest.importorskip("numba", reason="the compiled path needs Numba")
    from numpy_nn.kernels import blas
    zeros, ones = _model(kind), _model(kind)
    first, second = FusedTrainer(zeros, compiled=True), FusedTrainer(ones, compiled=True)
    first.buffers(16).libraries[...] = 0
    second.buffers(16).libraries[...] = 1
    rng = np.random.default_rng(8)
    for _ in range(3):
        x = rng.standard_normal((16, 30), dtype=np.float32)
        y = rng.integers(0, 4, 16).astype(np.intp)
        first.train_step(x, y)
        second.train_step(x, y)
    for a, b in zip(zeros.weights, ones.weights):
        if blas.SOURCES[1] is None:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=12 * 2.0 ** -23,
                                       atol=1e-7)
