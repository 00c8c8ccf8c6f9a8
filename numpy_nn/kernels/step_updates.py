r"""What a compiled training step does after the backward pass, in ``Optimizer.apply``'s order.

Every trainable variable's value, gradient and slots are slices of flat buffers
(:class:`StepOptimizer`; the driver lays them out with the optimizer's own
``FlatParameters``), so each stage is one pass over all parameters:

1. **penalties** (:func:`add_penalties`): :math:`\Omega = \sum_v \lambda_1 \sum |w| + \lambda_2
   \sum w^2` is returned for the loss, and :math:`\lambda_1 \operatorname{sign}(w) + 2\lambda_2 w`
   added to each gradient (:mod:`numpy_nn.regularizers`);
2. **decoupled weight decay** :math:`w \leftarrow w - w\,\lambda\,\eta` when the optimizer has
   ``weight_decay``;
3. **clipping** and **the update** (:func:`update`): :mod:`.updates`' kernel of the algorithm,
   with this step's scalars (:func:`step_scalars`, the expressions of each optimizer's
   ``step_scalars`` in the weights' dtype);
4. **constraints** (:func:`constrain`): max-norm, :math:`w \leftarrow w \min(\lVert w\rVert,
   r)/(\epsilon + \lVert w \rVert)` per column of a kernel (``axis=0``).

Norms and penalties sum in NumPy's orders (:mod:`.reductions`; columns row after row).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.kernels.codes import (
    ADAGRAD,
    ADAM,
    ADAMAX,
    CLIP_NORM,
    CLIP_VALUE,
    CONSTANT_RATE,
    EXPONENTIAL_DECAY,
    GIVEN_RATE,
    GLOBAL_CLIP_NORM,
    NADAM,
    PIECEWISE_CONSTANT,
    RMSPROP,
    SGD,
)
from numpy_nn.kernels.jit import helper, nan_max, nan_min
from numpy_nn.kernels.reductions import pairwise_sum
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


class StepOptimizer(NamedTuple):
    """An optimizer's settings (scalars in the weights' dtype) and its flat buffers."""

    kind: int                     #: SGD, ADAGRAD, RMSPROP, ADAM, ADAMAX, NADAM
    clipping: int                 #: NO_CLIP, CLIP_NORM, GLOBAL_CLIP_NORM, CLIP_VALUE
    clip: object                  #: c
    inverse_clip: object          #: 1/c rounded once (global_clipnorm)
    weight_decay: object          #: lambda (0: none)
    momentum: object              #: SGD's and RMSprop's mu
    nesterov: bool
    centered: bool
    amsgrad: bool
    rho: object
    one_minus_rho: object
    beta_1: object
    beta_2: object
    one_minus_beta_1: object
    one_minus_beta_2: object
    epsilon: object
    values: np.ndarray            #: every trainable variable's value, back to back
    grads: np.ndarray
    first_slot: np.ndarray        #: momentum / accumulator / velocity (empty when unused)
    second_slot: np.ndarray       #: velocity / norm / average_gradient
    third_slot: np.ndarray        #: AMSGrad's velocity_hat / RMSprop's momentum
    starts: np.ndarray            #: int64 (V,): variable v is [starts[v], stops[v])
    stops: np.ndarray
    l1: np.ndarray                #: (V,) lambda_1 per variable (0: none)
    l2: np.ndarray                #: (V,) lambda_2
    twice_l2: np.ndarray          #: (V,) 2 lambda_2 rounded once
    max_norm: np.ndarray          #: (V,) r of a max-norm constraint (0: none)
    columns: np.ndarray           #: int64 (V,) a kernel's columns; 0 for a vector
    squares: np.ndarray           #: (size,) scratch for sums of squares
    sums: np.ndarray              #: (V,) scratch: per-variable sums
    state: np.ndarray             #: (1,): Nadam's momentum product
    stack: np.ndarray             #: :func:`.reductions.new_stack` scratch
    schedule: int                 #: CONSTANT_RATE, ... GIVEN_RATE (:func:`learning_rate`)
    rate: np.ndarray              #: (1,) view of the learning-rate variable (CONSTANT_RATE)
    initial_rate: object          #: the schedule's eta_0, decay_steps and decay_rate
    decay_steps: object
    decay_rate: object
    staircase: bool
    boundaries: np.ndarray        #: int64, PiecewiseConstantDecay's
    rates: np.ndarray             #: PiecewiseConstantDecay's values
    decay: object                 #: Keras 2's ``decay`` (0: none)
    sgd_in_products: bool         #: plain SGD: kernels may be updated in their products
    updated_in_product: np.ndarray  #: (V,) bool: which variables those kernels are


# --------------------------------------------------------------------------- 1. penalties
@helper
def _variable_sum(values, scratch, start, stop, squared, stack):
    """``np.sum(np.abs(w))`` or ``np.sum(np.square(w))`` of one variable, pairwise."""
    for i in range(start, stop):
        v = values[i]
        scratch[i] = v * v if squared else abs(v)
    return pairwise_sum(scratch, start, stop - start, stack)


@helper
def add_penalties(opt):
    """Add each regularizer's gradient; return the summed penalty (0 without any)."""
    total = opt.values.dtype.type(0)
    for v in range(opt.l1.size):
        l1, l2 = opt.l1[v], opt.l2[v]
        if l1 == 0 and l2 == 0:
            continue
        start, stop = opt.starts[v], opt.stops[v]
        penalty = opt.values.dtype.type(0)
        if l1 != 0:
            penalty = penalty + l1 * _variable_sum(opt.values, opt.squares, start, stop, False,
                                                   opt.stack)
        if l2 != 0:
            penalty = penalty + l2 * _variable_sum(opt.values, opt.squares, start, stop, True,
                                                   opt.stack)
        total = total + penalty
        zero = opt.values.dtype.type(0)
        for i in range(start, stop):
            w = opt.values[i]
            extra = zero
            if l1 != 0:
                extra = extra + l1 * np.sign(w)
            if l2 != 0:
                extra = extra + opt.twice_l2[v] * w
            opt.grads[i] = opt.grads[i] + extra
    return total


