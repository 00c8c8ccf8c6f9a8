"""Keras 3's tests of learning-rate schedules, constraints and regularizers
(keras/src/optimizers/schedules/learning_rate_schedule_test.py,
keras/src/constraints/constraints_test.py, keras/src/regularizers/regularizers_test.py) on
numpy_nn. Tolerances: Keras's ``assertAllClose`` (1e-6) unless stated."""
import numpy as np
import pytest

from numpy_nn import constraints, regularizers
from numpy_nn.optimizers import schedules
from parity_tests.keras_conformance import keras_case

SCHEDULES = "optimizers/schedules/learning_rate_schedule_test.py::"


def _close(actual, desired):
    np.testing.assert_allclose(np.asarray(actual), desired, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("schedule", [
    pytest.param(schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=10,
                                            decay_rate=0.96, staircase=True, name="my_ed"),
                 marks=keras_case(SCHEDULES + "ExponentialDecayTest::test_config")),
    pytest.param(schedules.PiecewiseConstantDecay(boundaries=[10, 20], values=[1, 2, 3],
                                                  name="my_pcd"),
                 marks=keras_case(SCHEDULES + "PiecewiseConstantDecayTest::test_config")),
    pytest.param(schedules.InverseTimeDecay(initial_learning_rate=0.05, decay_steps=10,
                                            decay_rate=0.96, staircase=True, name="my_itd"),
                 marks=keras_case(SCHEDULES + "InverseTimeDecayTest::test_config")),
], ids=["exponential", "piecewise", "inverse_time"])
def test_schedule_config_round_trip(schedule):
    config = schedule.get_config()
    again = type(schedule).from_config(config)
    assert again.get_config() == config
    revived = schedules.deserialize(schedules.serialize(schedule))
    assert type(revived) is type(schedule) and revived.get_config() == config
    for step in (0, 5, 10, 15, 25):
        assert revived(step) == schedule(step)


@keras_case(SCHEDULES + "ExponentialDecayTest::test_continuous")
def test_exponential_decay_continuous():
    _close(schedules.ExponentialDecay(0.05, 10, 0.96)(5), 0.05 * 0.96 ** (5.0 / 10.0))


@keras_case(SCHEDULES + "ExponentialDecayTest::test_staircase")
def test_exponential_decay_staircase():
    schedule = schedules.ExponentialDecay(0.1, 3, 0.96, staircase=True)
    for step, expected in ((1, 0.1), (2, 0.1), (100, 0.1 * 0.96 ** (100 // 3))):
        _close(schedule(step), expected)


@keras_case(SCHEDULES + "PiecewiseConstantDecayTest::test_piecewise_values")
def test_piecewise_values():
    schedule = schedules.PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001])
    for step, expected in ((-999, 1.0), (100, 1.0), (105, 0.1), (110, 0.1), (120, 0.01),
                           (999, 0.001)):
        _close(schedule(step), expected)


@keras_case(SCHEDULES + "PiecewiseConstantDecayTest::test_boundary_values")
def test_piecewise_boundary_values():
    schedule = schedules.PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7])
    for step, expected in ((0, 0.4), (1, 0.4), (2, 0.5), (3, 0.6), (4, 0.7)):
        _close(schedule(np.int64(step)), expected)


@keras_case(SCHEDULES + "InverseTimeDecayTest::test_decay")
def test_inverse_time_decay():
    schedule = schedules.InverseTimeDecay(0.1, 10, 0.96)
    for i in range(11):
        _close(schedule(float(i)), 0.1 / (1 + i / 10 * 0.96))


