r"""A whole training step of a Dense network in preallocated buffers (opt-in).

``model.fit`` runs each layer's ``call`` and ``backward``, the loss and the optimizer as
separate objects, and every one of them returns new arrays: a step of the chapter's
784-300-100-10 MLP allocates about 90 NumPy buffers on the NumPy path. :class:`FusedTrainer`
runs the *same arithmetic* — the same NumPy operations on the same operands in the same order
— into buffers allocated once per batch size, so a steady-state step allocates no array at
all, and it takes a few Python calls per layer instead of a dispatch through the layer,
loss, metric and optimizer objects.

For each Dense layer :math:`l` (kernel :math:`W_l`, bias :math:`b_l`, activation :math:`f_l`):

.. math::
    z_l = a_{l-1} W_l + b_l, \qquad a_l = f_l(z_l)

and at the softmax output, with :math:`n` samples and one-hot labels :math:`Y`, the sparse
categorical cross-entropy from the logits and its gradient
(:class:`numpy_nn.losses.SparseCategoricalCrossentropy`):

.. math::
    L = \frac1n \sum_i \Big(\log\sum_j e^{z_{ij}} - z_{i y_i}\Big), \qquad
    \delta_L = \frac{\operatorname{softmax}(z_L) - Y}{n}

then backward :math:`\nabla W_l = a_{l-1}^\top \delta_l`,
:math:`\nabla b_l = \sum_i \delta_{l,i}`, :math:`\delta_{l-1} = f'_{l-1} \odot (\delta_l W_l^\top)`,
and the optimizer's update, e.g. plain SGD :math:`W \leftarrow W - \eta \nabla W` (after
the whole backward pass, as ``optimizer.apply`` does).

Supported: ``Flatten``, ``Dense`` (with bias, no regularizer or constraint) whose activation
is linear, ReLU, LeakyReLU, ELU or SELU, optionally followed by one ``ReLU`` / ``LeakyReLU`` /
``ELU`` layer, a ``BatchNormalization`` of a Dense layer's input (training mode, batch
statistics: on the NumPy path the layer's own ``forward`` and ``backward`` run, compiled its
Numba kernels), a softmax output, ``sparse_categorical_crossentropy``, and any numpy_nn
optimizer — the chapter's LeakyReLU, BatchNormalization, SELU and ELU networks. Plain SGD
(no momentum, schedule, decay, clipping or weight decay) is applied by the step itself; any
other optimizer receives the gradients and runs its own ``apply`` (clipping, schedule,
update, iteration count).
Anything else raises :class:`Unsupported` naming what; train such models with ``fit``.

The weights are the model's own arrays, updated in place, so the model is trained exactly as
by ``fit`` (``tests/test_fused_step.py`` checks it bit for bit against
``model.train_on_batch`` on the NumPy path). The accuracy is counted from the logits (the
softmax preserves their order).

With ``compiled=True`` (the default on the Numba kernel path) the whole step is one Numba
call, :func:`numpy_nn.kernels.fused_numba.train_step`: the same products through NumPy's own
BLAS, each element-wise pass one loop, and the update of each kernel added into it by the
product that computes its gradient; that call allocates nothing, not even the records Numba's
runtime makes for array arguments. It agrees with the NumPy step within a few units in the
last place (``tests/test_fused_step.py``). ``NUMPY_NN_BLAS`` can send its products to Intel
MKL instead, all of them (``mkl``) or, per product shape, whichever library was faster when
the buffers of that batch size were made (``fastest``; :mod:`numpy_nn.kernels.blas`);
``trainer.gemm_choices[batch_size]`` says which library each product uses.
"""
from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

from numpy_nn import activations as A
from numpy_nn import backend
from numpy_nn import layers as L
from numpy_nn.kernels import load_twins
from numpy_nn.optimizers import SGD
from numpy_nn.optimizers.base import Optimizer
from numpy_nn.optimizers.flat import grad_buffer

_ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "selu")
#: a unit's three matrix products, in the order of ``_Buffers.libraries``' columns
PRODUCTS = ("x W", "delta W^T", "x^T delta")


