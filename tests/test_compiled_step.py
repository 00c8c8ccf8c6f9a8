"""``compile(jit_compile=True)``: the compiled step against the reference path, its allocations,
and the API around it (errors, "auto", callbacks, seeds, saving).

Agreement is tested at two levels (``docs/guides/speed.md`` states the error model):

* the step's *uncompiled form* — the same source run as Python, ``NUMBA_DISABLE_JIT=1`` — must
  equal the reference bit for bit (it evaluates the reference's expressions in its order, sums
  included), on every configuration of :mod:`tests.compiled_cases`, float32 and float64;
* compiled, only ``exp``/``log``/``pow`` may round differently, by an ulp or so per call; the
  test bounds the weights after three epochs (15 steps). Where Adam divides a gradient that is
  pure rounding noise (a Dense bias followed by BatchNormalization without ``center``: its
  exact gradient is 0) by its own root mean square, the noise becomes steps of size
  :math:`\\eta`, so that case is bounded by the learning rate times the steps instead.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn.errors import NonFiniteLossError
from numpy_nn.models.compiled_plan import NotCompilable
from tests import compiled_cases as cases

pytest.importorskip("numba")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = nn.layers


@pytest.fixture(autouse=True)
def _float32_after():
    yield
    nn.backend.set_floatx("float32")


def _run_script(code, **environ):
    env = {**os.environ, "PYTHONPATH": ROOT, **environ}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


# --------------------------------------------------------------------------- agreement
def test_the_uncompiled_form_equals_the_reference_bit_for_bit():
    result = _run_script("import sys; from tests import compiled_cases as c; sys.exit(c.main())",
                         NUMBA_DISABLE_JIT="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 cases differ" in result.stdout
    assert result.stdout.count("weights 0, history 0") == 2 * (len(cases.CASES) + 1)


#: float32 bound on the weights after 15 steps, compiled vs reference (see the module docstring)
FLOAT32_WEIGHTS = 2e-6
ZERO_GRADIENT_UNDER_ADAM = {"bn_plain/adam_amsgrad": 15 * 1e-3}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [*cases.CASES, "frozen"])
def test_compiled_agrees_with_the_reference(name, dtype):
    weights, history = cases.differences(name, dtype)
    if dtype == "float64":
        assert weights <= 1e-12 and history <= 1e-12
    else:
        assert weights <= ZERO_GRADIENT_UNDER_ADAM.get(name, FLOAT32_WEIGHTS)
        assert history <= 1e-4


def test_a_steady_step_allocates_nothing():
    """No NumPy buffer and no Numba runtime record per step, for every configuration."""
    code = """
import json
import numpy as np
from benchmarks.allocations import count_allocations
from tests import compiled_cases as C
counts = {}
for name in C.CASES:
    model = C.build(name, True)
    x, y = C.data(C.CASES[name][1], n=16)
    x = x.astype("float32")
    for _ in range(3):
        model.train_step(x, y)
    with count_allocations() as c:
        for _ in range(5):
            model.train_step(x, y)
    counts[name] = [c["numpy_count"], c["numba_count"]]
