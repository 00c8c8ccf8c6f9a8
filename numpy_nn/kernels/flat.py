r"""All of an optimizer's parameters, gradients and slots as views into a few flat buffers.

The chapter's SELU network has 101 Dense layers, so 202 weight arrays. Updating them one by
one costs 202 Python-level calls per step (and several NumPy calls each on the reference
path), which is more than the arithmetic. :class:`FlatParameters` lays the model out so that
one kernel call updates everything::

    values  [ W1 | b1 | W2 | b2 | ... ]      variable.value is a view of its slice
    grads   [ dW1| db1| dW2| db2| ... ]      variable.grad_buffer is a view of its slice
    slots   {"momentum": [ ... ], ...}       optimizer.slots[variable][name] are views too

Each variable's ``value`` moves into the buffer once (:meth:`Variable.use_storage`) and is
updated in place from then on, so every view stays valid, and the reference (per-array) code
still works on the same arrays. Layers that honour ``grad_buffer`` (Dense, BatchNormalization
on the Numba path) write their gradients straight into the flat gradient buffer; any gradient
that arrives as a separate array (a regularizer's addition, a layer that allocates) is copied
into place by :meth:`FlatParameters.gather_gradients`.
"""
from __future__ import annotations

import operator

import numpy as np

from numpy_nn.variables import Variable


class FlatParameters:
    """Flat buffers for ``variables`` (same float dtype) and their ``optimizer.slots``."""

    def __init__(self, optimizer, variables):
        self.variables = list(variables)
        dtype = self.variables[0].dtype
        sizes = [v.size for v in self.variables]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        total = int(self.offsets[-1])
        self.values = np.empty(total, dtype)
        self.grads = np.zeros(total, dtype)
        slot_names = sorted(optimizer.slots[self.variables[0]])
        self.slots = {name: np.empty(total, dtype) for name in slot_names}
        self.grad_views = []
        for variable, start, stop in zip(self.variables, self.offsets[:-1], self.offsets[1:]):
            variable.use_storage(self.values[start:stop].reshape(variable.shape))
            grad_view = self.grads[start:stop].reshape(variable.shape)
            variable.grad_buffer = grad_view
            self.grad_views.append(grad_view)
            own_slots = optimizer.slots[variable]
            for name, flat_slot in self.slots.items():
                slot_view = flat_slot[start:stop].reshape(variable.shape)
                slot_view[...] = own_slots[name]
                own_slots[name] = slot_view
        self._value_views = [v.value for v in self.variables]
        self._slot_views = [tuple(optimizer.slots[v][n] for n in slot_names)
                            for v in self.variables]
        self._slot_names = slot_names
        self._slot_table = optimizer.slots
        self._storage_moves = Variable.storage_moves

    @staticmethod
    def can_hold(optimizer, variables):
        """Whether the variables share one float dtype and the same slot names and shapes."""
        dtype = variables[0].dtype
        if dtype not in (np.float32, np.float64):
            return False
        names = set(optimizer.slots[variables[0]])
        for variable in variables:
            slots = optimizer.slots[variable]
            if variable.dtype != dtype or set(slots) != names or any(
                    not isinstance(a, np.ndarray) or a.shape != variable.shape
                    or a.dtype != dtype for a in slots.values()):
                return False
        return True

    def holds(self, optimizer, variables):
        """Whether these buffers still back exactly ``variables`` (values, grads and slots)."""
        if optimizer.slots is not self._slot_table:
            return False                     # the optimizer started over (clear_state)
        if len(variables) != len(self.variables) \
                or not all(map(operator.is_, variables, self.variables)):
            return False
        if self._storage_moves == Variable.storage_moves:
            return True                      # no variable anywhere has moved since we checked
        if not self._views_intact(optimizer):
            return False
        self._storage_moves = Variable.storage_moves
        return True

    def _views_intact(self, optimizer):
        for variable, value_view, grad_view, slot_views in zip(
                self.variables, self._value_views, self.grad_views, self._slot_views):
            if variable.value is not value_view or variable.grad_buffer is not grad_view:
                return False
            slots = optimizer.slots[variable]
            if not all(slots[name] is view for name, view in zip(self._slot_names, slot_views)):
                return False
        return True

    def gather_gradients(self, grads):
        """Make ``self.grads`` hold ``grads`` (copying only those not already written in place)."""
        for grad, view in zip(grads, self.grad_views):
            if grad is not view:
                view[...] = grad


def flat_parameters(optimizer, variables):
    """The optimizer's :class:`FlatParameters` for ``variables``, built (or rebuilt) as needed;
    None when the variables cannot share one buffer (the caller then uses the reference)."""
    pack = getattr(optimizer, "_flat_parameters", None)
    if pack is not None and pack.holds(optimizer, variables):
        return pack
    if not FlatParameters.can_hold(optimizer, variables):
        return None
    pack = FlatParameters(optimizer, variables)
    optimizer._flat_parameters = pack
    return pack
