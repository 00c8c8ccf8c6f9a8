"""Trainer: ``compile`` / ``fit`` / ``evaluate`` / ``predict``, the training loop of a model.

As in Keras 3 (``keras/src/trainers/trainer.py::Trainer``, which ``keras/src/models/model.py``
mixes into every model), the loop is kept apart from the model's structure:
:class:`~numpy_nn.models.Sequential` holds the layers and weights and inherits this class.

One training step (:meth:`Trainer.train_step`) is the whole algorithm of the chapter::

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

import math

import numpy as np

from numpy_nn import backend
from numpy_nn import losses as losses_module
from numpy_nn import metrics as metrics_module
from numpy_nn import optimizers as optimizers_module
from numpy_nn.callbacks.callback_list import CallbackList
from numpy_nn.callbacks.progress import Progbar
from numpy_nn.models import jit, validation
from numpy_nn.models.loop import (
    VALIDATION_NAMES,
    batches,
    hold_out_tail,
    logs,
    nonfinite_handler,
    returned,
    undone_if_nonfinite,
    warned_if_nonfinite,
)


class Trainer:
    """The training loop, mixed into a model.

    The model provides its structure: ``_layers``, ``output_shape``, the weight lists,
    ``losses`` (the current penalties), ``_forward(x, training)``, ``_backward(grad,
    grad_is_wrt_logits, lowest)`` and ``_training_plan()``.
    """

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.metric_names: list = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._initial_epoch = None        # set by a callback resuming a run (see fit)
        self.jit_compile = False          # which path the steps take (numpy_nn.models.jit)
        self._jit_requested = False
        self._jit_reason = None           # said once by fit(verbose=...) for "auto"
        self._jit_pending = False         # compiled before it was built: decide at fit
        # set by a callback that watches one step's layer calls (LayerStatistics): that step
        # then runs on the reference path even when jit_compile is True
        self.inspect_next_step = False

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, jit_compile=False,
                **unknown):
        """Choose the optimizer, the loss and the metrics (``["accuracy"]``), and whether the
        steps run compiled (``jit_compile``: False, True or "auto"; :mod:`numpy_nn.models.jit`
        and the Speed guide say what each means)."""
        if unknown:
            raise TypeError(f"Sequential.compile: unsupported argument(s) {sorted(unknown)}")
        if loss is None:
            raise ValueError("Sequential.compile: a loss is required, e.g. loss='mse'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if self.loss.reduction != "sum_over_batch_size":
            raise ValueError(f"Sequential.compile: numpy_nn trains with the loss reduction "
                             f"'sum_over_batch_size' (Keras's default), got reduction="
                             f"{self.loss.reduction!r} (other reductions are for direct calls)")
        metrics = [] if metrics is None else metrics
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        if not isinstance(metrics, (list, tuple)):
            raise TypeError(f"Sequential.compile: metrics must be a list such as ['accuracy'], "
                            f"got {type(metrics).__name__}")
        metrics = [metrics_module.canonical(metric) for metric in metrics]
        for metric in metrics:
            metrics_module.get(metric, (1,), (1,))   # validates names and types now
        self.metric_names = metrics
        self.compiled = True
        backend.prime_blas()            # once per process: see its docstring
        self._jit_requested = jit.check(jit_compile)
        self._compiled_step = None
        self._resolve_jit()

    def _resolve_jit(self):
        """Decide ``self.jit_compile`` (once the model is built; see numpy_nn.models.jit)."""
        self._jit_pending = not self.built
        if self._jit_pending:
            self.jit_compile, self._jit_reason = False, None
            return
        self.jit_compile, reason = jit.resolve(self, self._jit_requested)
        self._jit_reason = (f"jit_compile='auto': {'compiled' if self.jit_compile else 'reference'}"
                            f" path ({reason})") if self._jit_requested == "auto" else None

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Sequential '{self.name}': call compile() before {what}()")

    def _checked_data(self, method, x, y, sample_weight, names=("x", "y", "sample_weight")):
        """``(x, y, sample_weight)`` as the loop expects them, or an error naming the argument."""
        x = validation.prepare_inputs(self, x, names[0])
        y = validation.check_targets(self, x, y, names[1])
        if sample_weight is not None:
            with validation.prefix_errors(method):
                sample_weight = validation.check_sample_weight(sample_weight, len(x), names[2])
        return x, y, sample_weight

    # ------------------------------------------------------------------ one step
    def train_step(self, x, y, sample_weight=None, plan=None, on_nonfinite=None):
        """One gradient step on a batch; returns ``(total_loss, y_pred)``: forward, loss,
        backward (with the regularization penalties), update.

        ``on_nonfinite``: ``None``, or a function called with the loss when the loss or a
        gradient is NaN/inf, *before* the optimizer step and with the non-trainable weights
        (BatchNormalization's moving statistics, updated by the forward pass) put back, so
        the batch leaves no trace (``fit(on_nonfinite="raise")`` passes one that raises).
        """
        if self.jit_compile and not self.inspect_next_step:
            return jit.compiled_step(self).train_step(x, y, sample_weight, on_nonfinite)
        variables, lowest = plan or self._training_plan()
        with undone_if_nonfinite(self.non_trainable_weights, on_nonfinite) as check_finite:
            y_pred = self._forward(x, training=True)
            loss, grad, wrt_logits = self._loss_and_grad(y, y_pred, sample_weight)
            if variables:
                self._backward(grad, wrt_logits, lowest)
                loss = loss + self._add_regularization(variables)
            check_finite(loss, variables)
        if variables:
            self.optimizer.apply([v.grad for v in variables], variables)
        return loss, y_pred

    def test_step(self, x, y, sample_weight=None, penalty=None):
        """Loss (with the regularization penalties) and predictions on a batch, in inference
        mode; returns ``(total_loss, y_pred)``. ``penalty`` is the penalties' sum when the
        caller has it already (the weights do not change while evaluating)."""
        if penalty is None:
            penalty = self._regularization_penalty()
        if self.jit_compile:
            return jit.compiled_step(self).test_step(x, y, sample_weight, penalty)
        y_pred = self._forward(x, training=False)
        loss, _, _ = self._loss_and_grad(y, y_pred, sample_weight)
        return loss + penalty, y_pred

    def _loss_and_grad(self, y, y_pred, sample_weight):
        """The loss, its gradient, and whether that gradient is with respect to the logits."""
        return self.loss.value_and_grad(y, y_pred, self._layers[-1].output_logits,
                                        sample_weight)

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

    # ------------------------------------------------------------------ metrics
    def _new_trackers(self, y_true_shape, y_pred_shape):
        """``{"loss": Mean, metric name: metric}``, all reset."""
        trackers = {"loss": metrics_module.Mean("loss")}
        for metric in self.metric_names:
            if isinstance(metric, str):
                metric = metrics_module.get(metric, y_true_shape, y_pred_shape)
            metric.reset()
            trackers[metric.name] = metric
        return trackers

    def _trackers_for(self, x, y):
        return self._new_trackers(y.shape, (len(x),) + tuple(self.output_shape[1:]))

    @staticmethod
    def _update_trackers(trackers, loss, y, y_pred, batch_len):
        """The loss tracker averages batch losses by batch size; the metrics are unweighted
        (keras/src/trainers/compile_utils.py::CompileMetrics.update_state gives sample weights
        to ``weighted_metrics`` only)."""
        for name, tracker in trackers.items():
            if name == "loss":
                tracker.update(loss, weight=batch_len)
            else:
                tracker.update_state(y, y_pred)

    # ------------------------------------------------------------------ on one batch
    def train_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """One step on one batch (no callbacks); returns the loss and metric values."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._checked_data("train_on_batch", x, y, sample_weight)
        trackers = self._trackers_for(x, y)
        loss, y_pred = self.train_step(x, y, sample_weight)
        self._update_trackers(trackers, loss, y, y_pred, len(x))
        return returned(logs(trackers), return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        x, y, sample_weight = self._checked_data("test_on_batch", x, y, sample_weight)
        return returned(self._evaluate_arrays(x, y, sample_weight, len(x)), return_dict)

    def predict_on_batch(self, x):
        return self._predict_batch(validation.prepare_inputs(self, x), training=False)

    def _predict_batch(self, x, training):
        """One batch's outputs, on the path ``jit_compile`` chose."""
        if self.jit_compile:
            return jit.compiled_step(self).predict(x, training)
        return self._forward(x, training=training)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, validation_batch_size=None,
            validation_freq=1, on_nonfinite="continue"):
        """Train for ``epochs`` epochs; returns the :class:`~numpy_nn.callbacks.History`.

        All arguments are Keras 3's (``keras/src/trainers/trainer.py::Trainer.fit``), plus one:

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
        settings = validation.check_fit_settings(
            batch_size, epochs, initial_epoch, validation_split, verbose, shuffle, callbacks,
            validation_freq, validation_batch_size, on_nonfinite)
        (x, y, sample_weight), val = self._fit_data(x, y, sample_weight, class_weight,
                                                    validation_data, settings)
        settings.steps = math.ceil(len(x) / settings.batch_size)
        callback_list = CallbackList(settings.callbacks, model=self, add_history=True,
                                     add_progbar=settings.verbose != 0, verbose=settings.verbose,
                                     epochs=settings.epochs, steps=settings.steps)
        self.history = callback_list.history
        self._announce_jit(settings.verbose)
        trackers, plan = self._trackers_for(x, y), self._training_plan()
        self.stop_training = False
        self._initial_epoch = None
        callback_list.on_train_begin()
        if self._initial_epoch is not None:     # set by a callback restoring a backup
            settings.initial_epoch, self._initial_epoch = self._initial_epoch, None
        epoch_logs = {}
        for epoch in range(settings.initial_epoch, settings.epochs):
            epoch_logs = self._train_epoch(epoch, (x, y, sample_weight), settings, trackers, plan,
                                           callback_list)
            if val is not None and (epoch + 1) % settings.validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, settings.validation_batch_size,
                                                 callbacks=callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _fit_data(self, x, y, sample_weight, class_weight, validation_data, settings):
        """``((x, y, sample_weight), validation or None)``, checked: class weights folded into
        the sample weights, ``validation_split``'s tail held out."""
        x, y, sample_weight = self._checked_data("fit", x, y, sample_weight)
        if class_weight is not None:
            with validation.prefix_errors("fit"):
                sample_weight = validation.class_weights_to_sample_weights(class_weight, y,
                                                                           sample_weight)
        if validation_data is None and settings.validation_split > 0:
            (x, y, sample_weight), validation_data = hold_out_tail(x, y, sample_weight,
                                                                   settings.validation_split)
        val = None
        if validation_data is not None:
            val = self._checked_data("fit", *validation.check_validation_data(validation_data),
                                     names=VALIDATION_NAMES)
        return (x, y, sample_weight), val

    def _announce_jit(self, verbose):
        """Decide the path if the model was compiled before it was built; say "auto"'s choice
        once."""
        if self._jit_pending:
            self._resolve_jit()
        if self._jit_reason is not None and verbose:
            print(self._jit_reason)
            self._jit_reason = None

    def _train_epoch(self, epoch, data, settings, trackers, plan, callbacks):
        """One pass over the training data, in a fresh order; returns the epoch's logs."""
        x, y, sample_weight = data
        for tracker in trackers.values():
            tracker.reset()
        callbacks.on_epoch_begin(epoch)
        order = backend.rng().permutation(len(x)) if settings.shuffle else None
        wants_batch_logs = callbacks.wants("on_train_batch_end")
        compiled = jit.compiled_step(self) if self.jit_compile else None
        for step, batch in enumerate(batches(len(x), settings.batch_size, order)):
            callbacks.on_train_batch_begin(step)
            on_nonfinite = nonfinite_handler(settings, epoch, step)
            if compiled is not None and not self.inspect_next_step:
                # gathers the batch into the step's own buffers and updates the trackers in
                # place: a steady compiled step makes no array
                compiled.train_batch(x, y, sample_weight, batch, on_nonfinite, trackers)
            else:
                x_batch, y_batch = x[batch], y[batch]
                w_batch = None if sample_weight is None else sample_weight[batch]
                loss, y_pred = self.train_step(x_batch, y_batch, w_batch, plan, on_nonfinite)
                self._update_trackers(trackers, loss, y_batch, y_pred, len(y_pred))
            if wants_batch_logs:
                callbacks.on_train_batch_end(step, logs(trackers))
            if self.stop_training:
                break
        return warned_if_nonfinite(self, epoch, logs(trackers))

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, x, y, sample_weight, batch_size, progbar=None, callbacks=None):
        """Loss and metrics over checked arrays, firing the ``on_test_*`` hooks."""
        callbacks = callbacks if callbacks is not None else CallbackList()
        trackers = self._trackers_for(x, y)
        penalty = self._regularization_penalty()
        wants_batch_logs = callbacks.wants("on_test_batch_end")
        callbacks.on_test_begin()
        for step, batch in enumerate(batches(len(x), batch_size)):
            callbacks.on_test_batch_begin(step)
            w_batch = None if sample_weight is None else sample_weight[batch]
            loss, y_pred = self.test_step(x[batch], y[batch], w_batch, penalty)
            self._update_trackers(trackers, loss, y[batch], y_pred, len(y_pred))
            if progbar is not None:
                progbar.update(step + 1, logs(trackers))
            if wants_batch_logs:
                callbacks.on_test_batch_end(step, logs(trackers))
        results = logs(trackers)
        callbacks.on_test_end(results)
        return results

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False, callbacks=None):
        """Loss (with penalties) and metrics in inference mode: ``[loss, accuracy]``.

        ``callbacks`` get ``on_test_begin``, ``on_test_batch_begin/end`` and ``on_test_end``.
        """
        self._require_compiled("evaluate")
        with validation.prefix_errors("evaluate"):
            batch_size = validation.check_batch_size(batch_size)
            verbose = validation.check_verbose(verbose)
            callbacks = validation.check_callbacks(callbacks)
        x, y, sample_weight = self._checked_data("evaluate", x, y, sample_weight)
        steps = math.ceil(len(x) / batch_size)
        progbar = Progbar(steps, verbose=verbose) if verbose else None
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, epochs=1,
                                     steps=steps)
        results = self._evaluate_arrays(x, y, sample_weight, batch_size, progbar, callback_list)
        if progbar is not None:
            progbar.update(progbar.target, results, finalize=True)
        return returned(results, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for ``x`` in inference mode, computed in batches.

        ``callbacks`` get ``on_predict_begin``, ``on_predict_batch_begin/end`` (with the
        batch's ``{"outputs": ...}``) and ``on_predict_end``.
        """
        with validation.prefix_errors("predict"):
            batch_size = validation.check_batch_size(batch_size)
            verbose = validation.check_verbose(verbose)
            callbacks = validation.check_callbacks(callbacks)
        x = validation.prepare_inputs(self, x)
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, epochs=1,
                                     steps=math.ceil(len(x) / batch_size))
        callback_list.on_predict_begin()
        outputs = []
        for step, batch in enumerate(batches(len(x), batch_size)):
            callback_list.on_predict_batch_begin(step)
            outputs.append(self._predict_batch(x[batch], training=False))
            callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        return np.concatenate(outputs, axis=0)
