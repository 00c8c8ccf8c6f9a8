"""Optimizers (one algorithm per file, the equation in each docstring) and LR schedules.

Every optimizer accepts Keras 3's arguments and the book's Keras 2 spellings ``lr=`` and
``decay=``. See :mod:`numpy_nn.optimizers.base` for what one step does.
"""
from numpy_nn._registry import lookup
from numpy_nn.optimizers import schedules
from numpy_nn.optimizers.adagrad import Adagrad
from numpy_nn.optimizers.adam import Adam, AdamW
from numpy_nn.optimizers.adamax import Adamax
from numpy_nn.optimizers.base import Optimizer
from numpy_nn.optimizers.nadam import Nadam
from numpy_nn.optimizers.rmsprop import RMSprop
from numpy_nn.optimizers.sgd import SGD

OPTIMIZER_CLASSES = {cls.__name__: cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW,
                                                  Adamax, Nadam)}


def get(identifier):
    """An optimizer from a name (``"nadam"``, case-insensitive), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return lookup("optimizer", identifier, OPTIMIZER_CLASSES)()
    if isinstance(identifier, dict):
        cls = lookup("optimizer", identifier.get("class_name"), OPTIMIZER_CLASSES)
        return cls.from_config(identifier.get("config") or {})
    raise TypeError(f"Could not interpret optimizer {identifier!r}: expected a name "
                    f"({', '.join(sorted(OPTIMIZER_CLASSES))}) or an Optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam",
           "schedules", "get", "serialize", "OPTIMIZER_CLASSES"]


def __dir__():
    """``dir(module)`` lists the public names only (the chapter prints it)."""
    return sorted(__all__)
