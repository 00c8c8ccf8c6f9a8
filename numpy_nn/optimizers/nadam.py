r"""Nadam (Dozat, 2016, "Incorporating Nesterov Momentum into Adam"): Adam with a Nesterov
look-ahead on the first moment and a warming-up momentum schedule.

At step :math:`t = \text{iterations} + 1`, with the momentum schedule
:math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot 0.96^{t})` and its running product
:math:`\Pi_t = \prod_{i \le t} \mu_i` (one scalar shared by all variables):

.. math::
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2

.. math::
    \hat m = \frac{\mu_{t+1}\, m}{1 - \Pi_t \mu_{t+1}} + \frac{(1-\mu_t)\, g}{1 - \Pi_t},
    \qquad \hat v = \frac{v}{1-\beta_2^t}, \qquad
    w \leftarrow w - \frac{\eta\, \hat m}{\sqrt{\hat v} + \epsilon}

(the moments updated as :math:`m + (g - m)(1-\beta_1)`, the same equation).

The book's Keras 2 used :math:`0.96^{0.004\,t}` (Dozat's ``schedule_decay``), so its momentum
stays near 0.45 for thousands of steps, while :math:`0.96^{t}` reaches 0.89 by step 100.
numpy_nn follows Keras 3 here; the book's version is :class:`numpy_nn.optimizers.legacy.Nadam`.

Keras parity: ``keras/src/optimizers/nadam.py::Nadam.update_step`` computes :math:`1-\beta`
in the variables' dtype (unlike Adam) and multiplies the product as
:math:`(\Pi_{t-1}\beta_1)(1 - \tfrac12 \cdot 0.96^t)`; both are copied.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.adam import update_moments
from numpy_nn.optimizers.base import Optimizer, check_moment_hyper_parameters


class NadamScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    beta_1: np.ndarray
    beta_2: np.ndarray
    one_minus_beta_1: np.ndarray
    one_minus_beta_2: np.ndarray
    mu_t: np.ndarray
    mu_next: np.ndarray                    #: mu_{t+1}
    one_minus_mu_t: np.ndarray
    one_minus_product_t: np.ndarray        #: 1 - Pi_t
    one_minus_product_next: np.ndarray     #: 1 - Pi_t mu_{t+1}
    one_minus_beta_2_power: np.ndarray     #: 1 - beta_2^t
    epsilon: np.ndarray


class Nadam(Optimizer):
    """``Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = check_moment_hyper_parameters(
            "Nadam", beta_1, beta_2, epsilon)
        self.momentum_product = None   # Pi_t, created with the dtype of the first variables

    def create_slots(self, variable):
        return {"momentum": np.zeros_like(variable.value),
                "velocity": np.zeros_like(variable.value)}

    def momentum_schedule(self, t, dtype):
        r""":math:`\mu_t = \beta_1 (1 - 0.5 \cdot 0.96^t)` in ``dtype``."""
        return np.asarray(self.beta_1, dtype) * (  # μ_t (eq. 1)
            np.asarray(1, dtype) - np.asarray(0.5, dtype) * np.power(np.asarray(0.96, dtype), t))

    def update_all(self, grads, variables, learning_rate):
        dtype = variables[0].dtype
        if self.momentum_product is None:
            self.momentum_product = np.ones((), dtype)
        self.momentum_product = self.next_momentum_product(dtype)
        super().update_all(grads, variables, learning_rate)

    def next_momentum_product(self, dtype):
        r""":math:`\Pi_t = \Pi_{t-1} \mu_t` for this step, in ``dtype``."""
        # Keras multiplies in this order, (Pi * beta_1) * (1 - 0.5 * 0.96^t); float32 cares.
        decay_term = np.asarray(1, dtype) - np.asarray(0.5, dtype) * np.power(
            np.asarray(0.96, dtype), self.step_count(dtype))
        return self.momentum_product * np.asarray(self.beta_1, dtype) * decay_term  # Π_t (eq. 1)

    def step_scalars(self, learning_rate, dtype):
        r"""This step's :class:`NadamScalars` in ``dtype`` (:meth:`update_all` has already
        multiplied :math:`\mu_t` into the product :math:`\Pi_t`)."""
        t = self.step_count(dtype)
        mu_t = self.momentum_schedule(t, dtype)
        mu_next = self.momentum_schedule(self.step_count(dtype, offset=2), dtype)
        product_t = np.asarray(self.momentum_product, dtype)
        beta_1 = np.asarray(self.beta_1, dtype)
        beta_2 = np.asarray(self.beta_2, dtype)
        return NadamScalars(beta_1, beta_2, 1 - beta_1, 1 - beta_2, mu_t, mu_next, 1 - mu_t,
                            1 - product_t, 1 - product_t * mu_next, 1 - np.power(beta_2, t),
                            np.asarray(self.epsilon, dtype))

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        m, v = update_moments(self.slots[variable], gradient, s)
        m_hat = (s.mu_next * m) / s.one_minus_product_next \
            + (s.one_minus_mu_t * gradient) / s.one_minus_product_t  # m̂ (eq. 3)
        v_hat = v / s.one_minus_beta_2_power                            # v̂ = v/(1−β₂ᵗ) (eq. 3)
        variable.value[...] -= (m_hat * learning_rate) / (np.sqrt(v_hat) + s.epsilon)  # (eq. 3)

    def get_state(self, variables):
        state = super().get_state(variables)
        if self.momentum_product is not None:
            state["momentum_product"] = np.array(self.momentum_product)
        return state

    def clear_state(self):
        super().clear_state()
        self.momentum_product = None

    def set_state(self, state, variables):
        super().set_state(state, variables)
        if "momentum_product" in state:
            product = np.asarray(state["momentum_product"])
            if product.shape != ():
                raise ValueError(f"Nadam.set_state: momentum_product must be a scalar, got "
                                 f"shape {product.shape}")
            self.momentum_product = product[()]     # a NumPy scalar, as update_all makes it

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
