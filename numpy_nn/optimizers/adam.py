r"""Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") and AMSGrad
(Reddi, Kale & Kumar, 2018, "On the Convergence of Adam and Beyond").

At step :math:`t = \text{iterations} + 1`, first and second moment estimates of the gradient
and their bias-corrected values:

.. math::
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
    \qquad \hat m = \frac{m}{1-\beta_1^t}, \qquad \hat v = \frac{v}{1-\beta_2^t}

.. math::
    w \leftarrow w - \eta \frac{\hat m}{\sqrt{\hat v} + \epsilon}

Computed as the paper's "efficient version" (section 2), with the two corrections folded into
one step size and :math:`\hat\epsilon = \epsilon \sqrt{1-\beta_2^t}`:

.. math::
    \alpha_t = \eta \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
    w \leftarrow w - \frac{\alpha_t\, m}{\sqrt{v} + \hat\epsilon}

The moment updates are written :math:`m \leftarrow m + (g - m)(1-\beta_1)`, the same equation.
AMSGrad keeps :math:`v_{\max} \leftarrow \max(v_{\max}, v)` and uses it in place of :math:`v`.

Keras parity: ``keras/src/optimizers/adam.py::Adam.update_step`` takes ``epsilon`` as
:math:`\hat\epsilon` (added to the uncorrected :math:`\sqrt v`, as Keras 2 did), evaluates
:math:`1-\beta` in double and rounds it once, and :math:`\beta^t` in the variables' dtype.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.base import Optimizer, check_moment_hyper_parameters


class AdamScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    alpha: np.ndarray              #: alpha_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t)
    one_minus_beta_1: np.ndarray
    one_minus_beta_2: np.ndarray
    epsilon: np.ndarray            #: epsilon-hat


def update_moments(slots, gradient, s):
    """Adam's moment estimates (also Nadam's), updated in place in ``slots``; returns ``(m, v)``.
    ``s`` holds ``one_minus_beta_1`` and ``one_minus_beta_2`` in the variable's dtype."""
    m, v = slots["momentum"], slots["velocity"]
    m += (gradient - m) * s.one_minus_beta_1                    # m ← β₁m + (1−β₁)g (eq. 1)
    v += (np.square(gradient) - v) * s.one_minus_beta_2         # v ← β₂v + (1−β₂)g² (eq. 1)
    return m, v


class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = check_moment_hyper_parameters(
            type(self).__name__, beta_1, beta_2, epsilon)
        self.amsgrad = bool(amsgrad)

    def create_slots(self, variable):
        slots = {"momentum": np.zeros_like(variable.value),
                 "velocity": np.zeros_like(variable.value)}
        if self.amsgrad:
            slots["velocity_hat"] = np.zeros_like(variable.value)
        return slots

    def step_scalars(self, learning_rate, dtype):
        r"""This step's :class:`AdamScalars` in ``dtype``, with the folded step size
        :math:`\alpha_t = \eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)`."""
        t = self.step_count(dtype)
        beta_1_power = np.power(np.asarray(self.beta_1, dtype), t)
        beta_2_power = np.power(np.asarray(self.beta_2, dtype), t)
        alpha = learning_rate * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)  # α_t (eq. 3)
        return AdamScalars(alpha, np.asarray(1 - self.beta_1, dtype),
                           np.asarray(1 - self.beta_2, dtype), np.asarray(self.epsilon, dtype))

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        slots = self.slots[variable]
        m, v = update_moments(slots, gradient, s)
        if self.amsgrad:
            v_max = slots["velocity_hat"]
            np.maximum(v_max, v, out=v_max)                     # v_max ← max(v_max, v)
            v = v_max
        variable.value[...] -= (m * s.alpha) / (  # w ← w − α_t m/(√v+ε̂) (eq. 3)
            np.sqrt(v) + s.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019); ``weight_decay=0.004``."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number (use Adam for none)")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