class Unsupported(ValueError):
    """The model uses something :class:`FusedTrainer` does not implement."""


class _BatchLists(NamedTuple):
    """One batch size's buffers as the compiled step's typed Lists (one entry per unit)."""

    a: object            #: a[0] = the batch's inputs, a[i + 1] = unit i's output
    z: object
    delta: object
    labels: object       #: [the batch's labels]
    per_sample: object   #: [the per-sample losses]
    normed: object       #: BatchNormalization outputs (empty for a unit without one)
    norm_grad: object    #: the gradients reaching them
    libraries: object    #: [per unit, the BLAS library of each product (``_Buffers.libraries``)]


class _WeightLists(NamedTuple):
    """The model's arrays as the compiled step's typed Lists, and what they were made from."""

    held: list           #: every array below, to notice one being replaced
    gradients: list      #: gradient destinations, in the order of ``FusedTrainer.variables``
    kernels: object
    biases: object
    grad_kernels: object
    grad_biases: object
    constants: object    #: per unit (kind, p, scale, has_norm, epsilon, momentum, 1 - momentum)
    norm: tuple          #: BN's gamma, beta, moving mean/variance, gradients, mean, 1/std, scratch


class _Unit:
    """One Dense layer, the activation applied to its output and, if the model has one just
    before it, the BatchNormalization layer its input goes through (``norm``)."""

    def __init__(self, kernel, bias, activation, norm=None):
        self.kernel, self.bias, self.activation, self.norm = kernel, bias, activation, norm

    def constants(self):
        """The activation's scalars as 0-d arrays of the weights' dtype, made once (a Python
        scalar in a ufunc call would become a new 0-d array on every step)."""
        dtype = self.kernel.value.dtype
        f = self.activation
        values = {"zero": 0, "one": 1, "slope": getattr(f, "negative_slope", 0),
                  "alpha": getattr(f, "alpha", 0) if f.name == "elu" else 0,
                  "scale": A.SELU_SCALE, "scale_alpha": A.SELU_SCALE * A.SELU_ALPHA}
        self.c = {k: np.asarray(v, dtype) for k, v in values.items()}


def _is_plain_sgd(optimizer):
    """SGD without momentum, schedule, decay, clipping or weight decay: the update the step
    itself makes (``w -= rate * grad``); every other optimizer runs its own ``apply``."""
    return (type(optimizer) is SGD and optimizer.momentum == 0
            and not isinstance(optimizer.get_config().get("learning_rate"), dict)
            and not any(getattr(optimizer, option, None) for option in
                        ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "decay")))


def _plan(model):
    if getattr(model.loss, "name", None) != "sparse_categorical_crossentropy":
        raise Unsupported(f"FusedTrainer: loss {getattr(model.loss, 'name', None)!r}; only "
                          f"'sparse_categorical_crossentropy' is fused")
    if not isinstance(model.optimizer, Optimizer):
        raise Unsupported(f"FusedTrainer: optimizer {type(model.optimizer).__name__}; a "
                          f"numpy_nn optimizer is needed")
    units, norm = [], None
    layers = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]
    for index, layer in enumerate(layers):
        where = f"layer '{layer.name}' ({type(layer).__name__})"
        if not layer.trainable and layer.weights:
            raise Unsupported(f"FusedTrainer: {where} is frozen")
        if isinstance(layer, L.Flatten):
            if units or norm is not None:
                raise Unsupported(f"FusedTrainer: {where} after a Dense or "
                                  f"BatchNormalization layer")
            continue
        if isinstance(layer, L.BatchNormalization):
            if norm is not None or len(getattr(layer, "_broadcast", ())) != 2 or \
                    not (layer.center and layer.scale) or any(
                        v.regularizer is not None or v.constraint is not None
                        for v in (layer.gamma, layer.beta)):
                raise Unsupported(f"FusedTrainer: {where}: only one BatchNormalization of "
                                  f"2-D inputs with center, scale and no regularizer or "
                                  f"constraint, before a Dense layer, is fused")
            norm = layer
            continue
        if isinstance(layer, L.Dense):
            if not layer.use_bias:
                raise Unsupported(f"FusedTrainer: {where} without a bias")
            if any(v.regularizer is not None or v.constraint is not None
                   for v in (layer.kernel, layer.bias)):
                raise Unsupported(f"FusedTrainer: {where} has a regularizer or constraint")
            name = layer.activation.name
            if name == "softmax":
                if index != len(layers) - 1:
                    raise Unsupported(f"FusedTrainer: {where}: softmax only on the output")
            elif name not in _ACTIVATIONS:
                raise Unsupported(f"FusedTrainer: {where}: activation {name!r}")
            units.append(_Unit(layer.kernel, layer.bias, layer.activation, norm))
            norm = None
            continue
        if isinstance(layer, (L.ReLU, L.LeakyReLU, L.ELU)) and units and norm is None \
                and units[-1].activation.name == "linear":
            units[-1].activation = layer.function
            continue
        raise Unsupported(f"FusedTrainer: {where} is not fused")
    if norm is not None:
        raise Unsupported(f"FusedTrainer: layer '{norm.name}' (BatchNormalization) is not "
                          f"followed by a Dense layer")
    if not units or units[-1].activation.name != "softmax":
        raise Unsupported("FusedTrainer: the output must be a Dense softmax layer")
    if units[0].kernel.value.dtype != np.float32 and units[0].kernel.value.dtype != np.float64:
        raise Unsupported(f"FusedTrainer: weights of dtype {units[0].kernel.value.dtype}")
    return units


