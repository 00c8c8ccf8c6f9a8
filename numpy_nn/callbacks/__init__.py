"""Callbacks with the Keras hook names (see :mod:`numpy_nn.callbacks.callback` for the order).

One file per family:

* :mod:`~numpy_nn.callbacks.callback` — ``Callback``: the hooks, and when each one is called
* :mod:`~numpy_nn.callbacks.history` — ``History``
* :mod:`~numpy_nn.callbacks.callback_list` — ``CallbackList``, which calls them
* :mod:`~numpy_nn.callbacks.monitor` — the "did it improve?" rule the next three share
* :mod:`~numpy_nn.callbacks.schedulers` — ``LearningRateScheduler``, ``ReduceLROnPlateau``,
  ``ExponentialLearningRate`` (the learning-rate finder's sweep)
* :mod:`~numpy_nn.callbacks.one_cycle` — ``OneCycleScheduler`` (1cycle)
* :mod:`~numpy_nn.callbacks.early_stopping` — ``EarlyStopping``, ``TerminateOnNaN``
* :mod:`~numpy_nn.callbacks.checkpoint` — ``ModelCheckpoint`` (atomic writes)
* :mod:`~numpy_nn.callbacks.backup` — ``BackupAndRestore`` (resumable training)
* :mod:`~numpy_nn.callbacks.loggers` — ``CSVLogger``, ``TensorBoard`` (via tensorboardX)
* :mod:`~numpy_nn.callbacks.progress` — ``ProgbarLogger``
"""
from numpy_nn import _registry
from numpy_nn.callbacks.backup import BackupAndRestore
from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.callback_list import CallbackList
from numpy_nn.callbacks.checkpoint import ModelCheckpoint
from numpy_nn.callbacks.early_stopping import EarlyStopping, TerminateOnNaN
from numpy_nn.callbacks.history import History
from numpy_nn.callbacks.layer_statistics import LayerStatistics
from numpy_nn.callbacks.loggers import CSVLogger, TensorBoard
from numpy_nn.callbacks.monitor import MonitorCallback
from numpy_nn.callbacks.one_cycle import OneCycleScheduler
from numpy_nn.callbacks.progress import ProgbarLogger
from numpy_nn.callbacks.schedulers import (
    ExponentialLearningRate,
    LearningRateScheduler,
    ReduceLROnPlateau,
)

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "MonitorCallback",
           "LearningRateScheduler", "ReduceLROnPlateau", "ExponentialLearningRate",
           "OneCycleScheduler", "EarlyStopping", "TerminateOnNaN", "ModelCheckpoint",
           "CSVLogger", "TensorBoard", "BackupAndRestore", "LayerStatistics"]


__dir__ = _registry.public_dir(__all__)
