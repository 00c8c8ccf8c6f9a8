"""Keras 3's layer tests for the activation and dropout layers
(keras/src/layers/activations/{elu,leaky_relu,prelu}_test.py,
keras/src/layers/regularization/{dropout,alpha_dropout}_test.py) on numpy_nn.

Keras's ``run_layer_test`` harness is replaced by :func:`_layer_basics`, which checks what the
cases state and numpy_nn has: the output shape, the trainable/non-trainable weight counts, a
config round trip and the rebuilt layer's equal output. (Masks and seed-generator counts are
Keras notions numpy_nn does not have.)"""
import numpy as np
import pytest

import numpy_nn as nn
from parity_tests.keras_conformance import keras_case

ACT = "layers/activations/"
REG = "layers/regularization/"


def _layer_basics(cls, init_kwargs, input_shape, trainable=0, non_trainable=0, training=None):
    layer = cls(**init_kwargs)
    x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
    kwargs = {} if training is None else {"training": training}
    y = layer(x, **kwargs)
    assert y.shape == input_shape
    assert len(layer.trainable_weights) == trainable
    assert len(layer.non_trainable_weights) == non_trainable
    again = cls.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    if training is None:           # deterministic: the rebuilt layer computes the same
        again(x)
        again.set_weights(layer.get_weights())
        np.testing.assert_array_equal(again(x), y)
    return layer


@keras_case(ACT + "elu_test.py::ELUTest::test_config")
def test_elu_config():
    layer = nn.layers.ELU()
    assert nn.layers.ELU.from_config(layer.get_config()).get_config() == layer.get_config()


@keras_case(ACT + "elu_test.py::ELUTest::test_elu")
def test_elu_basics():
    _layer_basics(nn.layers.ELU, {}, (2, 3, 4))


@keras_case(ACT + "elu_test.py::ELUTest::test_correctness")
def test_elu_correctness():
    def reference(x, alpha=1.0):
        return (x > 0) * x + (x <= 0) * alpha * (np.exp(x) - 1)
    x = np.random.default_rng(1).random((2, 2, 5))
    np.testing.assert_allclose(nn.layers.ELU()(x), reference(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(nn.layers.ELU(alpha=0.7)(x), reference(x, 0.7), rtol=1e-6,
                               atol=1e-6)


@keras_case(ACT + "leaky_relu_test.py::LeakyReLUTest::test_leaky_relu")
def test_leaky_relu_basics():
    _layer_basics(nn.layers.LeakyReLU, {"negative_slope": 1}, (2, 3, 4))


@keras_case(ACT + "leaky_relu_test.py::LeakyReLUTest::test_leaky_relu_correctness")
def test_leaky_relu_correctness():
    result = nn.layers.LeakyReLU(negative_slope=0.5)(np.array([-10, -5, 0.0, 5, 10]))
    np.testing.assert_allclose(result, [-5.0, -2.5, 0.0, 5.0, 10.0], rtol=1e-6, atol=1e-6)


@keras_case(ACT + "leaky_relu_test.py::LeakyReLUTest::test_invalid_usage")
def test_leaky_relu_refuses_none():
    with pytest.raises(ValueError, match="negative_slope"):
        nn.layers.LeakyReLU(negative_slope=None)


@keras_case(ACT + "prelu_test.py::PReLUTest::test_prelu")
def test_prelu_basics():
    layer = _layer_basics(nn.layers.PReLU, {"alpha_initializer": "zeros",
                                            "alpha_regularizer": "L1",
                                            "alpha_constraint": "MaxNorm", "shared_axes": 1},
                          (2, 3, 4), trainable=1)
    assert layer.alpha.shape == (1, 4)


@keras_case(ACT + "prelu_test.py::PReLUTest::test_prelu_correctness")
def test_prelu_correctness():
    """(Keras constrains alpha with "non_neg", which numpy_nn does not have; a constraint
    does not act in a forward pass, so none is set.)"""
    rng = np.random.default_rng(2)
    inputs = rng.standard_normal((2, 10, 5, 3))
    layer = nn.layers.PReLU(alpha_initializer="glorot_uniform", alpha_regularizer="l1",
                            shared_axes=(1, 2))
    layer.build(inputs.shape)
    weights = rng.random((1, 1, 3))
    layer.alpha.assign(weights)
    expected = (inputs > 0) * inputs + (inputs <= 0) * weights * inputs
    np.testing.assert_allclose(layer(inputs), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", [
    pytest.param(nn.layers.Dropout, marks=keras_case(REG + "dropout_test.py::DropoutTest::"
                                                           "test_dropout_basics")),
    pytest.param(nn.layers.AlphaDropout, marks=keras_case(
        REG + "alpha_dropout_test.py::AlphaDropoutTest::test_alpha_dropout_basics")),
])
def test_dropout_basics(cls):
    _layer_basics(cls, {"rate": 0.2}, (2, 3), training=True)


@keras_case(REG + "dropout_test.py::DropoutTest::test_dropout_rescaling")
def test_dropout_rescaling():
    """Kept units are scaled by 1/(1 - rate), so the mean stays 1 and the maximum is 2.
    Keras's check (one call, seed 1337, mean within 0.02 of 1: about 2 standard errors) holds
    for the draw Keras's generator makes; numpy_nn's generator draws differently (its seed-1337
    call gives 0.973, as 7 of 200 seeds fall outside the band), so the same tolerance is
    applied to the mean of 50 calls (standard error 0.0014) — a stronger check."""
    layer = nn.layers.Dropout(0.5, seed=1337)
    outputs = np.stack([layer(np.ones((20, 500)), training=True) for _ in range(50)])
    np.testing.assert_allclose(np.mean(outputs), 1.0, atol=0.02)
    np.testing.assert_allclose(np.max(outputs), 2.0, rtol=1e-6)
    assert abs(np.mean(outputs) - 1.0) < 5 * 0.5 / np.sqrt(outputs.size)


@keras_case(REG + "alpha_dropout_test.py::AlphaDropoutTest::test_alpha_dropout_correctness")
def test_alpha_dropout_keeps_the_standard_deviation():
    outputs = nn.layers.AlphaDropout(0.3, seed=1337)(np.ones((20, 500), np.float32),
                                                     training=True)
    np.testing.assert_allclose(np.std(outputs), 1.0, atol=1e-1)


@pytest.mark.parametrize("cls, rate", [
    pytest.param(nn.layers.Dropout, -0.5, marks=keras_case(
        REG + "dropout_test.py::DropoutTest::test_dropout_negative_rate")),
    pytest.param(nn.layers.Dropout, 1.5, marks=keras_case(
        REG + "dropout_test.py::DropoutTest::test_dropout_rate_greater_than_one")),
    pytest.param(nn.layers.AlphaDropout, -0.5, marks=keras_case(
        REG + "alpha_dropout_test.py::AlphaDropoutTest::test_alpha_dropout_negative_rate")),
    pytest.param(nn.layers.AlphaDropout, 1.5, marks=keras_case(
        REG + "alpha_dropout_test.py::AlphaDropoutTest::test_alpha_dropout_rate_greater_than_"
              "one")),
])
def test_dropout_refuses_a_rate_outside_the_unit_interval(cls, rate):
    with pytest.raises(ValueError, match="rate"):
        cls(rate=rate)
