"""The peers' side of the benchmarks: a numpy_nn model translated to PyTorch, and the training
loop a PyTorch user writes.

:func:`to_torch` builds the ``torch.nn.Sequential`` equivalent of a numpy_nn ``Sequential``
holding a copy of its weights, with the equivalent loss and optimizer:

* ``Dense`` -> ``Linear`` (PyTorch stores the kernel transposed, ``weight = kernel^T``) and the
  activation as its own module; a softmax output with sparse categorical cross-entropy becomes
  logits + ``CrossEntropyLoss`` (log-softmax and negative log-likelihood in one, which is how a
  PyTorch user writes it and what Keras computes from the cached logits);
* ``BatchNormalization`` -> ``BatchNorm1d`` with the same epsilon and PyTorch's momentum
  ``1 - momentum`` (PyTorch weighs the new batch, Keras the running value), and the same
  gamma, beta and moving statistics; PyTorch updates its running variance with the unbiased
  batch variance, Keras with the biased one, which changes the running statistics only (not
  the training step's output or gradients);
* ``Dropout`` -> ``Dropout``, ``AlphaDropout`` -> ``AlphaDropout``; ``LeakyReLU``, ``ELU``,
  ``ReLU``, ``Activation`` layers -> the same activation modules; ``Flatten`` -> ``Flatten``;
* ``SGD`` (momentum, Nesterov), ``Adam`` and ``Nadam`` -> ``torch.optim`` with the same
  hyper-parameters (Keras's epsilon, 1e-7, not PyTorch's default 1e-8). Keras 3's Nadam
  uses the momentum schedule :math:`\\mu_t = \\beta_1 (1 - \\tfrac12 0.96^{t})`
  (keras/src/optimizers/nadam.py, ``update_step``); PyTorch's NAdam computes
  :math:`\\beta_1 (1 - \\tfrac12 0.96^{t \\psi})`, so ``momentum_decay`` :math:`\\psi = 1`
  gives the same (PyTorch's default 0.004 is Keras 2's schedule).

Anything else raises :class:`Untranslatable` naming the layer, loss or optimizer. Imports
PyTorch only when called.
"""
from __future__ import annotations

import numpy as np


class Untranslatable(ValueError):
    """A layer, loss or optimizer without a PyTorch equivalent here."""


def _activation_module(name, where, nn):
    modules = {"relu": nn.ReLU, "elu": nn.ELU, "selu": nn.SELU, "tanh": nn.Tanh,
               "sigmoid": nn.Sigmoid, "leaky_relu": lambda: nn.LeakyReLU(0.2)}
    if name == "linear":
        return None
    if name not in modules:
        raise Untranslatable(f"{where}: activation {name!r} has no PyTorch translation here "
                             f"(expected one of {sorted(modules) + ['linear', 'softmax']})")
    return modules[name]()


def _activation_of(function, where, nn):
    """The module of a numpy_nn activation object (keeping LeakyReLU's and ELU's parameters)."""
    name = function.name
    if name == "leaky_relu":
        return nn.LeakyReLU(float(function.negative_slope))
    if name == "elu":
        return nn.ELU(float(function.alpha))
    return _activation_module(name, where, nn)


