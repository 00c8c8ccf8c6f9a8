r"""One training step of a small model, written out as a document: :func:`explain_step`.

Every number a step computes is listed in the order the engine computes it — per layer the
forward quantities, then the loss and its gradient, then per layer (top down) the backward
quantities, the regularization penalties, and per variable the optimizer's state and the update
— each with the equation it evaluates and the source line that evaluates it, so a reader can
check a derivation by hand against numbers that cannot drift from the code.

The step runs on a deep copy of the model, on the reference (NumPy) path, and the engine's
random generator is put back afterwards: the model, its optimizer and the next step's random
draws are unchanged (the dropout masks shown are the ones the next training step will draw).
The numbers are the engine's own: each layer's ``call``/``backward`` and the optimizer's
``apply`` run as in ``fit``; the explanation only reads their inputs, outputs and caches.
"""
from __future__ import annotations

import copy

import numpy as np

from numpy_nn import backend
from numpy_nn.models import validation
from numpy_nn.step_quantities import (
    Quantity,
    backward_rows,
    forward_rows,
    loss_rows,
    optimizer_rows,
    penalty_rows,
)

__all__ = ["Quantity", "StepExplanation", "explain_step"]

class StepExplanation:
    """The quantities of one step (a list of :class:`Quantity`), the loss, and two views:
    :meth:`to_markdown` and, in a notebook, the same table rendered (``_repr_markdown_``)."""

    def __init__(self, quantities, loss):
        self.quantities = list(quantities)
        self.loss = float(loss)

    def __iter__(self):
        return iter(self.quantities)

    def __len__(self):
        return len(self.quantities)

    def find(self, layer, symbol, stage=None):
        """The quantity ``symbol`` of ``layer`` (and ``stage``, when a symbol has several)."""
        for quantity in self.quantities:
            if quantity.layer == layer and quantity.symbol == symbol and \
                    stage in (None, quantity.stage):
                return quantity
        raise KeyError(f"no quantity {symbol!r} of {layer!r}"
                       f"{'' if stage is None else ' in stage ' + repr(stage)}; have: "
                       f"{sorted({(q.layer, q.symbol) for q in self.quantities})}")

    def to_markdown(self, digits=4):
        """A Markdown table: stage, layer, quantity, equation, value (``digits`` significant
        digits), source line (relative to the ``numpy_nn`` package)."""
        rows = ["| stage | layer | quantity | equation | value | source |",
                "|---|---|---|---|---|---|"]
        for q in self.quantities:
            equation = q.equation.replace("|", r"\vert ")     # a bare | would end the cell
            source = f"`{q.source.removeprefix('numpy_nn/')}`" if q.source else "—"
            rows.append(f"| {q.stage} | `{q.layer}` | ${q.symbol}$ | ${equation}$ | "
                        f"{format_value(q.value, digits)} | {source} |")
        return "\n".join(rows) + "\n"

    def _repr_markdown_(self):
        return f"One training step, loss {self.loss:.6g}\n\n" + self.to_markdown()

    def __repr__(self):
        return f"<StepExplanation: {len(self)} quantities, loss {self.loss:.6g}>"


def format_value(value, digits=4):
    """A small array as nested rows (``[[0.1, -2], [3, 4]]``), a larger one by shape and its
    first values."""
    array = np.asarray(value)
    if array.dtype == bool:                # a dropout mask: 1 kept, 0 dropped
        array = array.astype(np.int8)
    text = np.array2string(array if array.size <= 24 else array.reshape(-1)[:6],
                           precision=digits, separator=", ", max_line_width=10**6,
                           formatter={"float_kind": lambda v: f"{v:.{digits}g}"})
    text = text.replace("\n", "")
    if array.size > 24:
        text = f"shape {array.shape}: {text[:-1]}, …]"
    return text


def explain_step(model, x, y, sample_weight=None):
    """One training step of ``model`` on ``(x, y)`` as a :class:`StepExplanation`; the model is
    not changed. ``model`` must be compiled; keep it small (every array is kept)."""
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError("explain_step: the model must be compiled (an optimizer and a loss)")
    state = backend.get_rng_state()
    path = backend.kernel_path()
    try:
        backend.set_kernel_path("numpy")
        shadow = copy.deepcopy(model)
        x = validation.prepare_inputs(shadow, x)
        recorder = _Recorder(shadow.layers)
        y_pred = shadow._forward(x, training=True)
        quantities = [Quantity("forward", "input", "x", "x", "", x)]
        for layer in shadow.layers:
            quantities += forward_rows(layer, recorder)
        loss, grad, wrt_logits = shadow._loss_and_grad(y, y_pred, sample_weight)
        quantities += loss_rows(shadow.loss, loss, grad, wrt_logits)
        variables, lowest = shadow._training_plan()
        if variables:
            shadow._backward(grad, wrt_logits, lowest)
            for layer in reversed(shadow.layers[lowest:]):
                quantities += backward_rows(layer, recorder)
            quantities += penalty_rows(variables)
            loss = loss + shadow._add_regularization(variables)
            quantities += optimizer_rows(shadow.optimizer, variables)
    finally:
        backend.set_kernel_path(path)
        backend.set_rng_state(state)
    return StepExplanation(quantities, loss)


class _Recorder:
    """Keeps each layer's output, incoming gradients and input gradient of the step, by wrapping
    the copied layers' ``forward`` and ``backward`` methods (the copy is thrown away after)."""

    def __init__(self, layers):
        self.outputs, self.calls, self.grad_out = {}, {}, {}
        for layer in layers:
            layer.forward = self._wrap_forward(layer, layer.forward)
            for method in ("backward", "backward_from_logits"):
                if hasattr(layer, method):
                    setattr(layer, method, self._wrap(layer, getattr(layer, method), method))

    def _wrap_forward(self, layer, bound):
        def recorded(inputs, training=None):
            self.outputs[layer.name] = outputs = bound(inputs, training=training)
            return outputs
        return recorded

    def _wrap(self, layer, bound, method):
        def recorded(grad_output, need_input_grad=True):
            self.calls[(layer.name, method)] = grad_output
            result = bound(grad_output, need_input_grad)
            if result is not None:        # Dense.backward returns what backward_from_logits did
                self.grad_out[layer.name] = result
            return result
        return recorded
