"""Optimizers (one algorithm per file, the equation in each docstring) and LR schedules.

Every optimizer accepts Keras 3's arguments and the book's Keras 2 spellings ``lr=`` and
``decay=``. See :mod:`numpy_nn.optimizers.base` for what one step does. The book's Keras 2
arithmetic (Nadam's schedule, Adagrad/RMSprop epsilon placement, ...) is in
:mod:`numpy_nn.optimizers.legacy`.
"""
from numpy_nn._registry import lookup
from numpy_nn.optimizers import legacy, schedules
from numpy_nn.optimizers.adagrad import Adagrad
from numpy_nn.optimizers.adam import Adam, AdamW
from numpy_nn.optimizers.adamax import Adamax
from numpy_nn.optimizers.base import Optimizer
from numpy_nn.optimizers.nadam import Nadam
from numpy_nn.optimizers.rmsprop import RMSprop
from numpy_nn.optimizers.sgd import SGD

OPTIMIZER_CLASSES = {cls.__name__: cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW,
                                                  Adamax, Nadam)}
#: Every name :func:`get` and saved model files know: the above and ``"legacy.Nadam"`` etc.
_ALL_CLASSES = {**OPTIMIZER_CLASSES, **legacy.LEGACY_CLASSES}


def get(identifier):
    """An optimizer from a name (``"nadam"``, case-insensitive), a config dict or an instance;
    ``None`` gives ``None``, as ``keras.optimizers.get`` does."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return lookup("optimizer", identifier, _ALL_CLASSES)()
    if isinstance(identifier, dict):
        cls = lookup("optimizer", identifier.get("class_name"), _ALL_CLASSES)
        return cls.from_config(identifier.get("config") or {})
    raise TypeError(f"Could not interpret optimizer {identifier!r}: expected a name "
                    f"({', '.join(sorted(_ALL_CLASSES))}) or an Optimizer")


def class_name(optimizer):
    """The name a model file stores for ``optimizer``: ``"Nadam"``, or ``"legacy.Nadam"``."""
    return getattr(optimizer, "registered_name", type(optimizer).__name__)


def serialize(optimizer):
    return {"class_name": class_name(optimizer), "config": optimizer.get_config()}


__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam",
           "schedules", "legacy", "get", "serialize", "class_name", "OPTIMIZER_CLASSES"]


def __dir__():
    """``dir(module)`` lists the public names only (the chapter prints it)."""
    return sorted(__all__)
