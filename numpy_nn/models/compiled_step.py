"""``compile(jit_compile=True)``: the trainer's steps as single compiled calls.

The training loop stays :class:`~numpy_nn.models.trainer.Trainer`'s: batching, shuffling,
validation, callbacks, metrics and ``History`` are the same code on both paths. What changes
is what one step is. With ``jit_compile=True``, :meth:`CompiledStep.train_step` copies the
batch into buffers made once per batch size, draws the dropout masks from the layers' own
generators (the reference's draws, in its order), and makes one call,
:func:`numpy_nn.kernels.step.train_step`: forward pass, loss, backward pass, penalties,
clipping, the optimizer's update and the constraints, all inside, over the model's own weight
arrays (laid out in the optimizer's flat buffers, :mod:`numpy_nn.optimizers.flat`). Evaluation
and prediction run compiled forward passes the same way.

The model stays the one object of record: its variables are updated in place, the
optimizer's ``iterations``, slots and Nadam's momentum product are its own, so saving,
checkpoints, ``get_weights`` and a switch back to ``jit_compile=False`` see everything.
How the compiled arithmetic relates to the reference's is in the Speed guide
(``docs/guides/speed.md``): the same expressions in the same order, so that run as plain
Python (``NUMBA_DISABLE_JIT=1``) the step equals the reference bit for bit, and compiled it
differs only where compiled ``exp``/``log``/``pow`` round differently (a few ulp per step).
"""
from __future__ import annotations

import operator

import numba
import numpy as np

from numpy_nn import backend
from numpy_nn.kernels import step as kernels
from numpy_nn.kernels.blas import SOURCES, library_index
from numpy_nn.kernels.codes import (
    ALPHA_DROPOUT,
    DENSE,
    DROPOUT,
    GIVEN_RATE,
    LINEAR,
    NADAM,
    SPARSE_CATEGORICAL,
)
from numpy_nn.kernels.reductions import new_stack
from numpy_nn.kernels.step_layers import StepBatch, StepLayer
from numpy_nn.kernels.step_losses import StepTargets
from numpy_nn.models import compiled_plan
from numpy_nn.models.compiled_metrics import update_trackers
from numpy_nn.models.compiled_optimizer import optimizer_record, updated_in_product
from numpy_nn.optimizers.flat import flat_parameters


def _value(variable):
    return variable.value


def _typed(arrays):
    return numba.typed.List(arrays)


