"""Sequential: a stack of layers, and the training loop that drives it.

One training step (:meth:`Sequential.train_step`) is the whole algorithm of the chapter::

    y_pred = forward(x, training=True)        each layer caches what its backward needs
    loss, g = loss.value_and_grad(y, y_pred)  from the logits when the output is softmax/sigmoid
    backward(g)                               each layer returns dx and stores its weight grads
    + regularizer penalties and their grads   only for trainable weights
    optimizer.apply(grads, variables)         clip -> update -> constrain -> iterations += 1
    metrics.update(y, y_pred)                 running, sample-weighted

``fit`` adds batching, shuffling, validation and callbacks around it with Keras 3's rules:
batches of 32 by default with the last partial batch kept; a fresh permutation each epoch;
``validation_split`` holds out the *tail* before shuffling; validation runs after the epoch
with the end-of-epoch weights in inference mode; epoch values are sample-weighted means.

Which weights are trainable is read when ``fit`` starts (Keras reads it at ``compile``;
the chapter always recompiles after changing ``trainable``, so both agree there).
"""
from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from numpy_nn import backend, losses as losses_module, metrics as metrics_module
from numpy_nn import optimizers as optimizers_module
from numpy_nn.callbacks.callback_list import CallbackList
from numpy_nn.callbacks.progress import Progbar
from numpy_nn.errors import NonFiniteLossError
from numpy_nn.layers import LAYER_CLASSES
from numpy_nn.layers.base import Layer, _shape_str, unique_name
from numpy_nn.layers.core import InputLayer
from numpy_nn.models import validation
from numpy_nn.saving import model_file
from numpy_nn.variables import assign_all


