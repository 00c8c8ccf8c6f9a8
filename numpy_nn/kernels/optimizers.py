r"""Numba twin of :meth:`Optimizer.update_all`: clipping and the whole update in one pass.

The reference clips each gradient, then calls ``update_step`` once per variable, each a
handful of NumPy expressions with their temporaries. Here every parameter of the model lives
in one flat buffer (:mod:`numpy_nn.kernels.flat`), and one kernel per algorithm walks it once,
reading each gradient element, clipping it in a register, updating every slot and the weight.

The equations are those of :mod:`numpy_nn.optimizers` (one file per algorithm). The per-step
scalars (bias corrections, Nadam's momentum schedule) are the reference's own
``optimizer.step_scalars``, the clipping norms come from the reference's ``l2_norm`` and
``global_norm_scale``, and the element-wise expressions are evaluated in the same order, so
the fused update agrees with the reference bit for bit.

Clipping reaches a kernel as a multiplier and a divisor, applied to each gradient element
before use: ``clipnorm`` gives :math:`g \cdot c / \max(\lVert g \rVert, c)` with one kernel call
per variable (on its slices of the flat buffers), ``global_clipnorm`` :math:`g \cdot s` in one
call; ``clipvalue`` clamps each element to :math:`[-c, c]`.

Optimizers other than the built-in Keras 3 ones (looked up by exact class, so subclasses and
the Keras 2 classes of :mod:`numpy_nn.optimizers.legacy` too), and variables of mixed dtypes,
use the reference.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels import twin_of
from numpy_nn.kernels.flat import flat_parameters
from numpy_nn.kernels.jit import helper, kernel, nan_max, scalar
from numpy_nn.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from numpy_nn.optimizers.base import Optimizer, global_norm_scale, l2_norm

NO_CLIPPING, SCALE, CLAMP = 0, 1, 2


@helper
def _clipped(g, mode, multiplier, divisor, bound):
    """The gradient element after clipping (``mode`` NO_CLIPPING, SCALE or CLAMP)."""
    if mode == 1:
        return (g * multiplier) / divisor
    if mode == 2:
        return -bound if g < -bound else (bound if g > bound else g)
    return g


# --------------------------------------------------------------------------- the algorithms
# Every kernel takes the flat values ``w`` and gradients ``g``, then the slots, the per-step
# scalars, then the clipping (multiplier, divisor, mode, bound; see _clipped). A slot that the
# configuration does not use (no momentum, not centered, no AMSGrad) is passed as None: Numba
# then compiles that variant without the branch, which keeps the loop vectorisable (a runtime
# flag guarding a store would not be).

@kernel
def sgd_kernel(w, g, velocity, learning_rate, momentum, nesterov,
               multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
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
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
        a = accumulator[i] + grad * grad
        accumulator[i] = a
        w[i] = w[i] - (learning_rate * grad) / np.sqrt(a + epsilon)


@kernel
def rmsprop_kernel(w, g, velocity, average_gradient, momentum_slot, learning_rate, rho,
                   one_minus_rho, momentum, epsilon, multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
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
def _update_moments(grad, first_moment, second_moment, i, one_minus_beta_1, one_minus_beta_2):
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
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
        m, v = _update_moments(grad, first_moment, second_moment, i, one_minus_beta_1,
                               one_minus_beta_2)
        if second_moment_max is not None:       # AMSGrad
            v = nan_max(second_moment_max[i], v)
            second_moment_max[i] = v
        w[i] = w[i] - (m * alpha) / (np.sqrt(v) + epsilon)


@kernel
def adamax_kernel(w, g, first_moment, norm, learning_rate, one_minus_beta_1, beta_2,
                  one_minus_beta_1_power, epsilon, multiplier, divisor, mode, bound):
    for i in range(w.size):
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
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
        grad = _clipped(g[i], mode, multiplier, divisor, bound)
        m, v = _update_moments(grad, first_moment, second_moment, i, one_minus_beta_1,
                               one_minus_beta_2)
        m_hat = (mu_next * m) / one_minus_product_next \
            + (one_minus_mu_t * grad) / one_minus_product_t
        v_hat = v / one_minus_beta_2_power
        w[i] = w[i] - (m_hat * learning_rate) / (np.sqrt(v_hat) + epsilon)


# --------------------------------------------------------------------------- glue
def _clipping(optimizer, pack):
    """The optimizer's clipping as a list of ``(start, stop, multiplier, divisor, mode, bound)``
    over the flat buffer: one part for the whole model, or one per variable for ``clipnorm``.
    The norms and the scale are the reference's own (:mod:`numpy_nn.optimizers.base`)."""
    dtype = pack.values.dtype
    one, zero = scalar(1, dtype), scalar(0, dtype)
    whole = (0, pack.values.size)
    if optimizer.clipnorm is not None and optimizer.clipnorm > 0:
        c = scalar(optimizer.clipnorm, dtype)
        return [(start, stop, c, np.maximum(l2_norm(grad), c), SCALE, zero)
                for start, stop, grad in zip(pack.offsets[:-1], pack.offsets[1:],
                                             pack.grad_views)]
    if optimizer.global_clipnorm is not None and optimizer.global_clipnorm > 0:
        scale = global_norm_scale(pack.grad_views, optimizer.global_clipnorm)
        return [(*whole, scalar(scale, dtype), one, SCALE, zero)]
    if optimizer.clipvalue is not None and optimizer.clipvalue > 0:
        return [(*whole, one, one, CLAMP, scalar(optimizer.clipvalue, dtype))]
    return [(*whole, one, one, NO_CLIPPING, zero)]


