"""Whole training runs: the chapter's models trained by both engines, 224 steps each.

Each model is written once, in the chapter's spelling (``parity_tests.builders``), and built by
each library from its own classes and defaults, and so is each optimizer, from the arguments the
case names. Keras's model then receives numpy_nn's initial weights (``set_weights``), and both
are fitted on the same 1,024 Fashion-MNIST images (32 batches of 32, shuffle off, 7 epochs = 224
steps) with 256 validation images. Compared per epoch: ``loss``,
``val_loss`` (relative), ``accuracy``, ``val_accuracy`` (in samples); at the end: every weight,
including BatchNormalization's moving statistics and PReLU's slopes.

Float types:

* **float64, every model** — loss and weights within a tolerance per model family
  (``tolerances.TRAJECTORY_FLOAT64``: shallow nets trained by SGD, by adaptive optimizers, and
  the 30-layer SELU net). Both engines round at 1e-16 per operation, so anything above that is an
  algorithmic difference.
* **float32, shallow models only** (up to 5 hidden layers) — loss within 1e-4. Deep float32
  training is chaotic: the same NumPy code in float32 and float64 drifts apart by 1e-4 on a
  21-layer SELU net (measured).

The deep SELU net has 30 hidden layers, not the chapter's 100. Measured with numpy_nn alone in
float64 (batch 32, SGD 1e-3, these data): scaling every initial weight by (1 + 1e-15) changes
the loss after 224 steps by 1e-12 relative at depth 30, but at depth 50 the difference grows
~6x per step and reaches 3% by step 16, and at depth 100 likewise (also with lr 1e-4). No two
implementations — not even the same code with its additions reordered — can follow such a
trajectory, so a 100-layer comparison would measure chaos, not Keras parity.

In the float32 runs each optimizer gets only the arguments the case names; the rest are each
library's defaults. In the float64 runs every float hyper-parameter is named, rounded to float32
(``keras_float64_spelling``; the values, defaults included, are read from *Keras's* optimizer),
because in float64 mode Keras 3 still rounds them to float32: ``keras.ops.cast(0.9, "float64")``
first makes a float32 tensor of the Python float, giving 0.8999999761581421; that is how Keras reads
SGD's momentum, Adam/Adamax/Nadam's beta_1 and beta_2, the l1/l2 factors, weight decay and
ExponentialDecay/InverseTimeDecay's decay rate. numpy_nn keeps them exact (it is right; Keras's
float64 mode is not quite float64). With values float32 represents exactly, both compute the same
thing; ``test_keras_float64_rounds_hyper_parameters`` pins the Keras behaviour down. Measured before
rounding: float64 losses apart by 3e-8 (SGD momentum) to 3e-6 (Adam).

For the same reason the schedules inside ``fit`` are ones whose float32 and float64 values are
the same numbers (a staircase ExponentialDecay with rate 0.5, a PiecewiseConstantDecay of float32
values): Keras computes every schedule in float32, whatever the float type. Nadam has one more
such constant, handled by ``KerasFloat64Nadam`` below.

Likewise LeakyReLU's slope is ``float32(0.2)`` = 0.20000000298023224 in both engines, not 0.2:
TensorFlow's ``LeakyRelu`` op keeps its ``alpha`` as a float32 attribute, so Keras computes a
float64 LeakyReLU with the float32-rounded slope, where numpy_nn uses the exact double 0.2 (which
is what the user asked for). That 1.5e-8 relative difference in the slope is invisible in
float32 but moves a float64 run by ~1e-9 (measured on the LeakyReLU case: loss 4.5e-10, weights
9.5e-10, far outside ``tolerances.TRAJECTORY_FLOAT64``); with a slope that float32 represents
exactly, both compute the same thing.
``test_keras_float64_leaky_relu_slope`` pins this Keras behaviour down.

Keras runs in graph mode without XLA here (``run_eagerly=False, jit_compile=False``), three
times faster than eager. The one
numerical effect of graph mode, TensorFlow rewriting ``x / sqrt(y)`` as ``x * rsqrt(y)`` in
Adagrad and RMSprop, is a few ulp per step, far inside these tolerances.
"""
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.builders import (
    KERAS,
    NUMPY_NN,
    Use,
    build_layers,
    compile_both,
    fit_both,
    resolve,
    twins,
    use,
)
from parity_tests.conftest import set_floatx
from parity_tests.report import check
from tf_backend import compare

EPOCHS = 7
BATCH_SIZE = 32
INPUT_SHAPE = (28, 28)


