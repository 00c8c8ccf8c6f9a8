r"""A whole training step as one compiled call, and the compiled evaluation and prediction.

:func:`train_step` is ``Trainer.train_step`` (:mod:`numpy_nn.models.trainer`) over arrays::

    y_pred = forward(x, training=True)              step_layers.forward
    loss, delta = loss.value_and_grad(y, y_pred)    step_losses.loss_and_delta
    backward(delta)                                 step_layers.backward
    loss += penalties; grads += their gradients     step_updates.add_penalties
    (stop here if asked to and anything is NaN/inf)
    optimizer.apply(grads)                          step_updates.learning_rate, update,
                                                    constrain

Its array arguments come in typed Lists made once by the driver
(:mod:`numpy_nn.models.compiled_step`): ``layers`` of :class:`.step_layers.StepLayer`, and
``batch``, ``targets`` and ``optimizer`` each a one-element List of its NamedTuple. Numba
receives a typed List by reference, while every NumPy array passed directly (or inside a
tuple) costs a small record of its runtime on each call; so a step allocates nothing.
"""
from __future__ import annotations

from numpy_nn.kernels.jit import kernel
from numpy_nn.kernels.step_layers import backward, forward
from numpy_nn.kernels.step_losses import loss_and_delta
from numpy_nn.kernels.step_updates import (
    add_penalties,
    all_finite,
    constrain,
    learning_rate,
    update,
)


@kernel
def train_step(layers, batches, all_targets, optimizers, loss_kind, from_logits, lowest,
               given_rate, iterations, check_finite, epsilon):
    """One step; the loss goes to ``all_targets[0].loss[0]``. Returns whether the update
    was applied: False only when ``check_finite`` found a NaN or inf in the loss or a
    gradient, in which case nothing was updated but the moving statistics (the driver puts
    those back)."""
    batch, targets, optimizer = batches[0], all_targets[0], optimizers[0]
    forward(layers, batch, True)
    last = len(layers) - 1
    loss = loss_and_delta(loss_kind, batch.pre_activations[last], batch.outputs[last + 1],
                          targets, batch.grads[last + 1])
    trains = lowest <= last
    rate = learning_rate(optimizer, iterations, given_rate)
    # plain SGD updates (most) kernels inside their gradient's product, unless every gradient
    # must be seen first (the non-finite check)
    sgd_rate = rate if optimizer.sgd_in_products and not check_finite else rate - rate
    if trains:
        backward(layers, batch, lowest, from_logits, True, sgd_rate)
        loss = loss + add_penalties(optimizer)
    targets.loss[0] = loss
    if check_finite and not all_finite(loss, optimizer.grads):
        return False
    if trains:
        update(optimizer, rate, iterations, sgd_rate != 0)
        constrain(optimizer, epsilon)
    return True


@kernel
def test_step(layers, batches, all_targets, loss_kind):
    """The loss of a batch in inference mode, into ``all_targets[0].loss[0]`` (its gradient
    lands in scratch)."""
    batch, targets = batches[0], all_targets[0]
    forward(layers, batch, False)
    last = len(layers) - 1
    targets.loss[0] = loss_and_delta(loss_kind, batch.pre_activations[last],
                                     batch.outputs[last + 1], targets, batch.grads[last + 1])


@kernel
def predict_step(layers, batches, training):
    forward(layers, batches[0], training)
