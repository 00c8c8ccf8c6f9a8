r"""Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") and AMSGrad
(Reddi, Kale & Kumar, 2018, "On the Convergence of Adam and Beyond").

First and second moment estimates with bias correction folded into the step size
(the paper's "efficient version", section 2), at step :math:`t = \text{iterations} + 1`:

.. math::
    m \leftarrow m + (g - m)(1-\beta_1), \qquad v \leftarrow v + (g^2 - v)(1-\beta_2)

.. math::
    \alpha_t = \eta \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
    w \leftarrow w - \frac{\alpha_t\, m}{\sqrt{v} + \hat\epsilon}

so :math:`\hat\epsilon` is added to the *uncorrected* :math:`\sqrt v` (Keras 2 and 3 alike).
AMSGrad keeps :math:`\hat v = \max(\hat v, v)` and uses it in place of :math:`v`.
:math:`1-\beta` is evaluated in double and rounded to float32, :math:`\beta^t` in float32.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number(type(self).__name__, "beta_1", beta_1, low=0, high=1, high_inclusive=False)
        _check_number(type(self).__name__, "beta_2", beta_2, low=0, high=1, high_inclusive=False)
        _check_number(type(self).__name__, "epsilon", epsilon, low=0)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)

    def create_slots(self, variable):
        slots = {"momentum": np.zeros_like(variable.value),
                 "velocity": np.zeros_like(variable.value)}
        if self.amsgrad:
            slots["velocity_hat"] = np.zeros_like(variable.value)
        return slots

    def step_size(self, learning_rate, dtype):
        r""":math:`\alpha_t = \eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)` for this step, in ``dtype``."""
        t = self.step_count(dtype)
        beta_1_power = np.power(np.asarray(self.beta_1, dtype), t)
        beta_2_power = np.power(np.asarray(self.beta_2, dtype), t)
        return learning_rate * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        slots = self.slots[variable]
        alpha = self.step_size(learning_rate, dtype)
        m, v = slots["momentum"], slots["velocity"]
        m += (gradient - m) * np.asarray(1 - self.beta_1, dtype)
        v += (np.square(gradient) - v) * np.asarray(1 - self.beta_2, dtype)
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        variable.value[...] -= (m * alpha) / (np.sqrt(v) + np.asarray(self.epsilon, dtype))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019); ``weight_decay=0.004``."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number (use Adam for none)")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
