"""Variable: a named array that a layer or optimizer owns, updated in place.

A Variable holds ``value`` (an ndarray that updates write into, so views of it stay valid),
an optional ``grad`` set by the owning layer's backward pass, and the per-weight settings the
training loop needs: ``trainable``, ``regularizer`` and ``constraint``. Always read
``variable.value`` afresh rather than keeping an array obtained from it: code that lays
several variables out in one buffer may move a value there once.

It behaves like a NumPy array in arithmetic, so ``optimizer.learning_rate * 0.1`` or
``np.asarray(layer.kernel)`` work as they do with Keras variables.
"""
from __future__ import annotations

import numpy as np


class Variable:
    """A named, in-place updatable array with its gradient slot.

    Args:
        value: initial value (copied; cast to ``dtype``).
        name: short name such as ``"kernel"``; ``path`` adds the owner, e.g. ``"dense/kernel"``.
        trainable: whether the optimizer updates it (BatchNormalization's moving statistics
            are created with ``trainable=False``).
        regularizer, constraint: callables from :mod:`numpy_nn.regularizers` /
            :mod:`numpy_nn.constraints`, or ``None``.
    """

    def __init__(self, value, name="variable", trainable=True, dtype=None,
                 regularizer=None, constraint=None, path=None):
        dtype = np.dtype(dtype) if dtype is not None else np.asarray(value).dtype
        self.value = np.array(value, dtype=dtype, copy=True)
        self.name = name
        self.path = path or name
        self.trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint
        self.grad = None

    # ------------------------------------------------------------------ array protocol
    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def size(self):
        return self.value.size

    @property
    def ndim(self):
        return self.value.ndim

    def numpy(self):
        """A copy of the current value (like ``keras.Variable.numpy()``)."""
        return self.value.copy()

    def assign(self, new_value):
        """Write ``new_value`` into the existing buffer (shape must match, dtype is cast)."""
        new_value = np.asarray(new_value)
        if new_value.shape != self.value.shape:
            if new_value.size == self.value.size == 1:
                new_value = new_value.reshape(self.value.shape)
            else:
                raise ValueError(
                    f"Variable '{self.path}': cannot assign a value of shape {new_value.shape} "
                    f"to a variable of shape {self.value.shape}")
        self.value[...] = new_value
        return self

    def __array__(self, dtype=None, copy=None):
        # np.asarray(variable) may share the buffer; np.array(variable) (copy=True) must not,
        # or writing into the "copy" would silently change the weights.
        if dtype is None and not copy:
            return self.value
        return self.value.astype(dtype or self.value.dtype, copy=True)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return (f"<Variable path={self.path} shape={self.value.shape} "
                f"dtype={self.value.dtype} trainable={self.trainable}>")

    # Arithmetic delegates to the value, so schedules and callbacks can compute with it.
    def __add__(self, other): return self.value + np.asarray(other)
    def __radd__(self, other): return np.asarray(other) + self.value
    def __sub__(self, other): return self.value - np.asarray(other)
    def __rsub__(self, other): return np.asarray(other) - self.value
    def __mul__(self, other): return self.value * np.asarray(other)
    def __rmul__(self, other): return np.asarray(other) * self.value
    def __truediv__(self, other): return self.value / np.asarray(other)
    def __rtruediv__(self, other): return np.asarray(other) / self.value
    def __pow__(self, other): return self.value ** np.asarray(other)
    def __neg__(self): return -self.value
    def __lt__(self, other): return self.value < np.asarray(other)
    def __le__(self, other): return self.value <= np.asarray(other)
    def __gt__(self, other): return self.value > np.asarray(other)
    def __ge__(self, other): return self.value >= np.asarray(other)
    def __getitem__(self, item): return self.value[item]
    def __len__(self): return len(self.value)


def assign_all(variables, values, owner):
    """Write ``values`` into ``variables``, all or nothing.

    Every count and shape is checked before anything is written, so a mistake leaves the
    weights as they were. ``owner`` names the layer or model in the error message.
    """
    values = [np.asarray(value) for value in values]
    if len(values) != len(variables):
        names = f" ({', '.join(v.path for v in variables)})" if len(variables) <= 6 else ""
        raise ValueError(f"{owner}: set_weights expected {len(variables)} arrays, got "
                         f"{len(values)}{names}")
    for variable, value in zip(variables, values):
        if value.shape != variable.shape:
            raise ValueError(f"{owner}: weight '{variable.path}' has shape {variable.shape}, "
                             f"got an array of shape {value.shape}")
    for variable, value in zip(variables, values):
        variable.assign(value)