print(json.dumps(counts))
"""
    result = _run_script(code, NUMBA_NRT_STATS="1")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {name: [0, 0] for name in cases.CASES}


def test_a_steady_fit_step_allocates_nothing():
    """The same through ``fit``, with its loss and accuracy trackers: an N-step epoch makes
    exactly as many arrays as a one-step epoch (the epoch's shuffle order, its logs)."""
    code = """
import json
from benchmarks.allocations import count_allocations
from tests import compiled_cases as C
counts = {}
for name in C.CASES:
    model = C.build(name, True)
    x, y = C.data(C.CASES[name][1], n=64)
    def epoch(n):
        with count_allocations() as c:
            model.fit(x[:n], y[:n], batch_size=8, epochs=1, verbose=0)
        return c["numpy_count"], c["numba_count"]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)      # compiles (not counted)
    one, many = epoch(8), epoch(64)
    counts[name] = [many[0] - one[0], many[1] - one[1]]
print(json.dumps(counts))
"""
    result = _run_script(code, NUMBA_NRT_STATS="1")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {name: [0, 0] for name in cases.CASES}


def _step_lists(y_true, y_pred):
    """The typed Lists a compiled step hands the metric kernel, over these arrays."""
    from numba.typed import List

    from numpy_nn.kernels.reductions import new_stack
    from numpy_nn.kernels.step_layers import StepBatch
    from numpy_nn.kernels.step_losses import StepTargets
    lists = [List([y_pred]) for _ in range(5)]
    sparse = y_true.ndim == 1
    targets = StepTargets(y_true if sparse else np.empty(0, np.int64),
                          np.empty((0, 0), y_pred.dtype) if sparse else y_true,
                          np.empty(0, y_pred.dtype), np.empty(len(y_pred), y_pred.dtype),
                          new_stack(), np.empty(1, y_pred.dtype))
    return List([StepBatch(*lists, new_stack())]), List([targets])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_trackers_add_what_the_metrics_add(dtype):
    """``fit``'s trackers on the compiled path hold the reference's bits: ties and NaN in the
    predictions, each accuracy the kernels know, and a metric they do not (its own code)."""
    from numpy_nn.models.compiled_metrics import update_trackers
    from numpy_nn.models.trainer import Trainer
    nn.backend.set_floatx(dtype)
    rng = np.random.default_rng(0)
    y_pred = rng.integers(0, 3, (40, 4)).astype(dtype)       # many ties
    y_pred[3, 2] = np.nan
    labels = rng.integers(0, 4, 40)
    one_hot = np.eye(4, dtype=dtype)[rng.integers(0, 4, 40)]
    one_hot[7] = 0.25                                        # a tie in the targets too
    p1 = rng.random((40, 1)).astype(dtype)
    p1[[0, 5]] = 0.5
    t1 = (rng.random((40, 1)) < 0.5).astype(dtype)
    for y_true, pred, metric in [(labels, y_pred, nn.metrics.SparseCategoricalAccuracy()),
                                 (one_hot, y_pred, nn.metrics.CategoricalAccuracy()),
                                 (t1, p1, nn.metrics.BinaryAccuracy(threshold=0.3)),
                                 (t1, p1, nn.metrics.MeanSquaredError())]:
        trackers = [{"loss": nn.metrics.Mean("loss"), "m": metric.__class__(**metric.get_config())}
                    for _ in range(2)]
        for step in range(3):
            loss = pred.dtype.type(0.1 * step + 1 / 3)
            Trainer._update_trackers(trackers[0], loss, y_true, pred, len(pred))
            update_trackers(trackers[1], loss, y_true, pred, *_step_lists(y_true, pred))
        for name in ("loss", "m"):
            reference, compiled = trackers[0][name], trackers[1][name]
            assert (reference.total.tobytes(), reference.count.tobytes()) == \
                   (compiled.total.tobytes(), compiled.count.tobytes()), (metric.name, name)
            assert type(reference.total) is type(compiled.total) is np.dtype(dtype).type
    assert float(trackers[0]["m"].result()) > 0


# --------------------------------------------------------------------------- the API
def _model(jit_compile, extra=(), loss="sparse_categorical_crossentropy"):
    nn.utils.set_random_seed(1)
    model = nn.models.Sequential([L.Input((6,)), L.Dense(8, activation="relu"), *extra,
                                  L.Dense(5, activation="softmax")])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"], jit_compile=jit_compile)
    return model


def test_jit_compile_says_which_path_runs():
    assert _model(True).jit_compile is True
    assert _model(False).jit_compile is False
    assert _model("auto").jit_compile is True
    assert _model(None).jit_compile is False


def test_a_bad_jit_compile_value_is_refused():
    with pytest.raises(ValueError, match="jit_compile must be False, True or 'auto', got 'yes'"):
        _model("yes")


class ScaledDropout(L.Dropout):
    """A subclass whose ``call`` the compiled step cannot see."""

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


def test_an_unsupported_layer_is_named_and_the_way_out_given():
    with pytest.raises(NotCompilable, match=r"layer 'scaled_dropout.*' \(ScaledDropout\).*"
                                            r"jit_compile=False"):
        _model(True, extra=[ScaledDropout(0.2)])


def test_auto_falls_back_and_says_why_once(capsys):
    model = _model("auto", extra=[ScaledDropout(0.2)])
    assert model.jit_compile is False
    x, y = cases.data("sparse_categorical_crossentropy", n=20)
    model.fit(x, y, epochs=1, verbose=1)
    model.fit(x, y, epochs=1, verbose=1)
    said = capsys.readouterr().out
    assert said.count("jit_compile='auto': reference path (") == 1
    assert "ScaledDropout" in said


def test_true_without_numba_names_the_install():
    code = """
import sys
sys.modules["numba"] = None
import numpy_nn as nn
model = nn.models.Sequential([nn.layers.Input((3,)), nn.layers.Dense(2, activation="softmax")])
try:
    model.compile(loss="sparse_categorical_crossentropy", jit_compile=True)
except ImportError as error:
    print("ImportError:", error)
model.compile(loss="sparse_categorical_crossentropy", jit_compile="auto")
print("auto:", model.jit_compile)
"""
    result = _run_script(code)
    assert "ImportError: compile(jit_compile=True) needs Numba" in result.stdout, result.stderr
    assert "pip install numpy_nn[numba]" in result.stdout
    assert "auto: False" in result.stdout


def test_set_random_seed_makes_compiled_runs_identical():
    runs = [cases.run("dropout/nadam", True, "float32") for _ in range(2)]
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]


