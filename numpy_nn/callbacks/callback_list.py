"""CallbackList: dispatches each hook to every callback of a ``fit`` / ``evaluate`` /
``predict`` call, in order (the user's callbacks, then History, then the progress bar)."""
from __future__ import annotations

from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.history import History
from numpy_nn.callbacks.progress import ProgbarLogger

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


class CallbackList:
    """Calls every callback's hook in order: the user's, then History, then the progress bar.

    Batch hooks are only dispatched to callbacks that override them, which keeps a training
    step free of empty Python calls.
    """

    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 verbose=1, **params):
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
            callback.set_peers(self.callbacks)
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
