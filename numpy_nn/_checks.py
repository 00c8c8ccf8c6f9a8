"""Argument checks shared by constructors, the model's input checks and the model file reader.

A constructor argument of the wrong kind fails at once, with the owner (``"Adam"``,
``"BatchNormalization 'bn'"``) and the argument named, instead of a NumPy error at the first
training step.
"""
from __future__ import annotations

import math

import numpy as np


def is_int(value):
    """An integer (Python or NumPy), and not a bool (``True`` is an ``int`` to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_number(owner, name, value, low=None, high=None, low_inclusive=True,
                 high_inclusive=True):
    """``value`` as a float, if it is a finite real number within the bounds given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        raise ValueError(f"{owner}: {name} must be {'>=' if low_inclusive else '>'} {low}, "
                         f"got {value!r}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise ValueError(f"{owner}: {name} must be {'<=' if high_inclusive else '<'} {high}, "
                         f"got {value!r}")
    return float(value)


def numeric_array(owner, name, value):
    """``value`` as a NumPy array of numbers (bool, int or float), or a clear error naming
    ``name``: a ValueError for ragged nested sequences, a TypeError for anything else."""
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(f"{owner}: {name} must be a rectangular array of numbers, got nested "
                         f"sequences of different lengths") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be an array of numbers, got "
                        f"{type(value).__name__} of dtype {array.dtype}")
    return array


def match_ranks(y_true, y_pred):
    """Add or drop a trailing axis of size 1 so ``y_true`` and ``y_pred`` have equal rank.

    Keras does this before every loss and metric: labels of shape ``(N,)`` against a
    prediction of shape ``(N, 1)`` become ``(N, 1)``.
    """
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


def same_shape(owner, y_true, y_pred):
    """``(y_true, y_pred)`` when their shapes are equal, else a ValueError: a cross-entropy
    compares element with element (``keras/src/losses/losses.py`` refuses targets (3, 1)
    against predictions (3, 3) rather than broadcast them)."""
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{owner}: targets of shape {y_true.shape} and predictions of shape "
                         f"{y_pred.shape} must have the same shape")
    return y_true, y_pred
