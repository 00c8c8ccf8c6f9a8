"""Callback: the hook points of ``fit``, ``evaluate`` and ``predict``.

``fit`` calls, in this order (as ``keras/src/backend/tensorflow/trainer.py::TensorFlowTrainer``'s
``fit``, ``evaluate`` and ``predict`` do)::

    on_train_begin
      for each epoch:
        on_epoch_begin(epoch)
        for each batch:  on_train_batch_begin(batch), train_step, on_train_batch_end(batch, logs)
        [validation:  on_test_begin, on_test_batch_begin/end per batch, on_test_end(val logs)]
        on_epoch_end(epoch, logs)          # logs: loss, metrics, val_* ; callbacks may add keys
    on_train_end

``evaluate`` calls ``on_test_begin``, ``on_test_batch_begin`` / ``on_test_batch_end`` per
batch and ``on_test_end(logs)``; ``predict`` calls ``on_predict_begin``,
``on_predict_batch_begin`` / ``on_predict_batch_end(batch, {"outputs": ...})`` and
``on_predict_end``.

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

    def set_peers(self, callbacks):
        """Told every callback of the same call (itself included); a callback that works
        with a sibling (LayerStatistics writing to TensorBoard) keeps what it needs."""

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
