"""Keras 3's activation-function tests (keras/src/activations/activations_test.py) on
numpy_nn.activations, with Keras's reference functions rewritten here and its tolerances
(``rtol=1e-5``; ``assertAllClose``'s 1e-6 where Keras gives none)."""
import math

import numpy as np
import pytest

from numpy_nn import activations
from parity_tests.keras_conformance import keras_case

A = "activations/activations_test.py::ActivationsTest::"
RNG = np.random.default_rng(0)


def _softmax(values):
    e = np.exp(values - np.max(values))
    return e / e.sum()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x)) if x >= 0 else np.exp(x) / (1 + np.exp(x))


def _close(actual, desired, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), desired, rtol=rtol, atol=atol)


@keras_case(A + "test_softmax")
def test_softmax_rows():
    x = RNG.random((2, 5))
    _close(activations.softmax(x[np.newaxis, :])[0][0], _softmax(x[0]))


@keras_case(A + "test_softmax_2d_axis_0")
def test_softmax_axis_1_of_3d():
    x = RNG.random((2, 5))
    expected = np.stack([_softmax(x[:, i]) for i in range(5)], axis=1)
    _close(activations.softmax(x[np.newaxis, :], axis=1)[0], expected)


@keras_case(A + "test_softmax_1d")
def test_softmax_1d():
    x = RNG.random(5)
    _close(activations.softmax(x), _softmax(x))


@keras_case(A + "test_softmax_negative_axis")
def test_softmax_negative_axis():
    x = RNG.random((2, 5))
    _close(activations.softmax(x, axis=-1), np.stack([_softmax(row) for row in x]))


@keras_case(A + "test_temporal_softmax")
def test_softmax_temporal():
    x = RNG.random((2, 2, 3)) * 10
    _close(activations.softmax(x[np.newaxis, :])[0][0, 0], _softmax(x[0, 0]))


@keras_case(A + "test_selu")
def test_selu():
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    positive = np.array([[1, 2]], np.float32)
    _close(activations.selu(positive[np.newaxis, :])[0], positive * scale)
    negative = np.array([[-1, -2]], np.float32)
    _close(activations.selu(negative[np.newaxis, :])[0], (np.exp(negative) - 1) * scale * alpha,
           rtol=1e-6)


@keras_case(A + "test_sigmoid")
@pytest.mark.parametrize("low, high, shape", [(0, 1, (1, 2, 5)), (-10, 10, (5,)),
                                              (-10, 10, (3, 3, 3)), (-1e-7, 1e-7, (2, 5)),
                                              (10, 100, (2, 5)), (-100, -10, (2, 5))])
def test_sigmoid(low, high, shape):
    x = RNG.uniform(low, high, shape)
    _close(activations.sigmoid(x), np.vectorize(_sigmoid)(x))


@keras_case(A + "test_relu_negative_slope", A + "test_relu_to_trigger_leaky")
def test_relu_negative_slope():
    result = activations.relu(np.array([-10, -5, 0.0, 5, 10]), negative_slope=0.5)
    _close(result, [-5.0, -2.5, 0.0, 5.0, 10.0])


@keras_case(A + "test_relu")
@pytest.mark.parametrize("low, high, shape", [(0.1, 10, (2, 5)), (-10, -0.1, (2, 5)),
                                              (-10, 10, (5,)), (-10, 10, (3, 3, 3)),
                                              (-1e-7, 1e-7, (2, 5)), (1e4, 1e5, (2, 5)),
                                              (-1e5, -1e4, (2, 5))])
def test_relu(low, high, shape):
    x = RNG.uniform(low, high, shape)
    _close(activations.relu(x), np.maximum(0, x))


@keras_case(A + "test_leaky_relu")
@pytest.mark.parametrize("slope", [0.01, 0.3])
@pytest.mark.parametrize("low, high", [(0, 1), (-1, 0)])
def test_leaky_relu(slope, low, high):
    x = RNG.uniform(low, high, (2, 5))
    _close(activations.leaky_relu(x[np.newaxis, :], negative_slope=slope)[0],
           np.where(x > 0, x, slope * x))


@keras_case(A + "test_elu")
def test_elu():
    x = RNG.random((2, 5))
    _close(activations.elu(x[np.newaxis, :])[0], x)
    negative = np.array([[-1, -2]], np.float32)
    _close(activations.elu(negative[np.newaxis, :])[0], np.exp(negative) - 1, rtol=1e-6)


