"""Initializers (spec §1) and the Keras defaults of the chapter's layers.

Statistics are checked on 400x300 kernels (120,000 draws): a standard deviation estimate is
then within about 0.3% of the truth, so 2% tolerances can only fail on a wrong formula.
"""
import math

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import initializers, layers

FAN_IN, FAN_OUT = 400, 300


@pytest.mark.parametrize("name, variance, distribution", [
    ("glorot_uniform", 2 / (FAN_IN + FAN_OUT), "uniform"),
    ("glorot_normal", 2 / (FAN_IN + FAN_OUT), "truncated_normal"),
    ("he_uniform", 2 / FAN_IN, "uniform"),
    ("he_normal", 2 / FAN_IN, "truncated_normal"),
    ("lecun_uniform", 1 / FAN_IN, "uniform"),
    ("lecun_normal", 1 / FAN_IN, "truncated_normal"),
])
def test_presets_have_the_right_variance_and_support(name, variance, distribution):
    values = initializers.get(name)((FAN_IN, FAN_OUT))
    assert values.dtype == np.float32 and values.shape == (FAN_IN, FAN_OUT)
    assert values.std() == pytest.approx(math.sqrt(variance), rel=0.02)
    assert abs(values.mean()) < 0.02 * math.sqrt(variance)
    if distribution == "uniform":
        limit = math.sqrt(3 * variance)
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.99 * limit
    else:
        # re-drawn beyond two standard deviations of the *corrected* normal
        sigma = math.sqrt(variance) / initializers.TRUNCATED_NORMAL_STD
        assert np.abs(values).max() <= 2 * sigma * (1 + 1e-6)
        assert np.abs(values).max() > 1.95 * sigma


@pytest.mark.parametrize("mode, n", [("fan_in", FAN_IN), ("fan_out", FAN_OUT),
                                     ("fan_avg", (FAN_IN + FAN_OUT) / 2)])
def test_variance_scaling_modes(mode, n):
    """The chapter's ``VarianceScaling(scale=2., mode='fan_avg', distribution='uniform')``."""
    init = initializers.VarianceScaling(scale=2.0, mode=mode, distribution="uniform")
    values = init((FAN_IN, FAN_OUT))
    assert values.std() == pytest.approx(math.sqrt(2.0 / n), rel=0.02)
    untruncated = initializers.VarianceScaling(scale=2.0, mode=mode,
                                               distribution="untruncated_normal")
    assert untruncated((FAN_IN, FAN_OUT)).std() == pytest.approx(math.sqrt(2.0 / n), rel=0.02)


def test_seeds_make_values_repeatable():
    a = initializers.HeNormal(seed=3)((5, 4))
    np.testing.assert_array_equal(a, initializers.HeNormal(seed=3)((5, 4)))
    assert not np.array_equal(a, initializers.HeNormal(seed=4)((5, 4)))
    unseeded = initializers.HeNormal()
    np.testing.assert_array_equal(unseeded((5, 4)), unseeded((5, 4)))  # fixed at construction


def test_constant_zeros_ones_and_config_round_trip():
    assert np.all(initializers.get("zeros")((2, 3)) == 0)
    assert np.all(initializers.get("ones")((2, 3)) == 1)
    assert np.all(initializers.Constant(0.25)((2,)) == 0.25)
    init = initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=1)
    again = initializers.get(initializers.serialize(init))
    np.testing.assert_array_equal(init((3, 3)), again((3, 3)))


def test_layer_defaults_follow_keras():
    dense = layers.Dense(3)
    assert type(dense.kernel_initializer).__name__ == "GlorotUniform"
    assert type(dense.bias_initializer).__name__ == "Zeros" and dense.use_bias
    assert layers.LeakyReLU().negative_slope == 0.3      # the layer's default
    assert layers.LeakyReLU(alpha=0.2).negative_slope == 0.2   # the book's spelling
    assert nn.activations.get("leaky_relu").negative_slope == 0.2   # the function's default
    assert layers.ELU().alpha == 1.0
    bn = layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon, bn.center, bn.scale) == (0.99, 1e-3, True, True)
    prelu = layers.PReLU()
    prelu.build((None, 7))
    assert prelu.alpha.shape == (7,) and np.all(prelu.alpha.value == 0)
