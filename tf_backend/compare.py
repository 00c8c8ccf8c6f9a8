"""Find the first tensor where a numpy_nn model and its Keras twin part, step by step.

:func:`compare` trains both models on the same batches from the same weights and compares, at
every step, each layer's forward output, the loss, each weight's gradient, the optimizer's
state and the weights after the update (BatchNormalization's moving statistics included), in
that order — the order the step computes them. Its result names the first comparison above
its tolerance: step, phase, layer, tensor, errors and the worst element.

**Teacher forcing** (the default). Each comparison starts from identical inputs: numpy_nn's
layer *i* gets Keras's output of layer *i - 1*; its backward pass gets Keras's gradient of the
layer's output (the loss's own gradient for the last layer); its optimizer gets Keras's
gradients, weights and optimizer state; after the step numpy_nn's weights, statistics and
optimizer state are set to Keras's. So an error is the rounding of one operation, not float32
chaos grown over steps, and the tolerances are the parity suite's per-component ones
(``parity_tests/tolerances.py``, :func:`parity_tests.tolerances.compare_tolerance`); a
divergence is where the code differs. ``teacher_forcing=False`` lets each engine run on its
own instead, to see how far the two trainings drift.

The Keras side uses Keras's public API only: the layers called one by one under
``tf.GradientTape`` (Keras's own logits shortcut applies), ``Model.compute_loss`` (the compiled
loss plus the layers' penalties), the optimizer's ``apply_gradients`` and its variables. Dropout
masks are random on each side; Dropout and AlphaDropout layers are therefore run on the Keras
side with numpy_nn's mask, through the formulas of ``keras/src/layers/regularization/``.

Statistics per (step, phase, layer, tensor), as Polygraphy reports them: the largest and mean
absolute error, the largest and mean error relative to the reference's largest magnitude
(:func:`parity_tests.tolerances.relative_error`), the worst index and a histogram of
log10(relative error).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from parity_tests.tolerances import compare_tolerance
from tf_backend import kinks

PHASES = ("forward", "loss", "gradient", "optimizer_state", "weights")
#: Keras 3's slot lists (``keras/src/optimizers/*.py::build``) by numpy_nn's slot name.
KERAS_SLOTS = {"momentum": ("momentums", "_momentums", "_m"),
               "velocity": ("_velocities",), "velocity_hat": ("_velocity_hats",),
               "accumulator": ("_accumulators",), "norm": ("_u",),
               "average_gradient": ("_average_gradients",)}
HISTOGRAM_EDGES = np.arange(-17.0, 1.0, 1.0)      # log10 of the relative error, per decade


@dataclass
class TensorComparison:
    """One tensor at one step: numpy_nn's value against Keras's."""

    step: int
    phase: str
    layer: str
    tensor: str
    max_abs_error: float
    mean_abs_error: float
    max_rel_error: float
    mean_rel_error: float
    tolerance: float
    worst_index: tuple
    histogram: list = field(repr=False)

    @property
    def passed(self):
        return self.max_rel_error <= self.tolerance

    def describe(self):
        return (f"step {self.step}, {self.phase}, layer '{self.layer}', tensor '{self.tensor}': "
                f"relative error {self.max_rel_error:.3g} > tolerance {self.tolerance:.1g} "
                f"(largest absolute error {self.max_abs_error:.3g} at index "
                f"{self.worst_index})")


@dataclass
class ComparisonResult:
    """What :func:`compare` returns: every comparison, in the order the steps compute them."""

    comparisons: list
    steps: int
    dtype: str
    #: per step, ``(numpy_nn's loss, Keras's loss)`` (with the penalties)
    losses: list = field(default_factory=list)

    @property
    def first_divergence(self):
        return next((c for c in self.comparisons if not c.passed), None)

    @property
    def passed(self):
        return self.first_divergence is None

    def worst(self, phase=None):
        """The comparison with the largest error relative to its tolerance."""
        chosen = [c for c in self.comparisons if phase is None or c.phase == phase]
        return max(chosen, key=lambda c: c.max_rel_error / c.tolerance, default=None)

    def summary(self):
        first = self.first_divergence
        if first is None:
            worst = self.worst()
            return (f"no divergence in {self.steps} steps ({len(self.comparisons)} tensors, "
                    f"{self.dtype}); closest to its tolerance: step {worst.step}, {worst.phase}, "
                    f"'{worst.layer}' {worst.tensor}, {worst.max_rel_error:.3g} of "
                    f"{worst.tolerance:.1g}")
        return "first divergence: " + first.describe()


def error_statistics(actual, desired, scale=None):
    """``(max_abs, mean_abs, max_rel, mean_rel, worst_index, histogram)`` of two arrays;
    relative means in units of ``scale`` (default: the reference's largest magnitude); a NaN,
    an infinity or a shape mismatch on one side is an infinite error."""
    actual = np.atleast_1d(np.asarray(actual, np.float64))
    desired = np.atleast_1d(np.asarray(desired, np.float64))
    if actual.shape != desired.shape:
        return math.inf, math.inf, math.inf, math.inf, (), [0] * (len(HISTOGRAM_EDGES) + 1)
    difference = np.abs(actual - desired)
    difference[np.isnan(actual) & np.isnan(desired)] = 0.0
    difference[np.isnan(difference)] = math.inf
    if difference.size == 0:
        return 0.0, 0.0, 0.0, 0.0, (), [0] * (len(HISTOGRAM_EDGES) + 1)
    if scale is None:
        finite = desired[np.isfinite(desired)]
        scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    relative = difference / scale if scale > 0 else difference
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(difference)), difference.shape))
    with np.errstate(divide="ignore"):
        decades = np.log10(relative.ravel())
    counts = np.bincount(np.searchsorted(HISTOGRAM_EDGES, decades, side="right"),
                         minlength=len(HISTOGRAM_EDGES) + 1).tolist()
    return (float(difference.max()), float(difference.mean()), float(relative.max()),
            float(relative.mean()), worst, counts)


def _largest(arrays):
    finite = [np.abs(a[np.isfinite(a)]) for a in (np.asarray(x, np.float64) for x in arrays)]
    return max((float(f.max()) for f in finite if f.size), default=0.0)


class _Recorder:
    r"""Accumulates the comparisons of one run, each in units of its scale.

    The scale is the error model's: a layer's tensors of one phase share the largest magnitude
    among them (a gradient or a moving mean that is zero in exact arithmetic, e.g. the beta of
    a BatchNormalization followed by another one, is rounding noise with no scale of its own:
    it is judged against its layer, as ``parity_tests.tolerances.layerwise_relative_error``
    does); an output computed by a matrix product is judged against the sum of its terms'
    magnitudes, :math:`\max(|x| |W| + |b|)`, the size its float rounding scales with, and a
    kernel gradient likewise against :math:`\max(|x|^\top |\delta|)`; a cross-entropy
    computed from logits against the batch's mean largest logit magnitude (log-sum-exp and
    the picked logit are of that size, their difference may be much smaller)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.comparisons = []
        self.losses = []
        self.keras_z = {}          # this step's Keras pre-activations of kinked layers

    def add(self, step, phase, layer, items, floor=0.0, allowances=None):
        """``items``: ``[(tensor name, numpy_nn's array, Keras's array)]`` of one layer;
        ``allowances``: absolute error a tensor may have beyond the tolerance (the kink term,
        :mod:`tf_backend.kinks`)."""
        scale = max(_largest(desired for _, _, desired in items), floor)
        for tensor, actual, desired in items:
            stats = error_statistics(actual, desired, scale)
            tolerance = compare_tolerance(phase, self.dtype)
            extra = (allowances or {}).get(tensor, 0.0)
            if extra:
                tolerance += extra / scale if scale > 0 else extra
            self.comparisons.append(TensorComparison(
                step, phase, layer, tensor, *stats[:4], tolerance, stats[4], stats[5]))


