r"""Learning-rate schedules: functions of the optimizer's step count.

An optimizer whose ``learning_rate`` is a schedule calls ``schedule(step)`` with
``step = optimizer.iterations`` *before* that step increments it, so the first update uses
``schedule(0)``. Arithmetic is done in the float type, as Keras does.

* :class:`ExponentialDecay` — :math:`\eta_0 \, r^{t/s}` (``staircase``: :math:`r^{\lfloor t/s \rfloor}`)
* :class:`InverseTimeDecay` — :math:`\eta_0 / (1 + r\,t/s)`, the chapter's *power scheduling*
  with :math:`c = 1`; Keras 2's ``decay=`` argument is ``InverseTimeDecay(lr, 1, decay)``
* :class:`PiecewiseConstantDecay` — ``values[i]`` on ``(boundaries[i-1], boundaries[i]]``;
  the upper boundary of each interval is inclusive.
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn import backend
from numpy_nn._registry import lookup


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate`` (a float-type scalar)."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_positive(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive number, got {value!r}")


class ExponentialDecay(LearningRateSchedule):
    r""":math:`\eta(t) = \eta_0 \cdot r^{p}`, :math:`p = t / s` (floored when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_positive("ExponentialDecay", "initial_learning_rate", initial_learning_rate)
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)
        _check_positive("ExponentialDecay", "decay_rate", decay_rate)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        dtype = backend.floatx()
        p = np.asarray(step, dtype) / np.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = np.floor(p)
        return np.asarray(self.initial_learning_rate, dtype) * np.power(
            np.asarray(self.decay_rate, dtype), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    r""":math:`\eta(t) = \eta_0 / (1 + r \cdot p)`, :math:`p = t / s` (floored when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_positive("InverseTimeDecay", "initial_learning_rate", initial_learning_rate)
        _check_positive("InverseTimeDecay", "decay_steps", decay_steps)
        if not (math.isfinite(decay_rate) and decay_rate >= 0):
            raise ValueError(f"InverseTimeDecay: decay_rate must be >= 0, got {decay_rate!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        dtype = backend.floatx()
        p = np.asarray(step, dtype) / np.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = np.floor(p)
        return np.asarray(self.initial_learning_rate, dtype) / (
            np.asarray(1, dtype) + np.asarray(self.decay_rate, dtype) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Boundaries are compared with the integer step, so float boundaries such as
    ``5. * n_steps_per_epoch`` (the chapter's spelling) are truncated to ints, as Keras does.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: expected len(values) == len(boundaries)+1,"
                             f" got {len(values)} values for {len(boundaries)} boundaries")
        if any(b2 < b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be increasing, "
                             f"got {boundaries}")
        self.boundaries = [int(b) for b in boundaries]
        self.values = [float(v) for v in values]
        self.name = name

    def __call__(self, step):
        step = int(step)
        index = next((i for i, b in enumerate(self.boundaries) if step <= b), len(self.boundaries))
        return np.asarray(self.values[index], backend.floatx())

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_CLASSES = {"ExponentialDecay": ExponentialDecay, "InverseTimeDecay": InverseTimeDecay,
            "PiecewiseConstantDecay": PiecewiseConstantDecay}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    cls = lookup("learning-rate schedule", config.get("class_name"), _CLASSES)
    return cls(**(config.get("config") or {}))