@keras_case(A + "test_tanh")
@pytest.mark.parametrize("low, high, shape", [(0, 1, (2, 5)), (-10, 10, (2, 5)), (-10, 10, (5,)),
                                              (-10, 10, (3, 3, 3)), (0, 10, (2, 5)),
                                              (-10, 0, (2, 5)), (-1e-7, 1e-7, (2, 5)),
                                              (1e4, 1e5, (2, 5))])
def test_tanh(low, high, shape):
    x = RNG.uniform(low, high, shape)
    _close(activations.tanh(x), np.tanh(x))


@keras_case(A + "test_linear")
@pytest.mark.parametrize("x", [RNG.random((10, 5)), RNG.uniform(-10, 10, 5),
                               RNG.uniform(-10, 10, (5, 5, 5)),
                               RNG.uniform(-10, 10, (10, 5)).astype(np.float32),
                               RNG.integers(-10, 10, (10, 5)).astype(np.int32)])
def test_linear(x):
    _close(activations.linear(x), x, rtol=1e-6)


@keras_case(A + "test_get_method")
def test_get():
    assert activations.get("relu") is activations.relu
    assert activations.get(None) is activations.linear
    with pytest.raises(ValueError):
        activations.get("typo")


@pytest.mark.parametrize("kwargs, expected", [
    pytest.param({"max_value": 5.0}, [0.0, 0.0, 0.0, 5.0, 5.0],
                 marks=keras_case(A + "test_relu_max_value")),
    pytest.param({"threshold": 5.0}, [-0.0, -0.0, 0.0, 0.0, 10.0],
                 marks=keras_case(A + "test_relu_threshold")),
    pytest.param({"threshold": 5.0, "max_value": 5.0}, [0.0, 0.0, 0.0, 0.0, 5.0],
                 marks=keras_case(A + "test_relu_combined_threshold_and_max_value")),
    pytest.param({"negative_slope": 0.5, "max_value": 5.0, "threshold": 5.0},
                 [-7.5, -5.0, -2.5, 0.0, 5.0],
                 marks=keras_case(A + "test_relu_combined_all_parameters")),
])
def test_relu_options(kwargs, expected):
    _close(activations.relu(np.array([-10, -5, 0.0, 5, 10]), **kwargs), expected)


@keras_case(A + "test_relu_to_trigger_relu6")
def test_relu6():
    _close(activations.relu(np.array([-10, -5, 0.0, 5, 10, 12]), max_value=6.0),
           [0.0, 0.0, 0.0, 5.0, 6.0, 6.0])


# ------------------------------------------------- the third edition's: SiLU, GELU, Mish
def _silu(x):
    return x / (1 + np.exp(-x))


def _softplus(x):
    return np.log(np.ones_like(x) + np.exp(x))


@keras_case(A + "test_silu")
def test_silu():
    for low, high in ((0, 5.9), (-1, 1), (-5.9, 0)):
        x = RNG.uniform(low, high, (2, 5))
        _close(activations.silu(x[np.newaxis, :])[0], _silu(x))


@keras_case(A + "test_gelu")
def test_gelu():
    """Keras's reference for the exact form is x * scipy.stats.norm.cdf(x); the same CDF here
    from math.erf."""
    def gelu(x, approximate=False):
        if approximate:
            return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
        cdf = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))(x)
        return x * cdf

    x = RNG.random((2, 5))
    _close(activations.gelu(x[np.newaxis, :])[0], gelu(x))
    x = RNG.random((2, 5))
    _close(activations.gelu(x[np.newaxis, :], approximate=True)[0], gelu(x, True))


@keras_case(A + "test_mish")
def test_mish():
    cases = [RNG.random((2, 5))[np.newaxis, :], RNG.uniform(-10, 10, (2, 5))[np.newaxis, :],
             RNG.uniform(-10, 10, 5), RNG.uniform(-10, 10, (3, 3, 3)),
             RNG.uniform(0, 10, (2, 5)), RNG.uniform(-10, 0, (2, 5)),
             RNG.uniform(-1e-7, 1e-7, (2, 5))]
    for x in cases:
        _close(activations.mish(x), x * np.tanh(_softplus(x)))
