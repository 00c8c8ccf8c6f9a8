"""Callback, CallbackList and History: the hook points of ``fit``.

``fit`` calls, in this order::

    on_train_begin
      for each epoch:  on_epoch_begin(epoch)
        for each batch:  on_train_batch_begin(batch) -> train step -> on_train_batch_end(batch, logs)
        [validation: on_test_begin ... on_test_end]
        on_epoch_end(epoch, logs)          # logs: loss, metrics, val_* ; callbacks may add keys
    on_train_end

``on_batch_begin`` / ``on_batch_end`` are the Keras 2 names of the training-batch hooks; the
default ``on_train_batch_*`` calls them, so a callback may override either (the chapter's
``ExponentialDecay`` and ``OneCycleScheduler`` override ``on_batch_begin``).

Every callback sees the model as ``self.model`` (so ``self.model.optimizer.learning_rate`` can
be read and set inside a hook) and ``self.model.stop_training = True`` ends training after the
current batch. Batch logs hold running averages since the epoch began, like Keras 3.
"""
from __future__ import annotations


class Callback:
    """Base class; every hook does nothing by default."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(callback, names):
    cls = type(callback)
    return any(getattr(cls, name, None) is not getattr(Callback, name) for name in names)


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


class CallbackList:
    """Calls every callback's hook in order: the user's, then History, then the progress bar.

    Batch hooks are only dispatched to callbacks that override them, which keeps a training
    step free of empty Python calls.
    """

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 verbose=1, **params):
        from numpy_nn.callbacks.progress import ProgbarLogger

        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be numpy_nn.callbacks.Callback instances, "
                                f"got {type(callback).__name__}")
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger(verbose=verbose))
        self.params = dict(params, verbose=verbose)
        for callback in self.callbacks:
            if model is not None:
                callback.set_model(model)
            callback.set_params(self.params)
        self._batch_listeners = {hook: [c for c in self.callbacks if _overrides(c, names)]
                                 for hook, names in _BATCH_HOOKS.items()}

    def wants(self, hook):
        """Whether any callback listens to batch hook ``hook`` (so logs must be computed)."""
        return bool(self._batch_listeners[hook])

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def _call_batch(self, hook, batch, logs):
        for callback in self._batch_listeners[hook]:
            getattr(callback, hook)(batch, logs)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch("on_predict_batch_end", batch, logs)
