"""Whole training runs: the chapter's models trained by both engines, 224 steps each.

Every run uses ``tf_backend.train_side_by_side``: the numpy_nn model is translated to Keras with
its initial weights, and both are fitted on the same 1,024 Fashion-MNIST images (32 batches of
32, shuffle off, 7 epochs = 224 steps) with 256 validation images. Compared per epoch: ``loss``,
``val_loss`` (relative), ``accuracy``, ``val_accuracy`` (in samples); at the end: every weight,
including BatchNormalization's moving statistics and PReLU's slopes.

Float types (keras3-spec §0, "Measured here"):

* **float64, every model** — loss within 1e-9. Both engines round at 1e-16 per operation, so
  anything above that is an algorithmic difference.
* **float32, shallow models only** (up to 5 hidden layers) — loss within 1e-4. Deep float32
  training is chaotic: the same NumPy code in float32 and float64 drifts apart by 1e-4 on a
  21-layer SELU net.

The deep SELU net has 30 hidden layers, not the chapter's 100. Measured with numpy_nn alone in
float64 (batch 32, SGD 1e-3, these data): scaling every initial weight by (1 + 1e-15) changes
the loss after 224 steps by 1e-12 relative at depth 30, but at depth 50 the difference grows
~6x per step and reaches 3% by step 16, and at depth 100 likewise (also with lr 1e-4). No two
implementations — not even the same code with its additions reordered — can follow such a
trajectory, so a 100-layer comparison would measure chaos, not Keras parity.

Hyper-parameters are rounded to float32 (``f32``, ``rounded``), in both float types. In float64
mode Keras 3 still rounds several of them to float32: ``keras.ops.cast(0.9, "float64")`` first
makes a float32 tensor of the Python float, giving 0.8999999761581421; that is how Keras reads
SGD's momentum, Adam/Adamax/Nadam's beta_1 and beta_2, the l1/l2 factors, weight decay and
ExponentialDecay/InverseTimeDecay's decay rate. numpy_nn keeps them exact (it is right; Keras's
float64 mode is not quite float64). With values float32 represents exactly, both compute the
same thing; ``test_keras_float64_rounds_hyper_parameters`` pins the Keras behaviour down.
Measured before rounding: float64 losses apart by 3e-8 (SGD momentum) to 3e-6 (Adam).

For the same reason the schedules inside ``fit`` are ones whose float32 and float64 values are
the same numbers (a staircase ExponentialDecay with rate 0.5, a PiecewiseConstantDecay of float32
values): Keras computes every schedule in float32, whatever the float type. Nadam has one more
such constant, handled by ``KerasFloat64Nadam`` below.

Likewise LeakyReLU's slope is ``float32(0.2)`` = 0.20000000298023224 in both engines, not 0.2:
TensorFlow's ``LeakyRelu`` op keeps its ``alpha`` as a float32 attribute, so Keras computes a
float64 LeakyReLU with the float32-rounded slope, where numpy_nn uses the exact double 0.2 (which
is what the user asked for). That 1.5e-8 relative difference in the slope is invisible in
float32 but moves a float64 run by ~1e-9 (measured: loss 4.5e-10, weights 2.8e-9); with a slope
that float32 represents exactly, both compute the same thing.
``test_keras_float64_leaky_relu_slope`` pins this Keras behaviour down.

Keras runs in graph mode here (``run_eagerly=False``), three times faster than eager. The one
numerical effect of graph mode, TensorFlow rewriting ``x / sqrt(y)`` as ``x * rsqrt(y)`` in
Adagrad and RMSprop, is a few ulp per step, far inside these tolerances.
"""
import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import numpy_nn as nn
import tf_backend
from parity_tests import tolerances as tol
from parity_tests.conftest import set_floatx
from parity_tests.report import check

EPOCHS = 7
#: the chapter's LeakyReLU(alpha=0.2), rounded to float32 (see the module docstring)
SLOPE = float(np.float32(0.2))
BATCH_SIZE = 32
L = nn.layers


@dataclass
class Case:
    build: Callable            # () -> list of layers after Flatten
    optimizer: Callable        # () -> numpy_nn optimizer
    deep: bool = False         # deep models are compared in float64 only
    standardize: bool = False  # SELU nets want standardized inputs (the chapter's scaling)
    float32_only: str = ""     # why this case has no float64 run (empty: it has one)