def f32(value):
    """``value`` rounded to the nearest float32, as a Python float (see the module docstring)."""
    return float(np.float32(value))


#: the chapter's LeakyReLU(alpha=0.2), rounded to float32 (see the module docstring)
SLOPE = f32(0.2)


@dataclass
class Case:
    layers: list               # the model after Flatten, as (class name, kwargs)
    optimizer: Use             # built by each library (see keras_float64_spelling)
    deep: bool = False         # deep models are compared in float64 only
    standardize: bool = False  # SELU nets want standardized inputs (the chapter's scaling)
    float32_only: str = ""     # why this case has no float64 run (empty: it has one)
    numpy_optimizer: object = None   # numpy_nn's own spelling, where the two APIs differ


def dense(units, **kwargs):
    return ("Dense", dict(units=units, **kwargs))


def mlp(activation_layer=None, activation=None, initializer="he_normal", sizes=(300, 100),
        **dense_options):
    if activation is not None:
        dense_options["activation"] = activation
    layers = []
    for size in sizes:
        layers.append(dense(size, kernel_initializer=initializer, **dense_options))
        if activation_layer is not None:
            layers.append(activation_layer)
    return layers + [dense(10, activation="softmax")]


BN_AFTER_ACTIVATION = [("BatchNormalization", {}),
                       dense(300, activation="elu", kernel_initializer="he_normal"),
                       ("BatchNormalization", {}),
                       dense(100, activation="elu", kernel_initializer="he_normal"),
                       ("BatchNormalization", {}), dense(10, activation="softmax")]
BN_BEFORE_ACTIVATION = [("BatchNormalization", {}),
                        dense(300, kernel_initializer="he_normal", use_bias=False),
                        ("BatchNormalization", {}), ("Activation", dict(activation="elu")),
                        dense(100, kernel_initializer="he_normal", use_bias=False),
                        ("BatchNormalization", {}), ("Activation", dict(activation="elu")),
                        dense(10, activation="softmax")]


def selu_net(depth):
    return ([dense(100, activation="selu", kernel_initializer="lecun_normal")
             for _ in range(depth)] + [dense(10, activation="softmax")])


def regularized(**penalties):
    return [dense(300, activation="elu", kernel_initializer="he_normal", **penalties),
            dense(100, activation="elu", kernel_initializer="he_normal", **penalties),
            dense(10, activation="softmax", **penalties)]


#: Per optimizer, the float hyper-parameters besides the learning rate that Keras 3 reads
#: through float32 in float64 mode (the arguments of each keras/src/optimizers/<name>.py).
FLOAT_HYPER_PARAMETERS = {
    "SGD": ("momentum",), "Adagrad": ("initial_accumulator_value", "epsilon"),
    "RMSprop": ("rho", "momentum", "epsilon"), "Adam": ("beta_1", "beta_2", "epsilon"),
    "Adamax": ("beta_1", "beta_2", "epsilon"), "Nadam": ("beta_1", "beta_2", "epsilon"),
}


def keras_float64_spelling(optimizer):
    """``optimizer`` with every float hyper-parameter named and rounded to float32, the values
    left to defaults read from Keras's own optimizer (see the module docstring)."""
    config = resolve(KERAS, optimizer).get_config()
    name = optimizer.path.rsplit(".", 1)[1]
    named = {key: f32(config[key]) for key in FLOAT_HYPER_PARAMETERS[name]}
    if "learning_rate" not in optimizer.kwargs:
        named["learning_rate"] = f32(config["learning_rate"])
    named.update({key: f32(value) if isinstance(value, float) else value
                  for key, value in optimizer.kwargs.items()})
    return Use(optimizer.path, optimizer.args, named)


class KerasFloat64Nadam(nn.optimizers.Nadam):
    """numpy_nn's Nadam with the one constant Keras 3 reads in float32 even in float64 mode.

    Keras computes the momentum schedule (``keras/src/optimizers/nadam.py::Nadam.update_step``)
    with ``decay = ops.cast(0.96, dtype)``, i.e. with float32(0.96) = 0.9599999785, but its
    running product with the double 0.96 (a Python float inside ``ops.power``). In float32 the
    two are the same number; in float64 Keras's Nadam is therefore not quite the float64
    algorithm, and numpy_nn (exact 0.96 everywhere) drifts from it by ~1e-8 in loss over 224
    steps. This subclass, used only on numpy_nn's side of the float64 runs, reproduces Keras's
    constant so that everything else about Nadam is compared at float64 precision.
    """

    def momentum_schedule(self, t, dtype):
        decay = np.asarray(np.float32(0.96), dtype)
        return np.asarray(self.beta_1, dtype) * (
            np.asarray(1, dtype) - np.asarray(0.5, dtype) * np.power(decay, t))


