r"""The quantities of a training step, one :class:`Quantity` each, and what
:func:`numpy_nn.explain.explain_step` says about each kind of layer, loss, penalty and
optimizer: which quantities it shows, the equation of each (in the notation of the technique
pages) and the fragment of source that identifies the line computing it.

A fragment that no longer appears in its function raises ``LookupError`` (the tests run every
kind), so the source lines shown cannot silently point at the wrong code.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import numpy as np

from numpy_nn.layers.activation import PReLU, _ElementwiseActivation
from numpy_nn.layers.core import Dense
from numpy_nn.layers.normalization import BatchNormalization
from numpy_nn.layers.regularization import AlphaDropout, Dropout

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Quantity:
    """One number (array) of a step: where it belongs, what it is, how and where it is computed."""

    stage: str        #: "forward", "loss", "backward", "penalty", "optimizer" or "update"
    layer: str        #: the layer's name, "loss", or a variable's path ("dense/kernel")
    symbol: str       #: LaTeX, e.g. r"\delta"
    equation: str     #: LaTeX, e.g. r"\delta = f'(z) \odot g"
    source: str       #: "numpy_nn/layers/core.py:127"
    value: np.ndarray


def source_line(function, fragment=None):
    """``"path:line"`` of the first line of ``function`` containing ``fragment`` (the ``def``
    line when ``fragment`` is None); a Numba seam's reference code, not its dispatcher."""
    function = getattr(function, "reference", function)
    function = inspect.unwrap(function)
    lines, start = inspect.getsourcelines(function)
    start = max(start, 1)                  # a whole module starts at line "0"
    path = os.path.relpath(inspect.getsourcefile(function), _PACKAGE_PARENT).replace(os.sep, "/")
    for offset, line in enumerate(lines):
        if fragment is None and line.lstrip().startswith("def "):
            return f"{path}:{start + offset}"
        if fragment is not None and fragment in line:
            return f"{path}:{start + offset}"
    name = getattr(function, "__qualname__", getattr(function, "__name__", "?"))
    raise LookupError(f"{name} has no line containing {fragment!r}")


#: loss name -> (the loss, its gradient w.r.t. the predictions, ... w.r.t. the logits)
LOSSES = {
    "sparse_categorical_crossentropy": (
        r"L = \frac1n \sum_i \Big(\log \sum_j e^{z_{ij}} - z_{i y_i}\Big)", None,
        r"\frac{\partial L}{\partial z} = \frac{\operatorname{softmax}(z) - "
        r"\operatorname{onehot}(y)}{n}"),
    "categorical_crossentropy": (
        r"L = -\frac1n \sum_i \sum_j y_{ij} \log p_{ij}", None,
        r"\frac{\partial L}{\partial z} = \frac{p - y}{n}"),
    "binary_crossentropy": (
        r"L = -\frac1{nK} \sum_{i,j} \big(y_{ij} \log p_{ij} + (1-y_{ij}) \log(1-p_{ij})\big)",
        None, r"\frac{\partial L}{\partial z} = \frac{\sigma(z) - y}{nK}"),
    "mean_squared_error": (
        r"L = \frac1{nK} \sum_{i,j} (\hat y_{ij} - y_{ij})^2",
        r"\frac{\partial L}{\partial \hat y} = \frac{2(\hat y - y)}{nK}", None),
}

