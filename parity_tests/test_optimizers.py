"""Optimizers: every optimizer × option, >= 20 steps on identical gradients, against Keras.

Both sides start from the same float32 weights and receive the same pre-drawn gradients; Keras
runs eagerly (``apply_gradients`` outside ``fit``), which keeps TensorFlow's graph rewrite of
``x / sqrt(y)`` out of the comparison (TensorFlow's arithmetic optimizer, Grappler, does that
rewrite in graphs only). After *every* step the weights are
compared. The Keras optimizers are built here with Keras's own API (not through tf_backend),
so a translation bug cannot hide a numerical one.

Two gradient regimes:

* ``unit``: g ~ N(0, 1). Weights start at N(0, 0.1²) so that 25 steps of size ~1e-2 are a large
  part of each weight: the relative error then measures the updates, not the starting values.
* ``tiny``: g ~ N(0, (1e-4)²), small enough that ``epsilon`` (1e-7) is comparable to the
  squared-gradient averages. Here Keras 3's ε *inside* the square root (Adagrad, RMSprop) and
  ε added to the *uncorrected* √v (Adam, Adamax, Nadam) matter: Keras 2's placements (ε outside
  the root for Adagrad and momentum-free RMSprop) are off by 10-100% in this regime.

Keras 2 (the book's version) also differed in Nadam's momentum schedule (0.96^(0.004 t) instead
of 0.96^t) and in applying ``decay=``; numpy_nn follows Keras 3. ``decay=`` is accepted by
numpy_nn for the book's code and is compared here with the schedule Keras 3 documents as its
replacement, ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)`` (Keras 3 itself ignores
``decay=``).
"""
import zlib

import keras
import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn.variables import Variable
from parity_tests import tolerances as tol
from parity_tests.report import check

STEPS = 25
SHAPES = [(7, 5), (5,), (3, 4)]


def _same(name, numpy_kwargs=None, keras_kwargs=None, **kwargs):
    """A (numpy_nn optimizer factory, Keras optimizer factory) pair with the same settings."""
    numpy_kwargs = {**kwargs, **(numpy_kwargs or {})}
    keras_kwargs = {**kwargs, **(keras_kwargs or {})}
    return (lambda: getattr(nn.optimizers, name)(**numpy_kwargs),
            lambda: getattr(keras.optimizers, name)(**keras_kwargs))


def _scheduled(name, schedule, *args, **kwargs):
    """The same optimizer with the same learning-rate schedule class on both sides."""
    return (lambda: getattr(nn.optimizers, name)(
                learning_rate=getattr(nn.optimizers.schedules, schedule)(*args), **kwargs),
            lambda: getattr(keras.optimizers, name)(
                learning_rate=getattr(keras.optimizers.schedules, schedule)(*args), **kwargs))


