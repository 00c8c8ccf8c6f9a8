"""Initial weights: each library draws its own, from the same description, and they must come
from the same distribution (``parity_tests.builders.check_initial_weights``: constants
identical, random arrays by a two-sample Kolmogorov-Smirnov test).

Every other test also runs this check on its own models, but their small layers (a 10 × 12
kernel) cannot tell, say, a uniform from a normal draw of the same variance. Here each
initializer the chapter uses — and the defaults, named nowhere — fills a 784 × 300 kernel, where
such a difference is far outside the tolerance.
"""
import pytest

from parity_tests.builders import twins, use

INITIALIZERS = {
    "Dense default (no kernel_initializer)": {},
    **{name: dict(kernel_initializer=name)
       for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                    "lecun_uniform", "lecun_normal")},
    "VarianceScaling(scale=2, mode='fan_avg', distribution='uniform')": dict(
        kernel_initializer=use("initializers.VarianceScaling", scale=2.0, mode="fan_avg",
                               distribution="uniform")),
    "HeNormal(seed=42)": dict(kernel_initializer=use("initializers.HeNormal", seed=42)),
}


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_dense_kernel_initializer(name):
    twins([("Dense", dict(units=300, **INITIALIZERS[name]))], (784,))


@pytest.mark.parametrize("layer", ["BatchNormalization", "PReLU"])
def test_default_initial_weights_of_layers_with_state(layer):
    """BatchNormalization's gamma, beta and moving statistics, PReLU's slopes: constants."""
    twins([(layer, {})], (300,))