# ------------------------------------------------------------------------- one step
def _pairs(model, keras_model):
    """``[(layer, keras_layer, [(variable, keras_variable), ...])]``, matched by position and
    weight name, refusing models that do not line up."""
    if len(model.layers) != len(keras_model.layers):
        raise ValueError(f"compare: numpy_nn model '{model.name}' has {len(model.layers)} "
                         f"layers, the Keras model {len(keras_model.layers)}")
    pairs = []
    for layer, keras_layer in zip(model.layers, keras_model.layers):
        by_name = {v.name: v for v in keras_layer.weights}
        missing = [v.name for v in layer.weights if v.name not in by_name]
        if missing or len(by_name) != len(layer.weights):
            raise ValueError(f"compare: layer '{layer.name}' has weights "
                             f"{[v.name for v in layer.weights]}, Keras's "
                             f"'{keras_layer.name}' has {sorted(by_name)}")
        pairs.append((layer, keras_layer, [(v, by_name[v.name]) for v in layer.weights]))
    return pairs


def _keras_dropout(keras, layer, keras_layer, h):
    """Keras's Dropout / AlphaDropout formulas applied with numpy_nn's mask of this step."""
    ops = keras.ops
    if isinstance(keras_layer, keras.layers.AlphaDropout):
        keep = getattr(layer, "_keep", None)
        if keep is None:
            return h
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        rate = keras_layer.rate
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        kept = ops.convert_to_tensor(keep, h.dtype)
        return a * (h * kept + (1 - kept) * alpha_p) + b
    keep = getattr(layer, "_keep_mask", None)
    if keep is None:
        return h
    scale = ops.cast(1.0 / (1.0 - keras_layer.rate), h.dtype)
    return h * scale * ops.convert_to_tensor(keep.astype(np.dtype(h.dtype.name)), h.dtype)