#: (optimizer class, slot) -> (symbol, equation, a fragment of the line updating it)
SLOTS = {
    ("SGD", "momentum"): ("m", r"m \leftarrow \mu m - \eta g", "# m ← μm − ηg"),
    ("Adagrad", "accumulator"): ("a", r"a \leftarrow a + g^2", "# a ← a + g²"),
    ("RMSprop", "velocity"): ("v", r"v \leftarrow \rho v + (1-\rho) g^2", "# v ← ρv"),
    ("RMSprop", "average_gradient"): (r"\bar g", r"\bar g \leftarrow \rho \bar g + (1-\rho) g",
                                      "# ḡ ← ρḡ"),
    ("RMSprop", "momentum"): ("m", r"m \leftarrow \mu m + \eta g / \sqrt{v + \epsilon}",
                              "# m ← μm + Δ"),
    ("Adam", "momentum"): ("m", r"m \leftarrow \beta_1 m + (1-\beta_1) g", "# m ← β₁m"),
    ("Adam", "velocity"): ("v", r"v \leftarrow \beta_2 v + (1-\beta_2) g^2", "# v ← β₂v"),
    ("Adam", "velocity_hat"): (r"v_{\max}", r"v_{\max} \leftarrow \max(v_{\max}, v)",
                               "# v_max ← max"),
    ("Adamax", "momentum"): ("m", r"m \leftarrow \beta_1 m + (1-\beta_1) g", "# m ← β₁m"),
    ("Adamax", "norm"): ("u", r"u \leftarrow \max(\beta_2 u, \lvert g\rvert)",
                         "# u ← max(β₂u, |g|)"),
    ("Nadam", "momentum"): ("m", r"m \leftarrow \beta_1 m + (1-\beta_1) g", "# m ← β₁m"),
    ("Nadam", "velocity"): ("v", r"v \leftarrow \beta_2 v + (1-\beta_2) g^2", "# v ← β₂v"),
}

#: optimizer class -> (the update's equation, a fragment of the line applying it)
UPDATES = {
    "SGD": (r"\theta \leftarrow \theta + m \;\text{(momentum)}, \quad \theta - \eta g "
            r"\;\text{(none)}", "w = variable.value"),
    "Adagrad": (r"\theta \leftarrow \theta - \eta g / \sqrt{a + \epsilon}", "variable.value"),
    "RMSprop": (r"\theta \leftarrow \theta - \eta g / \sqrt{v + \epsilon}", "variable.value"),
    "Adam": (r"\theta \leftarrow \theta - \alpha_t m / (\sqrt v + \hat\epsilon)",
             "variable.value"),
    "Adamax": (r"\theta \leftarrow \theta - \eta m / \big((1-\beta_1^t)(u + \epsilon)\big)",
               "variable.value"),
    "Nadam": (r"\theta \leftarrow \theta - \eta \hat m / (\sqrt{\hat v} + \epsilon)",
              "variable.value"),
}


def _class_named_in(optimizer, names):
    """The class whose ``update_step`` the optimizer runs, when ``names`` explains it (AdamW
    runs Adam's), or None (Keras 2's own update steps in ``optimizers.legacy`` and user-written
    optimizers: their rows name the slot and point at ``update_step``)."""
    owner = next(cls for cls in type(optimizer).__mro__ if "update_step" in vars(cls))
    if owner.__name__ in names and ".legacy" not in owner.__module__ \
            and owner.__module__.startswith("numpy_nn.optimizers"):
        return owner                # the class whose update_step runs is one the tables know
    return None


def loss_rows(loss_object, loss, grad, wrt_logits):
    value_eq, pred_eq, logits_eq = LOSSES.get(loss_object.name, (
        r"L\;\text{(see the source)}", r"\partial L/\partial \hat y",
        r"\partial L/\partial z"))
    function = type(loss_object).value_and_grad
    rows = [Quantity("loss", "loss", "L", value_eq,
                     source_line(function, "value = per_sample.sum"), np.asarray(loss))]
    symbol, equation = ((r"\partial L/\partial z", logits_eq) if wrt_logits
                        else (r"\partial L/\partial \hat y", pred_eq))
    rows.append(Quantity("loss", "loss", symbol, equation,
                         source_line(function, "grad = grad / np.asarray(n"), grad))
    return rows