# Each function below returns the kernel and its arguments up to the clipping; the per-step
# scalars are the reference's own (``optimizer.step_scalars``), made NumPy scalars of the
# buffers' dtype so that Numba compiles float32 arithmetic for float32 buffers.
def _sgd(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return sgd_kernel, (pack.values, pack.grads, pack.slots.get("momentum"), learning_rate,
                        scalar(s.momentum, dtype), optimizer.nesterov)


def _adagrad(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return adagrad_kernel, (pack.values, pack.grads, pack.slots["accumulator"], learning_rate,
                            scalar(s.epsilon, dtype))


def _rmsprop(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return rmsprop_kernel, (pack.values, pack.grads, pack.slots["velocity"],
                            pack.slots.get("average_gradient"), pack.slots.get("momentum"),
                            learning_rate, *(scalar(x, dtype) for x in s))


def _adam(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return adam_kernel, (pack.values, pack.grads, pack.slots["momentum"],
                         pack.slots["velocity"], pack.slots.get("velocity_hat"),
                         *(scalar(x, dtype) for x in s))


def _adamax(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return adamax_kernel, (pack.values, pack.grads, pack.slots["momentum"], pack.slots["norm"],
                           learning_rate, *(scalar(x, dtype) for x in s))


def _nadam(optimizer, pack, learning_rate, dtype):
    s = optimizer.step_scalars(learning_rate, dtype)
    return nadam_kernel, (pack.values, pack.grads, pack.slots["momentum"],
                          pack.slots["velocity"], learning_rate,
                          *(scalar(x, dtype) for x in (
                              s.one_minus_beta_1, s.one_minus_beta_2, s.mu_next,
                              s.one_minus_product_next, s.one_minus_mu_t,
                              s.one_minus_product_t, s.one_minus_beta_2_power, s.epsilon)))


#: the fused update of each built-in optimizer (exact classes: a subclass may change the rule)
FUSED_UPDATES = {SGD: _sgd, Adagrad: _adagrad, RMSprop: _rmsprop, Adam: _adam, AdamW: _adam,
                 Adamax: _adamax, Nadam: _nadam}


@twin_of(Optimizer.update_all)
def update_all(self, grads, variables, learning_rate):
    arguments_of = FUSED_UPDATES.get(type(self))
    pack = flat_parameters(self, variables) if arguments_of is not None else None
    if pack is None:
        return Optimizer.update_all.reference(self, grads, variables, learning_rate)
    pack.gather_gradients(grads)
    dtype, size = pack.values.dtype, pack.values.size
    update_kernel, arguments = arguments_of(self, pack, scalar(learning_rate, dtype), dtype)
    for start, stop, *clipping in _clipping(self, pack):
        if (start, stop) == (0, size):
            update_kernel(*arguments, *clipping)
        else:                                   # clipnorm: one call per variable, on its slices
            update_kernel(*(a[start:stop] if isinstance(a, np.ndarray) and a.shape == (size,)
                            else a for a in arguments), *clipping)