def _terms_scale(layer, inputs):
    """``max(|x| |W| + |b|)`` for a layer with a kernel (the scale of its product's rounding),
    else 0."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None or inputs.ndim != 2:
        return 0.0
    terms = np.abs(inputs.astype(np.float64)) @ np.abs(kernel.value.astype(np.float64))
    bias = getattr(layer, "bias", None)
    if bias is not None:
        terms = terms + np.abs(bias.value)
    return float(terms.max()) if terms.size else 0.0


def _forward(keras, tf, pairs, x, step, record, teacher):
    """Both forward passes, layer by layer, numpy_nn fed Keras's inputs (``teacher``) or its
    own; returns the Keras outputs (on the tape) and numpy_nn's last output."""
    h = tf.convert_to_tensor(x)
    outputs, numpy_output = [], np.asarray(x)
    for layer, keras_layer, _ in pairs:
        inputs = np.array(h) if teacher else numpy_output
        numpy_output = layer.forward(inputs, training=True)
        if teacher and kinks.has_kink(layer):
            record.keras_z[layer.name] = kinks.keras_pre_activation(keras, keras_layer, h)
        if isinstance(keras_layer, (keras.layers.Dropout, keras.layers.AlphaDropout)):
            h = _keras_dropout(keras, layer, keras_layer, h)
        else:
            h = keras_layer(h, training=True)
        record.add(step, "forward", layer.name, [("output", numpy_output, np.array(h))],
                   floor=_terms_scale(layer, inputs))
        outputs.append(h)
    return outputs, numpy_output


def _backward(model, pairs, loss_grad, wrt_logits, upstream, teacher, keras_z):
    """numpy_nn's backward pass, each layer fed Keras's gradient of its output (``teacher``;
    the last layer its own loss gradient) or its own chain; then the penalties' gradients, as
    ``train_step`` adds them."""
    last = len(pairs) - 1
    own = loss_grad
    floors, allowances = {}, {}
    for index in range(last, -1, -1):
        layer = pairs[index][0]
        grad = np.array(upstream[index]) if teacher and index != last else own
        floors[layer.name] = _gradient_terms_scale(layer, grad, index == last and wrt_logits)
        allowances[layer.name] = kinks.allowances(layer, grad, keras_z.get(layer.name))
        if index == last and wrt_logits:
            own = layer.backward_from_logits(grad, need_input_grad=index > 0)
        else:
            own = layer.backward(grad, need_input_grad=index > 0)
    model._add_regularization(model.trainable_weights)
    return floors, allowances