@helper
def all_finite(loss, grads):
    if not np.isfinite(loss):
        return False
    for i in range(grads.size):
        if not np.isfinite(grads[i]):
            return False
    return True


# --------------------------------------------------------------------------- 2-3. update
@helper
def learning_rate(opt, iterations, given):
    """This step's rate, as ``Optimizer.current_learning_rate`` computes it: the variable, or
    the built-in schedule at the step count before this step (``given``: one computed by
    the caller), then Keras 2's ``decay``."""
    dtype = opt.values.dtype.type
    one, t = dtype(1), dtype(iterations)
    if opt.schedule == CONSTANT_RATE:
        rate = dtype(opt.rate[0])
    elif opt.schedule == PIECEWISE_CONSTANT:
        index = opt.boundaries.size
        for i in range(opt.boundaries.size):
            if iterations <= opt.boundaries[i]:
                index = i
                break
        rate = opt.rates[index]
    elif opt.schedule == GIVEN_RATE:
        rate = given
    else:
        progress = t / opt.decay_steps
        if opt.staircase:
            progress = np.floor(progress)
        if opt.schedule == EXPONENTIAL_DECAY:
            rate = opt.initial_rate * np.power(opt.decay_rate, progress)
        else:
            rate = opt.initial_rate / (one + opt.decay_rate * progress)
    if opt.decay > 0:
        rate = rate / (one + opt.decay * t)
    return rate



@helper
def decay_weights(opt, learning_rate):
    for i in range(opt.values.size):
        w = opt.values[i]
        opt.values[i] = w - w * opt.weight_decay * learning_rate