def penalty_rows(variables):
    rows = []
    for variable in variables:
        regularizer = variable.regularizer
        if regularizer is None:
            continue
        rows.append(Quantity(
            "penalty", variable.path, r"\Omega",
            r"\Omega = \lambda_1 \textstyle\sum \lvert\theta\rvert "
            r"+ \lambda_2 \textstyle\sum \theta^2",
            source_line(type(regularizer).__call__), np.asarray(regularizer(variable.value))))
        rows.append(Quantity(
            "penalty", variable.path, r"\partial\Omega/\partial\theta",
            r"\partial\Omega/\partial\theta = \lambda_1 \operatorname{sign}\theta "
            r"+ 2\lambda_2\theta",
            source_line(type(regularizer).gradient), regularizer.gradient(variable.value)))
    return rows


# ----------------------------------------------------------------------------- layers
def forward_rows(layer, recorder):
    """The forward quantities of ``layer`` after its ``call`` (read from its caches)."""
    name = layer.name
    if isinstance(layer, Dense):
        rows = _parameter_rows(layer, (("kernel", "W"), ("bias", "b")))
        rows += [Quantity("forward", name, "z", r"z = x W + b",
                         source_line(Dense.call, "inputs @ self.kernel.value"), layer._z)]
        if layer.activation.name != "linear":
            rows.append(_activation_row("forward", name, "a", layer.activation, layer._outputs))
        return rows
    if isinstance(layer, BatchNormalization):
        return _batch_norm_forward(layer, recorder)
    if isinstance(layer, Dropout) and layer._keep_mask is not None:
        return [Quantity("forward", name, "m", r"m_i \sim \text{Bernoulli}(1-p)",
                         source_line(Dropout.call, "self.draw_keep_mask"), layer._keep_mask),
                Quantity("forward", name, "y", r"y = m \odot x / (1-p)",
                         source_line(Dropout.call, "apply_dropout_mask(inputs"),
                         recorder.outputs[name])]
    if isinstance(layer, AlphaDropout) and layer._keep is not None:
        return [Quantity("forward", name, "m", r"m_i \sim \text{Bernoulli}(1-p)",
                         source_line(AlphaDropout.call, "self.draw_keep_mask"), layer._keep),
                Quantity("forward", name, "y", r"y = a\,(m \odot x + \alpha'(1-m)) + b",
                         source_line(AlphaDropout.call, "apply_alpha_dropout_mask"),
                         recorder.outputs[name])]
    if isinstance(layer, _ElementwiseActivation):
        return [_activation_row("forward", name, "a", layer.activation, layer._outputs)]
    if isinstance(layer, PReLU):
        return _parameter_rows(layer, (("alpha", r"\alpha"),)) + [
            Quantity("forward", name, "y", r"y = \max(x, 0) - \alpha \max(-x, 0)",
                         source_line(PReLU.call, "return"), recorder.outputs[name])]
    return []


def _parameter_rows(layer, names):
    """The layer's weights as the step found them (the optimizer changes them afterwards)."""
    rows = []
    for attribute, symbol in names:
        variable = getattr(layer, attribute, None)
        if variable is not None:
            rows.append(Quantity("forward", layer.name, symbol, rf"{symbol}\;\text{{(weights)}}",
                                 source_line(type(layer).build, f"add_weight(\"{attribute}\""),
                                 variable.value.copy()))
    return rows


def _activation_row(stage, layer_name, symbol, activation, value):
    function = type(activation).forward
    return Quantity(stage, layer_name, symbol, rf"{symbol} = \operatorname{{{activation.name}}}"
                    rf"({'z' if symbol == 'a' else 'x'})", source_line(function, "return"), value)


