r"""Keras 2's RMSprop (``optimizer_v2/rmsprop.py``): two different formulas, depending on
whether momentum is used.

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

    def update_step(self, gradient, variable, learning_rate):
        slots = self.slots[variable]
        dtype = variable.dtype
        rho = np.asarray(self.rho, dtype)
        one_minus_rho = np.asarray(1, dtype) - rho
        epsilon = np.asarray(self.epsilon, dtype)
        v = slots["velocity"]
        if self.momentum > 0:
            v += (np.square(gradient) - v) * one_minus_rho
            if self.centered:
                g_bar = slots["average_gradient"]
                g_bar += (gradient - g_bar) * one_minus_rho
                denominator = (v - np.square(g_bar)) + epsilon
            else:
                denominator = v + epsilon
            m = slots["momentum"]
            m[...] = m * np.asarray(self.momentum, dtype) + (gradient * learning_rate) / np.sqrt(
                denominator)
            variable.value[...] -= m
            return
        v[...] = rho * v + one_minus_rho * np.square(gradient)
        if self.centered:
            g_bar = slots["average_gradient"]
            g_bar[...] = rho * g_bar + one_minus_rho * gradient
            root = np.sqrt(v - np.square(g_bar))
        else:
            root = np.sqrt(v)
        variable.value[...] -= (learning_rate * gradient) / (root + epsilon)
