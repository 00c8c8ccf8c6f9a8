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


RELU = ACT + "relu_test.py::ReLUTest::"
X5 = np.array([-10, -5, 0.0, 5, 10])


@keras_case(RELU + "test_relu")
def test_relu_layer_basics():
    _layer_basics(nn.layers.ReLU, {"max_value": 10, "negative_slope": 1, "threshold": 0.5},
                  (2, 3, 4))


@pytest.mark.parametrize("kwargs, x, expected", [
    pytest.param({"max_value": 10, "negative_slope": 0.0, "threshold": 0}, X5,
                 [0.0, 0.0, 0.0, 5.0, 10.0], marks=keras_case(RELU + "test_normal_relu_"
                                                                     "correctness")),
    pytest.param({"max_value": 10, "negative_slope": 0.5, "threshold": 0}, X5,
                 [-5.0, -2.5, 0.0, 5.0, 10.0], marks=keras_case(RELU + "test_leaky_relu_"
                                                                       "correctness")),
    pytest.param({"max_value": 8, "negative_slope": 0.0, "threshold": 5},
                 np.array([6.0, 7.0, 0.0, 5, 10]), [6.0, 7.0, 0.0, 0.0, 8.0],
                 marks=keras_case(RELU + "test_threshold_relu_correctness")),
    pytest.param({}, np.array([-3.0, -1.0, 0.0, 1.0, 3.0]), [0.0, 0.0, 0.0, 1.0, 3.0],
                 marks=keras_case(RELU + "test_default_relu_no_args")),
    pytest.param({}, np.zeros((3, 4)), np.zeros((3, 4)),
                 marks=keras_case(RELU + "test_relu_all_zeros_input")),
    pytest.param({"max_value": None}, np.array([0.0, 100.0, 1000.0, 99999.0]),
                 [0.0, 100.0, 1000.0, 99999.0],
                 marks=keras_case(RELU + "test_relu_none_max_value_is_unlimited")),
])
def test_relu_layer_correctness(kwargs, x, expected):
    np.testing.assert_allclose(nn.layers.ReLU(**kwargs)(x), expected, rtol=1e-6, atol=1e-6)


@keras_case(RELU + "test_relu_multidimensional_input")
def test_relu_layer_on_2d_and_3d_inputs():
    layer = nn.layers.ReLU()
    np.testing.assert_array_equal(layer(np.array([[-1.0, 2.0], [3.0, -4.0]])),
                                  [[0.0, 2.0], [3.0, 0.0]])
    np.testing.assert_array_equal(layer(-np.ones((2, 3, 4))), np.zeros((2, 3, 4)))