@helper
def global_scale(opt):
    """``c * min(1 / ||G||, 1/c)``, NaN when the norm is not finite."""
    count = opt.starts.size
    for v in range(count):
        opt.sums[v] = _variable_sum(opt.grads, opt.squares, opt.starts[v], opt.stops[v],
                                    True, opt.stack)
    norm = np.sqrt(pairwise_sum(opt.sums, 0, count, opt.stack))
    one = opt.values.dtype.type(1)
    return opt.clip * nan_min(one / norm, opt.inverse_clip) + (norm - norm)


@helper
def step_scalars(opt, learning_rate, iterations):
    """This step's scalars, as each optimizer's ``step_scalars`` computes them:
    ``(a, b, c, d, e, f)`` whose meaning depends on the kind (see :func:`run_kernel`)."""
    dtype = opt.values.dtype
    one = dtype.type(1)
    t = dtype.type(iterations + 1)
    zero = dtype.type(0)
    if opt.kind == ADAM:
        beta_1_power, beta_2_power = np.power(opt.beta_1, t), np.power(opt.beta_2, t)
        alpha = learning_rate * np.sqrt(one - beta_2_power) / (one - beta_1_power)
        return alpha, zero, zero, zero, zero, zero
    if opt.kind == ADAMAX:
        return one - np.power(opt.beta_1, t), zero, zero, zero, zero, zero
    if opt.kind == NADAM:
        half, decay = dtype.type(0.5), dtype.type(0.96)
        mu_t = opt.beta_1 * (one - half * np.power(decay, t))
        mu_next = opt.beta_1 * (one - half * np.power(decay, dtype.type(iterations + 2)))
        product = (opt.state[0] * opt.beta_1) * (one - half * np.power(decay, t))
        opt.state[0] = product
        return (mu_next, one - product * mu_next, one - mu_t, one - product,
                one - np.power(opt.beta_2, t), zero)
    return zero, zero, zero, zero, zero, zero


@helper
def run_kernel(opt, start, stop, learning_rate, s, multiplier, divisor, mode, bound):
    """The algorithm's kernel on ``[start, stop)`` of the flat buffers."""
    w, g = opt.values[start:stop], opt.grads[start:stop]
    first, second = opt.first_slot[start:stop], opt.second_slot[start:stop]
    third = opt.third_slot[start:stop]
    if opt.kind == SGD:
        if opt.momentum == 0:
            sgd_kernel(w, g, None, learning_rate, opt.momentum, opt.nesterov,
                       multiplier, divisor, mode, bound)
        else:
            sgd_kernel(w, g, first, learning_rate, opt.momentum, opt.nesterov,
                       multiplier, divisor, mode, bound)
    elif opt.kind == ADAGRAD:
        adagrad_kernel(w, g, first, learning_rate, opt.epsilon, multiplier, divisor, mode,
                       bound)
    elif opt.kind == RMSPROP:
        _rmsprop(opt, w, g, first, second, third, learning_rate, multiplier, divisor, mode,
                 bound)
    elif opt.kind == ADAM:
        if opt.amsgrad:
            adam_kernel(w, g, first, second, third, s[0], opt.one_minus_beta_1,
                        opt.one_minus_beta_2, opt.epsilon, multiplier, divisor, mode, bound)
        else:
            adam_kernel(w, g, first, second, None, s[0], opt.one_minus_beta_1,
                        opt.one_minus_beta_2, opt.epsilon, multiplier, divisor, mode, bound)
    elif opt.kind == ADAMAX:
        adamax_kernel(w, g, first, second, learning_rate, opt.one_minus_beta_1, opt.beta_2,
                      s[0], opt.epsilon, multiplier, divisor, mode, bound)
    else:
        nadam_kernel(w, g, first, second, learning_rate, opt.one_minus_beta_1,
                     opt.one_minus_beta_2, s[0], s[1], s[2], s[3], s[4], opt.epsilon,
                     multiplier, divisor, mode, bound)


