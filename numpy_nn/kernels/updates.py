r"""The optimizers' update rules as kernels over flat arrays of every parameter.

The equations are those of :mod:`numpy_nn.optimizers` (one file per algorithm), evaluated per
element in the reference's order, from the same per-step scalars (bias corrections, Nadam's
momentum schedule), so an update here agrees with the reference bit for bit. Each kernel
takes the flat values ``w`` and gradients ``g``, then the slots, the per-step scalars, then the
clipping (multiplier, divisor, mode, bound; see :func:`clipped`):

* ``clipnorm``: :math:`g \cdot c / \max(\lVert g \rVert, c)` (multiplier ``c``, divisor the
  max, one call per variable on its slices);
* ``global_clipnorm``: :math:`g \cdot s` (multiplier ``s``, divisor 1, one call);
* ``clipvalue``: each element clamped to :math:`[-c, c]`.

A slot that the configuration does not use (no momentum, not centered, no AMSGrad) is passed
as None: Numba then compiles that variant without the branch, which keeps the loop
vectorisable (a runtime flag guarding a store would not be). Used by the Numba twin of
``Optimizer.update_all`` and by the compiled training step.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels.jit import helper, kernel, nan_max

NO_CLIPPING, SCALE, CLAMP = 0, 1, 2


@helper
def clipped(g, mode, multiplier, divisor, bound):
    """The gradient element after clipping (``mode`` NO_CLIPPING, SCALE or CLAMP)."""
    if mode == 1:
        return (g * multiplier) / divisor
    if mode == 2:
        return -bound if g < -bound else (bound if g > bound else g)
    return g


@kernel
def sgd_kernel(w, g, velocity, learning_rate, momentum, nesterov,
               multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        if velocity is None:
            w[i] = w[i] - grad * learning_rate
        else:
            m = velocity[i] * momentum - grad * learning_rate
            velocity[i] = m
            w[i] = w[i] + ((m * momentum - grad * learning_rate) if nesterov else m)


@kernel
def adagrad_kernel(w, g, accumulator, learning_rate, epsilon,
                   multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        a = accumulator[i] + grad * grad
        accumulator[i] = a
        w[i] = w[i] - (learning_rate * grad) / np.sqrt(a + epsilon)


@kernel
def rmsprop_kernel(w, g, velocity, average_gradient, momentum_slot, learning_rate, rho,
                   one_minus_rho, momentum, epsilon, multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        v = rho * velocity[i] + one_minus_rho * (grad * grad)
        velocity[i] = v
        if average_gradient is None:
            denominator = v + epsilon
        else:                                   # centered
            g_bar = rho * average_gradient[i] + one_minus_rho * grad
            average_gradient[i] = g_bar
            denominator = v - g_bar * g_bar + epsilon
        increment = (learning_rate * grad) / np.sqrt(denominator)
        if momentum_slot is None:
            w[i] = w[i] - increment
        else:
            m = momentum * momentum_slot[i] + increment
            momentum_slot[i] = m
            w[i] = w[i] - m


@helper
def update_moments(grad, first_moment, second_moment, i, one_minus_beta_1, one_minus_beta_2):
    """Adam's and Nadam's moment estimates of element ``i`` after this gradient: stored, and
    returned as ``(m, v)``."""
    m = first_moment[i] + (grad - first_moment[i]) * one_minus_beta_1
    v = second_moment[i] + (grad * grad - second_moment[i]) * one_minus_beta_2
    first_moment[i] = m
    second_moment[i] = v
    return m, v


@kernel
def adam_kernel(w, g, first_moment, second_moment, second_moment_max, alpha,
                one_minus_beta_1, one_minus_beta_2, epsilon, multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        m, v = update_moments(grad, first_moment, second_moment, i, one_minus_beta_1,
                               one_minus_beta_2)
        if second_moment_max is not None:       # AMSGrad
            v = nan_max(second_moment_max[i], v)
            second_moment_max[i] = v
        w[i] = w[i] - (m * alpha) / (np.sqrt(v) + epsilon)


@kernel
def adamax_kernel(w, g, first_moment, norm, learning_rate, one_minus_beta_1, beta_2,
                  one_minus_beta_1_power, epsilon, multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        m = first_moment[i] + (grad - first_moment[i]) * one_minus_beta_1
        u = nan_max(beta_2 * norm[i], abs(grad))
        first_moment[i] = m
        norm[i] = u
        w[i] = w[i] - (learning_rate * m) / (one_minus_beta_1_power * (u + epsilon))


@kernel
def nadam_kernel(w, g, first_moment, second_moment, learning_rate, one_minus_beta_1,
                 one_minus_beta_2, mu_next, one_minus_product_next, one_minus_mu_t,
                 one_minus_product_t, one_minus_beta_2_power, epsilon,
                 multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = clipped(g[i], mode, multiplier, divisor, bound)
        m, v = update_moments(grad, first_moment, second_moment, i, one_minus_beta_1,
                               one_minus_beta_2)
        m_hat = (mu_next * m) / one_minus_product_next \
            + (one_minus_mu_t * grad) / one_minus_product_t
        v_hat = v / one_minus_beta_2_power
        w[i] = w[i] - (m_hat * learning_rate) / (np.sqrt(v_hat) + epsilon)