@pytest.mark.parametrize("kwargs, argument", [
    pytest.param({"max_value": -10, "negative_slope": 1, "threshold": 0.5}, "max_value",
                 marks=keras_case(RELU + "test_invalid_usage")),
    pytest.param({"max_value": 10, "negative_slope": -10, "threshold": 0.5}, "negative_slope",
                 marks=keras_case(RELU + "test_invalid_usage")),
    pytest.param({"max_value": 10, "negative_slope": 1, "threshold": -10}, "threshold",
                 marks=keras_case(RELU + "test_invalid_usage")),
    pytest.param({"negative_slope": None}, "negative_slope",
                 marks=keras_case(RELU + "test_negative_slope_none_raises")),
    pytest.param({"threshold": None}, "threshold",
                 marks=keras_case(RELU + "test_threshold_none_raises")),
])
def test_relu_layer_refuses(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        nn.layers.ReLU(**kwargs)


@keras_case(RELU + "test_get_config", RELU + "test_from_config")
def test_relu_layer_config():
    layer = nn.layers.ReLU(max_value=5.0, negative_slope=0.2, threshold=1.0)
    config = layer.get_config()
    assert (config["max_value"], config["negative_slope"], config["threshold"]) == (5.0, 0.2, 1.0)
    restored = nn.layers.ReLU.from_config(config)
    assert (restored.max_value, restored.negative_slope, restored.threshold) == (5.0, 0.2, 1.0)


@keras_case(RELU + "test_get_config_default_params")
def test_relu_layer_default_config():
    config = nn.layers.ReLU().get_config()
    assert config["max_value"] is None and config["negative_slope"] == 0.0 \
        and config["threshold"] == 0.0


@keras_case(RELU + "test_compute_output_shape")
def test_relu_layer_output_shape():
    layer = nn.layers.ReLU()
    for shape in ((2, 3), (4, 5, 6), (1,)):
        assert layer.compute_output_shape(shape) == shape


SOFTMAX = ACT + "softmax_test.py::SoftmaxTest::"


@keras_case(SOFTMAX + "test_softmax")
def test_softmax_layer_basics():
    _layer_basics(nn.layers.Softmax, {}, (2, 3, 4))


@pytest.mark.parametrize("kwargs", [
    pytest.param({}, marks=keras_case(SOFTMAX + "test_softmax_correctness")),
    pytest.param({"axis": 1}, marks=keras_case(SOFTMAX + "test_softmax_correctness_with_axis")),
])
def test_softmax_layer_correctness(kwargs):
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    expected = [[0.21194157, 0.5761169, 0.21194157]] * 2
    np.testing.assert_allclose(nn.layers.Softmax(**kwargs)(x), expected, rtol=1e-6, atol=1e-6)


@keras_case(ACT + "activation_test.py::ActivationTest::test_activation_basics")
def test_activation_layer_basics():
    """(Keras's second case wraps gelu, which numpy_nn does not have; elu is wrapped instead.)"""
    _layer_basics(nn.layers.Activation, {"activation": "relu"}, (2, 3))
    _layer_basics(nn.layers.Activation, {"activation": nn.activations.elu}, (2, 2))


DENSE = "layers/core/dense_test.py::DenseTest::"
KERNEL = np.array([[1.0, -2.0], [3.0, -4.0]])
ONE_ROW = np.array([[-1.0, 2.0]])


@keras_case(DENSE + "test_dense_basics")
def test_dense_basics():
    """Keras's first case. (Its second applies Dense to a (2, 3, 4) input; numpy_nn's Dense
    takes (batch, features) and asks for a Flatten, as the chapter's networks do.)"""
    layer = nn.layers.Dense(units=4, activation="relu", kernel_initializer="random_uniform",
                            bias_initializer="ones", use_bias=False)
    assert layer(np.ones((2, 3), np.float32)).shape == (2, 4)
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 0
    assert nn.layers.Dense.from_config(layer.get_config()).get_config() == layer.get_config()
    regularized = nn.layers.Dense(5, activation="sigmoid", kernel_regularizer="l2",
                                  bias_regularizer="l2")
    regularized(np.ones((2, 4), np.float32))
    assert len(regularized.trainable_weights) == 2 and len(regularized.losses) == 2


@keras_case(DENSE + "test_dense_invalid_units_raises")
@pytest.mark.parametrize("units", [0, -3, 2.5, None, "64"])
def test_dense_refuses_units(units):
    with pytest.raises(ValueError, match="positive int"):
        nn.layers.Dense(units)


@keras_case(DENSE + "test_dense_correctness")
def test_dense_correctness():
    layer = nn.layers.Dense(units=2, activation="relu")
    layer.build((1, 2))
    layer.set_weights([KERNEL, np.array([5.0, -6.0])])
    np.testing.assert_allclose(layer(ONE_ROW), [[10.0, 0.0]], rtol=1e-6, atol=1e-6)
    layer = nn.layers.Dense(units=2, use_bias=False)
    layer.build((1, 2))
    layer.set_weights([KERNEL])
    assert layer.bias is None
    np.testing.assert_allclose(layer(ONE_ROW), [[5.0, -6.0]], rtol=1e-6, atol=1e-6)


@keras_case(DENSE + "test_dense_errors")
def test_dense_refuses_another_input_width():
    layer = nn.layers.Dense(units=2, activation="relu")
    layer(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="expected input of shape"):
        layer(np.ones((1, 3), np.float32))


@pytest.mark.parametrize("kwargs, set_after, expected", [
    pytest.param({"activation": None}, False, [[5.0, -6.0]],
                 marks=keras_case(DENSE + "test_dense_no_activation")),
    pytest.param({}, True, [[5.0, -6.0]],
                 marks=keras_case(DENSE + "test_dense_without_activation_set")),
    pytest.param({"activation": "relu"}, False, [[5.0, 0.0]],
                 marks=keras_case(DENSE + "test_dense_with_activation")),
])
def test_dense_activation(kwargs, set_after, expected):
    layer = nn.layers.Dense(units=2, use_bias=False, **kwargs)
    layer.build((1, 2))
    layer.set_weights([KERNEL])
    if set_after:
        layer.activation = None
    assert layer.bias is None
    np.testing.assert_allclose(layer(ONE_ROW), expected, rtol=1e-6, atol=1e-6)


@keras_case(DENSE + "test_dense_constraints")
def test_dense_constraints_from_names():
    """(Keras names "non_neg", which numpy_nn does not have; "max_norm" is named instead.)"""
    layer = nn.layers.Dense(units=2, kernel_constraint="max_norm")
    layer.build((None, 2))
    assert isinstance(layer.kernel.constraint, nn.constraints.MaxNorm)
    layer = nn.layers.Dense(units=2, bias_constraint="max_norm")
    layer.build((None, 2))
    assert isinstance(layer.bias.constraint, nn.constraints.MaxNorm)


BN = "layers/normalization/batch_normalization_test.py::BatchNormalizationTest::"


@keras_case(BN + "test_bn_basics")
@pytest.mark.parametrize("kwargs, shape, trainable, losses", [
    ({"center": True, "scale": True}, (2, 3), 2, 0),
    ({"center": False, "scale": False}, (2, 3), 0, 0),
    ({"center": True, "scale": True, "beta_regularizer": "l2", "gamma_regularizer": "l2"},
     (2, 4, 4, 3), 2, 2),
])
def test_batch_normalization_basics(kwargs, shape, trainable, losses):
    layer = _layer_basics(nn.layers.BatchNormalization, kwargs, shape, trainable=trainable,
                          non_trainable=2, training=True)
    assert len(layer.losses) == losses


@keras_case(BN + "test_correctness")
@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("shape", [(5, 2, 3), (5, 3, 3, 2)])
@pytest.mark.parametrize("mean_init", ["zeros", "ones"])
@pytest.mark.parametrize("variance_init", ["zeros", "ones"])
def test_batch_normalization_correctness(axis, shape, mean_init, variance_init):
    """Keras's case without its last two checks, which use a Masking layer (masks are not
    in numpy_nn). Tolerances: Keras's 1e-3."""
    layer = nn.layers.BatchNormalization(axis=axis, momentum=0,
                                         moving_mean_initializer=mean_init,
                                         moving_variance_initializer=variance_init)
    x = np.random.default_rng(3).normal(loc=5.0, scale=10.0, size=shape)
    out = x
    for _ in range(3):
        out = layer(out, training=True)
    broadcast = [1] * len(shape)
    broadcast[axis] = shape[axis]
    out = (out - layer.beta.numpy().reshape(broadcast)) / layer.gamma.numpy().reshape(broadcast)
    axes = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    np.testing.assert_allclose(np.mean(out, axis=axes), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.std(out, axis=axes), 1.0, atol=1e-3)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.0, atol=1e-3)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 1.0, atol=1e-3)
    inference, training = layer(x, training=False), layer(x, training=True)
    assert not np.allclose(inference, training, rtol=1e-6, atol=1e-6)
    training = layer(x, training=True)
    np.testing.assert_allclose(layer(x, training=False), training, rtol=1e-6, atol=1e-6)


