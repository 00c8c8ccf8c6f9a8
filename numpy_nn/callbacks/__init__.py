"""Callbacks with the Keras hook names (see :mod:`numpy_nn.callbacks.base` for the order)."""
from numpy_nn.callbacks.base import Callback, CallbackList, History
from numpy_nn.callbacks.progress import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
from numpy_nn.callbacks.backup import BackupAndRestore  # noqa: E402,F401