def mlp(activation_layer=None, activation=None, initializer="he_normal", sizes=(300, 100),
        **dense_options):
    layers = []
    for size in sizes:
        layers.append(L.Dense(size, activation=activation, kernel_initializer=initializer,
                              **dense_options))
        if activation_layer is not None:
            layers.append(activation_layer())
    return layers + [L.Dense(10, activation="softmax")]


def bn_after_activation():
    return [L.BatchNormalization(),
            L.Dense(300, activation="elu", kernel_initializer="he_normal"),
            L.BatchNormalization(),
            L.Dense(100, activation="elu", kernel_initializer="he_normal"),
            L.BatchNormalization(), L.Dense(10, activation="softmax")]


def bn_before_activation():
    return [L.BatchNormalization(),
            L.Dense(300, kernel_initializer="he_normal", use_bias=False),
            L.BatchNormalization(), L.Activation("elu"),
            L.Dense(100, kernel_initializer="he_normal", use_bias=False),
            L.BatchNormalization(), L.Activation("elu"), L.Dense(10, activation="softmax")]


def selu_net(depth):
    return ([L.Dense(100, activation="selu", kernel_initializer="lecun_normal")
             for _ in range(depth)] + [L.Dense(10, activation="softmax")])


def regularized(regularizer_or_constraint):
    return lambda: [
        L.Dense(300, activation="elu", kernel_initializer="he_normal",
                **regularizer_or_constraint()),
        L.Dense(100, activation="elu", kernel_initializer="he_normal",
                **regularizer_or_constraint()),
        L.Dense(10, activation="softmax", **regularizer_or_constraint())]


O = nn.optimizers
S = nn.optimizers.schedules
R = nn.regularizers


def f32(value):
    """``value`` rounded to the nearest float32, as a Python float (see the module docstring)."""
    return float(np.float32(value))


def rounded(cls, **kwargs):
    """``cls(**kwargs)`` with every float hyper-parameter — the defaults included — rounded to
    float32, so that Keras's float64 mode uses exactly the values numpy_nn uses."""
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if isinstance(parameter.default, float)}
    kwargs = {**defaults, **kwargs}
    return cls(**{k: f32(v) if isinstance(v, float) else v for k, v in kwargs.items()})


class KerasFloat64Nadam(O.Nadam):
    """numpy_nn's Nadam with the one constant Keras 3 reads in float32 even in float64 mode.

    Keras computes the momentum schedule with ``decay = ops.cast(0.96, dtype)``, i.e. with
    float32(0.96) = 0.9599999785, but its running product with the double 0.96 (a Python float
    inside ``ops.power``). In float32 the two are the same number; in float64 Keras's Nadam is
    therefore not quite the float64 algorithm, and numpy_nn (exact 0.96 everywhere) drifts from
    it by ~1e-8 in loss over 224 steps. This subclass, used only in the float64 runs, reproduces
    Keras's constant so that everything else about Nadam is compared at float64 precision.
    """

    def momentum_schedule(self, t, dtype):
        decay = np.asarray(np.float32(0.96), dtype)
        return np.asarray(self.beta_1, dtype) * (
            np.asarray(1, dtype) - np.asarray(0.5, dtype) * np.power(decay, t))


def nadam(**kwargs):
    cls = KerasFloat64Nadam if nn.backend.floatx() == "float64" else O.Nadam
    return rounded(cls, **kwargs)


