"""``tf_backend.compare`` on the chapter's networks and on deliberate faults.

* **No false alarm.** On the unmodified engine, every chapter network of
  ``test_trajectories.CASES`` runs 20 steps, float32 and float64, with no divergence. The deep
  SELU net runs in float32 too (unlike the trajectories, which let float32 rounding grow
  through 30 layers): teacher forcing keeps each comparison one operation's rounding, and the
  kink term (``tf_backend/kinks.py``) accounts for pre-activations rounded to opposite sides of
  SELU's kink.
* **Faults located.** One fault at a time is injected into numpy_nn's side (its layer or
  optimizer object, nothing global) and must be found at the right (step, phase, layer, tensor).
* **The command**: ``python -m tf_backend.compare MODEL.keras --data DATA.npz`` writes its report
  and exits 1 on a divergence, 0 without.
"""
import subprocess
import sys

import keras
import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn.optimizers.base import clip_by_norm
from parity_tests.builders import compile_both, twins, use
from parity_tests.conftest import set_floatx
from parity_tests.test_trajectories import CASES, INPUT_SHAPE, compiled_twins, first_divergence
from tf_backend import compare
from tf_backend.compare_report import write_report

STEPS = 20


@pytest.fixture(scope="module")
def batches(fashion_subset):
    (x, y), _ = fashion_subset
    x = x[:STEPS * 32]
    return x, (x - x.mean()) / x.std(), y[:STEPS * 32]


CHAPTER = [name for name in CASES if not name.startswith("optimizer ")]
RUNS = [(name, dtype) for name in CHAPTER
        for dtype in (("float32",) if CASES[name].float32_only else ("float32", "float64"))]


@pytest.mark.parametrize("name, dtype", RUNS, ids=[f"{n} [{d}]" for n, d in RUNS])
def test_no_divergence_on_the_chapters_networks(name, dtype, batches):
    set_floatx(dtype)
    case = CASES[name]
    x_raw, x_standard, y = batches
    model, keras_model = compiled_twins(case, dtype)
    result = compare(model, keras_model, x_standard if case.standardize else x_raw, y,
                     steps=STEPS, batch_size=32)
    assert result.passed, result.summary()
    assert len({c.step for c in result.comparisons}) == STEPS


def test_the_kink_term_is_the_derivative_difference_at_the_two_pre_activations():
    """tf_backend.kinks on arrays: an element whose pre-activation lies on the other branch on
    Keras's side gets |f'(z) - f'(z_keras)| |g| (for SELU about lambda (alpha - 1) |g|),
    summed over the batch into the kernel's and the bias's allowances; the same z, none."""
    from tf_backend import kinks
    layer = nn.layers.Dense(2, activation="selu")
    layer.build((None, 3))
    x = np.array([[1.0, -2.0, 0.5], [0.5, 1.0, -1.0]], np.float32)
    layer.forward(x, training=True)
    keras_z = layer._z.copy()
    assert kinks.allowances(layer, np.ones((2, 2), np.float32), keras_z) == {}
    assert kinks.flipped(layer, keras_z) == 0
    keras_z[1, 0] = -keras_z[1, 0] if keras_z[1, 0] != 0 else -1.0      # the other branch
    g = np.array([[3.0, 1.0], [2.0, 5.0]], np.float32)
    found = kinks.allowances(layer, g, keras_z)
    selu = layer.activation
    z, zk = np.float32(layer._z[1, 0]), np.float32(keras_z[1, 0])
    difference = abs(float(selu.backward(z, selu.forward(z), np.float32(1)))
                     - float(selu.backward(zk, selu.forward(zk), np.float32(1))))
    assert difference > 0.5 and kinks.flipped(layer, keras_z) == 1
    assert found["kernel"] == pytest.approx(difference * 2.0 * max(abs(x[1])), rel=1e-6)
    assert found["bias"] == pytest.approx(difference * 2.0, rel=1e-6)
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    assert kinks.jump(selu, np.float32) == pytest.approx(scale * (alpha - 1), rel=1e-3)
    assert kinks.jump(nn.activations.get("relu"), np.float32) == 1
    assert kinks.jump(nn.activations.get("elu"), np.float32) < kinks.KINK    # alpha = 1


