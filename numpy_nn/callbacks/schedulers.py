r"""Callbacks that change the learning rate during ``fit``.

* :class:`LearningRateScheduler` — a function of the epoch sets the rate at each epoch's start
  (the chapter's exponential and piecewise-constant scheduling).
* :class:`ReduceLROnPlateau` — multiply the rate by ``factor`` when the monitored value has
  stopped improving for ``patience`` epochs (performance scheduling).
* :class:`ExponentialLearningRate` — multiply the rate by a constant after every batch and
  record (rate, loss) pairs: the sweep behind :func:`numpy_nn.utils.find_learning_rate`.

Per-batch schedules such as the chapter's ``ExponentialDecay`` callback or 1cycle
(:class:`~numpy_nn.callbacks.OneCycleScheduler`) set ``self.model.optimizer.learning_rate``
in ``on_batch_begin``; an optimizer built with a
:class:`~numpy_nn.optimizers.schedules.LearningRateSchedule` computes its rate from its
step count instead, and its ``learning_rate`` cannot be assigned.

**Keras 2 → Keras 3 (what readers of the book will notice).**
The book reads ``history.history["lr"]``: Keras 2's schedulers wrote the key ``"lr"`` into
the epoch logs. Keras 3, and numpy_nn, write ``"learning_rate"``, and only these two
callbacks write it at all (a plain ``fit`` has no learning-rate column).
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.monitor import MonitorCallback


def _require_settable_rate(callback):
    optimizer = callback.model.optimizer
    if optimizer is None:
        raise RuntimeError(f"{type(callback).__name__}: the model has no optimizer; compile it")
    if getattr(optimizer, "learning_rate_schedule", None) is not None:
        raise TypeError(
            f"{type(callback).__name__}: the optimizer's learning rate is a "
            f"{type(optimizer.learning_rate_schedule).__name__} schedule, which cannot be "
            f"changed by a callback; build the optimizer with a float learning_rate")
    return optimizer


def current_rate(optimizer):
    """The optimizer's learning rate as a Python float (what the next step will use)."""
    return float(np.asarray(optimizer.learning_rate))


class LearningRateScheduler(Callback):
    r"""Set the learning rate from ``schedule`` at the start of every epoch.

    ``schedule(epoch, lr)`` (or ``schedule(epoch)``) receives the **0-based** epoch index
    and the current rate as a float, and returns the new rate: a Python float or a NumPy
    float32/float64 (anything else is a ``ValueError``, as in Keras). The two-argument form is
    tried first; a ``TypeError`` from it means "call the one-argument form". At the end of
    each epoch ``logs["learning_rate"]`` holds the rate, so ``history.history
    ["learning_rate"]`` is the schedule actually followed.

    The chapter's exponential scheduling,
    :math:`\eta(\text{epoch}) = \eta_0\,0.1^{\text{epoch}/s}`::

        def exponential_decay_fn(epoch):
            return 0.01 * 0.1 ** (epoch / 20)
        lr_scheduler = LearningRateScheduler(exponential_decay_fn)

    Raises ``TypeError`` if the optimizer's learning rate is a schedule object.

    *Keras 2 difference:* the epoch log key was ``"lr"`` (the book's ``history.history["lr"]``).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got "
                            f"{type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _require_settable_rate(self)
        try:
            rate = self.schedule(epoch, current_rate(optimizer))
        except TypeError:
            rate = self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got "
                             f"{rate!r} ({type(rate).__name__}) for epoch {epoch}")
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"LearningRateScheduler: the schedule returned {rate!r} for epoch "
                             f"{epoch}; a learning rate must be finite and >= 0")
        optimizer.learning_rate = float(rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_rate(self.model.optimizer)


class ReduceLROnPlateau(MonitorCallback):
    r"""Performance scheduling: divide the learning rate when ``monitor`` stops improving.

    At the end of every epoch, in this order (Keras 3's rules):

    1. ``logs["learning_rate"]`` = the rate used during this epoch;
    2. if cooling down: ``cooldown_counter -= 1`` and ``wait = 0``;
    3. if the value improved (:math:`v + \delta < b` in min mode, see
       :mod:`~numpy_nn.callbacks.monitor`): ``best = v``, ``wait = 0``;
    4. otherwise, unless cooling down: ``wait += 1``; when ``wait >= patience`` and the rate
       is above ``min_lr``, the rate becomes :math:`\max(\eta \cdot \text{factor},
       \text{min\_lr})`, ``cooldown_counter = cooldown`` and ``wait = 0``.

    The chapter: ``ReduceLROnPlateau(factor=0.5, patience=5)`` halves the rate whenever the
    validation loss has not improved for five epochs.

    Args:
        monitor: logs key to watch. factor: multiplier (< 1). patience: epochs without
        improvement before reducing. mode: ``"auto"``/``"min"``/``"max"``. min_delta: smallest
        change that counts as improvement. cooldown: epochs to wait after a reduction before
        counting again. min_lr: floor of the rate.

    *Keras 2 differences:* the log key was ``"lr"``; ``mode="auto"`` guessed from ``"acc"``
    in the name.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta=min_delta)
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)) \
                or not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1) (a factor >= 1 would "
                             f"not reduce), got {factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if not is_int(value) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an int >= 0, got {value!r}")
        if not isinstance(min_lr, (int, float, np.number)) or min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau: min_lr must be a number >= 0, got {min_lr!r}")
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = _require_settable_rate(self)
        logs["learning_rate"] = current_rate(optimizer)
        value = self.monitored_value(logs)
        if value is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(value, self.best):
            self.best = value
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait >= self.patience:
            old_rate = current_rate(optimizer)
            if old_rate > np.float32(self.min_lr):
                new_rate = max(old_rate * self.factor, self.min_lr)  # (eq. 5)
                optimizer.learning_rate = new_rate
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new_rate}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class ExponentialLearningRate(Callback):
    r"""Multiply the learning rate by ``factor`` after every batch, recording each batch's
    rate and loss (the running mean since the epoch began, as in the batch logs).

    After :math:`k` batches from :math:`\eta_0` the rate is :math:`\eta_0 \cdot
    \text{factor}^k`; with :math:`\text{factor} = (\eta_\max/\eta_0)^{1/K}` it sweeps
    :math:`[\eta_0, \eta_\max]` in :math:`K` batches (Smith, 2015, "Cyclical Learning Rates
    for Training Neural Networks", section 3.3). The chapter's helper of the same name.
    """

    def __init__(self, factor):
        super().__init__()
        if not isinstance(factor, (int, float, np.number)) or not factor > 0:
            raise ValueError(f"ExponentialLearningRate: factor must be > 0, got {factor!r}")
        self.factor = float(factor)
        self.rates = []
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        optimizer = _require_settable_rate(self)
        self.rates.append(current_rate(optimizer))
        self.losses.append(float(logs["loss"]))
        optimizer.learning_rate = current_rate(optimizer) * self.factor  # η ← η f (eq. 1)
