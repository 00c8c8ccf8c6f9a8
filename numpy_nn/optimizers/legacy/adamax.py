r"""Keras 2's Adamax
(``tf_keras/src/optimizers/legacy/adamax.py::Adamax._resource_apply_dense``, TensorFlow's
``ResourceApplyAdaMax``).

.. math::
    m \leftarrow m + (g - m)(1-\beta_1), \qquad u \leftarrow \max(\beta_2 u, |g|), \qquad
    w \leftarrow w - \frac{\eta_t}{1-\beta_1^t} \cdot \frac{m}{u + \epsilon}

The same equation as Keras 3 (:class:`numpy_nn.optimizers.Adamax`), grouped differently: Keras 2
divides the learning rate by :math:`1-\beta_1^t` and :math:`m` by :math:`u+\epsilon`, then
multiplies; Keras 3 computes :math:`\eta m / ((1-\beta_1^t)(u+\epsilon))`. In float32 the two
round differently (about one ulp of the step). Around it (:mod:`.base`): ``decay=``, clipping,
float32 :math:`\beta`.

``epsilon=0`` (or None) means 1e-7, as in Keras 2.
"""
from __future__ import annotations

from numpy_nn.optimizers import adamax
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class Adamax(Keras2Optimizer, adamax.Adamax):
    """``legacy.Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    decay=0.0)``."""

    float32_hyper_parameters = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon or 1e-7, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        m, u = self.update_moments(gradient, variable, s)
        variable.value[...] -= (learning_rate / s.one_minus_beta_1_power) * (m / (u + s.epsilon))