def sgd(**kwargs):
    return use("optimizers.SGD", **kwargs)


SMALL = dict(sizes=(100,), activation="elu")   # the one-hidden-layer net of the optimizer runs
CASES = {
    # the chapter's models
    "LeakyReLU (he_normal), SGD": Case(
        mlp(("LeakyReLU", dict(negative_slope=SLOPE))), sgd(learning_rate=1e-2)),
    "PReLU (he_normal), SGD momentum": Case(mlp(("PReLU", {})),
                                            sgd(learning_rate=1e-3, momentum=0.9)),
    "SELU deep (30 × 100, lecun_normal), SGD": Case(
        selu_net(30), sgd(learning_rate=1e-3), deep=True, standardize=True),
    "BN after activation, SGD": Case(BN_AFTER_ACTIVATION, sgd(learning_rate=1e-3)),
    "BN before activation (no bias), Nesterov": Case(
        BN_BEFORE_ACTIVATION, sgd(learning_rate=1e-3, momentum=0.9, nesterov=True)),
    "l2(0.01), Nadam": Case(regularized(kernel_regularizer=use("regularizers.l2", f32(0.01))),
                            use("optimizers.Nadam")),
    "l1 + l1_l2, Adam": Case(
        regularized(kernel_regularizer=use("regularizers.l1_l2", f32(1e-5), f32(1e-4)),
                    bias_regularizer=use("regularizers.l1", f32(1e-4))),
        use("optimizers.Adam"), standardize=True),
    "max-norm(1.0) (selu, lecun_normal), Nadam": Case(
        mlp(activation="selu", initializer="lecun_normal",
            kernel_constraint=use("constraints.max_norm", 1.0)),
        use("optimizers.Nadam"), standardize=True),
    # each optimizer on the same small net
    **{f"optimizer {label}": Case(mlp(**SMALL), optimizer) for label, optimizer in {
        "SGD": sgd(learning_rate=1e-2),
        "SGD momentum": sgd(learning_rate=1e-2, momentum=0.9),
        "SGD Nesterov": sgd(learning_rate=1e-2, momentum=0.9, nesterov=True),
        "Adagrad": use("optimizers.Adagrad", learning_rate=1e-2),
        "RMSprop": use("optimizers.RMSprop", learning_rate=1e-3, rho=0.9),
        "Adam": use("optimizers.Adam", learning_rate=1e-3),
        "Adamax": use("optimizers.Adamax", learning_rate=2e-3),
        "Nadam": use("optimizers.Nadam", learning_rate=1e-3),
    }.items()},
    # schedules and clipping inside fit
    "ExponentialDecay (staircase) + clipnorm, SGD": Case(
        mlp(**SMALL), sgd(learning_rate=use("optimizers.schedules.ExponentialDecay",
                                            f32(0.05), 32, 0.5, True), clipnorm=1.0)),
    "PiecewiseConstantDecay, Adam": Case(
        mlp(**SMALL), use("optimizers.Adam", learning_rate=use(
            "optimizers.schedules.PiecewiseConstantDecay", [64, 160],
            [f32(2e-3), f32(1e-3), f32(5e-4)]))),
    # The book's SGD(lr=0.05, decay=1e-2), which Keras 3 ignores, against the schedule Keras 3
    # documents as its replacement: two explicit spellings of one learning rate.
    "decay= (power scheduling), SGD": Case(
        mlp(**SMALL),
        sgd(learning_rate=use("optimizers.schedules.InverseTimeDecay", 0.05, 1, 1e-2)),
        numpy_optimizer=lambda: nn.optimizers.SGD(lr=0.05, decay=1e-2),
        float32_only="Keras 3 ignores decay=; its replacement InverseTimeDecay, like every Keras "
                     "schedule, computes the learning rate in float32 even in float64 mode, while "
                     "numpy_nn's decay= uses the model's float type"),
}
RUNS = [(name, dtype) for name, case in CASES.items()
        for dtype in (("float64",) if case.deep else
                      ("float32",) if case.float32_only else ("float32", "float64"))]


