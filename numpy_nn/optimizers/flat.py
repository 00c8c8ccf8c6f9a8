r"""All of an optimizer's parameters, gradients and slots as views into a few flat buffers.

The chapter's SELU network has 101 Dense layers, so 202 weight arrays. Updating them one by
one costs 202 Python-level calls per step (and several NumPy calls each on the reference
path), which is more than the arithmetic. :class:`FlatParameters` lays the model out so that
one kernel call updates everything::

    values  [ W1 | b1 | W2 | b2 | ... ]      variable.value is a view of its slice
    grads   [ dW1| db1| dW2| db2| ... ]      grad_buffer(variable) is a view of its slice
    slots   {"momentum": [ ... ], ...}       optimizer.slots[variable][name] are views too

Each variable's ``value`` moves into the buffer once (:func:`move_value`) and is updated in
place from then on, so every view stays valid, and the reference (per-array) code still works
on the same arrays. The twins of Dense and BatchNormalization write their weight gradients
straight into :func:`grad_buffer` when the variable has one; any gradient that arrives as a
separate array (a regularizer's addition, a layer without a twin) is copied into place by
:meth:`FlatParameters.gather_gradients`.

All of this state belongs to this module, keyed weakly by the objects it serves: which
optimizer has which buffers (:func:`flat_parameters`) and which variable writes its gradient
where (:func:`grad_buffer`). Variables and optimizers carry none of it; when an optimizer
starts over (``clear_state`` gives it new slot dicts) its buffers are simply rebuilt.
"""
from __future__ import annotations

import operator
import weakref

import numpy as np

#: optimizer -> its FlatParameters
_PACKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: variable -> the view of a flat gradient buffer its layer's twin writes the gradient into
_GRAD_BUFFERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: how many times any variable's value moved to a new storage (lets a pack notice cheaply
#: that another pack may have taken one of its variables)
_storage_moves = 0


def grad_buffer(variable):
    """Where the next gradient of ``variable`` may be written (``out=``), or None."""
    return _GRAD_BUFFERS.get(variable)


def set_grad_buffer(variable, buffer):
    """Let ``variable``'s gradient be written into ``buffer`` (None: allocate one each time)."""
    if buffer is None:
        _GRAD_BUFFERS.pop(variable, None)
    else:
        _GRAD_BUFFERS[variable] = buffer


def move_value(variable, storage):
    """Move ``variable.value`` into ``storage`` (same shape and dtype, e.g. a slice of a flat
    buffer) and keep it there: from now on ``value`` *is* ``storage``. Arrays obtained from the
    old ``value`` stop following the variable."""
    global _storage_moves
    if storage.shape != variable.value.shape or storage.dtype != variable.value.dtype:
        raise ValueError(f"Variable '{variable.path}': storage of shape {storage.shape} and "
                         f"dtype {storage.dtype} cannot hold a {variable.value.dtype} value of "
                         f"shape {variable.value.shape}")
    if storage is not variable.value:
        storage[...] = variable.value
        variable.value = storage
        _storage_moves += 1


#: every variable's slice of the flat buffers starts on a boundary of this many bytes (a cache
#: line), so that a kernel's matrix starts in the buffer as it would in an array of its own;
#: GEMM kernels read aligned operands at full speed. (On the 2-core machine of the Speed guide's
#: table, the compiled step's time at batch 1024 did not change measurably with it.)
ALIGNMENT = 64


def _aligned_layout(sizes, dtype):
    """``(starts, offsets)``: where each variable's slice starts, every start a multiple of
    ALIGNMENT bytes, and the boundaries ``offsets[i]:offsets[i + 1]`` of the padded slices
    (padding elements stay 0: a kernel may run over them, and changes nothing there)."""
    step = max(1, ALIGNMENT // np.dtype(dtype).itemsize)
    padded = [-(-size // step) * step for size in sizes]
    offsets = np.concatenate([[0], np.cumsum(padded)]).astype(np.int64)
    return offsets[:-1].copy(), offsets


def _aligned_zeros(count, dtype):
    """``count`` zeros whose first element sits on an ALIGNMENT-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(count + ALIGNMENT // itemsize, dtype)
    shift = (-raw.ctypes.data % ALIGNMENT) // itemsize
    return raw[shift:shift + count]


class FlatParameters:
    """Flat buffers for ``variables`` (same float dtype) and their ``optimizer.slots``:
    variable i is ``[starts[i], stops[i])`` of each, padded to ``offsets[i + 1]``."""

    def __init__(self, optimizer, variables):
        self.variables = list(variables)
        dtype = self.variables[0].dtype
        self.starts, self.offsets = _aligned_layout([v.size for v in self.variables], dtype)
        self.stops = self.starts + np.array([v.size for v in self.variables], np.int64)
        total = int(self.offsets[-1])
        self.values = _aligned_zeros(total, dtype)
        self.grads = _aligned_zeros(total, dtype)
        slot_names = sorted(optimizer.slots[self.variables[0]])
        self.slots = {name: _aligned_zeros(total, dtype) for name in slot_names}
        self.grad_views = []
        for variable, start, stop in zip(self.variables, self.starts, self.stops):
            move_value(variable, self.values[start:stop].reshape(variable.shape))
            grad_view = self.grads[start:stop].reshape(variable.shape)
            set_grad_buffer(variable, grad_view)
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
        self._storage_moves = _storage_moves

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
        if self._storage_moves == _storage_moves:
            return True                      # no variable anywhere has moved since we checked
        if not self._views_intact(optimizer):
            return False
        self._storage_moves = _storage_moves
        return True

    def _views_intact(self, optimizer):
        for variable, value_view, grad_view, slot_views in zip(
                self.variables, self._value_views, self.grad_views, self._slot_views):
            if variable.value is not value_view or grad_buffer(variable) is not grad_view:
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


def packed_parameters(optimizer):
    """The :class:`FlatParameters` the optimizer's last fused update used, or None."""
    return _PACKS.get(optimizer)


def flat_parameters(optimizer, variables):
    """The optimizer's :class:`FlatParameters` for ``variables``, built (or rebuilt) as needed;
    None when the variables cannot share one buffer (the caller then uses the reference)."""
    pack = _PACKS.get(optimizer)
    if pack is not None and pack.holds(optimizer, variables):
        return pack
    if not FlatParameters.can_hold(optimizer, variables):
        return None
    pack = FlatParameters(optimizer, variables)
    _PACKS[optimizer] = pack
    return pack
