"""Keras 2 optimizers: ``numpy_nn.optimizers.legacy`` against ``tf_keras.optimizers.legacy``.

``tf_keras`` (the Keras 2 API kept alive for TensorFlow 2.16+) still ships the ``optimizer_v2``
classes the book used, TensorFlow's fused kernels (``ResourceApplyAdagradV2``,
``ResourceApplyRMSProp``, ``ResourceApplyAdam``, ``ResourceApplyAdaMax``,
``ResourceApplyKerasMomentum``) included. It runs in this process next to Keras 3 (separate
packages on the same TensorFlow).

Per step, as in ``test_optimizers.py``: both sides start from the same weights, receive the same
pre-drawn gradients and are compared after every one of 25 steps; tf_keras runs eagerly.
Regimes: float32 with g ~ N(0, 1) (``unit``) and g ~ N(0, 1e-8) (``tiny``, where epsilon's
placement matters), and float64 with g ~ N(0, 1). Every option of Keras 2's base class is
exercised: ``decay=`` alone and on top of a schedule, ``lr=``, the clipping combinations
Keras 2 allowed (``clipvalue`` with ``clipnorm`` or ``global_clipnorm``), and Nadam *ignoring*
``decay=`` as the book's Keras 2 did.

The float64 regime checks that the classes round exactly the constants Keras 2 rounds to float32
in a float64 model (learning rate, momentum, rho, betas, ``decay``, Nadam's 0.96; see
``numpy_nn.optimizers.legacy.base``): with them, every update agrees to ~1e-16; without that
rounding it is off by ~1e-8. The cases whose learning rate is a schedule object are float32
only: Keras 2's schedules compute in float32 whatever the model's type (as Keras 3's do), while
numpy_nn's compute in the model's type.

Whole trajectories: the chapter's SELU 300-100 network with Keras 2's Nadam and with the book's
``SGD(lr=..., decay=...)``, 224 steps of ``model.fit`` on both sides, compared like the Keras 3
trajectories in ``test_trajectories.py`` (float32 and float64).
"""
import zlib

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import numpy_nn as nn
from numpy_nn.optimizers import legacy
from numpy_nn.variables import Variable
from parity_tests import tolerances as tol
from parity_tests.conftest import set_floatx
from parity_tests.report import check
from parity_tests.test_optimizers import assert_moved

STEPS = 25
SHAPES = [(7, 5), (5,), (3, 4)]
#: regime -> (gradient scale, float type)
REGIMES = {"unit": (1.0, "float32"), "tiny": (1e-4, "float32"), "float64": (1.0, "float64")}
K2 = tf_keras.optimizers.legacy
K2_SCHEDULES = tf_keras.optimizers.schedules


def _same(name, **kwargs):
    """(numpy_nn legacy factory, tf_keras legacy factory) with the same arguments."""
    return (lambda: getattr(legacy, name)(**kwargs), lambda: getattr(K2, name)(**kwargs))


def _scheduled(name, schedule, args, **kwargs):
    """The same optimizer with the same schedule class on both sides."""
    return (lambda: getattr(legacy, name)(
                learning_rate=getattr(nn.optimizers.schedules, schedule)(*args), **kwargs),
            lambda: getattr(K2, name)(learning_rate=getattr(K2_SCHEDULES, schedule)(*args),
                                      **kwargs))