def trajectory_tolerances(dtype, deep, optimizer):
    """(component suffix naming the float64 family, loss, weights, accuracy tolerances)."""
    adaptive = not isinstance(optimizer, (nn.optimizers.SGD, nn.optimizers.legacy.SGD))
    if dtype == "float32":
        return ("", tol.TRAJECTORY_FLOAT32_LOSS,
                tol.TRAJECTORY_FLOAT32_WEIGHTS_ADAPTIVE if adaptive
                else tol.TRAJECTORY_FLOAT32_WEIGHTS, tol.TRAJECTORY_FLOAT32_ACCURACY_SAMPLES)
    family = tol.trajectory_float64_family(deep, adaptive)
    loss_tol, weight_tol = tol.TRAJECTORY_FLOAT64[family]
    return f" ({family})", loss_tol, weight_tol, tol.TRAJECTORY_FLOAT64_ACCURACY


@pytest.fixture(scope="module")
def data(fashion_subset):
    (x, y), (x_val, y_val) = fashion_subset
    mean, std = x.mean(), x.std()
    return {False: (x, y, x_val, y_val),
            True: ((x - mean) / std, y, (x_val - mean) / std, y_val)}


def compare_histories(name, dtype, result, optimizer, n_train, n_val, deep=False,
                      prefix="trajectory"):
    """Check per-epoch loss / accuracy and final weights."""
    ours, theirs = result.numpy_history, result.keras_history
    assert sorted(ours) == sorted(theirs) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(ours["loss"]) == len(theirs["loss"])
    loss_error = max(tol.relative_error(ours[key], theirs[key]) for key in ("loss", "val_loss"))
    accuracy_samples = max(
        float(np.max(np.abs(np.array(ours[key]) - np.array(theirs[key])))) * n
        for key, n in (("accuracy", n_train), ("val_accuracy", n_val)))
    weight_error = tol.layerwise_relative_error(result.numpy_weights, result.keras_weights,
                                                result.weight_paths)
    family, loss_tol, weight_tol, accuracy_tol = trajectory_tolerances(dtype, deep, optimizer)
    check(f"{prefix} {dtype} loss{family}: {name}", loss_error, loss_tol,
          "per-epoch loss/val_loss")
    check(f"{prefix} {dtype} weights{family}: {name}", weight_error, weight_tol,
          "final weights")
    check(f"{prefix} {dtype} accuracy (all models)", round(accuracy_samples), accuracy_tol,
          f"{name}: per-epoch accuracy/val_accuracy", unit="samples")


def compiled_twins(case, dtype):
    """The case's two models, built and compiled as the trajectory test builds them."""
    model, keras_model = twins([("Flatten", {})] + case.layers, INPUT_SHAPE)
    optimizer, numpy_optimizer = case.optimizer, case.numpy_optimizer
    if dtype == "float64":
        optimizer = keras_float64_spelling(optimizer)
        if optimizer.path == "optimizers.Nadam":
            numpy_optimizer = lambda: KerasFloat64Nadam(**optimizer.kwargs)  # noqa: E731
    compile_both(model, keras_model, optimizer, "sparse_categorical_crossentropy",
                 metrics=["accuracy"], numpy_optimizer=numpy_optimizer and numpy_optimizer())
    return model, keras_model


def first_divergence(case, dtype, initial_weights, x, y):
    """What ``tf_backend.compare`` finds on the case from the same initial weights (20 steps),
    for a failing trajectory's message."""
    model, keras_model = compiled_twins(case, dtype)
    model.set_weights(initial_weights)
    return compare(model, keras_model, x, y, steps=20, batch_size=BATCH_SIZE).summary()


@pytest.mark.parametrize("name, dtype", RUNS, ids=[f"{n} [{d}]" for n, d in RUNS])
def test_trajectory(name, dtype, data):
    set_floatx(dtype)
    case = CASES[name]
    x, y, x_val, y_val = data[case.standardize]
    model, keras_model = compiled_twins(case, dtype)
    initial_weights = model.get_weights()
    result = fit_both(model, keras_model, x, y, epochs=EPOCHS, batch_size=BATCH_SIZE,
                      validation_data=(x_val, y_val))
    assert result.keras_history["loss"][-1] < result.keras_history["loss"][0], "did it train?"
    try:
        compare_histories(name, dtype, result, model.optimizer, len(x), len(x_val), case.deep)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\ntf_backend.compare from the same initial weights: "
                             f"{first_divergence(case, dtype, initial_weights, x, y)}") from None


TRANSFER_A = ([("Flatten", {})]
              + [dense(n, activation="selu", kernel_initializer="lecun_normal")
                 for n in (300, 100, 50, 50, 50)] + [dense(8, activation="softmax")])