class CompiledStep:
    """A model's compiled training, evaluation and prediction steps (made by the trainer)."""

    def __init__(self, model):
        self.model = model
        self.plan = compiled_plan.plan(model)
        self.dtype = np.dtype(self.plan.dtype)
        #: the BLAS library of every product (``numpy_nn.backend.blas()`` when built)
        self.library = library_index(backend.blas())
        self.variables, self.lowest = self._variables_and_lowest()
        self._weights = list(model.weights)        # fixed while the step is (see jit.py)
        self._batches = {}
        self._scratches = {}
        self._pack = None
        self._layers = None
        self._optimizer = None
        self._held = ()
        self._epsilon = self.dtype.type(backend.epsilon())
        self._zero = self.dtype.type(0)

    def _variables_and_lowest(self):
        """The trainable variables (the reference's order) and the lowest layer index (in
        ``plan.layers``) with one, as ``Sequential._training_plan`` gives them."""
        variables = self.model.trainable_weights
        lowest = next((i for i, p in enumerate(self.plan.layers)
                       if p.layer.trainable_weights), len(self.plan.layers))
        return variables, lowest

    @property
    def gemm_source(self):
        """The routine the products call, in words."""
        return SOURCES[self.library]

    # ------------------------------------------------------------------ arrays
    def _refresh(self):
        """(Re)build the typed records when an array they point to was replaced."""
        optimizer = self.model.optimizer
        pack = None
        if self.variables:
            optimizer.build(self.variables)
            pack = flat_parameters(optimizer, self.variables)
            if pack is None:
                raise compiled_plan.NotCompilable(
                    f"jit_compile=True: the trainable weights of model '{self.model.name}' "
                    f"cannot share one buffer (mixed dtypes); {compiled_plan.HINT}")
        if pack is self._pack and self._layers is not None and all(
                map(operator.is_, map(_value, self._weights), self._held)):
            return
        self._pack, self._held = pack, [v.value for v in self._weights]
        if pack is not None:          # each variable's .grad: its gradient of the last step
            for variable, view in zip(pack.variables, pack.grad_views):
                variable.grad = view
        self._in_product = updated_in_product(self.model.optimizer, self.variables,
                                               self.plan.layers)
        self._layers = _typed([self._layer_record(p) for p in self.plan.layers])
        self._optimizer = self._optimizer_record(pack)
        self._optimizers = _typed([self._optimizer])

    def _empty(self, ndim=1):
        return np.empty((0,) * ndim, self.dtype)

    def _grad_view(self, variable, like):
        """The variable's gradient slice of the flat buffer, or scratch when it gets none."""
        if self._pack is not None and variable is not None and variable.trainable \
                and variable in self._pack.variables:
            return self._pack.grad_views[self._pack.variables.index(variable)]
        return np.empty_like(like) if like.size else like

    def _layer_record(self, p):
        d, layer, w = self.dtype.type, p.layer, p.weights
        features = p.features
        value = {name: (v.value if v is not None else None) for name, v in w.items()}
        ones, zeros = np.ones(features, self.dtype), np.zeros(features, self.dtype)
        kernel = value.get("kernel")
        kernel = kernel if kernel is not None else self._empty(2)
        bias = value.get("bias")
        bias = bias if bias is not None else self._empty()
        is_norm = "moving_mean" in w
        gamma = value.get("gamma") if value.get("gamma") is not None else (
            ones if is_norm else self._empty())
        beta = value.get("beta") if value.get("beta") is not None else (
            zeros if is_norm else self._empty())
        alpha = value.get("alpha")
        alpha = alpha.reshape(-1) if alpha is not None else self._empty()
        rate = getattr(layer, "rate", 0.0)
        multiplier, alpha_p, shift = 0.0, 0.0, 0.0
        if p.op == DROPOUT:
            multiplier = 1.0 / (1.0 - rate)
        elif p.op == ALPHA_DROPOUT:
            alpha_p, multiplier, shift = layer.affine_constants
        momentum = getattr(layer, "momentum", 0.0) if is_norm else 0.0
        grads = {name: self._grad_view(w.get(name), like) for name, like in
                 (("kernel", kernel), ("bias", bias), ("gamma", gamma), ("beta", beta),
                  ("alpha", alpha))}
        if is_norm:
            grads["gamma"] = grads["gamma"] if grads["gamma"].size else np.empty_like(ones)
            grads["beta"] = grads["beta"] if grads["beta"].size else np.empty_like(zeros)
        in_product = "kernel" in w and any(w["kernel"] is v for v in self._in_product)
        return StepLayer(
            p.op, p.activation, bool(layer.trainable), in_product,
            bool(layer.trainable) and is_norm,
            d(p.p), d(p.scale), d(getattr(layer, "epsilon", 0.0)), d(momentum),
            d(1.0 - momentum), np.float32(rate), d(multiplier), d(alpha_p), d(shift),
            np.full(3, self.library, np.int64), kernel, bias, gamma, beta,
            value.get("moving_mean") if is_norm else self._empty(),
            value.get("moving_variance") if is_norm else self._empty(),
            alpha, grads["kernel"], grads["bias"], grads["gamma"], grads["beta"],
            grads["alpha"].reshape(-1),
            np.empty(features if is_norm else 0, self.dtype),
            np.empty(features if is_norm else 0, self.dtype),
            np.empty((3, features) if is_norm else (0, 0), self.dtype))

    def _optimizer_record(self, pack):
        record = optimizer_record(self.model.optimizer, pack, self.variables, self.dtype)
        return record._replace(
            sgd_in_products=bool(self._in_product),
            updated_in_product=np.array([any(v is u for u in self._in_product)
                                         for v in self.variables], bool))

    def _batch(self, n, weighted=False):
        """This batch size's buffers (made on first use): ``(batch, targets, batches,
        all_targets)``, the last two the one-element typed Lists the kernels take."""
        found = self._batches.get((n, weighted))
        if found is None:
            batch, targets = _make_batch(self.plan, n, self.dtype)
            if weighted:
                targets = targets._replace(sample_weight=np.empty(n, self.dtype))
            found = self._batches[n, weighted] = (batch, targets, _typed([batch]),
                                                  _typed([targets]))
        return found

    # ------------------------------------------------------------------ steps
    def _load(self, x, y, sample_weight, index=None):
        """Copy one batch into its buffers: the whole arrays, or their rows ``index`` (a
        slice or an index array, gathered straight into the buffers); returns
        :meth:`_batch`'s four."""
        n = len(x) if index is None else len(range(len(x))[index]) \
            if isinstance(index, slice) else len(index)
        buffers = self._batch(n, sample_weight is not None)
        batch, targets = buffers[:2]
        _gather(x.reshape(len(x), -1), index, batch.outputs[0], self._scratch)
        if y is not None:
            if self.plan.loss_kind == SPARSE_CATEGORICAL:
                _gather(y.reshape(len(y)), index, targets.labels, self._scratch)
            else:
                _gather(y.reshape((len(y),) + targets.targets.shape[1:]), index,
                        targets.targets, self._scratch)
        if sample_weight is not None:
            _gather(sample_weight.reshape(len(sample_weight)), index, targets.sample_weight,
                    self._scratch)
        return buffers

    def _scratch(self, shape, dtype):
        """A buffer of this shape and dtype, made once (see :func:`_gather`)."""
        key = (shape, dtype)
        buffer = self._scratches.get(key)
        if buffer is None:
            buffer = self._scratches[key] = np.empty(shape, dtype)
        return buffer

    def _draw_masks(self, batch):
        """Each dropout layer's uniform draws, from its own generator, in layer order (as the
        reference's forward pass draws them)."""
        for k, p in enumerate(self.plan.layers):
            if p.op in (DROPOUT, ALPHA_DROPOUT) and p.layer.rate > 0:
                p.layer.generator().random(dtype=np.float32, out=batch.uniforms[k])

    def train_step(self, x, y, sample_weight=None, on_nonfinite=None):
        """One compiled step; returns ``(loss, y_pred)``, ``y_pred`` being this batch size's
        output buffer (valid until the next step of that size)."""
        return self.train_batch(x, y, sample_weight, None, on_nonfinite)[:2]

    def train_batch(self, x, y, sample_weight, index, on_nonfinite, trackers=None):
        """One compiled step on the rows ``index`` of ``x``, ``y`` and ``sample_weight`` (all
        of them for None), then ``fit``'s ``trackers`` updated with it (when given); returns
        ``(loss, y_pred, y_true)``, the last two the step's own buffers (valid until its next
        step of that size)."""
        self._refresh()
        optimizer = self.model.optimizer
        batch, targets, batches, all_targets = self._load(x, y, sample_weight, index)
        self._draw_masks(batch)
        given = (optimizer.current_learning_rate(self.dtype)[()]
                 if self._optimizer.schedule == GIVEN_RATE else self._zero)
        nadam = self._optimizer.kind == NADAM
        if nadam:
            product = optimizer.momentum_product
            self._optimizer.state[0] = 1 if product is None else product
        saved = [(v, v.value.copy()) for v in self.model.non_trainable_weights] \
            if on_nonfinite is not None else None
        applied = kernels.train_step(
            self._layers, batches, all_targets, self._optimizers, self.plan.loss_kind,
            self.plan.from_logits, self.lowest, given, optimizer.iterations,
            on_nonfinite is not None, self._epsilon)
        loss = targets.loss[0]
        if not applied:
            for variable, value in saved:
                variable.assign(value)
            on_nonfinite(loss)
        if self.lowest < len(self.plan.layers):
            optimizer.iterations += 1
            if nadam:
                optimizer.momentum_product = self._optimizer.state[0]
        y_true = targets.labels if self.plan.loss_kind == SPARSE_CATEGORICAL else targets.targets
        if trackers is not None:
            update_trackers(trackers, loss, y_true, batch.outputs[-1], batches, all_targets)
        return loss, batch.outputs[-1], y_true

    def test_step(self, x, y, sample_weight, penalty):
        """Loss (plus ``penalty``) and predictions in inference mode."""
        self._refresh()
        batch, targets, batches, all_targets = self._load(x, y, sample_weight)
        kernels.test_step(self._layers, batches, all_targets, self.plan.loss_kind)
        return targets.loss[0] + penalty, batch.outputs[-1]

    def predict(self, x, training=False):
        """The model's outputs for one batch (a new array), compiled; ``training=True`` runs
        dropout and batch statistics as ``model(x, training=True)`` does."""
        self._refresh()
        batch, _, batches, _ = self._load(x, None, None)
        if training:
            self._draw_masks(batch)
        kernels.predict_step(self._layers, batches, training)
        return batch.outputs[-1].copy()


