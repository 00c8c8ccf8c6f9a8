"""Activation functions: the SELU constants derived from the paper equal the published ones."""
import numpy as np

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