class Sequential:
    """A linear stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Args:
        layers: list of layers (an ``Input``/``InputLayer`` first, or ``input_shape=`` on the
            first layer, lets the model build at once so ``summary()`` works before ``fit``).
        name: model name.
    """

    def __init__(self, layers=None, name=None):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_shape = None          # one sample's shape, e.g. (28, 28)
        self._input_dtype = None
        self.optimizer = None
        self.loss = None
        self.metric_names: list = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._trainable = True
        self._initial_epoch = None        # set by a callback resuming a run (see fit)
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self):
        return list(self._layers)

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
                                 f"inputs {_shape_str(layer.input_shape)} but receives "
                                 f"{_shape_str(shape)} here")

    def build(self, input_shape=None):
        """Build every layer for samples of ``input_shape`` (batch axis optional: ``(None, 784)``)."""
        if input_shape is not None:
            input_shape = tuple(input_shape)
            if input_shape and input_shape[0] is None:
                input_shape = input_shape[1:]
            self._input_shape = tuple(int(d) for d in input_shape)
        if self._input_shape is None:
            raise ValueError(f"Sequential '{self.name}': the input shape is unknown; pass "
                             f"input_shape= to the first layer, start with Input(shape=...), or "
                             f"call build(input_shape)")
        self._build_from(0)

    def _build_for_inputs(self, sample_shape):
        """Build from the first data seen; if a layer refuses the shape, undo the whole build
        so the model is not left half-built for inputs it cannot take."""
        unbuilt = [layer for layer in self._layers if not layer.built]
        try:
            self.build(sample_shape)
        except Exception:
            self._input_shape = None
            for layer in unbuilt:
                layer.built = False
                layer.input_shape = layer.output_shape = None
                layer._variables = []
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
        return [v.regularizer(v.value) for v in self.trainable_weights
                if v.regularizer is not None]

    # ------------------------------------------------------------------ forward / backward
    def _prepare_inputs(self, x, argument="x"):
        """``x`` as a float array of the model's input shape, or a clear error.

        See :mod:`numpy_nn.models.validation` for what is accepted and converted.
        """
        owner = f"Sequential '{self.name}'"
        if not self._layers:
            raise ValueError(f"{owner} has no layers")
        try:
            x = validation.as_numeric_array(x, argument)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{owner}: {error}") from None
        if x.ndim == 0:
            raise ValueError(f"{owner}: {argument} must be a batch of samples, got a scalar")
        if x.shape[0] == 0:
            raise ValueError(f"{owner}: {argument} is empty (0 samples)")
        if 0 in x.shape:
            raise ValueError(f"{owner}: {argument} has shape {x.shape}, with an empty axis")
        if self._input_shape is not None and x.shape[1:] != tuple(self._input_shape):
            first = self._layers[0].name
            raise ValueError(f"{owner}: layer '{first}' expects inputs of shape "
                             f"{_shape_str(self.input_shape)}, got {argument} of shape "
                             f"{_shape_str((None,) + x.shape[1:])}")
        try:
            # integers (pixels, say) are converted to floats on purpose, here
            x = validation.to_float_array(x, np.dtype(self._input_dtype or backend.floatx()),
                                          argument)
        except ValueError as error:
            raise ValueError(f"{owner}: {error}") from None
        if self._input_shape is None:       # only data that passed every check builds
            self._build_for_inputs(x.shape[1:])
        return x

    def _forward(self, x, training):
        for layer in self._layers:
            x = layer.call(x, training=training) if layer._call_accepts_training else layer.call(x)
        return x

    def __call__(self, x, training=False):
        """Forward pass on one batch; ``training=True`` turns dropout on (MC dropout) and makes
        BatchNormalization use (and update) batch statistics, as in Keras."""
        with _named(f"Sequential '{self.name}'"):
            training = validation.check_flag("training", training)
        return self._forward(self._prepare_inputs(x), training=training)

    def _backward(self, grad, grad_is_wrt_logits, lowest):
        """Backpropagate from the output down to layer ``lowest`` (the lowest trainable one)."""
        for index in range(len(self._layers) - 1, lowest - 1, -1):
            layer = self._layers[index]
            need_input_grad = index > lowest
            if grad_is_wrt_logits and index == len(self._layers) - 1:
                grad = layer.backward_from_logits(grad, need_input_grad)
            else:
                grad = layer.backward(grad, need_input_grad)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **unknown):
        """Choose the optimizer, the loss and the metrics (``["accuracy"]``)."""
        if unknown:
            raise TypeError(f"Sequential.compile: unsupported argument(s) {sorted(unknown)}")
        if loss is None:
            raise ValueError("Sequential.compile: a loss is required, e.g. "
                             "loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, metrics_module.MeanMetricWrapper)):
            metrics = [metrics]
        if not isinstance(metrics, (list, tuple)):
            raise TypeError(f"Sequential.compile: metrics must be a list such as ['accuracy'], "
                            f"got {type(metrics).__name__}")
        for metric in metrics:
            metrics_module.get(metric, (1,), (1,))   # validates names and types now
        self.metric_names = list(metrics)
        self._metrics = None
        self.compiled = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Sequential '{self.name}': call compile() before {what}()")

    def _make_metrics(self, y_true_shape, y_pred_shape):
        built = []
        for metric in self.metric_names:
            if isinstance(metric, str):
                built.append(metrics_module.get(metric, y_true_shape, y_pred_shape))
            else:
                built.append(metric)
        return built

    def _check_targets(self, x, y, argument="y"):
        """``y`` as targets the loss accepts for ``len(x)`` samples, or a clear error."""
        owner = f"Sequential '{self.name}'"
        try:
            y = validation.as_numeric_array(y, argument)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{owner}: {error}") from None
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"{owner}: x has {len(x)} samples but {argument} has "
                             f"{'none (a scalar)' if y.ndim == 0 else len(y)}")
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(f"{owner}: {argument} contains NaN or infinity")
        output_shape = (len(x),) + tuple(self.output_shape[1:])
        try:
            self.loss.check_targets(y, np.empty(output_shape, np.float32))
        except (ValueError, TypeError) as error:
            # the loss knows what is wrong; say which argument and which layer it is about
            raise type(error)(f"{owner}: {argument} does not fit the output layer "
                              f"'{self._layers[-1].name}': {error}") from None
        return y

    # ------------------------------------------------------------------ one step
    def _training_plan(self):
        """The trainable variables and the lowest layer that needs a backward pass."""
        variables = self.trainable_weights
        lowest = next((i for i, layer in enumerate(self._layers) if layer.trainable_weights),
                      len(self._layers))
        return variables, lowest

    def train_step(self, x, y, sample_weight=None, plan=None, on_nonfinite=None):
        """One gradient step on a batch; returns ``(total_loss, y_pred)``.

        ``on_nonfinite``: ``None``, or a function called with the loss when the loss or a
        gradient is NaN/inf, *before* the optimizer step and with the non-trainable weights
        (BatchNormalization's moving statistics, updated by the forward pass) put back, so
        the batch leaves no trace (``fit(on_nonfinite="raise")`` passes one that raises).
        """
        variables, lowest = plan or self._training_plan()
        trains = lowest < len(self._layers)
        if on_nonfinite is not None:
            saved = [(v, v.value.copy()) for v in self.non_trainable_weights]
        y_pred = self._forward(x, training=True)
        loss_value, grad, wrt_logits = self.loss.value_and_grad(
            y, y_pred, self._layers[-1].output_logits, sample_weight)
        total_loss = loss_value
        if trains:
            self._backward(grad, wrt_logits, lowest)
            total_loss = total_loss + self._add_regularization(variables)
        if on_nonfinite is not None and not (
                np.isfinite(total_loss)
                and all(np.all(np.isfinite(v.grad)) for v in (variables if trains else []))):
            for variable, value in saved:
                variable.assign(value)
            on_nonfinite(total_loss)
        if trains:
            self.optimizer.apply([v.grad for v in variables], variables)
        return total_loss, y_pred

    @staticmethod
    def _add_regularization(variables):
        """Add each penalty's gradient to its variable's grad; return the summed penalty."""
        penalty = 0
        for variable in variables:
            if variable.regularizer is not None:
                penalty = penalty + variable.regularizer(variable.value)
                variable.grad = variable.grad + variable.regularizer.gradient(variable.value)
        return penalty

    def _regularization_penalty(self):
        penalty = np.zeros((), backend.floatx())
        for value in self.losses:
            penalty = penalty + value
        return penalty

    def train_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """One step on one batch (no callbacks); returns the loss and metric values."""
        self._require_compiled("train_on_batch")
        x = self._prepare_inputs(x)
        y = self._check_targets(x, y)
        if sample_weight is not None:
            with _named("train_on_batch"):
                sample_weight = validation.check_sample_weight(sample_weight, len(x))
        trackers = self._new_trackers(y.shape, (len(x),) + tuple(self.output_shape[1:]))
        loss, y_pred = self.train_step(x, y, sample_weight)
        self._update_trackers(trackers, loss, y, y_pred, len(x))
        return self._results(trackers, return_dict)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, validation_batch_size=None,
            validation_freq=1, on_nonfinite="continue"):
        """Train for ``epochs`` epochs; returns the :class:`~numpy_nn.callbacks.History`.

        All arguments are Keras 3's, plus one:

        ``on_nonfinite``: what to do when a batch's loss (or a gradient) is NaN or infinite.
        ``"continue"`` (the default, Keras's behaviour) trains on; add
        ``callbacks.TerminateOnNaN()`` to stop quietly after that batch. ``"raise"`` raises
        :class:`~numpy_nn.errors.NonFiniteLossError` naming the epoch and the batch, *before*
        the optimizer applies the bad step and without calling ``on_epoch_end`` (so the
        model keeps its last finite weights and no checkpoint callback saves a broken model).

        A callback's ``on_train_begin`` may set ``model._initial_epoch`` to resume from a later
        epoch (as Keras's ``BackupAndRestore`` does).
        """
        self._require_compiled("fit")
        with _named("fit"):
            batch_size = validation.check_batch_size(batch_size)
            epochs = validation.check_int("epochs", epochs, minimum=0)
            initial_epoch = validation.check_int("initial_epoch", initial_epoch, minimum=0)
            if epochs < initial_epoch:
                raise ValueError(f"epochs ({epochs}) must be >= initial_epoch ({initial_epoch})")
            validation_split = validation.check_validation_split(validation_split)
            verbose = validation.check_verbose(verbose)
            shuffle = validation.check_flag("shuffle", shuffle)
            callbacks = validation.check_callbacks(callbacks)
            validation_freq = validation.check_int("validation_freq", validation_freq, minimum=1)
            if validation_batch_size is not None:
                validation_batch_size = validation.check_batch_size(validation_batch_size,
                                                                    "validation_batch_size")
            raise_on_nonfinite = validation.check_choice(
                "on_nonfinite", on_nonfinite, validation.ON_NONFINITE_VALUES) == "raise"
        x = self._prepare_inputs(x)
        y = self._check_targets(x, y)
        with _named("fit"):
            if sample_weight is not None:
                sample_weight = validation.check_sample_weight(sample_weight, len(x))
            if class_weight is not None:
                sample_weight = validation.class_weights_to_sample_weights(class_weight, y,
                                                                           sample_weight)

        if validation_data is None and validation_split > 0:
            split = int(math.floor(len(x) * (1 - validation_split)))
            if split == 0 or split == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or "
                                 f"no validation samples out of {len(x)}")
            validation_data = (x[split:], y[split:])
            x, y = x[:split], y[:split]
            if sample_weight is not None:
                sample_weight = sample_weight[:split]
        if validation_data is not None:
            val_x, val_y, val_w = self._check_validation_data(validation_data)

        n = len(x)
        steps = math.ceil(n / batch_size)
        callback_list = CallbackList(callbacks, model=self, add_history=True,
                                     add_progbar=verbose != 0, verbose=verbose, epochs=epochs,
                                     steps=steps)
        self.history = callback_list.history
        trackers = self._new_trackers(y.shape, (n,) + tuple(self.output_shape[1:]))
        plan = self._training_plan()
        wants_batch_logs = callback_list.wants("on_train_batch_end")
        self.stop_training = False
        self._initial_epoch = None
        callback_list.on_train_begin()
        if self._initial_epoch is not None:     # set by a callback restoring a backup
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            for tracker in trackers.values():
                tracker.reset()
            callback_list.on_epoch_begin(epoch)
            order = backend.rng().permutation(n) if shuffle else None
            for step in range(steps):
                callback_list.on_train_batch_begin(step)
                if order is None:
                    batch = slice(step * batch_size, (step + 1) * batch_size)
                else:
                    batch = order[step * batch_size:(step + 1) * batch_size]
                x_batch, y_batch = x[batch], y[batch]
                w_batch = None if sample_weight is None else sample_weight[batch]
                guard = (functools.partial(_raise_nonfinite, epoch=epoch, batch=step,
                                           epochs=epochs, steps=steps)
                         if raise_on_nonfinite else None)
                loss, y_pred = self.train_step(x_batch, y_batch, w_batch, plan, guard)
                self._update_trackers(trackers, loss, y_batch, y_pred, len(x_batch))
                if wants_batch_logs:
                    batch_logs = {name: float(t.result()) for name, t in trackers.items()}
                    callback_list.on_train_batch_end(step, batch_logs)
                if self.stop_training:
                    break
            epoch_logs = {name: float(t.result()) for name, t in trackers.items()}
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(val_x, val_y, val_w,
                                                 validation_batch_size or batch_size)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _check_validation_data(self, validation_data):
        """``(x_val, y_val, sample_weight_or_None)`` from fit's ``validation_data``."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            given = type(validation_data).__name__
            if isinstance(validation_data, (tuple, list)):
                given += f" of length {len(validation_data)}"
            raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val) or "
                             f"(x_val, y_val, sample_weight), got {given}")
        val_x = self._prepare_inputs(validation_data[0], "validation_data[0]")
        val_y = self._check_targets(val_x, validation_data[1], "validation_data[1]")
        val_w = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            with _named("fit"):
                val_w = validation.check_sample_weight(validation_data[2], len(val_x),
                                                       "validation_data[2]")
        return val_x, val_y, val_w

    # ------------------------------------------------------------------ evaluate / predict
    def _new_trackers(self, y_true_shape, y_pred_shape):
        trackers = {"loss": metrics_module.Mean("loss")}
        for metric in self._make_metrics(y_true_shape, y_pred_shape):
            metric.reset()
            trackers[metric.name] = metric
        return trackers

    @staticmethod
    def _update_trackers(trackers, loss, y, y_pred, batch_len):
        for name, tracker in trackers.items():
            if name == "loss":
                tracker.update(loss, weight=batch_len)
            else:
                tracker.update_state(y, y_pred)

    @staticmethod
    def _results(trackers, return_dict):
        results = {name: float(t.result()) for name, t in trackers.items()}
        if return_dict:
            return results
        values = list(results.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_arrays(self, x, y, sample_weight, batch_size, progbar=None):
        trackers = self._new_trackers(y.shape, (len(x),) + tuple(self.output_shape[1:]))
        penalty = self._regularization_penalty()
        steps = math.ceil(len(x) / batch_size)
        for step in range(steps):
            batch = slice(step * batch_size, (step + 1) * batch_size)
            y_pred = self._forward(x[batch], training=False)
            w = None if sample_weight is None else np.asarray(sample_weight)[batch]
            loss_value, _, _ = self.loss.value_and_grad(y[batch], y_pred,
                                                        self._layers[-1].output_logits, w)
            self._update_trackers(trackers, loss_value + penalty, y[batch], y_pred,
                                  len(y_pred))
            if progbar is not None:
                progbar.update(step + 1, {n: float(t.result()) for n, t in trackers.items()})
        return {name: float(t.result()) for name, t in trackers.items()}

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Loss (with penalties) and metrics in inference mode: ``[loss, accuracy]``."""
        self._require_compiled("evaluate")
        with _named("evaluate"):
            batch_size = validation.check_batch_size(batch_size)
            verbose = validation.check_verbose(verbose)
        x = self._prepare_inputs(x)
        y = self._check_targets(x, y)
        if sample_weight is not None:
            with _named("evaluate"):
                sample_weight = validation.check_sample_weight(sample_weight, len(x))
        progbar = Progbar(math.ceil(len(x) / batch_size), verbose=verbose) if verbose else None
        results = self._evaluate_arrays(x, y, sample_weight, batch_size, progbar)
        if progbar is not None:
            progbar.update(progbar.target, results, finalize=True)
        if return_dict:
            return results
        values = list(results.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto"):
        """Outputs for ``x`` in inference mode, computed in batches."""
        with _named("predict"):
            batch_size = validation.check_batch_size(batch_size)
            validation.check_verbose(verbose)
        x = self._prepare_inputs(x)
        outputs = [self._forward(x[i:i + batch_size], training=False)
                   for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs, axis=0)

    def predict_on_batch(self, x):
        return self._forward(self._prepare_inputs(x), training=False)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        x = self._prepare_inputs(x)
        y = self._check_targets(x, y)
        if sample_weight is not None:
            with _named("test_on_batch"):
                sample_weight = validation.check_sample_weight(sample_weight, len(x))
        results = self._evaluate_arrays(x, y, sample_weight, len(x))
        if return_dict:
            return results
        values = list(results.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ summary / config
    def summary(self, print_fn=None):
        """Print a Keras-like table: layer, output shape, parameter count, and the totals."""
        print_fn = print_fn or print
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 _shape_str(layer.output_shape) if layer.built else "?",
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


@contextlib.contextmanager
def _named(method):
    """Prefix argument errors raised inside the block with the method's name."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise type(error)(f"{method}: {error}") from None


def _raise_nonfinite(loss, epoch, batch, epochs, steps):
    what = (f"the loss became {float(loss)}" if not np.isfinite(loss)
            else f"a gradient became NaN or infinite (loss {float(loss)})")
    raise NonFiniteLossError(
        f"fit: {what} in epoch {epoch + 1}/{epochs}, batch {batch + 1}/{steps} (0-based: "
        f"epoch {epoch}, batch {batch}); training stopped before applying this step, so the "
        f"model keeps its weights from before this batch", epoch=epoch, batch=batch,
        loss=float(loss))