# ----------------------------------------------------------------------------- faults
FAULT_NET = [("Flatten", {}), ("Dense", dict(units=64, kernel_initializer="he_normal")),
             ("BatchNormalization", {}), ("LeakyReLU", dict(negative_slope=0.3)),
             ("Dense", dict(units=32, activation="elu")), ("Dropout", dict(rate=0.25)),
             ("Dense", dict(units=10, activation="softmax"))]
DENSE_1, BN, LEAKY, DENSE_ELU, DROPOUT, OUTPUT = range(6)


def _kernel_gradient_off(model):
    layer = model.layers[1 + DENSE_ELU]
    original = layer.backward

    def backward(grad_output, need_input_grad=True):
        result = original(grad_output, need_input_grad)
        layer.kernel.grad = layer.kernel.grad * np.asarray(1.001, layer.kernel.grad.dtype)
        return result
    layer.backward = backward


def _dropout_without_rescaling(model):
    layer = model.layers[1 + DROPOUT]
    original = layer.call

    def call(inputs, training=False):
        outputs = original(inputs, training)
        if layer._keep_mask is None:
            return outputs
        return np.where(layer._keep_mask, inputs, np.asarray(0, inputs.dtype))
    layer.call = call


def _adam_bias_correction_with_t_minus_1(model):
    optimizer = model.optimizer
    optimizer.step_count = lambda dtype, offset=1: np.asarray(
        optimizer.iterations + offset - 1, dtype)


def _nadam_schedule_one_step_late(model):
    optimizer = model.optimizer
    schedule = type(optimizer).momentum_schedule
    optimizer.momentum_schedule = lambda t, dtype: schedule(optimizer, t - 1, dtype)


def _clipnorm_per_variable(model):
    optimizer = model.optimizer
    optimizer.clip_gradients = lambda grads: [clip_by_norm(g, optimizer.global_clipnorm)
                                              for g in grads]


def _set_attribute(index, **attributes):
    def inject(model):
        for key, value in attributes.items():
            setattr(model.layers[1 + index], key, value)
    return inject