SMALL = dict(sizes=(100,), activation="elu")   # the one-hidden-layer net of the optimizer runs
CASES = {
    # the chapter's models
    "LeakyReLU (he_normal), SGD": Case(lambda: mlp(lambda: L.LeakyReLU(alpha=f32(0.2))),
                                       lambda: rounded(O.SGD, learning_rate=1e-2)),
    "PReLU (he_normal), SGD momentum": Case(
        lambda: mlp(L.PReLU), lambda: rounded(O.SGD, learning_rate=1e-3, momentum=0.9)),
    "SELU deep (30 × 100, lecun_normal), SGD": Case(
        lambda: selu_net(30), lambda: rounded(O.SGD, learning_rate=1e-3), deep=True,
        standardize=True),
    "BN after activation, SGD": Case(bn_after_activation,
                                     lambda: rounded(O.SGD, learning_rate=1e-3)),
    "BN before activation (no bias), Nesterov": Case(
        bn_before_activation,
        lambda: rounded(O.SGD, learning_rate=1e-3, momentum=0.9, nesterov=True)),
    "l2(0.01), Nadam": Case(regularized(lambda: {"kernel_regularizer": R.l2(f32(0.01))}),
                            lambda: nadam()),
    "l1 + l1_l2, Adam": Case(
        regularized(lambda: {"kernel_regularizer": R.l1_l2(f32(1e-5), f32(1e-4)),
                             "bias_regularizer": R.l1(f32(1e-4))}),
        lambda: rounded(O.Adam), standardize=True),
    "max-norm(1.0) (selu, lecun_normal), Nadam": Case(
        lambda: mlp(activation="selu", initializer="lecun_normal",
                    kernel_constraint=nn.constraints.max_norm(1.0)),
        lambda: nadam(), standardize=True),
    # each optimizer on the same small net
    **{f"optimizer {label}": Case(lambda: mlp(**SMALL), factory) for label, factory in {
        "SGD": lambda: rounded(O.SGD, learning_rate=1e-2),
        "SGD momentum": lambda: rounded(O.SGD, learning_rate=1e-2, momentum=0.9),
        "SGD Nesterov": lambda: rounded(O.SGD, learning_rate=1e-2, momentum=0.9, nesterov=True),
        "Adagrad": lambda: rounded(O.Adagrad, learning_rate=1e-2),
        "RMSprop": lambda: rounded(O.RMSprop, learning_rate=1e-3, rho=0.9),
        "Adam": lambda: rounded(O.Adam, learning_rate=1e-3),
        "Adamax": lambda: rounded(O.Adamax, learning_rate=2e-3),
        "Nadam": lambda: nadam(learning_rate=1e-3),
    }.items()},
    # schedules and clipping inside fit
    "ExponentialDecay (staircase) + clipnorm, SGD": Case(
        lambda: mlp(**SMALL),
        lambda: rounded(O.SGD, learning_rate=S.ExponentialDecay(f32(0.05), 32, 0.5, True),
                        clipnorm=1.0)),
    "PiecewiseConstantDecay, Adam": Case(
        lambda: mlp(**SMALL),
        lambda: rounded(O.Adam, learning_rate=S.PiecewiseConstantDecay(
            [64, 160], [f32(2e-3), f32(1e-3), f32(5e-4)]))),
    "decay= (power scheduling), SGD": Case(
        lambda: mlp(**SMALL), lambda: rounded(O.SGD, lr=0.05, decay=1e-2),
        float32_only="Keras 3 ignores decay=; its replacement InverseTimeDecay, like every Keras "
                     "schedule, computes the learning rate in float32 even in float64 mode, while "
                     "numpy_nn's decay= uses the model's float type"),
}
RUNS = [(name, dtype) for name, case in CASES.items()
        for dtype in (("float64",) if case.deep else
                      ("float32",) if case.float32_only else ("float32", "float64"))]


@pytest.fixture(scope="module")
def data(fashion_subset):
    (x, y), (x_val, y_val) = fashion_subset
    mean, std = x.mean(), x.std()
    return {False: (x, y, x_val, y_val),
            True: ((x - mean) / std, y, (x_val - mean) / std, y_val)}


def compare_histories(name, dtype, result, n_train, n_val):
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
    if dtype == "float32":
        loss_tol = tol.TRAJECTORY_FLOAT32_LOSS
        adaptive = not isinstance(result.numpy_model.optimizer, O.SGD)
        weight_tol = (tol.TRAJECTORY_FLOAT32_WEIGHTS_ADAPTIVE if adaptive
                      else tol.TRAJECTORY_FLOAT32_WEIGHTS)
        accuracy_tol = tol.TRAJECTORY_FLOAT32_ACCURACY_SAMPLES
    else:
        loss_tol, weight_tol = tol.TRAJECTORY_FLOAT64_LOSS, tol.TRAJECTORY_FLOAT64_WEIGHTS
        accuracy_tol = tol.TRAJECTORY_FLOAT64_ACCURACY
    check(f"trajectory {dtype} loss: {name}", loss_error, loss_tol, "per-epoch loss/val_loss")
    check(f"trajectory {dtype} weights: {name}", weight_error, weight_tol, "final weights")
    check(f"trajectory {dtype} accuracy (all models)", round(accuracy_samples), accuracy_tol,
          f"{name}: per-epoch accuracy/val_accuracy", unit="samples")