def test_callbacks_validation_and_history_behave_as_on_the_reference_path(tmp_path):
    x, y = cases.data("sparse_categorical_crossentropy", n=80)
    x_val, y_val = cases.data("sparse_categorical_crossentropy", n=30, seed=1)
    outcomes = {}
    for jit_compile in (False, True):
        model = _model(jit_compile)
        folder = tmp_path / str(jit_compile)
        folder.mkdir()
        callbacks = [
            nn.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
            nn.callbacks.ModelCheckpoint(str(folder / "best.keras"), save_best_only=True),
            nn.callbacks.CSVLogger(str(folder / "log.csv")),
            nn.callbacks.ReduceLROnPlateau(factor=0.5, patience=1),
            nn.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.9)]
        nn.utils.set_random_seed(2)
        history = model.fit(x, y, batch_size=16, epochs=8, validation_data=(x_val, y_val),
                            callbacks=callbacks, class_weight={0: 2.0, 1: 0.5}, verbose=0)
        loaded = nn.models.load_model(str(folder / "best.keras"))
        outcomes[jit_compile] = (history.history, model.get_weights(), loaded.get_weights(),
                                 (folder / "log.csv").read_text().splitlines()[0])
    reference, compiled = outcomes[False], outcomes[True]
    assert compiled[0].keys() == reference[0].keys()
    for key in reference[0]:
        np.testing.assert_allclose(compiled[0][key], reference[0][key], rtol=1e-5, atol=1e-6)
    for a, b in zip(compiled[1], reference[1]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(compiled[2], compiled[1]):      # the best epoch was restored and saved
        np.testing.assert_array_equal(a, b)
    assert compiled[3] == reference[3]


def test_layer_statistics_sees_the_recorded_steps():
    model = _model(True)
    statistics = nn.callbacks.LayerStatistics(every=2)
    x, y = cases.data("sparse_categorical_crossentropy", n=64)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[statistics], verbose=0)
    assert statistics.history["input_grad_norm"].shape == (2, 2)
    assert np.all(np.isfinite(statistics.history["weight_grad_norm"]))
    assert model.inspect_next_step is False


def test_a_non_finite_loss_raises_before_the_update_and_puts_the_statistics_back():
    model = _model(True, extra=[L.BatchNormalization()])
    x, y = cases.data("sparse_categorical_crossentropy", n=16)
    before = model.get_weights()
    x[3] = 3e38                      # finite, but the products overflow
    with pytest.raises(NonFiniteLossError, match="epoch 1/1, batch 1/1"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, on_nonfinite="raise")
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_evaluate_predict_and_mc_dropout_predictions_run_compiled():
    x, y = cases.data("sparse_categorical_crossentropy", n=40)
    results = {}
    for jit_compile in (False, True):
        model = _model(jit_compile, extra=[L.Dropout(0.3), L.BatchNormalization()])
        model.fit(x, y, epochs=1, verbose=0)
        nn.utils.set_random_seed(4)
        mc = model(x, training=True)
        results[jit_compile] = (model.evaluate(x, y, verbose=0), model.predict(x, verbose=0),
                                mc, model.predict_on_batch(x[:5]))
    for a, b in zip(results[True], results[False]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_model_trained_compiled_saves_and_resumes_on_either_path(tmp_path):
    model = _model(True)
    x, y = cases.data("sparse_categorical_crossentropy", n=48)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = nn.models.load_model(path)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.optimizer.iterations == 6

