"""Learning-rate schedules: values at chosen steps, and how an optimizer evaluates them.

The expected values marked "Keras 3" were measured with keras 3.15
(``keras/src/optimizers/schedules/learning_rate_schedule.py``); the others follow from the
formula in each schedule's docstring.
"""
import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn.optimizers.schedules import (
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
    deserialize,
    serialize,
)
from numpy_nn.variables import Variable


def values(schedule, steps):
    return [float(schedule(step)) for step in steps]


# ----------------------------------------------------------------- ExponentialDecay
def test_exponential_decay_continuous():
    schedule = ExponentialDecay(0.01, decay_steps=20, decay_rate=0.1)
    np.testing.assert_allclose(values(schedule, [0, 10, 20, 40, 50]),
                               [0.01, 0.01 * 0.1 ** 0.5, 0.001, 0.0001, 0.01 * 0.1 ** 2.5],
                               rtol=1e-6)


def test_exponential_decay_staircase_keras3_values():
    """Keras 3: staircase (0.01, 10, 0.1) at steps 0, 9, 10, 20 -> 0.01, 0.01, 0.001, 0.0001."""
    schedule = ExponentialDecay(0.01, 10, 0.1, staircase=True)
    np.testing.assert_allclose(values(schedule, [0, 9, 10, 19, 20]),
                               [0.01, 0.01, 0.001, 0.001, 0.0001], rtol=1e-6)


def test_exponential_decay_is_float32():
    assert ExponentialDecay(0.01, 3, 0.5)(7).dtype == np.float32


def test_exponential_decay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        ExponentialDecay(0.01, 0, 0.1)
    with pytest.raises(ValueError, match="initial_learning_rate"):
        ExponentialDecay(-1.0, 10, 0.1)


# ----------------------------------------------------------------- InverseTimeDecay
def test_inverse_time_decay_is_power_scheduling_with_c_1():
    """The chapter's ``lr0 / (1 + t/s)``; Keras 2's ``decay=1e-4`` is (lr0, 1, 1e-4)."""
    schedule = InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-4)
    steps = np.array([0, 1, 1718, 10_000, 42_950])
    np.testing.assert_allclose(values(schedule, steps), 0.01 / (1 + 1e-4 * steps), rtol=1e-6)


def test_inverse_time_decay_staircase():
    schedule = InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0, staircase=True)
    np.testing.assert_allclose(values(schedule, [0, 9, 10, 19, 20, 35]),
                               [1.0, 1.0, 0.5, 0.5, 1 / 3, 0.25], rtol=1e-6)


def test_inverse_time_decay_matches_keras2_decay_argument_in_an_optimizer():
    """``SGD(lr=0.01, decay=1e-4)`` and ``SGD(InverseTimeDecay(0.01, 1, 1e-4))`` step alike."""
    old = keras.optimizers.SGD(lr=0.01, decay=1e-4)
    new = keras.optimizers.SGD(InverseTimeDecay(0.01, 1, 1e-4))
    for optimizer in (old, new):
        optimizer.iterations = 5000
    assert float(old.current_learning_rate()) == pytest.approx(float(new.current_learning_rate()),
                                                               rel=1e-6)


# ----------------------------------------------------------------- PiecewiseConstantDecay
def test_piecewise_upper_boundaries_are_inclusive_keras3_values():
    """Keras 3: boundaries [5, 10], values [1, .5, .1] -> 1.0 at 5, 0.5 at 6 and 10, 0.1 at 11."""
    schedule = PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert values(schedule, [0, 5, 6, 10, 11, 1000]) == pytest.approx(
        [1.0, 1.0, 0.5, 0.5, 0.1, 0.1], rel=1e-7)


def test_piecewise_float_boundaries_are_truncated():
    """Keras 3 casts boundaries to the int64 step type: 5.9 behaves as 5, so step 6 is past it.

    The chapter writes ``boundaries=[5. * n_steps_per_epoch, 15. * n_steps_per_epoch]``.
    """
    schedule = PiecewiseConstantDecay([5.9, 10.2], [1.0, 0.5, 0.1])
    assert schedule.boundaries == [5, 10]
    assert values(schedule, [5, 6, 10, 11]) == pytest.approx([1.0, 0.5, 0.5, 0.1], rel=1e-7)
    n_steps_per_epoch = 1718
    chapter = PiecewiseConstantDecay([5. * n_steps_per_epoch, 15. * n_steps_per_epoch],
                                     [0.01, 0.005, 0.001])
    assert values(chapter, [8590, 8591, 25770, 25771]) == pytest.approx(
        [0.01, 0.005, 0.005, 0.001], rel=1e-7)


def test_piecewise_rejects_mismatched_lengths_and_decreasing_boundaries():
    with pytest.raises(ValueError, match="len\\(values\\)"):
        PiecewiseConstantDecay([5, 10], [1.0, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseConstantDecay([10, 5], [1.0, 0.5, 0.1])


# ----------------------------------------------------------------- with an optimizer
@pytest.mark.parametrize("schedule", [ExponentialDecay(0.01, 2, 0.5, staircase=True),
                                      PiecewiseConstantDecay([1, 2], [0.3, 0.2, 0.1]),
                                      InverseTimeDecay(0.1, 1, 1.0)])
def test_optimizer_uses_schedule_at_iterations_before_the_increment(schedule):
    """Step k (0-based) of plain SGD with gradient 1 moves the weight by exactly schedule(k)."""
    optimizer = keras.optimizers.SGD(schedule)
    weight = Variable(np.zeros(1, np.float32), name="w")
    previous = weight.numpy()
    for step in range(5):
        assert float(optimizer.learning_rate) == pytest.approx(float(schedule(step)))
        optimizer.apply([np.ones(1, np.float32)], [weight])
        moved = previous - weight.numpy()
        np.testing.assert_allclose(moved, float(schedule(step)), rtol=1e-6)
        previous = weight.numpy()
    assert optimizer.iterations == 5


def test_learning_rate_of_a_scheduled_optimizer_cannot_be_set():
    optimizer = keras.optimizers.SGD(ExponentialDecay(0.01, 10, 0.1))
    with pytest.raises(TypeError, match="schedule"):
        optimizer.learning_rate = 0.5


@pytest.mark.parametrize("schedule", [ExponentialDecay(0.01, 7, 0.3, staircase=True),
                                      PiecewiseConstantDecay([3.0, 8], [0.3, 0.2, 0.1]),
                                      InverseTimeDecay(0.1, 4, 0.5)])
def test_schedules_round_trip_through_config(schedule):
    copy = deserialize(serialize(schedule))
    assert type(copy) is type(schedule)
    assert values(copy, range(20)) == values(schedule, range(20))
