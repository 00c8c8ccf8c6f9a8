r"""LayerStatistics: watch gradients vanish or explode, layer by layer, while a model trains.

The chapter's central problem is that the signal (forward) and the gradient (backward) shrink
or grow geometrically with depth unless initialization, activation and normalization keep
their variance near one. This callback records, on selected training batches, for every layer
:math:`\ell` of the model:

==========================  ==============================================================
``activation_mean``         :math:`\operatorname{mean}(y_\ell)` over the batch and the units
``activation_std``          :math:`\operatorname{std}(y_\ell)`
``saturated_fraction``      share of units whose local derivative :math:`|f'(z)|` is below
                            1% of the activation's largest derivative (see below)
``input_grad_norm``         :math:`\lVert \partial L / \partial x_\ell \rVert_2`, the gradient
                            the layer passes down (Frobenius norm over the batch)
``weight_grad_norm``        :math:`\sqrt{\sum_W \lVert \partial L / \partial W \rVert_2^2}` over
                            the layer's trainable weights (penalties included, as the
                            optimizer sees it)
``update_ratio``            :math:`\lVert \Delta W \rVert_2 / \lVert W \rVert_2`, the step the
                            optimizer took relative to the weights (about :math:`10^{-3}` is
                            the usual healthy order of magnitude)
==========================  ==============================================================

**Saturation**, for every activation the same rule: a unit is saturated when almost no
gradient passes through it, :math:`|f'(z)| < 0.01 \max_t |f'(t)|`. For ReLU that is exactly
the units whose output is 0 (dead or inactive, :math:`f'(z) = 0`); for the sigmoid,
:math:`\sigma(z)(1-\sigma(z)) < 0.0025`, i.e. outputs within about 0.0025 of 0 or 1; for tanh,
:math:`|y| > 0.995`; for ELU/SELU, :math:`z < \ln 0.01 \approx -4.6`; leaky ReLU with a slope
above 0.01 and the identity never saturate. For softmax (not element-wise) it is the share of
samples whose largest probability exceeds 0.99. Layers without an activation (Flatten,
Dropout, BatchNormalization) record NaN there.

**When**: ``every="epoch"`` records the first batch of every epoch (so the first row shows
the network as initialized, where vanishing gradients show most plainly, and each later row
the weights reached at the end of the previous epoch); ``every=k`` records every k-th
training batch, counted across epochs from 0. Recording costs one extra pass over each
layer's output and a copy of its weights, on the recorded batches only.

**How**: while training, the callback wraps each layer's ``call`` and ``backward`` on the
layer *instance* (the class is untouched) so it sees every layer's input, output and input
gradient; the wrappers are removed in ``on_train_end``. With ``compile(jit_compile=True)``
the recorded batches take the reference step (``model.inspect_next_step``), whose layer
calls the wrappers see; the others stay compiled. On recorded batches the lowest
backpropagated layer also computes its input gradient, which training alone skips.

The values are kept in :attr:`LayerStatistics.history` — a dict ``{quantity: array of shape
(records, layers)}`` — with :attr:`steps`, :attr:`epochs` and :attr:`layer_names` describing
the axes. :func:`plot_layer_statistics` draws them. When a :class:`~numpy_nn.callbacks.TensorBoard`
callback is in the same ``fit`` (found in the callback list at ``on_train_begin``, or given as
``tensorboard=``), every value also goes to TensorBoard as a scalar
(``layer_statistics/<quantity>/<layer>``) and the activations and input gradients as
histograms, on that callback's ``train`` writer, with the global batch count as step.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.loggers import TensorBoard

__all__ = ["QUANTITIES", "LayerStatistics", "plot_layer_statistics", "saturated_fraction"]

#: The recorded quantities, in the order they are plotted.
QUANTITIES = ("activation_mean", "activation_std", "saturated_fraction", "input_grad_norm",
              "weight_grad_norm", "update_ratio")

#: A unit is saturated when its derivative is below this share of the activation's largest.
SATURATION_THRESHOLD = 0.01

_max_derivative_cache: dict = {}


def _max_derivative(function):
    """:math:`\\max_t |f'(t)|` over :math:`t \\in [-10, 10]` (a fine grid), cached per
    activation."""
    key = (type(function).__name__, repr(sorted(function.get_config().items())))
    if key not in _max_derivative_cache:
        t = np.linspace(-10.0, 10.0, 20001)
        derivative = function.backward(t, function.forward(t), np.ones_like(t))
        _max_derivative_cache[key] = float(np.max(np.abs(derivative)))
    return _max_derivative_cache[key]


def saturated_fraction(function, z, y):
    """Share of the entries of ``z`` (pre-activations; ``y = function(z)``) that are saturated,
    by the rule in the module docstring."""
    if getattr(function, "name", None) == "softmax":
        return float(np.mean(np.max(y, axis=-1) > 1 - SATURATION_THRESHOLD))
    peak = _max_derivative(function)
    if peak == 0:
        return float("nan")
    derivative = function.backward(z, y, np.ones_like(y))
    return float(np.mean(np.abs(derivative) < SATURATION_THRESHOLD * peak))


def _norm(arrays):
    return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


class LayerStatistics(Callback):
    """Record per-layer activation and gradient statistics during ``fit`` (see the module
    docstring for each quantity's definition).

    Args:
        every: ``"epoch"`` (the first batch of each epoch) or a positive int ``k`` (every
            k-th training batch).
        tensorboard: ``"auto"`` (default) writes to the :class:`~numpy_nn.callbacks.TensorBoard`
            callback of the same ``fit`` if there is one; a TensorBoard callback to use that
            one; ``None`` never to write to TensorBoard.
        histograms: with ``tensorboard``, also write histograms of activations and input
            gradients.

    After ``fit``: ``history[q]`` is an array ``(records, layers)`` for each ``q`` in
    :data:`QUANTITIES`; ``steps[i]`` is the global batch index of record ``i``, ``epochs[i]``
    its epoch; ``layer_names[j]`` names column ``j``.
    """

    def __init__(self, every="epoch", tensorboard="auto", histograms=True):
        super().__init__()
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, (int, np.integer))
                                 or every < 1):
            raise ValueError(f"LayerStatistics: every must be 'epoch' or a positive int, got "
                             f"{every!r}")
        if tensorboard not in (None, "auto") and not hasattr(tensorboard, "writer"):
            raise TypeError(f"LayerStatistics: tensorboard must be a numpy_nn.callbacks."
                            f"TensorBoard callback, got {type(tensorboard).__name__}")
        self.every = every
        self.tensorboard = tensorboard
        self._board = None
        self.histograms = bool(histograms)
        self.layer_names: list = []
        self.steps: list = []
        self.epochs: list = []
        self._rows = {q: [] for q in QUANTITIES}
        self._global_batch = 0
        self._epoch = 0
        self._recording = False
        self._first_batch_of_epoch = True
        self._current: dict = {}
        self._weights_before = None
        self._wrapped: list = []

    # ------------------------------------------------------------------ results
    @property
    def history(self):
        """``{quantity: float64 array of shape (records, layers)}``."""
        return {q: np.array(rows, dtype=np.float64).reshape(len(rows), len(self.layer_names))
                for q, rows in self._rows.items()}

    # ------------------------------------------------------------------ hooks on the layers
    def _wrap(self, layer):
        record = {}
        self._current[layer.name] = record
        original_call, original_backward = layer.call, layer.backward
        original_from_logits = layer.backward_from_logits

        @functools.wraps(original_call)
        def call(inputs, *args, **kwargs):
            outputs = original_call(inputs, *args, **kwargs)
            if self._recording:
                record["inputs"], record["outputs"] = inputs, outputs
            return outputs

        def with_input_grad(original):
            @functools.wraps(original)
            def backward(grad, need_input_grad=True):
                result = original(grad, need_input_grad or self._recording)
                if self._recording:
                    record["input_grad"] = result
                return result
            return backward

        layer.call = call
        layer.backward = with_input_grad(original_backward)
        layer.backward_from_logits = with_input_grad(original_from_logits)
        self._wrapped.append(layer)

    def _unwrap(self):
        for layer in self._wrapped:
            for name in ("call", "backward", "backward_from_logits"):
                layer.__dict__.pop(name, None)
        self._wrapped = []

    # ------------------------------------------------------------------ callback hooks
    def set_peers(self, callbacks):
        """Called by :class:`~numpy_nn.callbacks.CallbackList` with every callback of the same
        ``fit``: with ``tensorboard="auto"``, the TensorBoard callback among them is used."""
        self._peers = tuple(callbacks)

    def _find_tensorboard(self):
        return next((c for c in getattr(self, "_peers", ()) if isinstance(c, TensorBoard)), None)

    def on_train_begin(self, logs=None):
        self._board = (self._find_tensorboard() if self.tensorboard == "auto"
                       else self.tensorboard)
        self._unwrap()
        self.layer_names = [layer.name for layer in self.model.layers]
        self.steps, self.epochs = [], []
        self._rows = {q: [] for q in QUANTITIES}
        self._global_batch = 0
        self._current = {}
        for layer in self.model.layers:
            self._wrap(layer)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._first_batch_of_epoch = True

    def _should_record(self):
        if self.every == "epoch":
            return self._first_batch_of_epoch
        return self._global_batch % self.every == 0

    def on_train_batch_begin(self, batch, logs=None):
        self._recording = self._should_record()
        self._first_batch_of_epoch = False
        # a compiled step (jit_compile=True) has no layer calls to watch: ask for the
        # reference step on the batches recorded (the model's state is the same either way)
        self.model.inspect_next_step = self._recording
        if self._recording:
            for record in self._current.values():
                record.clear()
            self._weights_before = [[v.value.copy() for v in layer.trainable_weights]
                                    for layer in self.model.layers]

    def on_train_batch_end(self, batch, logs=None):
        self.model.inspect_next_step = False
        if self._recording:
            self._recording = False
            self._store()
        self._global_batch += 1

    def on_train_end(self, logs=None):
        self._recording = False
        self._unwrap()

    # ------------------------------------------------------------------ the statistics
    def _layer_row(self, layer, before):
        record = self._current.get(layer.name, {})
        outputs = record.get("outputs")
        row = dict.fromkeys(QUANTITIES, float("nan"))
        if outputs is not None:
            out64 = np.asarray(outputs, dtype=np.float64)
            row["activation_mean"] = float(out64.mean())
            row["activation_std"] = float(out64.std())
            function = getattr(layer, "activation", None) or getattr(layer, "function", None)
            if function is not None and hasattr(function, "backward"):
                z = getattr(layer, "_z", None)      # Dense caches its pre-activation
                if z is None or getattr(layer, "activation", None) is None:
                    z = record.get("inputs")        # activation layers: the input is z
                if z is not None and np.shape(z) == np.shape(outputs):
                    row["saturated_fraction"] = saturated_fraction(function, z, outputs)
        if record.get("input_grad") is not None:
            row["input_grad_norm"] = _norm([record["input_grad"]])
        weights = layer.trainable_weights
        if weights and all(v.grad is not None for v in weights):
            row["weight_grad_norm"] = _norm([v.grad for v in weights])
            scale = _norm(before)
            if scale > 0 and len(before) == len(weights):
                row["update_ratio"] = _norm([v.value - b for v, b in zip(weights, before)]) / scale
        return row

    def _store(self):
        layers = self.model.layers
        rows = [self._layer_row(layer, before)
                for layer, before in zip(layers, self._weights_before)]
        for q in QUANTITIES:
            self._rows[q].append([row[q] for row in rows])
        self.steps.append(self._global_batch)
        self.epochs.append(self._epoch)
        if self._board is not None:
            self._write_tensorboard(layers, rows)
        self._weights_before = None
        for record in self._current.values():
            record.clear()

    def _write_tensorboard(self, layers, rows):
        writer = self._board.writer("train")
        step = self._global_batch
        for layer, row in zip(layers, rows):
            for q in QUANTITIES:
                if np.isfinite(row[q]):
                    writer.add_scalar(f"layer_statistics/{q}/{layer.name}", row[q], step)
            if self.histograms:
                record = self._current.get(layer.name, {})
                if record.get("outputs") is not None:
                    writer.add_histogram(f"activations/{layer.name}",
                                         np.asarray(record["outputs"]), step)
                if record.get("input_grad") is not None:
                    writer.add_histogram(f"input_gradients/{layer.name}",
                                         np.asarray(record["input_grad"]), step)


_LOG_SCALE = {"input_grad_norm", "weight_grad_norm", "update_ratio"}
_TITLES = {
    "activation_mean": "activation mean",
    "activation_std": "activation std",
    "saturated_fraction": "saturated fraction",
    "input_grad_norm": "‖∂L/∂input‖",
    "weight_grad_norm": "‖∂L/∂W‖",
    "update_ratio": "‖ΔW‖ / ‖W‖",
}


def plot_layer_statistics(statistics, quantities=QUANTITIES, kind="lines", axes=None,
                          label=None, color=None, records=None, layers=None):
    """Draw a :class:`LayerStatistics` record: one panel per quantity, layers on the x axis.

    Args:
        statistics: the callback after ``fit``.
        quantities: which panels, from :data:`QUANTITIES`.
        kind: ``"lines"`` (one line per record, darker = later) or ``"heatmap"`` (records
            down, layers across; norms on a log colour scale).
        axes: matplotlib axes to draw into, one per quantity (to overlay two runs with
            ``label``/``color``); a new figure when None.
        records: indices of the records to draw (``"lines"``; default: all).
        layers: indices of the layers (columns) to draw, e.g. only the Dense layers so that
            a model with BatchNormalization lines up with one without (default: all).

    Returns the matplotlib figure. matplotlib is imported only here.
    """
    import matplotlib.pyplot as plt
    from matplotlib import colors

    unknown = [q for q in quantities if q not in QUANTITIES]
    if unknown:
        raise ValueError(f"plot_layer_statistics: unknown quantities {unknown}; choose from "
                         f"{list(QUANTITIES)}")
    if kind not in ("lines", "heatmap"):
        raise ValueError(f"plot_layer_statistics: kind must be 'lines' or 'heatmap', got {kind!r}")
    history = statistics.history
    if not statistics.steps:
        raise ValueError("plot_layer_statistics: nothing recorded yet (train with the callback)")
    if axes is None:
        columns = min(3, len(quantities))
        rows = math.ceil(len(quantities) / columns)
        fig, grid = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
        axes = list(grid.ravel())
        for extra in axes[len(quantities):]:
            extra.set_visible(False)
    fig = axes[0].figure
    columns = list(range(len(statistics.layer_names))) if layers is None else list(layers)
    chosen = list(range(len(statistics.steps))) if records is None else list(records)
    for ax, q in zip(axes, quantities):
        values = history[q][:, columns]
        if kind == "heatmap":
            _draw_heatmap(ax, q, values, statistics.every, colors)
        else:
            _draw_lines(ax, q, values, statistics, chosen, label, color)
        ax.set_title(_TITLES[q])
        ax.set_xlabel("layer" if layers is None else "layer (of those drawn)")
    if kind == "lines" and (label or len(chosen) <= 6):
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _draw_heatmap(ax, quantity, values, every, colors):
    """Records down, layers across; norms on a log colour scale."""
    shown = np.abs(values) if quantity in _LOG_SCALE else values
    finite = shown[np.isfinite(shown) & (shown > 0)] if quantity in _LOG_SCALE else None
    norm = (colors.LogNorm(vmin=finite.min(), vmax=finite.max())
            if finite is not None and finite.size else None)
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", norm=norm, cmap="viridis")
    ax.figure.colorbar(image, ax=ax)
    ax.set_ylabel("record (epoch)" if every == "epoch" else "record")


def _draw_lines(ax, quantity, values, statistics, chosen, label, color):
    """One line per chosen record across the layers, later records darker."""
    layer_index = np.arange(values.shape[1])
    for rank, i in enumerate(chosen):
        if label is not None:        # one run among several: its colour, one legend entry
            line_label = label if rank == len(chosen) - 1 else None
        else:
            line_label = f"epoch {statistics.epochs[i]}, batch {statistics.steps[i]}"
        shade = 0.35 + 0.65 * (rank + 1) / len(chosen)
        ax.plot(layer_index, values[i], color=color, label=line_label,
                alpha=shade if color is not None else None)
    if quantity in _LOG_SCALE:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
