"""Activation functions: the SELU constants derived from the paper equal the published ones;
GELU, SiLU and Mish equal their defining formulas and their derivatives the central differences."""
import math

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn.activations import selu_constants


def test_selu_constants_derived_from_equation_14_equal_the_published_values():
    """Klambauer et al. (2017) publish alpha_01 = 1.6732632423543772848 and
    lambda_01 = 1.0507009873554804934; ``selu_constants`` derives them with erfc."""
    alpha, scale = selu_constants()
    assert abs(alpha - 1.6732632423543772848) / 1.6732632423543772848 < 1e-15
    assert abs(scale - 1.0507009873554804934) / 1.0507009873554804934 < 1e-15
    assert np.float32(alpha) == np.float32(1.6732632423543772848)
    assert np.float32(scale) == np.float32(1.0507009873554804934)
    assert np.float32(alpha * scale) == np.float32(1.7580993408473768599)
    x = np.array([-1.0, 2.0])
    np.testing.assert_allclose(nn.activations.selu(x),
                               [scale * alpha * (np.exp(-1.0) - 1), scale * 2.0], rtol=1e-15)


# ------------------------------------------------------------------ GELU, SiLU (Swish), Mish
SMOOTH = {
    "gelu": nn.activations.gelu,
    "gelu (tanh approximation)": nn.activations.GELU(approximate=True),
    "silu": nn.activations.silu,
    "mish": nn.activations.mish,
}


def normal_cdf(x):
    """Phi(x) written independently of the engine: the standard library's erf, element-wise."""
    return np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in np.ravel(x)]).reshape(
        np.shape(x))


def independent_values(name, x):
    """Each function from its defining formula (the papers' forms, not the engine's)."""
    if name == "gelu":
        return x * normal_cdf(x)
    if name == "gelu (tanh approximation)":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    if name == "silu":
        return x / (1 + np.exp(-x))
    return x * np.tanh(np.log(1 + np.exp(x)))


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_smooth_activation_values_match_their_defining_formulas(name):
    x = np.linspace(-8.0, 8.0, 161)
    np.testing.assert_allclose(SMOOTH[name](x), independent_values(name, x), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_smooth_activation_derivatives_match_central_differences(name):
    function = SMOOTH[name]
    x = np.linspace(-6.0, 6.0, 121) + 0.013          # off the grid's exact zero
    h = 1e-6
    numerical = (function(x + h) - function(x - h)) / (2 * h)
    analytic = function.backward(x, function(x), np.ones_like(x))
    np.testing.assert_allclose(analytic, numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_smooth_activations_keep_float32_and_are_finite_at_the_extremes(name):
    function = SMOOTH[name]
    x = np.array([-1e30, -100.0, -30.0, -0.0, 0.0, 1e-30, 30.0, 100.0, 1e30], np.float32)
    with np.errstate(over="ignore"):       # the tanh form cubes 1e30: inf, and tanh(inf) = 1
        y = function(x)
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[[5, 6]] > 0, True)
    np.testing.assert_allclose(y[6:8], x[6:8], rtol=1e-6)      # the gate is 1 far right
    assert abs(float(y[1])) < 1e-30 or name == "mish"          # and 0 far left (Mish: -100 e^-100)


def test_smooth_activations_by_name_and_serialised_as_keras_does():
    assert nn.activations.get("swish") is nn.activations.silu      # Keras: "swish" is silu
    assert nn.activations.serialize(nn.activations.get("swish")) == "silu"
    assert nn.activations.get("gelu").approximate is False         # keras.activations.gelu
    approximate = nn.activations.serialize(nn.activations.GELU(approximate=True))
    assert approximate == {"class_name": "gelu", "config": {"approximate": True}}
    assert nn.activations.get(approximate).approximate is True
    np.testing.assert_array_equal(nn.activations.gelu(np.ones(2), approximate=True),
                                  nn.activations.GELU(True)(np.ones(2)))
    layer = nn.layers.Dense(3, activation="mish")
    assert layer.activation is nn.activations.mish
    with pytest.raises(TypeError, match="approximate must be True or False, got 'yes'"):
        nn.activations.GELU(approximate="yes")


def test_gelu_minimum_and_its_derivative_zero():
    """GELU's dip: f'(x) = Phi(x) + x phi(x) = 0 near x = -0.7518, f = -0.1700 there (the
    minimum the GELU page's derivation finds)."""
    x = np.linspace(-0.80, -0.70, 100001)
    y = nn.activations.gelu(x)
    assert abs(x[np.argmin(y)] + 0.75179) < 1e-4
    assert abs(y.min() + 0.16997) < 1e-4
