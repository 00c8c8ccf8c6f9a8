r"""Numba twin of :meth:`Optimizer.update_all`: clipping and the whole update in one pass.

The reference clips each gradient, then calls ``update_step`` once per variable, each a
handful of NumPy expressions with their temporaries. Here every parameter of the model lives
in one flat buffer (:mod:`numpy_nn.optimizers.flat`), and one kernel per algorithm walks it once,
reading each gradient element, clipping it in a register, updating every slot and the weight.

The equations are those of :mod:`numpy_nn.optimizers` (one file per algorithm). The per-step
scalars (bias corrections, Nadam's momentum schedule) are the reference's own
``optimizer.step_scalars``, the clipping norms come from the reference's ``l2_norm`` and
``global_norm_scale``, and the element-wise expressions are evaluated in the same order, so
the fused update agrees with the reference bit for bit. The kernels themselves are in
:mod:`.updates`.

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

from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.jit import scalar
from numpy_nn.kernels.updates import (
    CLAMP,
    NO_CLIPPING,
    SCALE,
    adagrad_kernel,
    adam_kernel,
    adamax_kernel,
    nadam_kernel,
    rmsprop_kernel,
    sgd_kernel,
)
from numpy_nn.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from numpy_nn.optimizers.base import Optimizer, global_norm_scale, l2_norm
from numpy_nn.optimizers.flat import flat_parameters


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
                for start, stop, grad in zip(pack.starts, pack.stops,
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
