r"""Layer: the contract every layer follows.

A layer has four jobs, each one method:

* ``build(input_shape)`` creates its weights with :meth:`Layer.add_weight` once the input
  size is known;
* ``call(inputs, training=None)`` computes the forward pass and **caches** what the
  backward pass will need (Keras's name, so ``class MCDropout(Dropout): def call(self, x):
  return super().call(x, training=True)`` from the chapter works unchanged);
* ``backward(grad_output)`` returns the gradient with respect to the layer's input and
  **stores** the gradient of each trainable weight in ``variable.grad``; it never updates a
  weight (the optimizer does that afterwards, from the ``(variable, grad)`` pairs);
* ``get_config()`` returns the constructor arguments, so ``from_config`` can rebuild it.

Two flags that are easy to confuse are kept apart, as in Keras 3:

* ``training`` is the *mode of a call*: dropout active, BatchNormalization using batch
  statistics. It is an argument of ``call``.
* ``trainable`` is a *property of the layer*: whether the optimizer may update its weights
  (freezing for transfer learning). A frozen BatchNormalization also runs in inference mode.

**The logits shortcut.** When a model ends in softmax or sigmoid and is trained with a
cross-entropy, the probabilities :math:`p = f(z)` are not what the loss should start from:
:math:`\log p` loses precision where :math:`p` rounds to 0 or 1, and the backward pass through
softmax needs a Jacobian product. The gradient with respect to the *logits* :math:`z` is
instead short and exact: per sample, for one-hot (softmax) or 0/1 (sigmoid) targets,

.. math:: \frac{\partial \ell}{\partial z} = f(z) - y

so the layers and the loss agree on three steps, each in one place:

1. a layer whose output is softmax/sigmoid keeps its pre-activation input in
   :attr:`Layer.output_logits` during ``call`` (None otherwise);
2. the loss (:meth:`numpy_nn.losses.Loss.value_and_grad`) computes the value and the
   gradient from those logits, with the stable formulas in :mod:`numpy_nn.losses`;
3. the model starts the backward pass at the last layer's
   :meth:`Layer.backward_from_logits` with :math:`\partial L/\partial z`, skipping the
   activation's own derivative.

Keras 3 does the same: ``keras/src/activations/activations.py::softmax`` and
``keras/src/backend/tensorflow/nn.py::sigmoid`` attach ``_keras_logits`` to their output, and
``keras/src/backend/tensorflow/nn.py::_get_logits`` hands them to the cross-entropies in place
of the probabilities. Other modules refer here.
"""
from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np

from numpy_nn import backend, constraints, initializers, regularizers
from numpy_nn.backend import snake_case, unique_name
from numpy_nn.variables import Variable, assign_all

#: While a model file is being loaded: how many more weight elements layers may create.
#: A file's JSON could declare ``Dense(10**10)``; the loader builds the architecture before
#: it can compare it with the file's arrays, so it caps creation at what the file holds.
_weight_budget = None


@contextlib.contextmanager
def weight_budget(elements):
    """Within this block, :meth:`Layer.add_weight` refuses to exceed ``elements`` in total."""
    global _weight_budget
    previous, _weight_budget = _weight_budget, int(elements)
    try:
        yield
    finally:
        _weight_budget = previous


def _charge_weight_budget(path, shape):
    global _weight_budget
    if _weight_budget is None:
        return
    size = math.prod(shape)
    if size > _weight_budget:
        raise ValueError(f"weight '{path}' of shape {shape_str(shape)} has {size:,} elements, "
                         f"more than the {_weight_budget:,} the file provides")
    _weight_budget -= size