class _Buffers:
    """Every array one step of batch size ``n`` needs, allocated once (the compiled step
    needs none of the NumPy step's scratch arrays). The gradients, whose shapes do not
    depend on ``n``, belong to the trainer."""

    def __init__(self, units, n, inputs, dtype, compiled):
        self.n = n
        self.x = np.empty((n, inputs), dtype)
        self.labels = np.empty(n, np.intp)
        self.z = [np.empty((n, u.kernel.value.shape[1]), dtype) for u in units]
        # a linear unit's output is its z (the reference returns z itself)
        self.a = [z if u.activation.name == "linear" else np.empty_like(z)
                  for u, z in zip(units, self.z)]
        self.delta = [np.empty_like(z) for z in self.z]
        # per BatchNormalization before unit i: its output (unit i's input) and the gradient
        # reaching that output; an empty placeholder elsewhere (typed Lists need one per unit)
        self.normed = [np.empty((n, u.kernel.value.shape[0]) if u.norm else (0, 0), dtype)
                       for u in units]
        self.norm_grad = [np.empty_like(normed) for normed in self.normed]
        self.per_sample = np.empty(n, dtype)
        self.count = np.asarray(n, dtype)
        self.loss = np.empty((), dtype)
        self.compiled = None        # these buffers as the compiled step's _BatchLists
        # per unit, the BLAS library (numpy_nn.kernels.blas.LIBRARIES) of each product:
        # x W, delta W^T, x^T delta (set by FusedTrainer.buffers)
        self.libraries = np.zeros((len(units), len(PRODUCTS)), np.intp)
        if compiled:
            return
        classes = units[-1].kernel.value.shape[1]
        self.classes = np.arange(classes)
        self.is_label = np.empty((n, classes), bool)
        self.onehot = np.zeros((n, classes), dtype)
        self.mask = [np.empty(z.shape, bool) for z in self.z]
        self.temp = [np.empty_like(z) for z in self.z]
        self.row_max = np.empty((n, 1), dtype)
        self.row_sum = np.empty((n, 1), dtype)
        self.picked = np.empty(n, dtype)
        self.predicted = np.empty(n, np.intp)
        self.correct = np.empty(n, bool)