SGD = use("optimizers.SGD", learning_rate=0.05)
#: name -> (optimizer, fault, expected (step, phase, layer index, tensor))
FAULTS = {
    "BatchNormalization epsilon 1.5e-3 instead of 1e-3": (
        SGD, _set_attribute(BN, epsilon=1.5e-3), (0, "forward", BN, "output")),
    "BatchNormalization momentum 0.9 instead of 0.99": (
        SGD, _set_attribute(BN, momentum=0.9), (0, "weights", BN, "moving_mean")),
    "LeakyReLU slope 0.25 instead of 0.3": (
        SGD, _set_attribute(LEAKY, function=nn.activations.LeakyReLU(0.25)),
        (0, "forward", LEAKY, "output")),
    "ELU alpha 1.1 instead of 1.0": (
        SGD, _set_attribute(DENSE_ELU, activation=nn.activations.ELU(1.1)),
        (0, "forward", DENSE_ELU, "output")),
    "a kernel gradient 0.1% too large": (
        SGD, _kernel_gradient_off, (0, "gradient", DENSE_ELU, "kernel")),
    "Adam's bias correction with t - 1": (
        use("optimizers.Adam", learning_rate=1e-3), _adam_bias_correction_with_t_minus_1,
        (0, "weights", DENSE_1, "kernel")),
    "Nadam's momentum schedule one step late": (
        use("optimizers.Nadam", learning_rate=1e-3), _nadam_schedule_one_step_late,
        (0, "weights", DENSE_1, "kernel")),
    "dropout without rescaling": (
        SGD, _dropout_without_rescaling, (0, "forward", DROPOUT, "output")),
    "clipnorm per variable instead of global": (
        use("optimizers.SGD", learning_rate=0.05, global_clipnorm=0.05), _clipnorm_per_variable,
        (0, "weights", DENSE_1, "kernel")),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_injected_fault_is_located(fault, batches):
    set_floatx("float32")
    optimizer, inject, (step, phase, index, tensor) = FAULTS[fault]
    model, keras_model = twins(FAULT_NET, INPUT_SHAPE)
    compile_both(model, keras_model, optimizer, "sparse_categorical_crossentropy")
    inject(model)
    x, _, y = batches
    with np.errstate(all="ignore"):
        result = compare(model, keras_model, x, y, steps=3, batch_size=32)
    first = result.first_divergence
    assert first is not None, f"{fault}: not found ({result.summary()})"
    assert (first.step, first.phase, first.layer, first.tensor) == \
        (step, phase, model.layers[1 + index].name, tensor), first.describe()


def test_the_unmodified_fault_net_passes(batches):
    """The faults' network itself, every optimizer the faults use, no fault: no divergence."""
    set_floatx("float32")
    optimizers = {repr(spec[0]): spec[0] for spec in FAULTS.values()}
    for optimizer in optimizers.values():
        model, keras_model = twins(FAULT_NET, INPUT_SHAPE)
        compile_both(model, keras_model, optimizer, "sparse_categorical_crossentropy")
        x, _, y = batches
        result = compare(model, keras_model, x, y, steps=STEPS, batch_size=32)
        assert result.passed, f"{optimizer.path}: {result.summary()}"


def test_a_failing_trajectory_would_name_the_first_divergence(batches):
    """The message ``test_trajectory`` adds to a failure, from the same initial weights."""
    set_floatx("float32")
    case = CASES["LeakyReLU (he_normal), SGD"]
    model, _ = compiled_twins(case, "float32")
    x, _, y = batches
    text = first_divergence(case, "float32", model.get_weights(), x, y)
    assert text.startswith("no divergence in 20 steps")


def test_the_command_reports_and_exits_one_on_a_divergence(tmp_path, batches):
    set_floatx("float32")
    x, _, y = batches
    keras_model = keras.Sequential([keras.layers.Input(INPUT_SHAPE), keras.layers.Flatten(),
                                    keras.layers.Dense(16, activation="elu"),
                                    keras.layers.Dense(10, activation="softmax")])
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05),
                        loss="sparse_categorical_crossentropy")
    path = tmp_path / "model.keras"
    keras_model.save(path)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    command = [sys.executable, "-m", "tf_backend.compare", str(path), "--data",
               str(tmp_path / "data.npz"), "--steps", "3", "--report", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no divergence in 3 steps" in done.stdout
    report = (tmp_path / "out" / "report.md").read_text()
    assert "no divergence" in report and (tmp_path / "out" / "errors.png").stat().st_size > 0
    assert len((tmp_path / "out" / "comparisons.csv").read_text().splitlines()) > 3 * 8


def test_the_report_marks_the_first_divergence(tmp_path, batches):
    set_floatx("float32")
    model, keras_model = twins(FAULT_NET, INPUT_SHAPE)
    compile_both(model, keras_model, SGD, "sparse_categorical_crossentropy")
    _set_attribute(BN, epsilon=1.5e-3)(model)
    x, _, y = batches
    result = compare(model, keras_model, x, y, steps=2, batch_size=32)
    text = open(write_report(result, tmp_path)).read()
    assert "## First divergence" in text and "| 0 | forward | " in text
    assert result.summary().startswith("first divergence: step 0, forward")


def test_the_guides_worked_example_finds_the_modified_layer(tmp_path):
    """``examples/disagree.py``, shown in docs/guides/disagree.md."""
    from examples import disagree
    set_floatx("float32")
    disagree.main(["--quick", "--out", str(tmp_path)])
    text = (tmp_path / "first_divergence.txt").read_text()
    assert "first divergence: step 0, forward, layer 'leaky_re_lu" in text
    assert "unmodified:\n  no divergence in 5 steps" in text