def _gather(source, index, out, scratch):
    """``out[...] = source[index]`` (``index`` None: all of it) without a new array: rows of
    another dtype (float64 targets for a float32 model) pass through ``scratch(shape, dtype)``,
    a buffer kept for the purpose."""
    if index is None or isinstance(index, slice):
        np.copyto(out, source if index is None else source[index], casting="unsafe")
    elif source.dtype == out.dtype:
        np.take(source, index, axis=0, out=out, mode="clip")   # in range by construction
    else:
        rows = scratch((len(index),) + source.shape[1:], source.dtype)
        np.take(source, index, axis=0, out=rows, mode="clip")
        np.copyto(out, rows, casting="unsafe")


def _make_batch(plan, n, dtype):
    """:class:`StepBatch` and :class:`StepTargets` buffers for batches of ``n``."""
    empty = np.empty((0, 0), dtype)
    outputs, pre, grads = [np.empty((n, plan.inputs), dtype)], [], [empty]
    uniforms, keeps = [], []
    for p in plan.layers:
        out = np.empty((n, p.features), dtype)
        linear_dense = p.op == DENSE and p.activation == LINEAR
        pre.append(out if linear_dense else np.empty_like(out) if p.op == DENSE else empty)
        outputs.append(out)
        grads.append(np.empty_like(out))
        dropout = p.op in (DROPOUT, ALPHA_DROPOUT)
        uniforms.append(np.empty((n, p.features) if dropout else (0, 0), np.float32))
        keeps.append(np.empty_like(out) if dropout else empty)
    batch = StepBatch(_typed(outputs), _typed(pre), _typed(grads), _typed(uniforms),
                      _typed(keeps), new_stack())
    sparse = plan.loss_kind == SPARSE_CATEGORICAL
    targets = StepTargets(np.empty(n if sparse else 0, np.int64),
                          np.empty((0, 0) if sparse else (n, plan.layers[-1].features), dtype),
                          np.empty(0, dtype), np.empty(n, dtype), new_stack(),
                          np.empty(1, dtype))
    return batch, targets