def _batch_norm_forward(layer, recorder):
    cache, name = layer._cache, layer.name
    x_hat = (cache.inputs - cache.mean) * cache.inv_std
    rows = _parameter_rows(layer, (("gamma", r"\gamma"), ("beta", r"\beta")))
    if cache.used_batch_statistics:
        rows += [Quantity("forward", name, r"\mu", r"\mu = \frac1N \textstyle\sum_i x_i",
                          source_line(BatchNormalization.call, "mean = inputs.mean"),
                          cache.mean.reshape(-1)),
                 Quantity("forward", name, r"\sigma^2",
                          r"\sigma^2 = \frac1N \textstyle\sum_i (x_i - \mu)^2",
                          source_line(BatchNormalization.call, "variance = np.square"),
                          (1 / np.square(cache.inv_std) - layer.epsilon).reshape(-1))]
    rows.append(Quantity("forward", name, r"\hat x", r"\hat x = (x - \mu)/\sqrt{\sigma^2+\epsilon}",
                         source_line(BatchNormalization.call, "inv_std = 1 / np.sqrt"), x_hat))
    rows.append(Quantity("forward", name, "y", r"y = \gamma \hat x + \beta",
                         source_line(BatchNormalization.call, "outputs = inputs * inv"),
                         recorder.outputs[name]))
    if cache.used_batch_statistics:
        update = source_line(BatchNormalization._update_moving_statistics, "moving_mean.assign")
        rows += [Quantity("forward", name, r"\mu_{\text{moving}}",
                          r"\mu_{\text{moving}} \leftarrow p\,\mu_{\text{moving}} + (1-p)\,\mu",
                          update, layer.moving_mean.value.copy()),
                 Quantity("forward", name, r"\sigma^2_{\text{moving}}",
                          r"\sigma^2_{\text{moving}} \leftarrow p\,\sigma^2_{\text{moving}} "
                          r"+ (1-p)\,\sigma^2", update, layer.moving_variance.value.copy())]
    return rows


def backward_rows(layer, recorder):
    """The backward quantities of ``layer`` after its backward pass."""
    name = layer.name
    rows = []
    upstream = recorder.calls.get((name, "backward"))
    if isinstance(layer, Dense):
        delta = recorder.calls.get((name, "backward_from_logits"), upstream)
        if upstream is not None and layer.activation.name != "linear":
            rows.append(Quantity("backward", name, "g", r"g = \partial L/\partial a",
                                 source_line(Dense.backward, "def"), upstream))
            rows.append(Quantity("backward", name, r"\delta", r"\delta = f'(z) \odot g",
                                 source_line(Dense.backward, "self.activation.backward"),
                                 delta))
        function = Dense.backward_from_logits
        if layer.trainable:
            rows.append(Quantity("backward", name, r"\partial L/\partial W",
                                 r"\partial L/\partial W = x^\top \delta",
                                 source_line(function, "self._inputs.T @ grad_logits"),
                                 layer.kernel.grad))
            if layer.use_bias:
                rows.append(Quantity("backward", name, r"\partial L/\partial b",
                                     r"\partial L/\partial b = \textstyle\sum_i \delta_i",
                                     source_line(function, "grad_logits.sum(axis=0)"),
                                     layer.bias.grad))
        where = source_line(function, "grad_logits @ self.kernel.value.T")
        equation = r"\partial L/\partial x = \delta W^\top"
    elif isinstance(layer, BatchNormalization):
        for variable, symbol, fragment in ((layer.gamma, r"\gamma", "self.gamma.grad ="),
                                           (layer.beta, r"\beta", "self.beta.grad =")):
            if variable is not None and layer.trainable:
                equation = (rf"\partial L/\partial {symbol} = \textstyle\sum_i g_i"
                            + (r" \hat x_i" if symbol == r"\gamma" else ""))
                rows.append(Quantity("backward", name, rf"\partial L/\partial {symbol}",
                                     equation, source_line(BatchNormalization.backward,
                                                           fragment), variable.grad))
        where = source_line(BatchNormalization.backward, "return (gamma * inv_std / count)")
        equation = (r"\partial L/\partial x = \frac{\gamma}{N\sqrt{\sigma^2+\epsilon}}"
                    r"\big(N g - \textstyle\sum g - \hat x \textstyle\sum g \hat x\big)")
    elif isinstance(layer, PReLU):
        rows.append(Quantity("backward", name, r"\partial L/\partial \alpha",
                             r"\partial L/\partial \alpha = \textstyle\sum_i g_i \min(x_i, 0)",
                             source_line(PReLU.backward, "def"), layer.alpha.grad))
        where, equation = source_line(PReLU.backward, "def"), r"\partial L/\partial x = f'(x) g"
    elif isinstance(layer, Dropout):
        where = source_line(Dropout.backward, "apply_dropout_mask(grad_output")
        equation = r"\partial L/\partial x = m \odot g / (1-p)"
    elif isinstance(layer, AlphaDropout):
        where = source_line(AlphaDropout.backward, "grad_output * (self._a")
        equation = r"\partial L/\partial x = a\, m \odot g"
    elif isinstance(layer, _ElementwiseActivation):
        where = source_line(type(layer.activation).backward, "return")
        equation = r"\partial L/\partial x = f'(x) \odot g"
    else:
        return rows
    if name in recorder.grad_out:
        rows.append(Quantity("backward", name, r"\partial L/\partial x", equation, where,
                             recorder.grad_out[name]))
    return rows


