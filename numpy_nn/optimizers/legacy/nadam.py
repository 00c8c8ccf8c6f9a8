r"""Keras 2's Nadam (``tf_keras/src/optimizers/legacy/nadam.py::Nadam._resource_apply_dense``):
Dozat's (2016) momentum schedule *with* its ``schedule_decay`` of 0.004, i.e. one warm-up
"time unit" every 250 steps.

At step :math:`t = \text{iterations} + 1`, with
:math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot 0.96^{\,0.004\,t})` and
:math:`\Pi_t = \Pi_{t-1} \mu_t` (``momentum_cache``, one scalar for all variables):

.. math::
    g' = \frac{g}{1 - \Pi_t}, \qquad m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad
    m' = \frac{m}{1 - \Pi_t \mu_{t+1}}, \qquad
    v \leftarrow \beta_2 v + (1-\beta_2) g^2, \qquad v' = \frac{v}{1-\beta_2^t}

.. math::
    \bar m = (1-\mu_t)\, g' + \mu_{t+1} m', \qquad
    w \leftarrow w - \frac{\eta\, \bar m}{\sqrt{v'} + \epsilon}

**Keras 3** (:class:`numpy_nn.optimizers.Nadam`) uses :math:`0.96^{\,t}`: its momentum climbs
from 0.47 to 0.89 within 100 steps, while Keras 2's stays near 0.45 for the first thousand
steps (0.450 at t = 1, 0.457 at t = 100, 0.518 at t = 1000). Keras 3 also multiplies
:math:`\Pi` as :math:`(\Pi\beta_1)(1-\tfrac12 0.96^t)` and groups the update differently, which
changes only the rounding.

Keras 2's Nadam has no time decay: its constructor replaced any ``decay=`` argument with
``schedule_decay`` (default 0.004), so the book's ``Nadam(lr=..., decay=...)`` trained with a
*constant* learning rate. This class does the same, with a warning. Learning-rate schedule
objects are rejected (ValueError), as in Keras 2; a ``LearningRateScheduler`` callback works.
"""
from __future__ import annotations

import warnings

import numpy as np

from numpy_nn._checks import check_number
from numpy_nn.optimizers import nadam, schedules
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class Nadam(Keras2Optimizer, nadam.Nadam):
    """``legacy.Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    schedule_decay=0.004)``."""

    float32_hyper_parameters = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 schedule_decay=0.004, decay=None, **kwargs):
        rate = kwargs["lr"] if kwargs.get("lr") is not None else learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            raise ValueError("legacy.Nadam: Keras 2's Nadam does not accept a learning-rate "
                             "schedule object; use numpy_nn.optimizers.Nadam (Keras 3) or a "
                             "LearningRateScheduler callback")
        if decay is not None:
            warnings.warn(f"legacy.Nadam: decay={decay} is ignored, as in Keras 2, whose Nadam "
                          f"replaced decay= by schedule_decay (the momentum schedule's "
                          f"constant, {schedule_decay}); the learning rate stays constant",
                          stacklevel=2)
        check_number("legacy.Nadam", "schedule_decay", schedule_decay, low=0)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon or 1e-7, **kwargs)
        self.schedule_decay = float(schedule_decay)

    def momentum_schedule(self, t, dtype):
        r""":math:`\mu_t = \beta_1 (1 - 0.5 \cdot 0.96^{\,0.004\,t})` in ``dtype``. Keras 2 wrote
        the base as ``tf.cast(0.96, dtype)``, a float32 constant first (0.9599999785 in a float64
        model), and the exponent's 0.004 as a plain number (exact in float64)."""
        base = np.asarray(np.float32(0.96), dtype)
        exponent = np.asarray(self.schedule_decay, dtype) * t
        return np.asarray(self.beta_1, dtype) * (
            np.asarray(1, dtype) - np.asarray(0.5, dtype) * np.power(base, exponent))

    def next_momentum_product(self, dtype):
        return self.momentum_product * self.momentum_schedule(self.step_count(dtype), dtype)

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        slots = self.slots[variable]
        m, v = slots["momentum"], slots["velocity"]
        g_prime = gradient / s.one_minus_product_t                          # g' = g/(1−Π_t)
        m[...] = s.beta_1 * m + s.one_minus_beta_1 * gradient               # m ← β₁m + (1−β₁)g
        m_prime = m / s.one_minus_product_next                              # m' = m/(1−Π_tμ_t+1)
        v[...] = s.beta_2 * v + s.one_minus_beta_2 * np.square(gradient)    # v ← β₂v + (1−β₂)g²
        v_prime = v / s.one_minus_beta_2_power                              # v' = v/(1−β₂ᵗ)
        m_bar = s.one_minus_mu_t * g_prime + s.mu_next * m_prime
        variable.value[...] -= (learning_rate * m_bar) / (np.sqrt(v_prime) + s.epsilon)

    def get_config(self):
        return {**super().get_config(), "schedule_decay": self.schedule_decay}