CASES = {
    "SGD": _same("SGD", learning_rate=0.01),
    "SGD momentum": _same("SGD", learning_rate=0.01, momentum=0.9),
    "SGD Nesterov": _same("SGD", learning_rate=0.01, momentum=0.9, nesterov=True),
    "SGD lr= decay= (the book)": _same("SGD", lr=0.02, decay=0.05),
    "SGD momentum clipvalue + clipnorm": _same("SGD", learning_rate=0.01, momentum=0.5,
                                               clipvalue=0.8, clipnorm=1.5),
    "SGD global_clipnorm": _same("SGD", learning_rate=0.01, global_clipnorm=0.3),
    "SGD ExponentialDecay + decay=": _scheduled("SGD", "ExponentialDecay", (0.02, 5, 0.5),
                                                decay=0.1),
    "Adagrad": _same("Adagrad", learning_rate=0.01),
    "Adagrad small accumulator": _same("Adagrad", learning_rate=0.01,
                                       initial_accumulator_value=1e-6),
    "Adagrad decay= clipnorm": _same("Adagrad", learning_rate=0.01, decay=0.05, clipnorm=0.5),
    "RMSprop": _same("RMSprop", learning_rate=0.01),
    "RMSprop momentum": _same("RMSprop", learning_rate=0.01, momentum=0.9),
    "RMSprop centered": _same("RMSprop", learning_rate=0.01, centered=True),
    "RMSprop centered momentum": _same("RMSprop", learning_rate=0.01, centered=True,
                                       momentum=0.5),
    "RMSprop rho decay= clipvalue + global_clipnorm": _same(
        "RMSprop", learning_rate=0.01, rho=0.8, decay=0.02, clipvalue=0.5, global_clipnorm=0.7),
    "RMSprop PiecewiseConstantDecay": _scheduled("RMSprop", "PiecewiseConstantDecay",
                                                 ([5, 12], [0.02, 0.01, 0.002])),
    "Adam": _same("Adam", learning_rate=0.01),
    "Adam amsgrad": _same("Adam", learning_rate=0.01, amsgrad=True),
    "Adam beta/epsilon": _same("Adam", learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                               epsilon=1e-4),
    "Adam decay= clipnorm": _same("Adam", learning_rate=0.01, decay=0.05, clipnorm=0.5),
    "Adam InverseTimeDecay": _scheduled("Adam", "InverseTimeDecay", (0.01, 3, 0.5, True)),
    "Adam + max-norm": _same("Adam", learning_rate=0.01),
    "Adamax": _same("Adamax", learning_rate=0.01),
    "Adamax decay= clipvalue": _same("Adamax", learning_rate=0.01, decay=0.05, clipvalue=0.3),
    "Nadam": _same("Nadam", learning_rate=0.01),
    "Nadam schedule_decay beta/epsilon": _same("Nadam", learning_rate=0.01, beta_1=0.8,
                                               beta_2=0.99, epsilon=1e-4, schedule_decay=0.05),
    "Nadam global_clipnorm": _same("Nadam", learning_rate=0.01, global_clipnorm=0.5),
    "Nadam lr= decay= (ignored by Keras 2)": (
        lambda: legacy.Nadam(lr=0.01, decay=0.5),
        lambda: K2.Nadam(lr=0.01, decay=0.5)),
}
MAX_NORM_CASES = {"Adam + max-norm"}
SCHEDULE_CASES = {"SGD ExponentialDecay + decay=", "RMSprop PiecewiseConstantDecay",
                  "Adam InverseTimeDecay"}
STEP_RUNS = [(case, regime) for case in CASES for regime in REGIMES
             if not (regime == "float64" and case in SCHEDULE_CASES)]


def make_variables(rng, dtype, with_constraint):
    """Matching numpy_nn and TensorFlow variables (max-norm on the matrices if asked)."""
    numpy_vars, tf_vars = [], []
    for index, shape in enumerate(SHAPES):
        value = rng.normal(0, 0.1, shape).astype(dtype)
        constrained = with_constraint and len(shape) == 2
        numpy_vars.append(Variable(value, name=f"w{index}", dtype=dtype,
                                   constraint=nn.constraints.MaxNorm(0.3) if constrained
                                   else None))
        tf_vars.append(tf.Variable(value, name=f"w{index}", dtype=dtype,
                                   constraint=tf_keras.constraints.MaxNorm(0.3) if constrained
                                   else None))
    return numpy_vars, tf_vars


@pytest.mark.filterwarnings("ignore:The `lr` argument is deprecated")
@pytest.mark.filterwarnings("ignore:legacy.Nadam. decay=")
@pytest.mark.parametrize("case, regime", STEP_RUNS, ids=[f"{c} [{r}]" for c, r in STEP_RUNS])
def test_legacy_optimizer_steps(case, regime):
    make_numpy, make_keras2 = CASES[case]
    numpy_optimizer, keras2_optimizer = make_numpy(), make_keras2()
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    scale, dtype = REGIMES[regime]
    numpy_vars, tf_vars = make_variables(rng, dtype, case in MAX_NORM_CASES)
    start = [k.numpy().copy() for k in tf_vars]
    component, tolerance = (("optimizer (Keras 2)", tol.KERAS2_OPTIMIZER_STEP)
                            if dtype == "float32" else
                            ("optimizer (Keras 2) float64", tol.KERAS2_OPTIMIZER_STEP_FLOAT64))
    for step in range(STEPS):
        grads = [(rng.normal(0, 1, s) * scale).astype(dtype) for s in SHAPES]
        numpy_optimizer.apply(grads, numpy_vars)
        keras2_optimizer.apply_gradients(zip([tf.constant(g) for g in grads], tf_vars))
        errors = [tol.relative_error(v.value, k.numpy()) for v, k in zip(numpy_vars, tf_vars)]
        check(f"{component}: legacy.{type(numpy_optimizer).__name__}", max(errors), tolerance,
              f"{case}, {regime} gradients, step {step + 1}")
    assert numpy_optimizer.iterations == int(keras2_optimizer.iterations.numpy()) == STEPS
    assert_moved(tf_vars, start, tolerance)


# --------------------------------------------------------------------------- whole trajectory
EPOCHS = 7            # 32 batches of 32 per epoch: 224 steps
TRAJECTORIES = {
    "SELU 300-100, legacy.Nadam(lr=3e-4)": (lambda: legacy.Nadam(lr=3e-4),
                                            lambda: K2.Nadam(lr=3e-4)),
    # the book's power scheduling, with a decay large enough to matter within 224 steps
    "SELU 300-100, legacy.SGD(lr=1e-2, decay=1e-2)": (lambda: legacy.SGD(lr=1e-2, decay=1e-2),
                                                      lambda: K2.SGD(lr=1e-2, decay=1e-2)),
}
TRAJECTORY_RUNS = [(name, dtype) for name in TRAJECTORIES for dtype in ("float32", "float64")]