@helper
def _rmsprop(opt, w, g, velocity, average, momentum, learning_rate, multiplier, divisor, mode,
             bound):
    """RMSprop's four variants (centered or not, with momentum or not), each compiled apart."""
    arguments = (learning_rate, opt.rho, opt.one_minus_rho, opt.momentum, opt.epsilon,
                 multiplier, divisor, mode, bound)
    if opt.centered and opt.momentum > 0:
        rmsprop_kernel(w, g, velocity, average, momentum, *arguments)
    elif opt.centered:
        rmsprop_kernel(w, g, velocity, average, None, *arguments)
    elif opt.momentum > 0:
        rmsprop_kernel(w, g, velocity, None, momentum, *arguments)
    else:
        rmsprop_kernel(w, g, velocity, None, None, *arguments)


@helper
def update(opt, learning_rate, iterations, some_done):
    """Weight decay, then the clipped update of every variable (``some_done``: plain SGD has
    already updated the kernels marked ``updated_in_product``; the others now)."""
    dtype = opt.values.dtype
    one, zero = dtype.type(1), dtype.type(0)
    if some_done:
        for v in range(opt.starts.size):
            if not opt.updated_in_product[v]:
                run_kernel(opt, opt.starts[v], opt.stops[v], learning_rate,
                           step_scalars(opt, learning_rate, iterations), one, one, NO_CLIPPING,
                           zero)
        return
    if opt.weight_decay != 0:
        decay_weights(opt, learning_rate)
    s = step_scalars(opt, learning_rate, iterations)
    size = opt.values.size
    if opt.clipping == CLIP_NORM:
        for v in range(opt.starts.size):
            start, stop = opt.starts[v], opt.stops[v]
            norm = np.sqrt(_variable_sum(opt.grads, opt.squares, start, stop, True, opt.stack))
            run_kernel(opt, start, stop, learning_rate, s, opt.clip, nan_max(norm, opt.clip),
                       SCALE, zero)
    elif opt.clipping == GLOBAL_CLIP_NORM:
        run_kernel(opt, 0, size, learning_rate, s, global_scale(opt), one, SCALE, zero)
    elif opt.clipping == CLIP_VALUE:
        run_kernel(opt, 0, size, learning_rate, s, one, one, CLAMP, opt.clip)
    else:
        run_kernel(opt, 0, size, learning_rate, s, one, one, NO_CLIPPING, zero)


# --------------------------------------------------------------------------- 4. constraints
@helper
def constrain(opt, epsilon):
    """Max-norm on every variable that has it: per column, rows added in order."""
    for v in range(opt.max_norm.size):
        limit = opt.max_norm[v]
        if limit == 0:
            continue
        start, stop = opt.starts[v], opt.stops[v]
        columns = opt.columns[v]
        if columns <= 1:                   # a vector or one column: one pairwise norm
            whole = np.sqrt(_variable_sum(opt.values, opt.squares, start, stop, True,
                                          opt.stack))
            _scale_column(opt.values, start, stop, 1, whole, limit, epsilon)
            continue
        rows = (stop - start) // columns
        norms = opt.squares[start:start + columns]
        for j in range(columns):
            norms[j] = 0
        for i in range(rows):
            for j in range(columns):
                w = opt.values[start + i * columns + j]
                norms[j] += w * w
        for j in range(columns):
            _scale_column(opt.values, start + j, stop, columns, np.sqrt(norms[j]), limit,
                          epsilon)


@helper
def _scale_column(values, start, stop, step, norm, limit, epsilon):
    """``w * (clip(norm, 0, r) / (eps + norm))`` over ``values[start:stop:step]``."""
    zero = values.dtype.type(0)
    desired = nan_min(nan_max(norm, zero), limit)
    factor = desired / (epsilon + norm)
    for i in range(start, stop, step):
        values[i] = values[i] * factor