@pytest.mark.parametrize("name, dtype", RUNS, ids=[f"{n} [{d}]" for n, d in RUNS])
def test_trajectory(name, dtype, data):
    set_floatx(dtype)
    case = CASES[name]
    x, y, x_val, y_val = data[case.standardize]
    model = nn.models.Sequential([L.Flatten(input_shape=[28, 28])] + case.build())
    model.compile(loss="sparse_categorical_crossentropy", optimizer=case.optimizer(),
                  metrics=["accuracy"])
    keras_model = None
    if isinstance(model.optimizer, KerasFloat64Nadam):   # Keras's twin is its own Nadam
        keras_model = tf_backend.to_keras(model, compile=False)
        keras_model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                            optimizer=tf_backend.optimizer_to_keras(
                                O.Nadam.from_config(model.optimizer.get_config())))
    result = tf_backend.train_side_by_side(model, x, y, epochs=EPOCHS, batch_size=BATCH_SIZE,
                                           validation_data=(x_val, y_val), run_eagerly=False,
                                           keras_model=keras_model)
    assert result.keras_history["loss"][-1] < result.keras_history["loss"][0], "did it train?"
    compare_histories(name, dtype, result, len(x), len(x_val))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transfer_learning_freeze_then_unfreeze(dtype, data):
    """The chapter's transfer learning: reuse model A's hidden layers under a new binary head,
    train 4 epochs with them frozen, unfreeze, recompile, train 3 more (7 × 32 = 224 steps).

    Freezing must take effect on both sides only through recompiling (Keras 3 reads
    ``trainable`` at compile time), and frozen weights must not move at all.
    """
    set_floatx(dtype)
    x, y, x_val, y_val = data[True]
    y, y_val = (y >= 5).astype(np.int64), (y_val >= 5).astype(np.int64)   # a task "B"
    model_a = nn.models.Sequential(
        [L.Flatten(input_shape=[28, 28])]
        + [L.Dense(n, activation="selu", kernel_initializer="lecun_normal")
           for n in (300, 100, 50, 50, 50)] + [L.Dense(8, activation="softmax")])
    model_b = nn.models.Sequential(model_a.layers[:-1] + [L.Dense(1, activation="sigmoid")])
    for layer in model_b.layers[:-1]:
        layer.trainable = False
    model_b.compile(loss="binary_crossentropy", optimizer=rounded(O.SGD, learning_rate=1e-3),
                    metrics=["accuracy"])
    frozen_before = [w.copy() for w in model_b.get_weights()[:-2]]
    phase_1 = tf_backend.train_side_by_side(model_b, x, y, epochs=4, batch_size=BATCH_SIZE,
                                            validation_data=(x_val, y_val), run_eagerly=False)
    for ours, theirs, before in zip(phase_1.numpy_weights[:-2], phase_1.keras_weights[:-2],
                                    frozen_before):
        assert np.array_equal(ours, before) and np.array_equal(theirs, before), \
            "a frozen weight moved"
    compare_histories("transfer learning, frozen phase", dtype, phase_1, len(x), len(x_val))

    keras_model = phase_1.keras_model
    for layer, keras_layer in zip(model_b.layers, keras_model.layers):
        layer.trainable = keras_layer.trainable = True
    model_b.compile(loss="binary_crossentropy", optimizer=rounded(O.SGD, learning_rate=1e-3),
                    metrics=["accuracy"])
    with tf_backend.keras_floatx(dtype):
        keras_model.compile(loss="binary_crossentropy", metrics=["accuracy"],
                            optimizer=tf_backend.optimizer_to_keras(model_b.optimizer))
    phase_2 = tf_backend.train_side_by_side(model_b, x, y, epochs=3, batch_size=BATCH_SIZE,
                                            validation_data=(x_val, y_val),
                                            keras_model=keras_model)
    compare_histories("transfer learning, unfrozen phase", dtype, phase_2, len(x), len(x_val))


def test_keras_float64_leaky_relu_slope(float64):
    """Why the trajectories use SLOPE: in float64, Keras's LeakyReLU(0.2) multiplies by
    float32(0.2), numpy_nn by the double 0.2. numpy_nn is exact; Keras inherits the float32
    attribute of TensorFlow's LeakyRelu op."""
    import keras
    x = np.array([[-1.0]])
    keras_out = keras.layers.LeakyReLU(negative_slope=0.2)(x).numpy()
    assert keras_out[0, 0] == -float(np.float32(0.2)) != -0.2
    assert L.LeakyReLU(negative_slope=0.2)(x)[0, 0] == -0.2


def test_keras_float64_rounds_hyper_parameters(float64):
    """Why the trajectories round hyper-parameters: in float64, Keras casts Python floats
    through float32. numpy_nn's float64 SGD uses the exact momentum."""
    import keras
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