def _forward_activation(unit, z, a, mask):
    """``a = f(z)`` with the reference's operations (:mod:`numpy_nn.activations`)."""
    name, c = unit.activation.name, unit.c
    if name == "linear":
        return
    if name == "relu":                  # np.maximum(x, 0)
        np.maximum(z, c["zero"], out=a)
    elif name == "leaky_relu":          # np.where(x > 0, x, x * slope)
        np.greater(z, c["zero"], out=mask)
        np.multiply(z, c["slope"], out=a)
        np.copyto(a, z, where=mask)
    elif name == "elu":                 # np.where(x > 0, x, alpha * (exp(min(x, 0)) - 1))
        np.greater(z, c["zero"], out=mask)
        np.minimum(z, c["zero"], out=a)
        np.exp(a, out=a)
        np.subtract(a, c["one"], out=a)
        np.multiply(c["alpha"], a, out=a)
        np.copyto(a, z, where=mask)
    elif name == "selu":                # where(x > 0, scale x, scale alpha (exp(min(x,0)) - 1))
        np.greater(z, c["zero"], out=mask)
        np.minimum(z, c["zero"], out=a)
        np.exp(a, out=a)
        np.subtract(a, c["one"], out=a)
        np.multiply(c["scale_alpha"], a, out=a)
        np.multiply(c["scale"], z, out=z)   # z itself is not needed again after this
        np.copyto(a, z, where=mask)


def _backward_activation(unit, z, a, g, mask, temp):
    """``g <- f'(z) * g`` in place, with the reference's operations."""
    name, c = unit.activation.name, unit.c
    if name == "linear":
        return
    if name == "relu":                  # np.where(x > 0, g, 0)
        np.greater(z, c["zero"], out=mask)
        np.logical_not(mask, out=mask)
        np.copyto(g, c["zero"], where=mask)
    elif name == "leaky_relu":          # np.where(x > 0, g, g * slope)
        np.greater(z, c["zero"], out=mask)
        np.logical_not(mask, out=mask)
        np.multiply(g, c["slope"], out=g, where=mask)
    elif name == "elu":                 # np.where(x > 0, g, g * (y + alpha))
        np.greater(z, c["zero"], out=mask)
        np.logical_not(mask, out=mask)
        np.add(a, c["alpha"], out=temp)
        np.multiply(g, temp, out=g, where=mask)
    elif name == "selu":                # np.where(y < 0, g * (y + scale alpha), g * scale)
        np.less(a, c["zero"], out=mask)
        np.add(a, c["scale_alpha"], out=temp)
        np.multiply(g, temp, out=temp)
        np.multiply(g, c["scale"], out=g)
        np.copyto(g, temp, where=mask)


