r"""Optimizer: what one ``apply`` call does, in Keras 3's order.

Given the trainable variables and their gradients:

1. read the **learning rate** for this step: a float, or ``schedule(iterations)`` with the
   iteration count *before* this step (and Keras 2's ``decay``:
   :math:`\eta_t = \eta / (1 + \text{decay} \cdot t)`);
2. decoupled **weight decay** if asked: :math:`w \leftarrow w - \eta\,\lambda\,w`;
3. :meth:`Optimizer.update_all`: **clip** the gradients (at most one of)
   ``clipnorm=c`` per variable, :math:`g \leftarrow g\,c / \max(\lVert g\rVert_2, c)`;
   ``global_clipnorm=c`` over all of them, :math:`g \leftarrow g\,c\,\min(1/\lVert G\rVert, 1/c)`
   with :math:`\lVert G\rVert = \sqrt{\sum \lVert g\rVert^2}`;
   ``clipvalue=c``, :math:`g \leftarrow \operatorname{clip}(g, -c, c)`;
   then the algorithm's own :meth:`Optimizer.update_step` for each variable (the subclasses);
4. **constraints**: :math:`w \leftarrow \text{constraint}(w)` (e.g. max-norm);
5. ``iterations += 1``.

Gradient clipping against exploding gradients is from R. Pascanu, T. Mikolov & Y. Bengio
(2013), "On the difficulty of training recurrent neural networks" (clipping by norm); decoupled
weight decay from I. Loshchilov & F. Hutter (2019), "Decoupled Weight Decay Regularization".

The optimizer never sees layers, only ``(gradient, variable)`` pairs; every update writes into
``variable.value`` in place. Per-variable state ("slots": momentum, velocity, ...) lives in
``self.slots[variable]`` as a dict of arrays named as in the paper. Each algorithm casts the
scalars of a step (hyper-parameters, bias corrections) to the variables' dtype in one place,
its ``step_scalars``, so that its ``update_step`` is the algebra alone. Clipping and the update
share one method, :meth:`~Optimizer.update_all`, because its compiled twin fuses them into a
single pass over all parameters.

Keras parity: ``keras/src/optimizers/base_optimizer.py::BaseOptimizer.apply`` clips before
reading the learning rate and decaying the weights; neither of those reads the gradients, so
the result is the same. Hyper-parameters such as ``beta_1`` enter the arithmetic as scalars of
the variables' dtype, and expressions Keras evaluates in Python double (``1 - beta_1`` in Adam)
are rounded to that dtype once, as noted in each optimizer.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from numpy_nn import backend
from numpy_nn._checks import check_number as _check_number
from numpy_nn._checks import numeric_array
from numpy_nn.dispatch import has_numba_twin
from numpy_nn.optimizers import schedules
from numpy_nn.variables import Variable


class Optimizer:
    """Base class (see the module docstring for what :meth:`apply` does).

    Args:
        learning_rate: float, or a :class:`~numpy_nn.optimizers.schedules.LearningRateSchedule`.
        clipnorm, clipvalue, global_clipnorm: gradient clipping (at most one).
        weight_decay: decoupled weight decay factor (as in Keras 3 / AdamW), default off.
        lr: Keras 2 spelling of ``learning_rate``, accepted for the book's code.
        decay: Keras 2 time decay, :math:`\\eta_t = \\eta/(1 + \\text{decay}\\cdot t)`.
    """

    def __init__(self, learning_rate=0.001, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 weight_decay=None, name=None, lr=None, decay=0.0, **unknown):
        owner = type(self).__name__
        if unknown:
            raise TypeError(f"{owner}: unknown argument(s) {sorted(unknown)}")
        if lr is not None:
            learning_rate = lr
        clips = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                   ("global_clipnorm", global_clipnorm)) if v is not None}
        if len(clips) > 1:
            raise ValueError(f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got {clips}")
        for key, value in clips.items():
            _check_number(owner, key, value, low=0)
        if weight_decay is not None:
            _check_number(owner, "weight_decay", weight_decay, low=0)
        _check_number(owner, "decay", decay, low=0)
        # Keras 3's automatic names (keras/src/utils/naming.py::auto_name): the class name in
        # snake case, numbered from the second instance on (adam, adam_1, rm_sprop, adam_w).
        self.name = name or backend.unique_name(backend.snake_case(owner))
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.weight_decay = weight_decay
        self.excluded_from_decay, self.excluded_name_pattern = set(), None
        self.decay = float(decay)
        self.iterations = 0
        self.slots: dict = {}
        self._learning_rate = None
        self.learning_rate = learning_rate

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The learning rate variable (settable), or the schedule's value at this step."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        owner = type(self).__name__
        if isinstance(value, schedules.LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(f"{owner}: this optimizer's learning rate is a "
                            f"{type(self._learning_rate).__name__} schedule and cannot be set; "
                            f"build the optimizer with a float learning_rate to change it")
        if isinstance(value, Variable):
            value = value.value
        value = np.asarray(value)
        if value.size != 1 or value.dtype.kind not in "fiu":
            raise ValueError(f"{owner}: learning_rate must be a number or a schedule, "
                             f"got {value!r}")
        value = float(value)
        _check_number(owner, "learning_rate", value, low=0)
        if self._learning_rate is None:
            self._learning_rate = Variable(value, name="learning_rate", trainable=False,
                                           dtype=backend.floatx(),
                                           path=f"{self.name}/learning_rate")
        else:
            self._learning_rate.assign(value)

    # Keras 2 spelling, used by the chapter's callbacks (``K.set_value(optimizer.lr, ...)``).
    lr = learning_rate

    @property
    def learning_rate_schedule(self):
        """The schedule object if ``learning_rate`` is one, else ``None``."""
        lr = self._learning_rate
        return lr if isinstance(lr, schedules.LearningRateSchedule) else None

    def current_learning_rate(self, dtype=None):
        """The rate the next step will use, a scalar of ``dtype`` (schedule and decay applied)."""
        dtype = np.dtype(dtype or backend.floatx())
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            rate = np.asarray(self._learning_rate(self.iterations), dtype)
        else:
            rate = np.asarray(self._learning_rate.value, dtype)
        if self.decay > 0:
            rate = rate / (np.asarray(1, dtype)
                           + np.asarray(self.decay, dtype) * np.asarray(self.iterations, dtype))
        return rate

    # ------------------------------------------------------------------ state
    def build(self, variables):
        """Create slots for any variable not seen before (called by :meth:`apply`)."""
        for variable in variables:
            if variable not in self.slots:
                self.slots[variable] = self.create_slots(variable)

    def create_slots(self, variable) -> dict:
        """The initial per-variable state: a dict of arrays shaped like the variable."""
        return {}

    # ------------------------------------------------------------------ one step
    def apply_gradients(self, grads_and_vars):
        """Keras's spelling: a list of ``(gradient, variable)`` pairs."""
        pairs = [(g, v) for g, v in grads_and_vars]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, variables):
        """One optimisation step (clip → learning rate → decay → update → constrain → count)."""
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: got {len(grads)} gradients for "
                             f"{len(variables)} variables")
        given_grads, given_variables = grads, variables
        grads, variables = [], []          # the pairs that have a gradient, checked
        missing = []
        for g, v in zip(given_grads, given_variables):
            if g is None:
                missing.append(getattr(v, "path", None) or getattr(v, "name", repr(v)))
                continue
            g = numeric_array(f"{type(self).__name__}.apply", f"the gradient for "
                              f"'{v.path}'", g).astype(v.value.dtype, copy=False)
            if g.shape != v.value.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient of shape {g.shape} for "
                                 f"variable '{v.path}' of shape {v.shape}")
            grads.append(g)
            variables.append(v)
        if not grads:
            raise ValueError(f"{type(self).__name__}.apply: no gradients to apply")
        if missing:
            # As keras/src/optimizers/base_optimizer.py::_filter_empty_gradients: skipped, said.
            warnings.warn(f"{type(self).__name__}.apply: gradients do not exist for variables "
                          f"{missing}; they are not updated", stacklevel=2)
        self.build(variables)
        learning_rate = self.current_learning_rate(variables[0].dtype)
        if self.weight_decay:
            self.apply_weight_decay(variables, learning_rate)
        self.update_all(grads, variables, learning_rate)
        for variable in variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable.value))
        self.iterations += 1

    @has_numba_twin
    def update_all(self, grads, variables, learning_rate):
        """Clip the gradients, then run :meth:`update_step` for every variable (Nadam adds a
        shared step first). The Numba twin does all of it in one fused pass over the model."""
        grads = self.clip_gradients(grads)
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """The algorithm: update ``variable.value`` (and its slots) in place."""
        raise NotImplementedError

    def step_scalars(self, learning_rate, dtype):
        """The scalars :meth:`update_step` needs this step, cast to ``dtype`` (a NamedTuple in
        each algorithm; ``learning_rate`` already has that dtype)."""
        return None

    def step_count(self, dtype, offset=1):
        """``t = iterations + offset`` as a float scalar (Keras's ``local_step``)."""
        return np.asarray(self.iterations + offset, dtype)

    # ------------------------------------------------------------------ clipping / decay
    def clip_gradients(self, grads):
        if self.clipnorm is not None and self.clipnorm > 0:
            return [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None and self.clipvalue > 0:
            return [np.clip(g, np.asarray(-self.clipvalue, g.dtype),  # clipvalue (eq. 1)
                            np.asarray(self.clipvalue, g.dtype)) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Leave some variables out of weight decay: those in ``var_list``, and those whose
        path contains one of the strings ``var_names`` (e.g. ``["bias"]``), as Keras 3's
        ``BaseOptimizer.exclude_from_weight_decay`` does (a regular expression search). Only
        before the first step, when the optimizer has no state yet."""
        if self.slots or self.iterations:
            raise ValueError(f"{type(self).__name__}.exclude_from_weight_decay: call it before "
                             f"the optimizer's first step")
        self.excluded_from_decay = {id(variable) for variable in var_list or ()}
        self.excluded_name_pattern = re.compile("|".join(sorted(set(var_names)))) \
            if var_names else None

    def uses_weight_decay(self, variable):
        """Whether ``weight_decay`` applies to ``variable`` (see
        :meth:`exclude_from_weight_decay`)."""
        if id(variable) in self.excluded_from_decay:
            return False
        pattern = self.excluded_name_pattern
        return pattern is None or pattern.search(getattr(variable, "path", None)
                                                 or variable.name) is None

    def apply_weight_decay(self, variables, learning_rate):
        for variable in variables:
            if not self.uses_weight_decay(variable):
                continue
            decay = np.asarray(self.weight_decay, variable.dtype)
            variable.assign(variable.value - variable.value * decay * learning_rate)

    # ------------------------------------------------------------------ config / state
    def get_config(self):
        schedule = self.learning_rate_schedule
        config = {"name": self.name,
                  "learning_rate": (schedules.serialize(schedule) if schedule is not None
                                    else float(self._learning_rate.value))}
        for key in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def get_state(self, variables):
        """Everything a resumed run needs: iteration count and slots, in ``variables`` order."""
        state = {"iterations": self.iterations}
        if self.learning_rate_schedule is None:
            state["learning_rate"] = float(self._learning_rate.value)
        for index, variable in enumerate(variables):
            for slot, array in self.slots.get(variable, {}).items():
                state[f"{index}/{slot}"] = np.array(array, copy=True)
        return state

    def set_state(self, state, variables):
        """Restore :meth:`get_state` output for the same ``variables`` (same order, shapes)."""
        self.iterations = int(state["iterations"])
        if "learning_rate" in state and self.learning_rate_schedule is None:
            self.learning_rate = float(state["learning_rate"])
        if not any("/" in key for key in state):
            # saved before its first step (compiled, never trained): no slots to restore;
            # they are built at the first step, as for a new optimizer
            self.slots = {}
            return
        self.build(variables)
        for index, variable in enumerate(variables):
            for slot, array in self.slots[variable].items():
                key = f"{index}/{slot}"
                if key not in state:
                    raise ValueError(f"{type(self).__name__}.set_state: missing slot '{key}'")
                value = np.asarray(state[key])
                if value.shape != np.shape(array):
                    raise ValueError(f"{type(self).__name__}.set_state: slot '{key}' has shape "
                                     f"{value.shape}, expected {np.shape(array)}")
                if isinstance(array, np.ndarray):
                    array[...] = value
                else:
                    self.slots[variable][slot] = value.astype(np.asarray(array).dtype)

    def clear_state(self):
        """Forget every slot and the step count, as if the optimizer had never stepped."""
        self.slots = {}
        self.iterations = 0

    def __repr__(self):
        return f"<{type(self).__name__} {self.get_config()}>"


def check_moment_hyper_parameters(owner, beta_1, beta_2, epsilon):
    """``(beta_1, beta_2, epsilon)`` as floats, after checking ``0 <= beta < 1`` and
    ``epsilon >= 0`` (the arguments of Adam, Adamax and Nadam)."""
    _check_number(owner, "beta_1", beta_1, low=0, high=1, high_inclusive=False)
    _check_number(owner, "beta_2", beta_2, low=0, high=1, high_inclusive=False)
    _check_number(owner, "epsilon", epsilon, low=0)
    return float(beta_1), float(beta_2), float(epsilon)


def l2_norm(grad):
    r""":math:`\lVert g \rVert_2 = \sqrt{\sum g^2}`."""
    return np.sqrt(np.sum(np.square(grad)))


def clip_by_norm(grad, clipnorm):
    r""":math:`g \cdot c / \max(\lVert g \rVert_2, c)`; an all-zero gradient is returned as is."""
    c = np.asarray(clipnorm, grad.dtype)
    return (grad * c) / np.maximum(l2_norm(grad), c)  # g c / max(‖g‖, c) (eq. 1)


def global_norm_scale(grads, clipnorm, inverse_clipnorm=None):
    r"""The factor :math:`c \min(1/\lVert G \rVert, 1/c)` that ``global_clipnorm=c`` scales every
    gradient by, with :math:`\lVert G\rVert = \sqrt{\sum_i \lVert g_i\rVert^2}`; NaN when the
    norm is not finite. A scalar of the gradients' dtype.

    ``inverse_clipnorm`` is :math:`1/c` in that dtype, by default the double :math:`1/c` rounded
    once (``keras/src/optimizers/base_optimizer.py::clip_by_global_norm``); Keras 2 divides in
    the dtype instead (:mod:`numpy_nn.optimizers.legacy.base`)."""
    dtype = grads[0].dtype
    global_norm = np.sqrt(np.sum(np.stack([np.sum(np.square(g)) for g in grads])))
    if inverse_clipnorm is None:
        inverse_clipnorm = np.asarray(1.0 / clipnorm, dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.asarray(clipnorm, dtype) * np.minimum(
            np.asarray(1, dtype) / global_norm, inverse_clipnorm)
        return scale + (global_norm - global_norm)     # NaN propagates from the norm


def clip_by_global_norm(grads, clipnorm):
    r"""Every gradient times :func:`global_norm_scale`."""
    scale = global_norm_scale(grads, clipnorm)
    return [g * scale for g in grads]  # (eq. 2)