def to_torch(model):
    """``(module, optimizer, loss_fn)``: the PyTorch equivalent of a compiled, built numpy_nn
    ``Sequential``, with a copy of its current weights."""
    import torch
    from torch import nn

    from numpy_nn import layers as L
    loss = getattr(model, "loss", None)
    if loss is None or loss.name != "sparse_categorical_crossentropy":
        raise Untranslatable(f"to_torch: loss {getattr(loss, 'name', None)!r}: only "
                             f"'sparse_categorical_crossentropy' is translated")
    weights = [np.asarray(w) for w in model.weights]
    dtype = torch.float64 if weights and weights[0].dtype == np.float64 else torch.float32
    modules = []
    layers = list(model.layers)
    softmax_at_end = False
    for index, layer in enumerate(layers):
        where = f"layer '{layer.name}' ({type(layer).__name__})"
        last = index == len(layers) - 1
        if isinstance(layer, L.InputLayer):
            continue
        if isinstance(layer, L.Flatten):
            modules.append(nn.Flatten())
        elif isinstance(layer, L.Dense):
            kernel = np.asarray(layer.kernel)
            linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias=layer.use_bias,
                               dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                if layer.use_bias:
                    linear.bias.copy_(torch.from_numpy(np.asarray(layer.bias)))
            modules.append(linear)
            if layer.activation.name == "softmax":
                if not last:
                    raise Untranslatable(f"{where}: softmax is translated on the output only")
                softmax_at_end = True
            else:
                activation = _activation_of(layer.activation, where, nn)
                if activation is not None:
                    modules.append(activation)
        elif isinstance(layer, L.BatchNormalization):
            if layer.axis not in (-1, len(layer.input_shape) - 1) \
                    or len(layer.input_shape) != 2:
                raise Untranslatable(f"{where}: only BatchNormalization over the features of "
                                     f"a 2-D input is translated")
            features = int(layer.input_shape[-1])
            norm = nn.BatchNorm1d(features, eps=float(layer.epsilon),
                                  momentum=1.0 - float(layer.momentum),
                                  affine=layer.center or layer.scale, dtype=dtype)
            with torch.no_grad():
                if layer.scale:
                    norm.weight.copy_(torch.from_numpy(np.asarray(layer.gamma)))
                if layer.center:
                    norm.bias.copy_(torch.from_numpy(np.asarray(layer.beta)))
                norm.running_mean.copy_(torch.from_numpy(np.asarray(layer.moving_mean)))
                norm.running_var.copy_(torch.from_numpy(np.asarray(layer.moving_variance)))
            if not (layer.center and layer.scale) and (layer.center or layer.scale):
                raise Untranslatable(f"{where}: center and scale must be both on or both off")
            modules.append(norm)
        elif isinstance(layer, L.AlphaDropout):
            modules.append(nn.AlphaDropout(layer.rate))
        elif isinstance(layer, L.Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, (L.LeakyReLU, L.ELU, L.ReLU)):
            modules.append(_activation_of(layer.function, where, nn))
        elif isinstance(layer, (L.Activation, L.Softmax)):
            function = getattr(layer, "activation", None) or layer.function
            if function.name == "softmax":
                if not last:
                    raise Untranslatable(f"{where}: softmax is translated on the output only")
                softmax_at_end = True
            else:
                activation = _activation_of(function, where, nn)
                if activation is not None:
                    modules.append(activation)
        else:
            raise Untranslatable(f"{where}: no PyTorch translation here")
    if not softmax_at_end and not loss.from_logits:
        raise Untranslatable("to_torch: sparse categorical cross-entropy needs a softmax "
                             "output (or from_logits=True)")
    module = nn.Sequential(*modules)
    return module, optimizer_to_torch(model.optimizer, module.parameters()), \
        nn.CrossEntropyLoss()


def optimizer_to_torch(optimizer, parameters):
    """The ``torch.optim`` optimizer equivalent to a numpy_nn optimizer at step 0."""
    import torch
    name = type(optimizer).__name__
    if isinstance(optimizer.get_config().get("learning_rate"), dict):
        raise Untranslatable(f"to_torch: optimizer {name}: learning-rate schedules are not "
                             f"translated")
    learning_rate = float(np.asarray(optimizer.learning_rate))
    for option in ("clipnorm", "clipvalue", "global_clipnorm"):
        if getattr(optimizer, option, None) is not None:
            raise Untranslatable(f"to_torch: optimizer {name}: {option} is not translated")
    if name == "SGD":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=optimizer.momentum,
                               nesterov=optimizer.nesterov)
    if name == "Adam":
        return torch.optim.Adam(parameters, lr=learning_rate,
                                betas=(optimizer.beta_1, optimizer.beta_2),
                                eps=optimizer.epsilon)
    if name == "Nadam":
        return torch.optim.NAdam(parameters, lr=learning_rate,
                                 betas=(optimizer.beta_1, optimizer.beta_2),
                                 eps=optimizer.epsilon, momentum_decay=1.0)
    raise Untranslatable(f"to_torch: optimizer {name} has no translation here (SGD, Adam, "
                         f"Nadam)")


def torch_tensors(x, y):
    """The images as a float tensor sharing ``x``'s memory, and the labels as the int64 class
    indices of shape ``(N,)`` that ``CrossEntropyLoss`` takes (CIFAR-10's come as ``(N, 1)``,
    which Keras accepts as they are)."""
    import torch
    labels = np.asarray(y)
    return (torch.from_numpy(np.ascontiguousarray(x)),
            torch.from_numpy(labels.reshape(len(labels)).astype(np.int64)))


class TorchTrainer:
    """One epoch the way a PyTorch user writes it: shuffle the sample indices, then for each
    batch ``zero_grad``, forward, loss, ``backward``, ``step``, and count correct predictions
    (the accuracy Keras's ``fit`` reports). The data are tensors sharing the NumPy arrays'
    memory; a batch is gathered by indexing them (a ``DataLoader`` would collate sample by
    sample, much slower at batch 32, so a user after speed indexes like this)."""

    def __init__(self, module, optimizer, loss_fn, compiled=False):
        import torch
        self.torch = torch
        self.module, self.optimizer, self.loss_fn = module, optimizer, loss_fn
        self.forward = torch.compile(module, dynamic=False) if compiled else module

    def fit(self, x, y, batch_size, seed=0):
        torch = self.torch
        self.module.train()
        count = len(x)
        order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
        total_loss, correct = 0.0, 0
        for start in range(0, count, batch_size):
            index = order[start:start + batch_size]
            xb, yb = x[index], y[index]
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.forward(xb)
            loss = self.loss_fn(logits, yb)
            loss.backward()
            self.optimizer.step()
            with torch.no_grad():
                total_loss += float(loss) * len(index)
                correct += int((logits.argmax(dim=1) == yb).sum())
        return total_loss / count, correct / count
