r"""Callbacks that end training early: :class:`EarlyStopping` and :class:`TerminateOnNaN`."""
from __future__ import annotations

import math

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.monitor import MonitorCallback
from numpy_nn.errors import NonFiniteLossError


class EarlyStopping(MonitorCallback):
    r"""Stop training when ``monitor`` has not improved for ``patience`` epochs.

    At the end of every epoch (Keras 3's rules, in this order):

    1. skip the epoch if the monitored value is missing or ``epoch < start_from_epoch``;
    2. with ``restore_best_weights``, snapshot the weights if there is no snapshot yet;
    3. ``wait += 1``;
    4. if the value improved on the best so far (:math:`v + \delta < b` in min mode, see
       :mod:`~numpy_nn.callbacks.monitor`): remember it (and snapshot the weights); reset
       ``wait = 0`` only if there is no ``baseline`` or the value also beats the baseline;
       done for this epoch;
    5. otherwise, if ``wait >= patience`` and ``epoch > 0``: stop.

    So a value that never improves runs ``patience + 1`` epochs. With
    ``restore_best_weights=True`` the best epoch's weights are put back **at the end of
    training, whether or not training was stopped early**.

    The chapter: ``EarlyStopping(patience=20)`` with ``ModelCheckpoint(save_best_only=True)``.

    Args:
        monitor: logs key to watch. min_delta: smallest change that counts as improvement.
        patience: epochs without improvement before stopping. mode: ``"auto"``/``"min"``/
        ``"max"``. baseline: a value training must beat to reset the patience counter.
        restore_best_weights: restore the best epoch's weights at the end.
        start_from_epoch: epochs to ignore at the start (warm-up).

    **Keras 2 differences** (tf.keras 2.6, the book's version):

    * weights were restored only when training actually stopped early;
    * Keras 2 started from ``best = baseline``, so a run that improved but never beat the
      baseline stopped after ``patience`` epochs; in Keras 3 (and here) the baseline is not
      the initial best, and such a run never stops.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        for name, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if not is_int(value) or value < 0:
                raise ValueError(f"EarlyStopping: {name} must be an int >= 0, got {value!r}")
        if baseline is not None and not isinstance(baseline, (int, float, np.number)):
            raise ValueError(f"EarlyStopping: baseline must be a number or None, got {baseline!r}")
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        # The direction first, as Keras 3's EarlyStopping.on_epoch_end sets its monitor_op
        # before reading the value: an unknown monitor in auto mode raises, not warns.
        self.resolve_direction()
        value = self.monitored_value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self.is_improvement(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.is_improvement(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    ``raise_error=True`` raises :class:`~numpy_nn.errors.NonFiniteLossError` (a
    ``RuntimeError``, as in Keras) naming the epoch and batch, instead of stopping quietly.
    Either way the bad step has already been applied; ``fit(on_nonfinite="raise")`` stops
    *before* it instead. Checkpoints stay safe: :class:`ModelCheckpoint` never saves an epoch
    whose loss is not finite.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = bool(raise_error)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise NonFiniteLossError(
                f"TerminateOnNaN: loss is {float(loss)} at epoch {self.epoch}, batch {batch} "
                f"(0-based)", epoch=self.epoch, batch=batch, loss=float(loss))
        print(f"Epoch {self.epoch}, batch {batch}: invalid loss, terminating training")
        self.model.stop_training = True
