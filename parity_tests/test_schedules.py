"""Learning-rate schedules: the whole sequence of learning rates, step by step, against Keras.

Keras's optimizer calls ``schedule(iterations)`` with its int64 iteration counter *before* the
step increments it (the first update uses ``schedule(0)``); the schedules are called here the
same way, with int64 tensors, for steps 0..300, and numpy_nn's with the plain step number.

The book's Keras 2 ``decay=`` argument (``lr / (1 + decay * iterations)``) is accepted by numpy_nn;
Keras 3 accepts it but *ignores* it (it warns "Argument `decay` is no longer supported and will
be ignored"). The Keras 3 equivalent is ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``,
which is what numpy_nn's ``decay=`` is compared with here.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.report import check

STEPS = np.arange(0, 301)

CASES = {
    # name: (class, args, tolerance)
    "ExponentialDecay (0.01, 10, 0.1)": ("ExponentialDecay", (0.01, 10, 0.1),
                                         tol.SCHEDULE_TRANSCENDENTAL),
    "ExponentialDecay (0.01, 10, 0.1) staircase": ("ExponentialDecay", (0.01, 10, 0.1, True),
                                                   tol.SCHEDULE_TRANSCENDENTAL),
    "ExponentialDecay (0.1, 3, 0.96)": ("ExponentialDecay", (0.1, 3, 0.96),
                                        tol.SCHEDULE_TRANSCENDENTAL),
    "ExponentialDecay chapter (0.01, 20 epochs × 55 steps, 0.1)": (
        "ExponentialDecay", (0.01, 1100, 0.1), tol.SCHEDULE_TRANSCENDENTAL),
    "PiecewiseConstantDecay [5, 10]": ("PiecewiseConstantDecay", ([5, 10], [1.0, 0.5, 0.1]),
                                       tol.SCHEDULE_EXACT),
    "PiecewiseConstantDecay float boundaries [15.0, 22.5]": (
        "PiecewiseConstantDecay", ([15.0, 22.5], [0.01, 0.005, 0.001]), tol.SCHEDULE_EXACT),
    "InverseTimeDecay (0.1, 5, 0.5)": ("InverseTimeDecay", (0.1, 5, 0.5), tol.SCHEDULE_EXACT),
    "InverseTimeDecay (0.1, 5, 0.5) staircase": ("InverseTimeDecay", (0.1, 5, 0.5, True),
                                                 tol.SCHEDULE_EXACT),
}


def keras_rates(schedule):
    return np.array([float(schedule(tf.constant(step, tf.int64))) for step in STEPS])


@pytest.mark.parametrize("case", list(CASES))
def test_schedule_sequence(case):
    name, args, tolerance = CASES[case]
    ours = getattr(nn.optimizers.schedules, name)(*args)
    theirs = getattr(keras.optimizers.schedules, name)(*args)
    numpy_rates = np.array([float(ours(step)) for step in STEPS])
    desired = keras_rates(theirs)
    errors = np.abs(numpy_rates - desired) / np.abs(desired)
    check(f"schedule: {name}", errors.max(), tolerance, case)


def test_piecewise_boundaries_are_inclusive():
    """Upper boundaries belong to the earlier interval, on both sides
    (``keras/src/optimizers/schedules/learning_rate_schedule.py::PiecewiseConstantDecay.__call__``
    tests ``step <= boundary``)."""
    ours = nn.optimizers.schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert [float(ours(s)) for s in (5, 6, 10, 11)] == pytest.approx([1.0, 0.5, 0.5, 0.1])
    theirs = keras.optimizers.schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert [float(theirs(tf.constant(s, tf.int64))) for s in (5, 6, 10, 11)] == \
        pytest.approx([1.0, 0.5, 0.5, 0.1])


@pytest.mark.parametrize("decay", [1e-4, 0.01, 0.5])
def test_book_decay_argument_equals_inverse_time_decay(decay):
    """numpy_nn's ``SGD(lr=..., decay=...)`` uses the rates of Keras 3's InverseTimeDecay."""
    optimizer = nn.optimizers.SGD(lr=0.01, decay=decay)
    numpy_rates = []
    for step in STEPS:
        optimizer.iterations = int(step)
        numpy_rates.append(float(optimizer.current_learning_rate()))
    desired = keras_rates(keras.optimizers.schedules.InverseTimeDecay(0.01, 1, decay))
    errors = np.abs(np.array(numpy_rates) - desired) / desired
    check("schedule: decay= (Keras 2) vs InverseTimeDecay", errors.max(), tol.SCHEDULE_EXACT,
          f"decay={decay}")


def test_keras3_ignores_decay():
    """Why the translation above is needed: Keras 3 drops ``decay=`` (with a warning)."""
    with pytest.warns(UserWarning, match="decay.*no longer supported"):
        optimizer = keras.optimizers.SGD(learning_rate=0.01, decay=0.5)
    variable = keras.Variable(np.zeros(2, np.float32))
    for _ in range(5):
        optimizer.apply_gradients([(np.ones(2, np.float32), variable)])
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    np.testing.assert_allclose(variable.numpy(), -0.05, rtol=1e-6)


def test_keras_schedules_compute_in_float32_even_in_float64_mode(float64):
    """Keras turns a schedule's Python-float parameters into float32 tensors, so its learning
    rates are float32 numbers whatever ``floatx`` is; numpy_nn's schedules compute in the float
    type. This is why the float64 trajectories only use schedules whose float32 and float64
    values coincide (test_trajectories.py)."""
    keras_rate = keras.optimizers.schedules.InverseTimeDecay(0.05, 1, 0.01)(
        tf.constant(7, tf.int64))
    assert keras_rate.dtype == tf.float32
    ours = nn.optimizers.schedules.InverseTimeDecay(0.05, 1, 0.01)(7)
    assert ours.dtype == np.float64 and float(ours) == 0.05 / 1.07 != float(keras_rate)