# --------------------------------------------------------------------------- optimizer
def optimizer_rows(optimizer, variables):
    """Run the optimizer's step (``apply``, as ``fit`` does) and show, per variable, the
    gradient it used (after clipping), its state afterwards and the change of the weights."""
    grads = [v.grad for v in variables]
    rate = float(optimizer.current_learning_rate(variables[0].dtype))
    clipped = optimizer.clip_gradients([np.asarray(g) for g in grads])
    before = [v.value.copy() for v in variables]
    optimizer.apply(grads, variables)
    slot_kind = _class_named_in(optimizer, {kind for kind, _ in SLOTS})
    update_kind = _class_named_in(optimizer, UPDATES)
    if update_kind is None:
        update_equation = r"\theta \leftarrow \theta + \Delta\theta\;\text{(see the source)}"
        update_line = source_line(type(optimizer).update_step)
    else:
        update_equation, update_fragment = UPDATES[update_kind.__name__]
        update_line = source_line(update_kind.update_step, update_fragment)
    rows = [Quantity("optimizer", "optimizer", r"\eta", r"\eta = \text{learning rate at step }t",
                     source_line(type(optimizer).apply, "self.current_learning_rate"),
                     np.asarray(rate))]
    clip_line = next(source_line(cls.update_all, "self.clip_gradients")
                     for cls in type(optimizer).__mro__
                     if "clip_gradients" in inspect.getsource(cls.update_all))
    for variable, g, old in zip(variables, clipped, before):
        path = variable.path
        rows.append(Quantity("optimizer", path, "g", r"g = \partial L/\partial\theta "
                             r"\;\text{(clipped if asked)}",
                             clip_line, g))
        for slot, array in optimizer.slots.get(variable, {}).items():
            if slot_kind is None:
                rows.append(Quantity("optimizer", path, rf"\text{{{slot}}}",
                                     r"\text{(see the source)}",
                                     source_line(type(optimizer).update_step), array.copy()))
                continue
            symbol, equation, fragment = SLOTS[(slot_kind.__name__, slot)]
            rows.append(Quantity("optimizer", path, symbol, equation,
                                 _slot_line(slot_kind, fragment), array.copy()))
        rows.append(Quantity("update", path, r"\Delta\theta", update_equation, update_line,
                             variable.value - old))
        rows.append(Quantity("update", path, r"\theta", r"\theta_{\text{new}}", update_line,
                             variable.value.copy()))
    return rows


def _slot_line(cls, fragment):
    """The line updating a slot: in the optimizer's module, a base class's, or the module of a
    function it imports (Nadam's moments are Adam's ``update_moments``)."""
    modules = [inspect.getmodule(c) for c in cls.__mro__]
    home = vars(inspect.getmodule(cls)).values()
    modules += [inspect.getmodule(f) for f in home if inspect.isfunction(f)]
    for module in modules:
        if module is None or not module.__name__.startswith("numpy_nn"):
            continue
        try:
            return source_line(module, fragment)
        except LookupError:
            continue
    raise LookupError(f"no line containing {fragment!r} in {cls.__name__}'s modules")