class FusedTrainer:
    """Train a supported numpy_nn ``Sequential`` (see the module docstring) with whole steps
    in preallocated buffers: ``FusedTrainer(model).fit(x, y, batch_size=32, epochs=1)``."""

    def __init__(self, model, compiled=None):
        """``compiled``: run the element-wise passes as Numba loops
        (:mod:`.fused_numba`); ``None`` (default) follows ``backend.kernel_path()``."""
        self.model = model
        self.units = _plan(model)
        self.compiled = backend.kernel_path() == "numba" if compiled is None else compiled
        if self.compiled:            # Numba is optional: imported only when asked for
            load_twins()             # the clear "pip install numpy_nn[numba]" error if absent
            self._numba = importlib.import_module("numpy_nn.kernels.fused_numba")
        self.dtype = self.units[0].kernel.value.dtype
        self.inputs = self.units[0].kernel.value.shape[0]
        self._buffers = {}
        self.gemm_choices = {}      # batch size -> per unit, product -> (library, timings)
        self._rate = None           # fixed for one fit() call (read when it starts)
        self._weight_lists = None   # the compiled step's _WeightLists
        self.plain_sgd = _is_plain_sgd(model.optimizer)
        self.variables = [v for unit in self.units for v in (
            ((unit.norm.gamma, unit.norm.beta) if unit.norm else ()) + (unit.kernel, unit.bias))]
        # grad W_i, grad b_i (the compiled plain-SGD step adds its update into W_i instead
        # and uses only the bias gradients)
        self.grad_kernel = [np.empty_like(u.kernel.value) for u in self.units]
        self.grad_bias = [np.empty_like(u.bias.value) for u in self.units]
        # per BatchNormalization before unit i (empty placeholders elsewhere): grad gamma,
        # grad beta, the batch mean, 1/sqrt(variance + eps), and the kernels' scratch
        features = [u.kernel.value.shape[0] if u.norm else 0 for u in self.units]
        self.grad_gamma = [np.empty(f, self.dtype) for f in features]
        self.grad_beta = [np.empty(f, self.dtype) for f in features]
        self.norm_mean = [np.empty(f, self.dtype) for f in features]
        self.norm_inv_std = [np.empty(f, self.dtype) for f in features]
        self.norm_scratch = [np.empty((3, f), self.dtype) for f in features]
        for unit in self.units:
            unit.constants()
            c = unit.c
            name = unit.activation.name
            unit.kind = (0, 1, 2, 3, 4)[_ACTIVATIONS.index(name)] if name in _ACTIVATIONS \
                else -1
            # the kernels' scalar arguments, as scalars of the weights' dtype
            unit.p = {"leaky_relu": c["slope"], "elu": c["alpha"],
                      "selu": c["scale_alpha"]}.get(name, c["zero"])[()]
            unit.scale = c["scale"][()]

    def buffers(self, n):
        """The buffers of batch size ``n``, made on first use (compiled: with the BLAS library
        of each product chosen, :meth:`_choose_libraries`)."""
        if n not in self._buffers:
            buffers = _Buffers(self.units, n, self.inputs, self.dtype, self.compiled)
            if self.compiled:
                buffers.libraries[...] = self._choose_libraries(n)
            self._buffers[n] = buffers
        return self._buffers[n]

    def _choose_libraries(self, n):
        """Per unit and product (:data:`PRODUCTS`), the BLAS library the compiled step calls
        at batch size ``n``: the one ``NUMPY_NN_BLAS`` names, or with ``fastest`` the faster
        of NumPy's and MKL's on random operands of the products' shapes
        (:func:`numpy_nn.kernels.blas.faster_library`): per product when NumPy's BLAS runs one
        thread, else one library for all the step's products (two libraries' threads would
        spin against each other). Recorded in ``self.gemm_choices[n]``: per unit, per
        product, the library's name and each library's best time in seconds for what was
        timed with it (None when nothing was timed)."""
        blas = importlib.import_module("numpy_nn.kernels.blas")
        chosen = np.full((len(self.units), len(PRODUCTS)), blas.DEFAULT_LIBRARY, np.intp)
        seconds = np.full(chosen.shape, None, object)
        if blas.PROVIDER == "fastest" and len(blas.CHOICES) > 1:
            products = self._random_products(n)
            if blas.numpy_blas_threads() == 1:
                for (i, j), product in products.items():
                    chosen[i, j], timings = blas.faster_library([product])
                    seconds[i, j] = {blas.LIBRARIES[k]: t for k, t in timings.items()}
            else:
                library, timings = blas.faster_library(list(products.values()))
                for i, j in products:
                    chosen[i, j] = library
                    seconds[i, j] = {blas.LIBRARIES[k]: t for k, t in timings.items()}
        self.gemm_choices[n] = [
            {name: (blas.LIBRARIES[chosen[i, j]], seconds[i, j])
             for j, name in enumerate(PRODUCTS)} for i in range(len(self.units))]
        return chosen

    def _random_products(self, n):
        """``{(unit, product): (a, b, out, transpose_a, transpose_b)}``: random operands of
        the shapes of each product the compiled step computes at batch size ``n``."""
        rng, dtype, products = np.random.default_rng(0), self.dtype, {}
        for i, unit in enumerate(self.units):
            inputs, outputs = unit.kernel.value.shape
            x = rng.standard_normal((n, inputs)).astype(dtype)
            w = rng.standard_normal((inputs, outputs)).astype(dtype)
            delta = rng.standard_normal((n, outputs)).astype(dtype)
            products[i, 0] = (x, w, np.empty((n, outputs), dtype), False, False)
            if i > 0 or unit.norm is not None:  # no gradient flows below a first layer
                products[i, 1] = (delta, w, np.empty((n, inputs), dtype), False, True)
            products[i, 2] = (x, delta, np.empty((inputs, outputs), dtype), True, False)
        return products

    def train_step(self, x, labels):
        """One training step on ``x`` (``(n, inputs)``, the model's dtype) and integer
        ``labels`` (``(n,)`` intp); returns ``(loss, correct predictions)``. With plain SGD it
        allocates nothing once the buffers of this batch size exist."""
        n = len(x)
        if np.shape(x)[1:] != (self.inputs,):
            raise ValueError(f"FusedTrainer.train_step: x must have shape (n, {self.inputs}), "
                             f"got {np.shape(x)}")
        if np.size(labels) != n or np.ndim(labels) > 2:
            raise ValueError(f"FusedTrainer.train_step: labels must hold one class per sample, "
                             f"shape ({n},) or ({n}, 1), got {np.shape(labels)}")
        b = self.buffers(n)
        np.copyto(b.x, x)
        np.copyto(b.labels, np.reshape(labels, n))    # a view: (n, 1) -> (n,)
        if not self.compiled:
            self._one_hot(b)
        return self._step(b, b.x, b.labels)

    @staticmethod
    def _one_hot(b):
        np.equal(b.labels[:, None], b.classes, out=b.is_label)
        np.copyto(b.onehot, b.is_label)

    def _step(self, b, x, labels):
        if self.compiled:
            return self._compiled_step(b)     # its typed Lists hold b.x and b.labels
        units, last = self.units, len(self.units) - 1
        # forward: (BatchNormalization by the layer itself;) z = x W; z += b; a = f(z)
        inputs = x
        for i, unit in enumerate(units):
            if unit.norm is not None:
                np.copyto(b.normed[i], unit.norm.forward(inputs, training=True))
                inputs = b.normed[i]
            np.matmul(inputs, unit.kernel.value, out=b.z[i])
            np.add(b.z[i], unit.bias.value, out=b.z[i])
            if i < last:
                _forward_activation(unit, b.z[i], b.a[i], b.mask[i])
                inputs = b.a[i]
        # loss from the logits: log-sum-exp minus the label's logit; gradient softmax - Y
        z, g = b.z[last], b.delta[last]
        np.max(z, axis=1, keepdims=True, out=b.row_max)
        np.subtract(z, b.row_max, out=g)
        np.exp(g, out=g)
        np.sum(g, axis=1, keepdims=True, out=b.row_sum)
        np.multiply(z, b.onehot, out=b.temp[last])      # the label's logit, zeros elsewhere
        np.sum(b.temp[last], axis=1, out=b.picked)
        np.log(b.row_sum[:, 0], out=b.per_sample)
        np.add(b.row_max[:, 0], b.per_sample, out=b.per_sample)
        np.subtract(b.per_sample, b.picked, out=b.per_sample)
        np.sum(b.per_sample, dtype=self.dtype, out=b.loss)
        np.divide(b.loss, b.count, out=b.loss)
        np.argmax(z, axis=1, out=b.predicted)
        np.equal(b.predicted, labels, out=b.correct)
        correct = int(np.count_nonzero(b.correct))
        np.divide(g, b.row_sum, out=g)
        np.subtract(g, b.onehot, out=g)
        np.divide(g, b.count, out=g)
        self._backward(b, x, lambda i: _backward_activation(
            units[i], b.z[i], b.a[i], b.delta[i], b.mask[i], b.temp[i]))
        optimizer = self.model.optimizer
        if not self.plain_sgd:
            optimizer.apply(self._own_gradients(), self.variables)
            return b.loss.item(), correct
        # SGD: w -= grad * learning_rate, after the whole backward pass
        rate = self._rate if self._rate is not None else \
            optimizer.current_learning_rate(self.dtype)
        for variable, grad in zip(self.variables, self._own_gradients()):
            np.multiply(grad, rate, out=grad)
            np.subtract(variable.value, grad, out=variable.value)
        optimizer.iterations += 1
        return b.loss.item(), correct

    def _own_gradients(self):
        """The trainer's gradient arrays, in the order of ``self.variables``."""
        return [g for i, unit in enumerate(self.units) for g in (
            ((self.grad_gamma[i], self.grad_beta[i]) if unit.norm else ())
            + (self.grad_kernel[i], self.grad_bias[i]))]

    def _backward(self, b, x, activation_backward):
        """grad W = a^T delta, grad b = sum delta, then delta below = f'(z) (delta W^T), from
        the output down (through a BatchNormalization's own ``backward`` where unit i has
        one); ``activation_backward(i)`` applies layer i's f' to ``b.delta[i]``."""
        units = self.units
        for i in range(len(units) - 1, -1, -1):
            norm = units[i].norm
            below = b.normed[i] if norm is not None else x if i == 0 else b.a[i - 1]
            np.matmul(below.T, b.delta[i], out=self.grad_kernel[i])
            np.sum(b.delta[i], axis=0, out=self.grad_bias[i])
            if norm is not None:
                np.matmul(b.delta[i], units[i].kernel.value.T, out=b.norm_grad[i])
                grad_input = norm.backward(b.norm_grad[i], need_input_grad=i > 0)
                np.copyto(self.grad_gamma[i], norm.gamma.grad)
                np.copyto(self.grad_beta[i], norm.beta.grad)
                if i > 0:
                    np.copyto(b.delta[i - 1], grad_input)
                    activation_backward(i - 1)
            elif i > 0:
                np.matmul(b.delta[i], units[i].kernel.value.T, out=b.delta[i - 1])
                activation_backward(i - 1)

    def _compiled_step(self, b):
        """:meth:`_step` as one Numba call (:func:`.fused_numba.train_step`): the same
        products and element-wise passes, without a Python dispatch per layer. Plain SGD
        updates inside that call; any other optimizer gets the gradients and runs its own
        ``apply`` (on the Numba path, one fused pass over a flat buffer of all parameters,
        into whose gradient views the call has already written)."""
        optimizer = self.model.optimizer
        if self.plain_sgd:
            rate = (self._rate if self._rate is not None
                    else optimizer.current_learning_rate(self.dtype))[()]
        else:
            rate = self.dtype.type(0)
        arguments, gradients = self._compiled_arguments(b)
        correct = self._numba.train_step(*arguments, b.count[()], rate, self.plain_sgd,
                                         self._norm_arguments(b))
        np.sum(b.per_sample, dtype=self.dtype, out=b.loss)
        np.divide(b.loss, b.count, out=b.loss)
        if self.plain_sgd:
            optimizer.iterations += 1
        else:
            optimizer.apply(gradients, self.variables)
        return b.loss.item(), correct

    def _gradient_destinations(self):
        """Where each variable's gradient goes, in the order of ``self.variables``: its view of
        the optimizer's flat gradient buffer when it has one (:mod:`.flat`; nothing to copy
        then), else the trainer's own array."""
        own = self._own_gradients()
        if self.plain_sgd:
            return own
        flat = [grad_buffer(v) for v in self.variables]
        return [view if view is not None and view.shape == g.shape else g
                for view, g in zip(flat, own)]

    def _compiled_arguments(self, b):
        """:func:`.fused_numba.train_step`'s typed Lists, and the gradients in the order of
        ``self.variables``: the batch's buffers (made once per batch size) and the model's
        weights and gradients (made again only if one of those arrays was replaced, e.g. moved
        into a flat buffer by the optimizer's first fused update)."""
        typed = self._numba.typed_list
        destinations = self._gradient_destinations()
        norms = [u.norm for u in self.units if u.norm is not None]
        held = [v.value for v in self.variables] + destinations + [
            v.value for norm in norms for v in (norm.moving_mean, norm.moving_variance)]
        weights = self._weight_lists
        if weights is None or any(
                array is not before for array, before in zip(held, weights.held)):
            weights = self._weight_lists = self._weight_arguments(held, destinations)
        if b.compiled is None:
            b.compiled = _BatchLists(typed([b.x] + b.a[:-1]), typed(b.z), typed(b.delta),
                                     typed([b.labels]), typed([b.per_sample]),
                                     typed(b.normed), typed(b.norm_grad), typed([b.libraries]))
        lists = b.compiled
        return ((lists.a, lists.z, lists.delta, weights.kernels, weights.biases,
                 weights.grad_kernels, weights.grad_biases, weights.constants, lists.labels,
                 lists.per_sample, lists.libraries), weights.gradients)

    def _weight_arguments(self, held, destinations):
        """:class:`_WeightLists` of the weights, gradient destinations and constants, with
        empty arrays for BatchNormalization's entries of a unit without one."""
        typed, dtype = self._numba.typed_list, self.dtype
        per_unit = {name: [] for name in ("kernel", "bias", "grad_kernel", "grad_bias",
                                          "gamma", "beta", "moving_mean", "moving_variance",
                                          "grad_gamma", "grad_beta", "constants")}
        given = iter(destinations)
        for i, unit in enumerate(self.units):
            norm = unit.norm
            empty = np.empty(0, dtype)
            if norm is not None:
                per_unit["grad_gamma"].append(next(given))
                per_unit["grad_beta"].append(next(given))
            else:
                per_unit["grad_gamma"].append(self.grad_gamma[i])
                per_unit["grad_beta"].append(self.grad_beta[i])
            per_unit["grad_kernel"].append(next(given))
            per_unit["grad_bias"].append(next(given))
            per_unit["kernel"].append(unit.kernel.value)
            per_unit["bias"].append(unit.bias.value)
            for name in ("gamma", "beta", "moving_mean", "moving_variance"):
                per_unit[name].append(getattr(norm, name).value if norm else empty)
            per_unit["constants"].append(np.asarray(
                [unit.kind, unit.p, unit.scale, norm is not None,
                 norm.epsilon if norm else 0, norm.momentum if norm else 0,
                 1.0 - norm.momentum if norm else 0], dtype))
        lists = {name: typed(arrays) for name, arrays in per_unit.items()}
        norm_lists = (lists["gamma"], lists["beta"], lists["moving_mean"],
                      lists["moving_variance"], lists["grad_gamma"], lists["grad_beta"],
                      typed(self.norm_mean), typed(self.norm_inv_std), typed(self.norm_scratch))
        return _WeightLists(held, destinations, lists["kernel"], lists["bias"],
                            lists["grad_kernel"], lists["grad_bias"], lists["constants"],
                            norm_lists)

    def _norm_arguments(self, b):
        """:func:`.fused_numba.train_step`'s ``norm``: this batch size's BatchNormalization
        outputs and their gradients, then the trainer's lists (:meth:`_weight_arguments`)."""
        return (b.compiled.normed, b.compiled.norm_grad) + self._weight_lists.norm

    def fit(self, x, y, batch_size=32, epochs=1, shuffle=True, seed=None):
        """Train ``epochs`` epochs; returns ``{"loss": [...], "accuracy": [...]}`` per epoch
        (the loss averaged over samples, as Keras's loss tracker does)."""
        x = np.asarray(x, self.dtype).reshape(len(x), -1)
        labels = np.asarray(y).reshape(len(x)).astype(np.intp)
        if x.shape[1] != self.inputs:
            raise ValueError(f"FusedTrainer.fit: x has {x.shape[1]} features per sample, the "
                             f"first Dense layer expects {self.inputs}")
        rng = np.random.default_rng(seed)
        history = {"loss": [], "accuracy": []}
        count = len(x)
        for _ in range(epochs):
            self._rate = self.model.optimizer.current_learning_rate(self.dtype)
            order = rng.permutation(count) if shuffle else None
            total, correct = 0.0, 0
            for start in range(0, count, batch_size):
                n = min(batch_size, count - start)
                b = self.buffers(n)
                if order is None:
                    np.copyto(b.x, x[start:start + n])
                    np.copyto(b.labels, labels[start:start + n])
                else:
                    index = order[start:start + n]
                    # mode="clip": with the default "raise", take buffers its output (a new
                    # array per batch); these indices are in range by construction
                    np.take(x, index, axis=0, out=b.x, mode="clip")
                    np.take(labels, index, out=b.labels, mode="clip")
                if not self.compiled:
                    self._one_hot(b)
                loss, right = self._step(b, b.x, b.labels)
                total += loss * n
                correct += right
            self._rate = None
            history["loss"].append(total / count)
            history["accuracy"].append(correct / count)
        return history