TRANSFER_HEAD = [dense(1, activation="sigmoid")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transfer_learning_freeze_then_unfreeze(dtype, data):
    """The chapter's transfer learning: reuse model A's hidden layers under a new binary head,
    train 4 epochs with them frozen, unfreeze, recompile, train 3 more (7 × 32 = 224 steps).

    Each library reuses its own model A's layers. Freezing must take effect on both sides only
    through recompiling (Keras 3 reads ``trainable`` at compile time), and frozen weights must
    not move at all.
    """
    set_floatx(dtype)
    x, y, x_val, y_val = data[True]
    y, y_val = (y >= 5).astype(np.int64), (y_val >= 5).astype(np.int64)   # a task "B"
    model_a, keras_a = twins(TRANSFER_A, INPUT_SHAPE)
    model_b = nn.models.Sequential([nn.layers.Input(shape=INPUT_SHAPE)] + model_a.layers[:-1]
                                   + build_layers(NUMPY_NN, TRANSFER_HEAD))
    keras_b = keras.Sequential([keras.layers.Input(shape=INPUT_SHAPE)] + keras_a.layers[:-1]
                               + build_layers(KERAS, TRANSFER_HEAD))
    # Reused layers keep their weights in both libraries (they are the same layer objects).
    for reused, original in zip(model_b.get_weights()[:-2], model_a.get_weights()[:-2]):
        np.testing.assert_array_equal(reused, original)
    keras_b.set_weights(model_b.get_weights())           # the new heads' initial weights
    for layer in model_b.layers[:-1] + keras_b.layers[:-1]:
        layer.trainable = False
    sgd_1e3 = sgd(learning_rate=1e-3)
    if dtype == "float64":
        sgd_1e3 = keras_float64_spelling(sgd_1e3)
    compile_both(model_b, keras_b, sgd_1e3, "binary_crossentropy", metrics=["accuracy"])
    frozen_before = [w.copy() for w in model_b.get_weights()[:-2]]
    fit = dict(batch_size=BATCH_SIZE, validation_data=(x_val, y_val))
    phase_1 = fit_both(model_b, keras_b, x, y, epochs=4, **fit)
    for ours, theirs, before in zip(phase_1.numpy_weights[:-2], phase_1.keras_weights[:-2],
                                    frozen_before):
        assert np.array_equal(ours, before) and np.array_equal(theirs, before), \
            "a frozen weight moved"
    compare_histories("transfer learning, frozen phase", dtype, phase_1, model_b.optimizer,
                      len(x), len(x_val))

    for layer in model_b.layers + keras_b.layers:
        layer.trainable = True
    compile_both(model_b, keras_b, sgd_1e3, "binary_crossentropy", metrics=["accuracy"])
    phase_2 = fit_both(model_b, keras_b, x, y, epochs=3, **fit)
    compare_histories("transfer learning, unfrozen phase", dtype, phase_2, model_b.optimizer,
                      len(x), len(x_val))


def test_keras_float64_leaky_relu_slope(float64):
    """Why the trajectories use SLOPE: in float64, Keras's LeakyReLU(0.2) multiplies by
    float32(0.2), numpy_nn by the double 0.2. numpy_nn is exact; Keras inherits the float32
    attribute of TensorFlow's LeakyRelu op."""
    x = np.array([[-1.0]])
    keras_out = keras.layers.LeakyReLU(negative_slope=0.2)(x).numpy()
    assert keras_out[0, 0] == -float(np.float32(0.2)) != -0.2
    assert nn.layers.LeakyReLU(negative_slope=0.2)(x)[0, 0] == -0.2


def test_keras_float64_rounds_hyper_parameters(float64):
    """Why the float64 trajectories round hyper-parameters: in float64, Keras casts Python
    floats through float32. numpy_nn's float64 SGD uses the exact momentum."""
    assert float(keras.ops.cast(0.9, "float64")) == f32(0.9) != 0.9
    keras_sgd = keras.optimizers.SGD(learning_rate=1.0, momentum=0.9)
    ours = nn.optimizers.SGD(learning_rate=1.0, momentum=0.9)
    keras_var = keras.Variable(np.zeros(1), dtype="float64")
    our_var = nn.variables.Variable(np.zeros(1), dtype="float64")
    for _ in range(2):
        keras_sgd.apply_gradients([(np.ones(1), keras_var)])
        ours.apply([np.ones(1)], [our_var])
    assert keras_var.numpy()[0] == -(1 + 1 + f32(0.9))   # velocity 1, then 1 + 0.9 * 1
    assert our_var.value[0] == -(1 + 1 + 0.9)
