"""Sequential: a linear stack of layers, its weights, config and ``summary``.

The structure lives here; compile / ``fit`` / ``evaluate`` / ``predict`` come from
:class:`~numpy_nn.models.trainer.Trainer`, as ``keras/src/models/model.py``'s ``Model``
inherits ``keras/src/trainers/trainer.py``'s ``Trainer``. The input checks are in
:mod:`numpy_nn.models.validation`, the file format in :mod:`numpy_nn.saving`.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import backend
from numpy_nn.layers import LAYER_CLASSES
from numpy_nn.layers.base import Layer, shape_str, unique_name
from numpy_nn.layers.core import InputLayer
from numpy_nn.models import validation
from numpy_nn.models.trainer import Trainer
from numpy_nn.saving import model_file
from numpy_nn.variables import assign_all


class Sequential(Trainer):
    """A linear stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Args:
        layers: list of layers (an ``Input``/``InputLayer`` first, or ``input_shape=`` on the
            first layer, lets the model build at once so ``summary()`` works before ``fit``).
        name: model name.
    """

    def __init__(self, layers=None, name=None):
        Trainer.__init__(self)
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_shape = None          # one sample's shape, e.g. (28, 28)
        self._input_dtype = None
        self._trainable = True
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by its name or its index in :attr:`layers` (one of the two), as Keras's
        ``Model.get_layer`` (``keras/src/models/model.py``) finds it; a ValueError otherwise."""
        if name is not None and index is not None:
            raise ValueError(f"get_layer: give a layer name or a layer index, not both; got "
                             f"name={name!r}, index={index!r}")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                    or not -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"get_layer: index must be an int in [{-len(self._layers)}, "
                                 f"{len(self._layers)}) for a model of {len(self._layers)} "
                                 f"layers, got {index!r}")
            return self._layers[index]
        if name is not None:
            for layer in self._layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"get_layer: no layer named {name!r}; the layers are "
                             f"{[layer.name for layer in self._layers]}")
        raise ValueError("get_layer: give a layer name or a layer index")

    def add(self, layer):
        """Append a layer; build it right away if the input shape is already known."""
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"Sequential '{self.name}': an InputLayer must come first")
            self._input_shape = layer.input_shape_arg
            self._input_dtype = layer.dtype
            return
        if isinstance(layer, Sequential):
            for inner in layer.layers:
                self.add(inner)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}': can only add numpy_nn layers, got "
                            f"{type(layer).__name__}")
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' was already added")
        if not self._layers and self._input_shape is None:
            if layer.input_shape_arg is not None:
                self._input_shape = layer.input_shape_arg
            elif layer.built:
                self._input_shape = tuple(layer.input_shape[1:])
        self._layers.append(layer)
        if self._input_shape is not None:
            try:
                self._build_from(len(self._layers) - 1)
            except Exception:
                self._layers.pop()      # a layer that cannot be built is not added
                raise

    def pop(self):
        if not self._layers:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop")
        return self._layers.pop()

    def _output_shape_before(self, index):
        if index == 0:
            return (None,) + tuple(self._input_shape)
        return self._layers[index - 1].output_shape

    def _build_from(self, start):
        for index in range(start, len(self._layers)):
            layer = self._layers[index]
            shape = self._output_shape_before(index)
            if not layer.built:
                layer.build(shape)
            elif tuple(layer.input_shape[1:]) != tuple(shape[1:]):
                raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' was built for "
                                 f"inputs {shape_str(layer.input_shape)} but receives "
                                 f"{shape_str(shape)} here")

    def build(self, input_shape=None):
        """Build every layer for samples of ``input_shape`` (batch axis optional: ``(None, 784)``).

        If a layer refuses the shape, the build is undone, so the model is not left half-built
        for inputs it cannot take.
        """
        previous_shape = self._input_shape
        if input_shape is not None:
            input_shape = tuple(input_shape)
            if input_shape and input_shape[0] is None:
                input_shape = input_shape[1:]
            self._input_shape = tuple(int(d) for d in input_shape)
        if self._input_shape is None:
            raise ValueError(f"Sequential '{self.name}': the input shape is unknown; pass "
                             f"input_shape= to the first layer, start with Input(shape=...), or "
                             f"call build(input_shape)")
        unbuilt = [layer for layer in self._layers if not layer.built]
        try:
            self._build_from(0)
        except Exception:
            self._input_shape = previous_shape
            for layer in unbuilt:
                layer.discard_build()
            raise

    @property
    def built(self):
        return self._input_shape is not None and all(layer.built for layer in self._layers)

    @property
    def input_shape(self):
        return None if self._input_shape is None else (None,) + tuple(self._input_shape)

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self._layers and self.built else None

    @property
    def input_dtype(self):
        """The float type inputs are converted to: the ``Input``'s dtype, else ``floatx()``."""
        return self._input_dtype or backend.floatx()

    # ------------------------------------------------------------------ weights
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """``model.trainable = False`` freezes every layer, as in Keras (recompile afterwards)."""
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        return [v for layer in self._layers for v in layer.weights]

    variables = weights

    @property
    def trainable_weights(self):
        return [v for layer in self._layers for v in layer.trainable_weights]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [v for layer in self._layers for v in layer.non_trainable_weights]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        assign_all(self.weights, list(weights), f"Sequential '{self.name}'")

    def count_params(self):
        return sum(layer.count_params() for layer in self._layers)

    @property
    def losses(self):
        """Current regularization penalties of trainable weights (like ``model.losses``)."""
        return [penalty for layer in self._layers for penalty in layer.losses]

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, x, training):
        for layer in self._layers:
            x = layer.forward(x, training=training)
        return x

    def __call__(self, x, training=False):
        """Forward pass on one batch; ``training=True`` turns dropout on (MC dropout) and makes
        BatchNormalization use (and update) batch statistics, as in Keras."""
        with validation.prefix_errors(f"Sequential '{self.name}'"):
            training = validation.check_flag("training", training)
        return self._predict_batch(validation.prepare_inputs(self, x), training=training)

    def _backward(self, grad, grad_is_wrt_logits, lowest):
        """Backpropagate from the output down to layer ``lowest`` (the lowest trainable one)."""
        for index in range(len(self._layers) - 1, lowest - 1, -1):
            layer = self._layers[index]
            need_input_grad = index > lowest
            if grad_is_wrt_logits and index == len(self._layers) - 1:
                grad = layer.backward_from_logits(grad, need_input_grad)
            else:
                grad = layer.backward(grad, need_input_grad)

    def _training_plan(self):
        """The trainable variables and the lowest layer that needs a backward pass."""
        variables = self.trainable_weights
        lowest = next((i for i, layer in enumerate(self._layers) if layer.trainable_weights),
                      len(self._layers))
        return variables, lowest

    # ------------------------------------------------------------------ summary / config
    def summary(self, print_fn=None):
        """Print a Keras-like table: layer, output shape, parameter count, and the totals."""
        print_fn = print_fn or print
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 shape_str(layer.output_shape) if layer.built else "?",
                 f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
                for layer in self._layers]
        headers = ("Layer (type)", "Output Shape", "Param #")
        widths = [max([len(h)] + [len(r[i]) for r in rows]) + 2 for i, h in enumerate(headers)]
        widths = [max(widths[0], 33), max(widths[1], 24), max(widths[2], 15)]

        def line(left, mid, right, fill):
            return left + mid.join(fill * w for w in widths) + right

        def row(cells, sep="│"):
            parts = [f" {cells[0]:<{widths[0] - 2}} ", f" {cells[1]:<{widths[1] - 2}} ",
                     f" {cells[2]:>{widths[2] - 2}} "]
            return sep + sep.join(parts) + sep

        print_fn(f'Model: "{self.name}"')
        print_fn(line("┏", "┳", "┓", "━"))
        print_fn(row(headers, "┃"))
        print_fn(line("┡", "╇", "┩", "━"))
        for i, cells in enumerate(rows):
            print_fn(row(cells))
            if i < len(rows) - 1:
                print_fn(line("├", "┼", "┤", "─"))
        print_fn(line("└", "┴", "┘", "─"))
        trainable = sum(v.size for v in self.trainable_weights)
        non_trainable = sum(v.size for v in self.non_trainable_weights)
        itemsize = np.dtype(backend.floatx()).itemsize
        for label, count in (("Total", trainable + non_trainable), ("Trainable", trainable),
                             ("Non-trainable", non_trainable)):
            print_fn(f" {label} params: {count:,} ({_format_bytes(count * itemsize)})")

    def get_config(self):
        layer_configs = [{"class_name": type(layer).__name__, "config": layer.get_config()}
                         for layer in self._layers]
        config = {"name": self.name, "layers": layer_configs}
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the architecture (fresh weights) from :meth:`get_config` output.

        Layer classes are looked up by name in :data:`numpy_nn.layers.LAYER_CLASSES`, plus
        ``custom_objects`` (``{"MCAlphaDropout": MCAlphaDropout}``): your own Layer subclasses,
        given explicitly, since nothing is ever imported by name.
        """
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("Sequential.from_config: expected a dict with a 'layers' list")
        known = dict(LAYER_CLASSES)
        for name, layer_class in (custom_objects or {}).items():
            if not (isinstance(layer_class, type) and issubclass(layer_class, Layer)):
                raise TypeError(f"Sequential.from_config: custom_objects[{name!r}] must be a "
                                f"numpy_nn Layer subclass, got {layer_class!r}")
            known[name] = layer_class
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model._input_shape = tuple(int(d) for d in config["input_shape"])
        for entry in config["layers"]:
            if not isinstance(entry, dict):
                raise ValueError(f"Sequential.from_config: bad layer entry {entry!r}")
            class_name = entry.get("class_name")
            if not isinstance(class_name, str) or class_name not in known:
                raise ValueError(f"Sequential.from_config: unknown layer class {class_name!r}; "
                                 f"known: {', '.join(sorted(known))} (pass your own classes "
                                 f"as custom_objects)")
            layer_config = dict(entry.get("config") or {})
            if model._layers:   # only the first layer may declare the input shape
                layer_config.pop("input_shape", None)
            try:
                layer = known[class_name].from_config(layer_config)
            except TypeError as error:
                raise ValueError(f"Sequential.from_config: invalid config for {class_name}: "
                                 f"{error}") from None
            model.add(layer)
        return model

    def save(self, filepath, include_optimizer=True):
        """Save architecture, weights and (optionally) compile settings and optimizer state."""
        model_file.save_model(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath):
        model_file.save_weights(self, filepath)

    def load_weights(self, filepath):
        model_file.load_weights(self, filepath)

    def __repr__(self):
        return f"<Sequential name={self.name}, layers={len(self._layers)}>"


def _format_bytes(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.2f} {unit}"
        count /= 1024
