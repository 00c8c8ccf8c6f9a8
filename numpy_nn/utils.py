r"""Tools the chapter writes by hand, as library functions.

* :func:`set_random_seed` — seed the whole engine (and NumPy's global generator).
* :func:`find_learning_rate` — the learning-rate finder: one exponential sweep of the rate,
  then everything put back as it was.
* :func:`plot_lr_vs_loss` — the finder's plot (matplotlib is imported only when called).
* :func:`mc_predict` — Monte Carlo dropout: average many predictions with dropout left on.
* :func:`to_categorical` — class indices as one-hot rows (Keras's ``utils.to_categorical``).
* :func:`explain_step` — one training step of a small model as a document: every quantity, its
  equation and the source line computing it (:mod:`numpy_nn.explain`).
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.backend import set_random_seed
from numpy_nn.callbacks import ExponentialLearningRate
from numpy_nn.callbacks.layer_statistics import plot_layer_statistics
from numpy_nn.explain import explain_step
from numpy_nn.gradient_check import check_gradients
from numpy_nn.layers.regularization import AlphaDropout, Dropout
from numpy_nn.models import validation

__all__ = ["set_random_seed", "find_learning_rate", "plot_lr_vs_loss", "mc_predict",
           "check_gradients", "plot_layer_statistics", "to_categorical", "explain_step"]


def to_categorical(x, num_classes=None):
    """Class indices ``x`` (any shape; a trailing axis of size 1 is dropped) as one-hot rows of
    ``num_classes`` columns (default ``max(x) + 1``), float64, as
    ``keras/src/utils/numerical_utils.py::to_categorical`` returns them for NumPy input."""
    x = np.asarray(x)
    if x.dtype.kind not in "iub" and not (x.dtype.kind == "f" and np.all(x == np.round(x))):
        raise ValueError(f"to_categorical: x must hold whole class indices, got dtype {x.dtype}")
    x = x.astype(np.int64)
    shape = x.shape[:-1] if x.ndim > 1 and x.shape[-1] == 1 else x.shape
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: class indices must lie in [0, {num_classes}), got "
                         f"values from {x.min()} to {x.max()}")
    one_hot = np.zeros((x.size, num_classes))
    one_hot[np.arange(x.size), x] = 1
    return one_hot.reshape(shape + (num_classes,))


def find_learning_rate(model, X, y, epochs=1, batch_size=32, min_rate=1e-5, max_rate=10):
    r"""Train for ``epochs`` while the learning rate grows exponentially from ``min_rate`` to
    ``max_rate``; return the rate and the loss of every batch, as two lists.

    With :math:`K = \lfloor N / \text{batch\_size} \rfloor \cdot \text{epochs}` batches, the
    rate is multiplied after each batch by

    .. math:: f = \exp\!\big(\ln(\eta_\max / \eta_\min) / K\big),

    so batch :math:`k` trains at :math:`\eta_\min f^k`. The loss is the running mean since the
    epoch began, as ``fit`` reports it. The loss typically falls, flattens, then shoots up: a
    good learning rate is about ten times lower than where it starts to climb (Smith, 2015,
    "Cyclical Learning Rates for Training Neural Networks"; the chapter's helper).

    Afterwards the model is as before the call: weights, learning rate, and the optimizer's
    other state (iteration count, momentum and other slots). The chapter's version restored
    only the weights and the rate.
    """
    if model.optimizer is None:
        raise RuntimeError("find_learning_rate: compile the model first")
    if not 0 < min_rate < max_rate:
        raise ValueError(f"find_learning_rate: need 0 < min_rate < max_rate, got "
                         f"min_rate={min_rate!r}, max_rate={max_rate!r}")
    iterations = len(X) // batch_size * epochs
    if iterations < 1:
        raise ValueError(f"find_learning_rate: {len(X)} samples make no full batch of "
                         f"{batch_size}")
    factor = math.exp(math.log(max_rate / min_rate) / iterations)  # (eq. 1)
    optimizer = model.optimizer
    initial_weights = model.get_weights()
    variables = model.trainable_weights
    # The optimizer's state is copied out and written back *in place* (set_state), so every
    # array that refers to a slot (the Numba path's flat buffers, say) stays valid.
    stepped_before = bool(variables) and all(v in optimizer.slots for v in variables)
    initial_state = optimizer.get_state(variables) if stepped_before else None
    initial_iterations = optimizer.iterations
    initial_rate = float(np.asarray(optimizer.learning_rate))
    optimizer.learning_rate = min_rate
    sweep = ExponentialLearningRate(factor)
    try:
        model.fit(X, y, epochs=epochs, batch_size=batch_size, callbacks=[sweep], verbose=0)
    finally:
        model.set_weights(initial_weights)
        if initial_state is not None:
            optimizer.set_state(initial_state, variables)
        else:
            optimizer.clear_state()
            optimizer.iterations = initial_iterations
        optimizer.learning_rate = initial_rate
    return sweep.rates, sweep.losses


def plot_lr_vs_loss(rates, losses, ax=None):
    """The chapter's plot of the finder's output: loss against the rate on a log axis, with
    the minimum loss as a horizontal line. Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    ax.plot(rates, losses)
    ax.set_xscale("log")
    ax.hlines(min(losses), min(rates), max(rates))
    ax.axis([min(rates), max(rates), min(losses), (losses[0] + min(losses)) / 2])
    ax.set_xlabel("Learning rate")
    ax.set_ylabel("Loss")
    return ax


def mc_predict(model, X, n_samples=100, batch_size=1024):
    r"""Monte Carlo dropout (Gal & Ghahramani, 2016, "Dropout as a Bayesian Approximation"):
    run ``n_samples`` forward passes with the dropout layers (``Dropout``, ``AlphaDropout``)
    in training mode, and return the mean and the standard deviation of the predictions.

    .. math:: \hat p = \frac{1}{S}\sum_{s=1}^{S} f(x; m_s), \qquad
              \sigma = \sqrt{\frac{1}{S}\sum_{s}\big(f(x; m_s) - \hat p\big)^2}

    where :math:`m_s` are independent dropout masks. Only dropout is turned on: other layers
    (BatchNormalization in particular) stay in inference mode and nothing is updated, like the
    chapter's ``MCDropout``/``MCAlphaDropout`` layers. (``model(X, training=True)`` would also
    put BatchNormalization in training mode.) Masks come from the engine's random generator,
    so :func:`set_random_seed` makes the result reproducible.

    Returns ``(mean, std)``, each of the model's output shape ``(len(X), ...)``.
    """
    if not is_int(n_samples) or n_samples < 1:
        raise ValueError(f"mc_predict: n_samples must be a positive int, got {n_samples!r}")
    X = validation.prepare_inputs(model, X)
    dropout_types = (Dropout, AlphaDropout)
    if not any(isinstance(layer, dropout_types) for layer in model.layers):
        raise ValueError(f"mc_predict: model '{model.name}' has no Dropout or AlphaDropout "
                         f"layer, so every sample would be the same")

    def one_pass(batch):
        for layer in model.layers:
            batch = layer.forward(batch, training=isinstance(layer, dropout_types))
        return batch

    samples = np.stack([
        np.concatenate([one_pass(X[start:start + batch_size])
                        for start in range(0, len(X), batch_size)])
        for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)  # p̂, σ (eq. 1)
