r"""Learning-rate schedules: functions of the optimizer's step count.

An optimizer whose ``learning_rate`` is a schedule calls ``schedule(step)`` with
``step = optimizer.iterations`` *before* that step increments it, so the first update uses
``schedule(0)``. Arithmetic is done in the float type, as Keras does.

* :class:`ExponentialDecay` — :math:`\eta_0 \, r^{t/s}`
  (``staircase``: :math:`r^{\lfloor t/s \rfloor}`)
* :class:`InverseTimeDecay` — :math:`\eta_0 / (1 + r\,t/s)`, the chapter's *power scheduling*
  with :math:`c = 1`; Keras 2's ``decay=`` argument is ``InverseTimeDecay(lr, 1, decay)``
* :class:`PiecewiseConstantDecay` — ``values[i]`` on ``(boundaries[i-1], boundaries[i]]``;
  the upper boundary of each interval is inclusive.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import backend
from numpy_nn._checks import check_number
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


class _DecaySchedule(LearningRateSchedule):
    """Shared part of the two decays: the arguments, and the progress :math:`p = t / s`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        owner = type(self).__name__
        self.initial_learning_rate = check_number(owner, "initial_learning_rate",
                                                  initial_learning_rate, low=0,
                                                  low_inclusive=False)
        check_number(owner, "decay_steps", decay_steps, low=0, low_inclusive=False)
        self.decay_steps = decay_steps
        self.decay_rate = check_number(owner, "decay_rate", decay_rate, low=0)
        self.staircase = bool(staircase)
        self.name = name

    def progress(self, step, dtype):
        r""":math:`p = t / s` in ``dtype``, floored when ``staircase`` (whole periods only)."""
        p = np.asarray(step, dtype) / np.asarray(self.decay_steps, dtype)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecaySchedule):
    r"""Exponential scheduling: the rate is multiplied by :math:`r` every :math:`s` steps.

    .. math:: \eta(t) = \eta_0 \, r^{p}, \qquad p = t / s \quad
              (\lfloor t / s \rfloor \text{ when staircase})

    The chapter's ``ExponentialDecay(0.01, s, 0.1)`` divides the rate by 10 every ``s`` steps
    (A. Senior et al., 2013, "An Empirical Study of Learning Rates in Deep Neural Networks for
    Speech Recognition", compared this and power scheduling).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)
        if self.decay_rate == 0:
            raise ValueError("ExponentialDecay: decay_rate must be > 0, got 0")

    def __call__(self, step):
        dtype = backend.floatx()
        return np.asarray(self.initial_learning_rate, dtype) * np.power(  # η₀ rᵖ (eq. 1)
            np.asarray(self.decay_rate, dtype), self.progress(step, dtype))


class InverseTimeDecay(_DecaySchedule):
    r"""Power scheduling with :math:`c = 1` (the chapter's :math:`\eta_0 / (1 + t/s)^c`).

    .. math:: \eta(t) = \frac{\eta_0}{1 + r \, p}, \qquad p = t / s \quad
              (\lfloor t / s \rfloor \text{ when staircase})

    Keras 2's ``decay=d`` argument is ``InverseTimeDecay(lr, 1, d)`` (Senior et al., 2013).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        dtype = backend.floatx()
        return np.asarray(self.initial_learning_rate, dtype) / (  # η₀/(1 + r p) (eq. 1)
            np.asarray(1, dtype) + np.asarray(self.decay_rate, dtype) * self.progress(step, dtype))


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""Piecewise constant scheduling: a fixed rate per interval of steps.

    .. math:: \eta(t) = v_i \quad \text{for} \quad b_{i-1} < t \le b_i
              \qquad (b_{-1} = -\infty,\ b_n = +\infty)

    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
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
        # the first interval whose upper boundary is >= step (eq. 2)
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
