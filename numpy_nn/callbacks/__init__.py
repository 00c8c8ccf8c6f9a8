"""Callbacks with the Keras hook names (see :mod:`numpy_nn.callbacks.base` for the order).

One file per family:

* :mod:`~numpy_nn.callbacks.base` — ``Callback``, ``CallbackList``, ``History``
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
from numpy_nn.callbacks.backup import BackupAndRestore
from numpy_nn.callbacks.base import Callback, CallbackList, History
from numpy_nn.callbacks.checkpoint import ModelCheckpoint
from numpy_nn.callbacks.early_stopping import EarlyStopping, TerminateOnNaN
from numpy_nn.callbacks.layer_statistics import LayerStatistics
from numpy_nn.callbacks.loggers import CSVLogger, TensorBoard
from numpy_nn.callbacks.monitor import MonitorCallback
from numpy_nn.callbacks.one_cycle import OneCycleScheduler
from numpy_nn.callbacks.progress import ProgbarLogger
from numpy_nn.callbacks.schedulers import (ExponentialLearningRate, LearningRateScheduler,
                                           ReduceLROnPlateau)

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "MonitorCallback",
           "LearningRateScheduler", "ReduceLROnPlateau", "ExponentialLearningRate",
           "OneCycleScheduler", "EarlyStopping", "TerminateOnNaN", "ModelCheckpoint",
           "CSVLogger", "TensorBoard", "BackupAndRestore"]
__all__.append("LayerStatistics")     # gradient-health diagnostics (layer_statistics.py)


def __dir__():
    """``dir(module)`` lists the public names only (the chapter prints it)."""
    return sorted(__all__)