def normalize_shape(shape, argument="input_shape"):
    """A shape argument as a tuple of positive ints (``[28, 28]`` → ``(28, 28)``)."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{argument} must be a tuple of ints, got {shape!r}") from None
    for dim in shape:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))
                                or dim <= 0):
            raise ValueError(f"{argument} must contain positive ints, got {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


class Layer:
    """Base class of all layers (see the module docstring for the contract).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; generated from the class name when omitted.
        dtype: float type of the weights (default: ``backend.floatx()`` at build time).
        input_shape: shape of one sample (without the batch axis); only meaningful on the
            first layer of a Sequential model, as in Keras.
    """

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, **unknown):
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown argument(s) {sorted(unknown)}")
        self.name = name if name is not None else unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = str(np.dtype(dtype)) if dtype is not None else None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None and input_shape is None:
            input_shape = tuple(batch_input_shape)[1:]
        self.input_shape_arg = (normalize_shape(input_shape, f"{self.name}: input_shape")
                                if input_shape is not None else None)
        self.built = False
        self.input_shape = None      # with the batch axis, e.g. (None, 784), once built
        self.output_shape = None
        self._variables: list[Variable] = []
        #: the pre-activation values of the last call when the output is softmax/sigmoid,
        #: else None (the logits shortcut, see the module docstring)
        self.output_logits = None
        self._call_accepts_training = "training" in inspect.signature(self.call).parameters

    # ---------------------------------------------------------------- weights
    def add_weight(self, name, shape, initializer="zeros", regularizer=None, constraint=None,
                   trainable=True, dtype=None):
        """Create a :class:`Variable` owned by this layer and return it."""
        dtype = dtype or self.dtype or backend.floatx()
        shape = tuple(shape)
        _charge_weight_budget(f"{self.name}/{name}", shape)
        # Keras 3's Layer.add_weight: no initializer means glorot_uniform for a float weight.
        initializer = initializers.get("glorot_uniform" if initializer is None else initializer)
        variable = Variable(initializer(shape, dtype=dtype), name=name,
                            path=f"{self.name}/{name}", trainable=trainable, dtype=dtype,
                            regularizer=regularizers.get(regularizer),
                            constraint=constraints.get(constraint))
        self._variables.append(variable)
        return variable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def weights(self):
        """All variables, trainable ones first (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    variables = weights

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        return [v for v in self._variables if v.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return list(self._variables)
        return [v for v in self._variables if not v.trainable]

    non_trainable_variables = non_trainable_weights

    @property
    def losses(self):
        """The current regularization penalties of this layer's trainable weights, as a Keras
        layer's ``losses`` lists them (a frozen layer has none)."""
        return [v.regularizer(v.value) for v in self.trainable_weights
                if v.regularizer is not None]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        assign_all(self.weights, weights, f"Layer '{self.name}'")

    def count_params(self):
        return int(sum(v.size for v in self._variables))

    # ---------------------------------------------------------------- forward / backward
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis included, as ``None``)."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs, training=None):
        raise NotImplementedError

    def backward(self, grad_output, need_input_grad=True):
        """Gradient of the loss with respect to this layer's input (see module docstring).

        ``need_input_grad=False`` lets the first layers of a model skip that product.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def backward_from_logits(self, grad_logits, need_input_grad=True):
        """Backward pass starting from the gradient with respect to ``output_logits``
        (the logits shortcut, see the module docstring)."""
        raise NotImplementedError(f"{type(self).__name__} has no logits to start backward from")

    def __call__(self, inputs, training=None):
        inputs = self._convert_input(inputs)
        if not self.built:
            self.build((None,) + inputs.shape[1:])
        else:
            self._check_input_shape(inputs)
        return self.forward(inputs, training=training)

    def forward(self, inputs, training=None):
        """``call`` on a batch that is already an array of the layer's dtype and shape.

        ``training`` is passed on only when ``call`` takes it: the chapter's
        ``MCDropout.call(self, inputs)`` does not. Models run their layers through this.
        """
        if self._call_accepts_training:
            return self.call(inputs, training=training)
        return self.call(inputs)

    def discard_build(self):
        """Undo :meth:`build`: no weights, no shapes (a model whose build failed partway
        through calls this on the layers it had built)."""
        self.built = False
        self.input_shape = self.output_shape = None
        self._variables = []

    def _convert_input(self, inputs):
        if hasattr(inputs, "__array__") and not isinstance(inputs, np.ndarray):
            inputs = np.asarray(inputs)
        if not isinstance(inputs, np.ndarray):
            try:
                inputs = np.asarray(inputs)
            except ValueError as error:
                raise ValueError(f"Layer '{self.name}': inputs could not be turned into an "
                                 f"array ({error})") from None
        if inputs.dtype.kind not in "fiub":
            raise TypeError(f"Layer '{self.name}': expected numeric inputs, got dtype "
                            f"{inputs.dtype}")
        dtype = self.dtype or backend.floatx()
        if inputs.dtype != dtype:
            inputs = inputs.astype(dtype)
        if inputs.ndim < 1:
            raise ValueError(f"Layer '{self.name}': expected a batch of inputs (rank >= 1), "
                             f"got a scalar")
        return inputs

    #: Weightless element-wise layers take any shape after their first call, as Keras's
    #: (they have no ``input_spec``); the others insist on the shape they were built for.
    any_input_shape = False

    def _check_input_shape(self, inputs):
        expected = self.input_shape
        if expected is None or self.any_input_shape:
            return
        actual = inputs.shape
        if len(actual) != len(expected) or any(
                e is not None and e != a for e, a in zip(expected[1:], actual[1:])):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expected input of shape "
                             f"{shape_str(expected)}, got {shape_str((None,) + actual[1:])}")

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self.dtype is not None:
            config["dtype"] = self.dtype
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def shape_str(shape):
    """A shape as Keras prints it: ``(None, 784)``, and ``(5,)`` with its comma."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"
