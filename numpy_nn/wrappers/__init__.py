"""scikit-learn wrappers for numpy_nn models: ``numpy_nn.wrappers.SKLearnClassifier`` and
``SKLearnRegressor``, as ``keras.wrappers`` names them (see :mod:`numpy_nn.wrappers.sklearn`).

They need scikit-learn (``pip install 'numpy_nn[sklearn]'``), which is imported the first time
one of them is asked for, so ``import numpy_nn`` and ``numpy_nn.wrappers`` need NumPy alone.
The engine never imports this package.
"""
import importlib
import importlib.util

__all__ = ["SKLearnClassifier", "SKLearnRegressor"]


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'numpy_nn.wrappers' has no attribute {name!r}")
    if importlib.util.find_spec("sklearn") is None:
        raise ImportError(f"numpy_nn.wrappers.{name} needs scikit-learn, which is not "
                          f"installed: pip install 'numpy_nn[sklearn]'")
    return getattr(importlib.import_module("numpy_nn.wrappers.sklearn"), name)


def __dir__():
    return sorted(__all__)
