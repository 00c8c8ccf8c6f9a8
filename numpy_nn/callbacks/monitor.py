r"""MonitorCallback: the "did the monitored value improve?" rule shared by
:class:`~numpy_nn.callbacks.EarlyStopping`, :class:`~numpy_nn.callbacks.ReduceLROnPlateau` and
:class:`~numpy_nn.callbacks.ModelCheckpoint`.

With :math:`\delta = |\text{min\_delta}|`, a value :math:`v` improves on the best so far
:math:`b` when

.. math:: \text{min mode: } v + \delta < b, \qquad \text{max mode: } v - \delta > b,

and anything improves on :math:`b = \text{None}` (no value seen yet). Both comparisons are
strict, so with ``min_delta=0`` an equal value is *not* an improvement. Like Keras 3 (whose
``keras.ops.less``/``greater`` turn the Python floats into float32 tensors, whatever
``floatx`` is), both sides are rounded to float32 before comparing: a gain smaller than
float32's resolution (1e-9 on 0.5) is not an improvement.

``mode="auto"`` picks the direction from the monitored name, as Keras 3 does: ``loss`` and
``val_loss`` are minimised; a metric name (``"accuracy"``, ``"val_accuracy"``) takes the
direction of the model's compiled metric of that name (accuracies are maximised); a name the
model does not compute raises ``ValueError``.

*Keras 2 difference:* tf.keras 2.x guessed ``max`` whenever ``"acc"`` occurred in the name
(or it started with ``"fmeasure"``) and ``min`` for everything else.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from numpy_nn import metrics as metrics_module
from numpy_nn.callbacks.callback import Callback

MODES = ("auto", "min", "max")


def metric_direction(model, name):
    """``"up"``/``"down"`` for a compiled metric called ``name`` on ``model``, else ``None``."""
    for metric in getattr(model, "metric_names", None) or []:
        if isinstance(metric, str):
            if metric != name:
                continue
            try:
                metric = metrics_module.get(metric, (1,), (1,))
            except ValueError:
                continue
        elif getattr(metric, "name", None) != name:
            continue
        return getattr(metric, "direction", None)
    return None


class MonitorCallback(Callback):
    """Base class for callbacks that compare a logged value with the best one so far.

    Args:
        monitor: the logs key to watch (``"val_loss"``, ``"val_accuracy"``, ...).
        mode: ``"auto"``, ``"min"`` or ``"max"`` (see the module docstring).
        min_delta: how much better than the best a value must be to count; its sign is ignored.
        baseline: the starting "best" value (``None``: the first value seen).
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0, baseline=None):
        super().__init__()
        owner = type(self).__name__
        if mode not in MODES:
            raise ValueError(f"{owner}: mode must be one of {MODES}, got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.number)) \
                or not math.isfinite(min_delta):
            raise ValueError(f"{owner}: min_delta must be a finite number, got {min_delta!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.best = baseline
        self.direction = None          # "min" or "max", resolved on first use

    def resolve_direction(self):
        """``"min"`` or ``"max"`` for :attr:`monitor` (needs ``self.model`` in auto mode)."""
        if self.direction is not None:
            return self.direction
        if self.mode != "auto":
            self.direction = self.mode
            return self.direction
        name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
        if name == "loss":
            self.direction = "min"
        else:
            found = metric_direction(self.model, name)
            if found is None:
                raise ValueError(
                    f"{type(self).__name__}: cannot tell whether monitor={self.monitor!r} should "
                    f"be minimised or maximised (the model computes no metric named {name!r}); "
                    f"pass mode='min' or mode='max'")
            self.direction = "max" if found == "up" else "min"
        return self.direction

    def is_improvement(self, value, reference):
        """Whether ``value`` beats ``reference`` by more than ``min_delta`` (``None`` is beaten)."""
        direction = self.resolve_direction()     # first, so a bad monitor fails at once
        if reference is None:
            return True
        if direction == "min":
            return bool(np.float32(value + self.min_delta) < np.float32(reference))
        return bool(np.float32(value - self.min_delta) > np.float32(reference))

    def monitored_value(self, logs):
        """The monitored value from ``logs`` as a float, or ``None`` (with a warning) if absent."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: the monitored value {self.monitor!r} is not in "
                          f"the logs (available: {', '.join(sorted(logs or {})) or 'none'})",
                          stacklevel=3)
            return None
        return float(value)
