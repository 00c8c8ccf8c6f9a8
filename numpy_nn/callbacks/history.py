"""History: the epoch logs of ``fit``, returned by it (``history.history["loss"]``)."""
from __future__ import annotations

from numpy_nn.callbacks.callback import Callback


class _HistoryDict(dict):
    """``history.history``: a dict whose KeyError for a Keras 2 key names the Keras 3 one."""

    KERAS_2_NAMES = {"lr": "learning_rate", "acc": "accuracy", "val_acc": "val_accuracy"}

    def __missing__(self, key):
        hint = ""
        if key in self.KERAS_2_NAMES:
            hint = (f" (Keras 2, the book's version, called it {key!r}; Keras 3 and numpy_nn "
                    f"call it {self.KERAS_2_NAMES[key]!r})")
        raise KeyError(f"{key!r} is not in the history{hint}; recorded: {sorted(self)}")


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]``, ``history.epoch``.

    It runs after the user's callbacks, so it records keys they add: ``learning_rate`` appears
    when ``LearningRateScheduler`` or ``ReduceLROnPlateau`` is used (Keras 2, and the book,
    called it ``lr``; Keras 3 never writes ``lr``).
    """

    def __init__(self):
        super().__init__()
        self.history = _HistoryDict()
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
