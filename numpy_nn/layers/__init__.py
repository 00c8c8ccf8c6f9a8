"""Layers with Keras's names and defaults. One family per file:

* :mod:`.base` — the Layer contract (build / call / backward / get_config)
* :mod:`.core` — InputLayer / Input, Dense, Flatten
* :mod:`.activation` — Activation, LeakyReLU, PReLU, ELU, ReLU, Softmax
* :mod:`.normalization` — BatchNormalization
* :mod:`.regularization` — Dropout, AlphaDropout
"""
from numpy_nn import _registry
from numpy_nn.layers.activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from numpy_nn.layers.base import Layer
from numpy_nn.layers.core import Dense, Flatten, Input, InputLayer
from numpy_nn.layers.normalization import BatchNormalization
from numpy_nn.layers.regularization import AlphaDropout, Dropout

#: Every layer class a saved model may name. Loading a model file only ever instantiates
#: classes from this table (no import by name, no code execution).
LAYER_CLASSES = {cls.__name__: cls for cls in (
    InputLayer, Dense, Flatten, Activation, LeakyReLU, PReLU, ELU, ReLU, Softmax,
    BatchNormalization, Dropout, AlphaDropout)}

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Flatten", "Activation", "LeakyReLU",
           "PReLU", "ELU", "ReLU", "Softmax", "BatchNormalization", "Dropout", "AlphaDropout",
           "LAYER_CLASSES"]


__dir__ = _registry.public_dir(__all__)
