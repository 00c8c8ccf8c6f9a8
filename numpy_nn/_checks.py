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
