"""The optimizer as the compiled step sees it, a
:class:`~numpy_nn.kernels.step_updates.StepOptimizer`: its settings rounded as each optimizer's
``step_scalars`` rounds them, its flat buffers, its per-variable penalties and constraints,
and where its learning rate comes from."""
from __future__ import annotations

import numpy as np

from numpy_nn import backend, optimizers
from numpy_nn.kernels.codes import (
    CLIP_NORM,
    CLIP_VALUE,
    CONSTANT_RATE,
    DENSE,
    EXPONENTIAL_DECAY,
    GIVEN_RATE,
    GLOBAL_CLIP_NORM,
    INVERSE_TIME_DECAY,
    NADAM,
    NO_CLIP,
    PIECEWISE_CONSTANT,
    RMSPROP,
)
from numpy_nn.kernels.reductions import new_stack
from numpy_nn.kernels.step_updates import StepOptimizer
from numpy_nn.models import compiled_plan
from numpy_nn.optimizers import schedules

#: each optimizer's slot names, in the order of StepOptimizer's first, second and third slot
_SLOT_ORDER = {RMSPROP: ("velocity", "average_gradient", "momentum")}


def _slot_position(kind, name):
    if kind in _SLOT_ORDER:
        return _SLOT_ORDER[kind].index(name)
    return {"momentum": 0, "accumulator": 0, "velocity": 1, "norm": 1, "velocity_hat": 2}[name]


def optimizer_record(optimizer, pack, variables, dtype):
    """The optimizer's :class:`StepOptimizer`: its settings as each ``step_scalars`` rounds
    them, and the flat buffers of ``pack`` (``optimizers.flat.FlatParameters``)."""
    d = dtype.type
    kind = compiled_plan.OPTIMIZERS[type(optimizer)]
    empty = np.empty(0, dtype)
    clipping, clip = NO_CLIP, 0.0
    for option, code in (("clipnorm", CLIP_NORM), ("global_clipnorm", GLOBAL_CLIP_NORM),
                         ("clipvalue", CLIP_VALUE)):
        value = getattr(optimizer, option)
        if value is not None and value > 0:
            clipping, clip = code, value
    beta_1, beta_2 = getattr(optimizer, "beta_1", 0.0), getattr(optimizer, "beta_2", 0.0)
    rho = getattr(optimizer, "rho", 0.0)
    slots = [empty, empty, empty]
    if pack is not None:
        for name, flat in pack.slots.items():
            slots[_slot_position(kind, name)] = flat
    if kind == NADAM:        # Nadam computes 1 - beta in the variables' dtype
        one_minus = (d(1) - d(beta_1), d(1) - d(beta_2))
    else:                    # the others evaluate 1 - beta in double and round once
        one_minus = (d(1.0 - beta_1), d(1.0 - beta_2))
    values = pack.values if pack is not None else empty
    count = len(variables)
    per_variable = _per_variable(variables, dtype)
    return StepOptimizer(
        kind, clipping, d(clip), d(1.0 / clip) if clip else d(0), d(optimizer.weight_decay or 0),
        d(getattr(optimizer, "momentum", 0.0)), bool(getattr(optimizer, "nesterov", False)),
        bool(getattr(optimizer, "centered", False)), bool(getattr(optimizer, "amsgrad", False)),
        d(rho), d(1.0 - rho), d(beta_1), d(beta_2), *one_minus,
        d(getattr(optimizer, "epsilon", 0.0)), values,
        pack.grads if pack is not None else empty, *slots,
        pack.starts if pack is not None else np.zeros(0, np.int64),
        pack.stops if pack is not None else np.zeros(0, np.int64), *per_variable,
        np.empty(values.size, dtype), np.empty(count, dtype), np.ones(1, dtype), new_stack(),
        *_schedule(optimizer, dtype))


def _schedule(optimizer, dtype):
    """StepOptimizer's learning-rate fields: where the rate comes from, and the built-in
    schedule's constants (in the schedules' float type, which must be the weights' dtype for
    the compiled step to compute it; otherwise the driver computes it)."""
    d = dtype.type
    schedule = optimizer.learning_rate_schedule
    rate = np.zeros(1, dtype)
    fields = dict(kind=GIVEN_RATE, initial=0.0, steps=1.0, decay_rate=0.0, staircase=False,
                  boundaries=np.zeros(0, np.int64), rates=np.zeros(1, dtype))
    if np.dtype(backend.floatx()) != dtype:
        pass
    elif schedule is None:
        fields["kind"] = CONSTANT_RATE
        rate = optimizer._learning_rate.value.reshape(1)
    elif type(schedule) in (schedules.ExponentialDecay, schedules.InverseTimeDecay):
        fields.update(kind=EXPONENTIAL_DECAY if type(schedule) is schedules.ExponentialDecay
                      else INVERSE_TIME_DECAY, initial=schedule.initial_learning_rate,
                      steps=schedule.decay_steps, decay_rate=schedule.decay_rate,
                      staircase=schedule.staircase)
    elif type(schedule) is schedules.PiecewiseConstantDecay:
        fields.update(kind=PIECEWISE_CONSTANT,
                      boundaries=np.asarray(schedule.boundaries, np.int64),
                      rates=np.asarray(schedule.values, dtype))
    return (fields["kind"], rate, d(fields["initial"]), d(fields["steps"]),
            d(fields["decay_rate"]), fields["staircase"], fields["boundaries"], fields["rates"],
            d(optimizer.decay), False, np.zeros(0, bool))


def updated_in_product(optimizer, variables, plans):
    """The Dense kernels plain SGD updates inside their gradient's product: SGD without
    momentum, clipping or weight decay, and kernels without a penalty or a constraint (whose
    gradient must exist first)."""
    if not (type(optimizer) is optimizers.SGD and optimizer.momentum == 0
            and not optimizer.weight_decay and not any(
                getattr(optimizer, option) for option in
                ("clipnorm", "clipvalue", "global_clipnorm"))):
        return []
    trainable = {id(v) for v in variables}
    return [p.weights["kernel"] for p in plans if p.op == DENSE
            and id(p.weights["kernel"]) in trainable
            and p.weights["kernel"].regularizer is None
            and p.weights["kernel"].constraint is None]


def _per_variable(variables, dtype):
    """``(l1, l2, 2 l2, max_norm, columns)`` arrays, one entry per variable."""
    l1 = np.zeros(len(variables), dtype)
    l2, twice_l2, max_norm = np.zeros_like(l1), np.zeros_like(l1), np.zeros_like(l1)
    columns = np.zeros(len(variables), np.int64)
    for i, variable in enumerate(variables):
        regularizer, constraint = variable.regularizer, variable.constraint
        if regularizer is not None:
            l1[i], l2[i] = regularizer.l1, regularizer.l2
            twice_l2[i] = dtype.type(2 * regularizer.l2)
        if constraint is not None:
            max_norm[i] = constraint.max_value
            columns[i] = variable.value.shape[1] if variable.value.ndim == 2 else 0
    return l1, l2, twice_l2, max_norm, columns