def _gradient_terms_scale(layer, grad, from_logits):
    """``max(|x|^T |delta|)`` for a Dense layer, the scale of its kernel gradient's rounding
    (a sum over the batch of products, as a forward product is a sum over inputs), else 0."""
    inputs = getattr(layer, "_inputs", None)
    if getattr(layer, "kernel", None) is None or inputs is None or inputs.ndim != 2:
        return 0.0
    delta = grad if from_logits else layer.activation.backward(layer._z, layer._outputs, grad)
    terms = np.abs(inputs.astype(np.float64)).T @ np.abs(delta.astype(np.float64))
    return float(terms.max()) if terms.size else 0.0


def _keras_slot(optimizer, keras_variable, name):
    index = optimizer._get_variable_index(keras_variable)
    for attribute in KERAS_SLOTS.get(name, ()):
        slots = getattr(optimizer, attribute, None)
        if slots:
            return slots[index].numpy()
    raise ValueError(f"compare: Keras's {type(optimizer).__name__} has no '{name}' state")


def _keras_optimizer_state(optimizer, trainable):
    """Keras's optimizer state in :meth:`numpy_nn.optimizers.Optimizer.set_state`'s form."""
    state = {"iterations": int(optimizer.iterations.numpy())}
    for index, (_, keras_variable, slots) in enumerate(trainable):
        for name in slots:
            state[f"{index}/{name}"] = _keras_slot(optimizer, keras_variable, name)
    if hasattr(optimizer, "_u_product"):
        state["momentum_product"] = optimizer._u_product.numpy()
    return state


def _step(keras, tf, model, keras_model, pairs, x, y, step, record, teacher):
    trainable_keras = keras_model.trainable_variables
    keras_to_numpy = {id(kv): v for _, _, weights in pairs for v, kv in weights}
    trainable = [keras_to_numpy[id(kv)] for kv in trainable_keras]
    with tf.GradientTape() as tape:
        outputs, numpy_output = _forward(keras, tf, pairs, x, step, record, teacher)
        keras_loss = keras_model.compute_loss(x=x, y=y, y_pred=outputs[-1], training=True)
    keras_grads = tape.gradient(keras_loss, list(trainable_keras) + outputs[:-1])
    loss, loss_grad, wrt_logits = model._loss_and_grad(y, numpy_output, None)
    penalty = sum(model.losses) if model.losses else 0
    logits = pairs[-1][0].output_logits
    record.add(step, "loss", pairs[-1][0].name,
               [("value", loss + penalty, np.array(keras_loss))],
               floor=float(np.abs(logits).max(axis=-1).mean()) if logits is not None else 0.0)
    record.losses.append((float(loss + penalty), float(np.array(keras_loss))))
    floors, allowances = _backward(model, pairs, loss_grad, wrt_logits,
                                   keras_grads[len(trainable_keras):], teacher, record.keras_z)
    record.keras_z = {}
    param_grads = keras_grads[:len(trainable_keras)]
    position = {id(k): i for i, k in enumerate(trainable_keras)}
    for layer, _, weights in reversed(pairs):
        items = [(v.name, v.grad, np.array(param_grads[position[id(kv)]]))
                 for v, kv in weights if id(kv) in position]
        if items:
            record.add(step, "gradient", layer.name, items, floor=floors.get(layer.name, 0.0),
                       allowances=allowances.get(layer.name))
    # the optimizers, from the same weights, state and gradients (teacher) or their own
    model.optimizer.apply([np.array(g) for g in param_grads] if teacher else
                          [v.grad for v in trainable], trainable)
    keras_model.optimizer.apply_gradients(zip(param_grads, trainable_keras))
    slots = [(v, kv, list(model.optimizer.slots.get(v, {}))) for v, kv in
             zip(trainable, trainable_keras)]
    by_variable = {id(v): (kv, names) for v, kv, names in slots}
    for layer, _, weights in pairs:
        kinds = {}
        for variable, _ in weights:
            keras_variable, names = by_variable.get(id(variable), (None, []))
            for name in names:
                kinds.setdefault(name, []).append(
                    (f"{variable.name}/{name}", model.optimizer.slots[variable][name],
                     _keras_slot(keras_model.optimizer, keras_variable, name)))
        for items in kinds.values():        # a slot kind of one layer shares its scale
            record.add(step, "optimizer_state", layer.name, items)
    for layer, _, weights in pairs:
        if weights:
            record.add(step, "weights", layer.name,
                       [(v.name, v.value, kv.numpy()) for v, kv in weights])
    if not teacher:
        return
    # teacher forcing: the next step starts from Keras's state on both sides
    for _, _, weights in pairs:
        for variable, keras_variable in weights:
            variable.assign(keras_variable.numpy().astype(variable.dtype))
    model.optimizer.set_state(_keras_optimizer_state(keras_model.optimizer, slots), trainable)