CASES = {
    "SGD": _same("SGD", learning_rate=0.01),
    "SGD momentum": _same("SGD", learning_rate=0.01, momentum=0.9),
    "SGD Nesterov": _same("SGD", learning_rate=0.01, momentum=0.9, nesterov=True),
    "SGD clipvalue": _same("SGD", learning_rate=0.01, clipvalue=0.5),
    "SGD clipnorm": _same("SGD", learning_rate=0.01, clipnorm=1.0),
    "SGD global_clipnorm": _same("SGD", learning_rate=0.01, momentum=0.5, global_clipnorm=1.0),
    "SGD weight_decay": _same("SGD", learning_rate=0.01, weight_decay=0.05),
    "SGD ExponentialDecay": _scheduled("SGD", "ExponentialDecay", 0.02, 5, 0.5),
    "SGD decay= (Keras 2) vs InverseTimeDecay": (
        lambda: nn.optimizers.SGD(lr=0.02, decay=0.05),
        lambda: keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.02, 1, 0.05))),
    "SGD momentum + max-norm": _same("SGD", learning_rate=0.01, momentum=0.9),
    "Adagrad": _same("Adagrad", learning_rate=0.01),
    "Adagrad small accumulator": _same("Adagrad", learning_rate=0.01,
                                       initial_accumulator_value=1e-6),
    "Adagrad clipnorm": _same("Adagrad", learning_rate=0.01, clipnorm=0.5),
    "RMSprop": _same("RMSprop", learning_rate=0.01),
    "RMSprop momentum": _same("RMSprop", learning_rate=0.01, momentum=0.9),
    "RMSprop centered": _same("RMSprop", learning_rate=0.01, centered=True),
    "RMSprop centered momentum": _same("RMSprop", learning_rate=0.01, centered=True,
                                       momentum=0.5),
    "RMSprop rho global_clipnorm": _same("RMSprop", learning_rate=0.01, rho=0.95,
                                         global_clipnorm=0.1),
    "RMSprop PiecewiseConstantDecay": _scheduled("RMSprop", "PiecewiseConstantDecay",
                                                 [5, 12], [0.02, 0.01, 0.002]),
    "Adam": _same("Adam", learning_rate=0.01),
    "Adam amsgrad": _same("Adam", learning_rate=0.01, amsgrad=True),
    "Adam clipnorm": _same("Adam", learning_rate=0.01, clipnorm=0.5),
    "Adam beta/epsilon": _same("Adam", learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                               epsilon=1e-4),
    "Adam InverseTimeDecay": _scheduled("Adam", "InverseTimeDecay", 0.01, 3, 0.5, True),
    "Adam + max-norm": _same("Adam", learning_rate=0.01),
    "AdamW": _same("AdamW", learning_rate=0.01),
    "Adamax": _same("Adamax", learning_rate=0.01),
    "Adamax clipvalue": _same("Adamax", learning_rate=0.01, clipvalue=0.3),
    "Nadam": _same("Nadam", learning_rate=0.01),
    "Nadam ExponentialDecay staircase": _scheduled("Nadam", "ExponentialDecay", 0.01, 4, 0.7,
                                                   True),
    "Nadam global_clipnorm": _same("Nadam", learning_rate=0.01, global_clipnorm=0.5),
}
MAX_NORM_CASES = {"SGD momentum + max-norm", "Adam + max-norm"}
REGIMES = {"unit": 1.0, "tiny": 1e-4}


def make_variables(rng, with_constraint):
    """Matching numpy_nn and Keras variables (a max-norm constraint on the matrices if asked)."""
    numpy_vars, keras_vars = [], []
    for index, shape in enumerate(SHAPES):
        value = rng.normal(0, 0.1, shape).astype(np.float32)
        constrained = with_constraint and len(shape) == 2
        numpy_vars.append(Variable(value, name=f"w{index}", dtype="float32",
                                   constraint=nn.constraints.MaxNorm(0.3) if constrained
                                   else None))
        keras_var = keras.Variable(value, name=f"w{index}", dtype="float32")
        if constrained:
            keras_var.constraint = keras.constraints.MaxNorm(0.3)
        keras_vars.append(keras_var)
    return numpy_vars, keras_vars


@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("case", list(CASES))
def test_optimizer_steps(case, regime):
    make_numpy, make_keras = CASES[case]
    numpy_optimizer, keras_optimizer = make_numpy(), make_keras()
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    numpy_vars, keras_vars = make_variables(rng, case in MAX_NORM_CASES)
    start = [k.numpy().copy() for k in keras_vars]
    scale = REGIMES[regime]
    for step in range(STEPS):
        grads = [(rng.normal(0, 1, s) * scale).astype(np.float32) for s in SHAPES]
        numpy_optimizer.apply(grads, numpy_vars)
        keras_optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads],
                                            keras_vars))
        errors = [tol.relative_error(v.value, k.numpy()) for v, k in zip(numpy_vars, keras_vars)]
        check(f"optimizer: {type(numpy_optimizer).__name__}", max(errors), tol.OPTIMIZER_STEP,
              f"{case}, {regime} gradients, step {step + 1}")
    assert numpy_optimizer.iterations == int(keras_optimizer.iterations.numpy()) == STEPS
    assert_moved(keras_vars, start, tol.OPTIMIZER_STEP)


def assert_moved(keras_vars, start, tolerance):
    """Every Keras weight moved from its start by more than MIN_MOVEMENT_IN_TOLERANCES times
    the tolerance, so an optimizer that skipped the updates would have failed the comparison."""
    moved = min(tol.relative_error(k.numpy(), s) for k, s in zip(keras_vars, start))
    assert moved > tol.MIN_MOVEMENT_IN_TOLERANCES * tolerance, \
        f"the weights moved by only {moved:.2g} (relative) in {STEPS} steps"
