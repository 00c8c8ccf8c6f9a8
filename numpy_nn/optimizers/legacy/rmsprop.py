r"""Keras 2's RMSprop
(``tf_keras/src/optimizers/legacy/rmsprop.py::RMSprop._resource_apply_dense``): two different
formulas, depending on whether momentum is used.

**Without momentum** (plain TensorFlow ops), :math:`\epsilon` is added *outside* the root:

.. math::
    v \leftarrow \rho v + (1-\rho) g^2, \qquad
    w \leftarrow w - \frac{\eta_t\, g}{\sqrt{v} + \epsilon}
    \quad\text{(centered: } \bar g \leftarrow \rho \bar g + (1-\rho) g,\;
    \sqrt{v - \bar g^2} + \epsilon\text{)}

**With momentum** :math:`\mu > 0` (TensorFlow's ``ResourceApplyRMSProp`` /
``ResourceApplyCenteredRMSProp`` kernels), :math:`\epsilon` is *inside* the root:

.. math::
    v \leftarrow v + (g^2 - v)(1-\rho), \qquad
    m \leftarrow \mu m + \frac{\eta_t\, g}{\sqrt{v + \epsilon}}, \qquad w \leftarrow w - m
    \quad\text{(centered: } \bar g \leftarrow \bar g + (g - \bar g)(1-\rho),\;
    \sqrt{(v - \bar g^2) + \epsilon}\text{)}

**Keras 3** (:class:`numpy_nn.optimizers.RMSprop`) always puts :math:`\epsilon` inside the root
and always updates :math:`v` as :math:`\rho v + (1-\rho) g^2`. So Keras 2 without momentum
differs from Keras 3 wherever :math:`v` is not much larger than :math:`\epsilon` (tiny
gradients), and Keras 2 with momentum differs only in rounding. A centered Keras 2 run without
momentum takes the square root of :math:`v - \bar g^2`, which rounding can make slightly
negative (NaN), as Keras 2 did.

``epsilon=0`` (or None) means 1e-7, as in Keras 2.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.optimizers import rmsprop
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class RMSprop(Keras2Optimizer, rmsprop.RMSprop):
    """``legacy.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False, decay=0.0)``."""

    float32_hyper_parameters = ("rho", "momentum")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum,
                         epsilon=epsilon or 1e-7, centered=centered, **kwargs)

    def step_scalars(self, learning_rate, dtype):
        """As Keras 3's, but :math:`1-\rho` from the float32 :math:`\rho`, in ``dtype``."""
        s = super().step_scalars(learning_rate, dtype)
        return s._replace(one_minus_rho=np.asarray(1, dtype) - s.rho)

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        if self.momentum > 0:
            self._momentum_step(gradient, variable, learning_rate, s)
            return
        v, g_bar = self.update_averages(gradient, variable, s)
        root = np.sqrt(v) if g_bar is None else np.sqrt(v - np.square(g_bar))
        variable.value[...] -= (learning_rate * gradient) / (root + s.epsilon)

    def _momentum_step(self, gradient, variable, learning_rate, s):
        """TensorFlow's ``ResourceApplyRMSProp`` / ``ResourceApplyCenteredRMSProp``."""
        slots = self.slots[variable]
        v = slots["velocity"]
        v += (np.square(gradient) - v) * s.one_minus_rho                  # v ← ρv + (1−ρ)g²
        if self.centered:
            g_bar = slots["average_gradient"]
            g_bar += (gradient - g_bar) * s.one_minus_rho                 # ḡ ← ρḡ + (1−ρ)g
            denominator = (v - np.square(g_bar)) + s.epsilon
        else:
            denominator = v + s.epsilon
        m = slots["momentum"]
        m[...] = m * s.momentum + (gradient * learning_rate) / np.sqrt(denominator)  # m ← μm + Δ
        variable.value[...] -= m