def compare(numpy_model, keras_model, x, y, *, steps=20, batch_size=32, teacher_forcing=True,
            before_step=None):
    """Train both models ``steps`` steps on the same batches from numpy_nn's weights and
    compare every tensor of every step (see the module docstring).

    Args:
        numpy_model: a compiled numpy_nn ``Sequential``; its weights are the starting point
            (copied into Keras), and it is trained (teacher-forced) by the comparison.
        keras_model: a compiled ``keras.Sequential`` with the same layers, built by Keras
            (``keras.models.load_model``, your own code) or by ``tf_backend.to_keras``.
        x, y: training data; batch ``s`` is rows ``s*batch_size ...`` (wrapping around).
        steps, batch_size: how many steps, and the batch size.
        teacher_forcing: ``True`` (default): every comparison from identical inputs and state
            (an error is one operation's). ``False``: each engine runs on its own, so the
            errors show how far the two trainings drift (they grow; the tolerances do not).
        before_step: ``f(step, numpy_model, keras_model)`` called before each step, e.g. a
            learning rate set per batch as a callback would set it on each side.

    Returns:
        :class:`ComparisonResult`; ``result.first_divergence`` is ``None`` or the first
        :class:`TensorComparison` above its tolerance.
    """
    import keras
    import tensorflow as tf

    from tf_backend.convert import _model_dtype
    if not numpy_model.compiled or keras_model.optimizer is None:
        raise ValueError("compare: compile both models first")
    if int(steps) < 1 or int(batch_size) < 1:
        raise ValueError(f"compare: steps and batch_size must be >= 1, got {steps}, "
                         f"{batch_size}")
    dtype = _model_dtype(numpy_model)
    x, y = np.asarray(x, dtype), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"compare: x has {len(x)} samples and y {len(y)}; give the same "
                         f"number, at least one")
    record = _Recorder(dtype)
    previous = keras.config.floatx()        # Keras's float type, as the numpy_nn model's
    keras.config.set_floatx(dtype)
    try:
        if not keras_model.built:
            keras_model(x[:1])
        pairs = _pairs(numpy_model, keras_model)
        for _, _, weights in pairs:
            for variable, keras_variable in weights:
                keras_variable.assign(variable.value)
        for step in range(int(steps)):
            if before_step is not None:
                before_step(step, numpy_model, keras_model)
            rows = np.arange(step * batch_size, (step + 1) * batch_size) % len(x)
            _step(keras, tf, numpy_model, keras_model, pairs, x[rows], y[rows], step, record,
                  bool(teacher_forcing))
    finally:
        keras.config.set_floatx(previous)
    return ComparisonResult(record.comparisons, int(steps), dtype, record.losses)


if __name__ == "__main__":
    import sys

    from tf_backend.compare_report import main
    sys.exit(main())