def selu_mlp(layers_module, **input_options):
    """The chapter's SELU 300-100 network (lecun_normal) in either library."""
    dense = layers_module.Dense
    return [layers_module.Flatten(**input_options),
            dense(300, activation="selu", kernel_initializer="lecun_normal"),
            dense(100, activation="selu", kernel_initializer="lecun_normal"),
            dense(10, activation="softmax")]


@pytest.fixture
def tf_keras_floatx():
    """Restores tf_keras's float type (separate from Keras 3's) after the test."""
    previous = tf_keras.backend.floatx()
    yield tf_keras.backend.set_floatx
    tf_keras.backend.set_floatx(previous)


@pytest.mark.filterwarnings("ignore:The `lr` argument is deprecated")
@pytest.mark.parametrize("name, dtype", TRAJECTORY_RUNS,
                         ids=[f"{n} [{d}]" for n, d in TRAJECTORY_RUNS])
def test_legacy_trajectory(name, dtype, fashion_subset, tf_keras_floatx):
    """numpy_nn with a legacy optimizer against tf_keras's (Keras 2 API) ``model.fit``: same
    initial weights, same batches (shuffle off), graph mode on the tf_keras side (no
    ``x / sqrt(y)`` in Nadam or SGD for TensorFlow to rewrite).

    Nadam's rate is 3e-4 because this net with Nadam(1e-3) on these data is chaotic in float32:
    numpy_nn alone, float32 against float64 from the same weights, ends 2.5e-2 apart in loss
    (measured; 3.7e-7 at 3e-4), so no two float32 implementations could agree there to 1e-4.
    In float64 the chapter's 1e-3 agrees with tf_keras to 3.6e-13 (measured), like 3e-4 does.

    That the comparison tells Keras 2 from Keras 3 (float32, measured): numpy_nn's Keras 3
    ``Nadam(3e-4)`` ends 3.3e-2 away from tf_keras's Nadam in loss, and SGD without the decay
    5.9e-2; the tolerance is 1e-4.
    """
    make_numpy, make_keras2 = TRAJECTORIES[name]
    set_floatx(dtype)
    tf_keras_floatx(dtype)
    (x, y), (x_val, y_val) = fashion_subset
    mean, std = x.mean(), x.std()
    x, x_val = (((a - mean) / std).astype(dtype) for a in (x, x_val))
    model = nn.models.Sequential(selu_mlp(nn.layers, input_shape=[28, 28]))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=make_numpy(),
                  metrics=["accuracy"])
    keras2_model = tf_keras.Sequential(selu_mlp(tf_keras.layers, input_shape=[28, 28]))
    keras2_model.set_weights([v.numpy() for v in model.weights])
    keras2_model.compile(loss="sparse_categorical_crossentropy", optimizer=make_keras2(),
                         metrics=["accuracy"])
    fit = dict(epochs=EPOCHS, batch_size=32, validation_data=(x_val, y_val), shuffle=False,
               verbose=0)
    theirs = keras2_model.fit(x, y, **fit).history
    ours = model.fit(x, y, **fit).history
    assert sorted(ours) == sorted(theirs) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert theirs["loss"][-1] < theirs["loss"][0], "did it train?"
    loss_error = max(tol.relative_error(ours[k], theirs[k]) for k in ("loss", "val_loss"))
    accuracy_samples = max(float(np.max(np.abs(np.subtract(ours[k], theirs[k])))) * n
                           for k, n in (("accuracy", len(x)), ("val_accuracy", len(x_val))))
    weight_error = tol.layerwise_relative_error(
        [v.numpy() for v in model.weights], keras2_model.get_weights(),
        [v.path for v in model.weights])
    adaptive = not isinstance(model.optimizer, legacy.SGD)
    if dtype == "float32":
        family = ""
        loss_tol = tol.TRAJECTORY_FLOAT32_LOSS
        accuracy_tol = tol.TRAJECTORY_FLOAT32_ACCURACY_SAMPLES
        weight_tol = (tol.TRAJECTORY_FLOAT32_WEIGHTS_ADAPTIVE if adaptive
                      else tol.TRAJECTORY_FLOAT32_WEIGHTS)
    else:
        family = tol.trajectory_float64_family(deep=False, adaptive=adaptive)
        loss_tol, weight_tol = tol.TRAJECTORY_FLOAT64[family]
        accuracy_tol = tol.TRAJECTORY_FLOAT64_ACCURACY
        family = f" ({family})"
    check(f"trajectory (Keras 2) {dtype} loss{family}: {name}", loss_error, loss_tol,
          "per-epoch loss/val_loss")
    check(f"trajectory (Keras 2) {dtype} weights{family}: {name}", weight_error, weight_tol,
          "final weights")
    check(f"trajectory (Keras 2) {dtype} accuracy", round(accuracy_samples), accuracy_tol,
          f"{name}: per-epoch accuracy/val_accuracy", unit="samples")