@keras_case(BN + "test_trainable_behavior")
def test_batch_normalization_frozen_and_unfrozen():
    layer = nn.layers.BatchNormalization(axis=-1, momentum=0.8, epsilon=1e-7)
    layer.build((1, 4, 4, 3))
    layer.trainable = False
    assert (len(layer.weights), len(layer.trainable_weights),
            len(layer.non_trainable_weights)) == (4, 0, 4)
    x = np.random.default_rng(4).normal(loc=5.0, scale=10.0, size=(200, 4, 4, 3))
    np.testing.assert_allclose(layer(x, training=True), x, rtol=1e-6, atol=1e-6)
    layer.trainable = True
    assert (len(layer.weights), len(layer.trainable_weights),
            len(layer.non_trainable_weights)) == (4, 2, 2)
    for _ in range(10):
        out = layer(x, training=True)
    out = (out - layer.beta.numpy().reshape(1, 1, 1, 3)) / layer.gamma.numpy().reshape(1, 1, 1, 3)
    np.testing.assert_allclose(np.mean(out, axis=(0, 1, 2)), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.std(out, axis=(0, 1, 2)), 1.0, atol=1e-3)


@keras_case(BN + "test_serialization")
def test_batch_normalization_config_round_trip():
    """(Keras's layer has batch renormalization on, which numpy_nn does not have; every
    numpy_nn option is set away from its default instead.)"""
    layer = nn.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                         gamma_regularizer="l2", beta_constraint="max_norm")
    config = layer.get_config()
    assert nn.layers.BatchNormalization.from_config(config).get_config() == config