@keras_case(SCHEDULES + "InverseTimeDecayTest::test_staircase")
def test_inverse_time_decay_staircase():
    schedule = schedules.InverseTimeDecay(0.1, 10, 0.96, staircase=True)
    for i in range(11):
        _close(schedule(float(i)), 0.1 / (1 + 0.96 * (i // 10)))


# --------------------------------------------------------------------------- constraints
C = "constraints/constraints_test.py::ConstraintsTest::"


def _example_array():
    """keras/src/constraints/constraints_test.py::get_example_array (the same values, from a
    generator of its own rather than NumPy's global one)."""
    array = np.random.RandomState(3537).random_sample((100, 100)) * 100.0 - 50.0
    array[0, 0] = 0.0
    return array


@keras_case(C + "test_max_norm")
def test_max_norm():
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    target = np.array([[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0],
                       [2.0 / np.sqrt(3), 2.0 / np.sqrt(3), 2.0 / np.sqrt(3)]]).T
    _close(constraints.MaxNorm(2.0)(x), target)


@keras_case(C + "test_get_method")
def test_constraints_get():
    """(Keras asks for "unit_norm", which numpy_nn does not have; "max_norm" is asked instead.)"""
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert constraints.get(None) is None
    with pytest.raises(ValueError):
        constraints.get("typo")


@keras_case(C + "test_default_constraint_call")
def test_default_constraint_is_identity():
    x = np.array([1.0, 2.0, 3.0])
    _close(constraints.Constraint()(x), x)


@keras_case(C + "test_constraint_get_config")
def test_default_constraint_config():
    assert constraints.Constraint().get_config() == {}


@keras_case(C + "test_constraint_from_config")
def test_default_constraint_from_config():
    config = constraints.Constraint().get_config()
    assert isinstance(constraints.Constraint.from_config(config), constraints.Constraint)


@keras_case(C + "test_max_norm_get_config")
def test_max_norm_config():
    constraint = constraints.MaxNorm(max_value=3.0, axis=1)
    config = constraint.get_config()
    assert config == {"max_value": 3.0, "axis": 1}
    restored = constraints.MaxNorm.from_config(config)
    assert (restored.max_value, restored.axis) == (constraint.max_value, constraint.axis)
    x = _example_array()
    _close(constraint(x), restored(x))


# -------------------------------------------------------------------------- regularizers
R = "regularizers/regularizers_test.py::RegularizersTest::"


def _value(seed=0):
    return np.random.default_rng(seed).random((4, 4)).astype(np.float32)


@keras_case(R + "test_config")
@pytest.mark.parametrize("regularizer", [regularizers.L1(0.1), regularizers.L2(0.1),
                                         regularizers.L1L2(l1=0.1, l2=0.2)])
def test_regularizer_config_round_trip(regularizer):
    config = regularizer.get_config()
    again = type(regularizer).from_config(config)
    assert again.get_config() == config
    revived = regularizers.get(regularizers.serialize(regularizer))
    assert type(revived) is type(regularizer) and revived.get_config() == config


@pytest.mark.parametrize("make, expected", [
    pytest.param(lambda: regularizers.L1(0.1), lambda v: 0.1 * np.sum(np.abs(v)),
                 marks=keras_case(R + "test_l1")),
    pytest.param(lambda: regularizers.L2(0.1), lambda v: 0.1 * np.sum(np.square(v)),
                 marks=keras_case(R + "test_l2")),
    pytest.param(lambda: regularizers.L1L2(l1=0.1, l2=0.2),
                 lambda v: 0.1 * np.sum(np.abs(v)) + 0.2 * np.sum(np.square(v)),
                 marks=keras_case(R + "test_l1_l2")),
], ids=["l1", "l2", "l1_l2"])
def test_penalties(make, expected):
    value = _value()
    np.testing.assert_allclose(make()(value), expected(value), rtol=1e-6, atol=1e-6)


@keras_case(R + "test_get_method")
def test_regularizers_get():
    assert isinstance(regularizers.get("l1l2"), regularizers.L1L2)
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert regularizers.get(None) is None
    with pytest.raises(ValueError):
        regularizers.get("typo")


@keras_case(R + "test_l1l2_get_config")
def test_l1l2_config():
    regularizer = regularizers.L1L2(l1=0.01, l2=0.02)
    config = regularizer.get_config()
    _close(config["l1"], 0.01)
    _close(config["l2"], 0.02)
    again = regularizers.L1L2.from_config(config)
    assert again.get_config() == config
    _close(again.l1, 0.01)
    _close(again.l2, 0.02)


@pytest.mark.parametrize("make, value", [
    pytest.param(lambda: regularizers.L1(0.1), np.zeros((4, 4), np.float32),
                 marks=keras_case(R + "test_l1_with_zero_weights")),
    pytest.param(lambda: regularizers.L1(0.0), _value(1),
                 marks=keras_case(R + "test_l1_zero_coefficient")),
    pytest.param(lambda: regularizers.L2(0.1), np.zeros((4, 4), np.float32),
                 marks=keras_case(R + "test_l2_with_zero_weights")),
    pytest.param(lambda: regularizers.L2(0.0), _value(2),
                 marks=keras_case(R + "test_l2_zero_coefficient")),
    pytest.param(lambda: regularizers.L1L2(l1=0.0, l2=0.0), _value(3),
                 marks=keras_case(R + "test_l1l2_zero_coefficients")),
    pytest.param(lambda: regularizers.L1L2(l1=0.1, l2=0.2), np.zeros((4, 4), np.float32),
                 marks=keras_case(R + "test_l1l2_with_zero_weights")),
])
def test_zero_penalties(make, value):
    _close(make()(value), 0.0)


@keras_case(R + "test_l1_with_negative_weights")
def test_l1_is_symmetric():
    ones = np.ones((4, 4), np.float32)
    _close(regularizers.L1(0.1)(ones), regularizers.L1(0.1)(-ones))


@keras_case(R + "test_l2_is_larger_than_l1_for_large_weights",
            R + "test_l2_is_smaller_than_l1_for_small_weights")
def test_l2_against_l1():
    for scale, l2_larger in ((10.0, True), (0.1, False)):
        value = np.ones((4, 4), np.float32) * scale
        l1, l2 = float(regularizers.L1(1.0)(value)), float(regularizers.L2(1.0)(value))
        assert (l2 > l1) == l2_larger


@pytest.mark.parametrize("combined, single", [
    pytest.param(lambda: regularizers.L1L2(l1=0.1, l2=0.0), lambda: regularizers.L1(0.1),
                 marks=keras_case(R + "test_l1l2_only_l1")),
    pytest.param(lambda: regularizers.L1L2(l1=0.0, l2=0.1), lambda: regularizers.L2(0.1),
                 marks=keras_case(R + "test_l1l2_only_l2")),
])
def test_l1l2_reduces_to_one_term(combined, single):
    value = _value(4)
    _close(combined()(value), single()(value))
