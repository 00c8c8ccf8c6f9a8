"""Keras 3's initializer tests (keras/src/initializers/random_initializers_test.py and
constant_initializers_test.py) on numpy_nn.initializers. Keras's SeedGenerator cases are
not applicable (numpy_nn seeds are integers) and are left out of the ports below."""
import numpy as np
import pytest

from numpy_nn import backend, initializers
from parity_tests.keras_conformance import keras_case

RANDOM = "initializers/random_initializers_test.py::RandomInitializersTest::"
CONSTANT = "initializers/constant_initializers_test.py::ConstantInitializersTest::"


def _round_trip(initializer):
    """keras/src/testing/test_case.py::run_class_serialization_test, as far as it applies."""
    config = initializer.get_config()
    again = type(initializer).from_config(config)
    assert again.get_config() == config
    revived = initializers.get(initializers.serialize(initializer))
    assert type(revived) is type(initializer) and revived.get_config() == config
    return again


@keras_case(RANDOM + "test_random_normal")
def test_random_normal():
    backend.set_random_seed(1337)
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1234)
    values = initializer(shape=(25, 20))
    assert (initializer.mean, initializer.stddev, initializer.seed) == (0.0, 1.0, 1234)
    assert values.shape == (25, 20)
    np.testing.assert_allclose(np.std(values), 1.0, atol=1e-1)
    _round_trip(initializer)
    seeded = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1337)
    np.testing.assert_allclose(seeded(shape=(25, 20)), seeded(shape=(25, 20)))
    unseeded = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=None)
    first = unseeded(shape=(25, 20))
    clone = initializers.RandomNormal.from_config(unseeded.get_config())
    assert not np.allclose(first, clone(shape=(25, 20)))
    seeded = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1337)
    clone = initializers.RandomNormal.from_config(seeded.get_config())
    np.testing.assert_allclose(seeded(shape=(25, 20)), clone(shape=(25, 20)))


@keras_case(RANDOM + "test_random_uniform")
def test_random_uniform():
    initializer = initializers.RandomUniform(minval=-1.0, maxval=1.0, seed=1234)
    values = initializer(shape=(5, 5))
    assert (initializer.minval, initializer.maxval, initializer.seed) == (-1.0, 1.0, 1234)
    assert values.shape == (5, 5) and values.min() >= -1.0 and values.max() < 1.0
    _round_trip(initializer)


@keras_case(RANDOM + "test_variance_scaling")
@pytest.mark.parametrize("mode, fan", [("fan_in", 25), ("fan_out", 20)])
def test_variance_scaling(mode, fan):
    backend.set_random_seed(1337)
    initializer = initializers.VarianceScaling(scale=2.0, seed=1234, mode=mode)
    values = initializer(shape=(25, 20))
    assert (initializer.scale, initializer.seed, values.shape) == (2.0, 1234, (25, 20))
    np.testing.assert_allclose(np.std(values), np.sqrt(2.0 / fan), atol=1e-1)
    _round_trip(initializer)


@keras_case(RANDOM + "test_get_method")
def test_get():
    assert isinstance(initializers.get("glorot_normal"), initializers.GlorotNormal)
    assert initializers.get(None) is None
    with pytest.raises(ValueError):
        initializers.get("typo")


@pytest.mark.parametrize("kwargs, argument", [
    pytest.param({"scale": -1.0, "mode": "fan_in"}, "scale",
                 marks=keras_case(RANDOM + "test_variance_scaling_invalid_scale")),
    pytest.param({"scale": 2.0, "mode": "invalid_mode"}, "mode",
                 marks=keras_case(RANDOM + "test_variance_scaling_invalid_mode")),
    pytest.param({"scale": 2.0, "mode": "fan_in", "distribution": "invalid_dist"},
                 "distribution",
                 marks=keras_case(RANDOM + "test_variance_scaling_invalid_distribution")),
])
def test_variance_scaling_refuses(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        initializers.VarianceScaling(seed=1234, **kwargs)


@pytest.mark.parametrize("initializer, expected", [
    pytest.param(initializers.Zeros(), np.zeros((3, 3)),
                 marks=keras_case(CONSTANT + "test_zeros_initializer")),
    pytest.param(initializers.Ones(), np.ones((3, 3)),
                 marks=keras_case(CONSTANT + "test_ones_initializer")),
    pytest.param(initializers.Constant(value=6.0), np.full((3, 3), 6.0),
                 marks=keras_case(CONSTANT + "test_constant_initializer")),
])
def test_constant_initializers(initializer, expected):
    values = initializer(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, expected)
    _round_trip(initializer)


@keras_case(CONSTANT + "test_constant_initializer_array_value")
def test_constant_initializer_from_an_array():
    value = np.random.default_rng(0).random((3, 3))
    initializer = initializers.Constant(value=value)
    values = initializer(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, value, rtol=1e-6)
    again = type(initializer).from_config(initializer.get_config())
    np.testing.assert_array_equal(again(shape=(3, 3)), values)
