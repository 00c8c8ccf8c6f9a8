"""Learning-rate scheduling (chapter section "Learning Rate Scheduling"), every schedule with
its plot, on the chapter's SELU network (784-300-100-10, standardised Fashion-MNIST):

1. power scheduling: Keras 2's ``SGD(lr=0.01, decay=1e-4)``, which is Keras 3's
   ``InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-4)`` (``power_scheduling.png``);
2. exponential scheduling per epoch with ``LearningRateScheduler``
   (``exponential_scheduling.png``);
3. exponential scheduling per batch with a custom callback (``exponential_per_batch.png``);
4. piecewise constant scheduling with ``LearningRateScheduler``
   (``piecewise_constant.png``);
5. performance scheduling with ``ReduceLROnPlateau`` and the twin-axis plot
   (``reduce_lr_on_plateau.png``);
6. the ``ExponentialDecay`` and ``PiecewiseConstantDecay`` schedule objects
   (``schedule_objects.png``);
7. 1cycle: the learning-rate finder's plot (``lr_finder.png``), then ``OneCycleScheduler``
   (``one_cycle.png``).

Each model trains 25 epochs, as in the chapter (``--quick``: 2 epochs on a small slice).

Keras 2 → 3 for readers of the book: ``history.history["lr"]`` is now
``history.history["learning_rate"]``; ``decay=`` is ignored by Keras 3 (use
``InverseTimeDecay``); ``K.get_value(optimizer.lr)`` is ``optimizer.learning_rate`` (numpy_nn
keeps ``optimizer.lr`` and ``keras.backend.get_value/set_value`` for the book's code).
"""
from __future__ import annotations

import numpy as np

import numpy_nn as keras
from examples.common import (
    epochs,
    fit_and_report,
    load_fashion_mnist,
    parse_args,
    pyplot,
    save_fig,
    section,
    selu_mlp,
    standardize,
)
from numpy_nn.callbacks import OneCycleScheduler
from numpy_nn.utils import find_learning_rate, plot_lr_vs_loss

K = keras.backend


def compiled(optimizer):
    model = selu_mlp()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def plot_rates(args, fig_id, x, rates, title, xlabel="Epoch", style="o-", top=0.011):
    plt = pyplot()
    plt.figure()
    plt.plot(x, rates, style)
    plt.axis([0, max(x[-1], 1), 0, top])
    plt.xlabel(xlabel)
    plt.ylabel("Learning Rate")
    plt.title(title, fontsize=14)
    plt.grid(True)
    save_fig(args, fig_id)


# ------------------------------------------------------------------------------ 1. power
def power_scheduling(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    learning_rate, decay, batch_size = 0.01, 1e-4, 32
    # Keras 2: keras.optimizers.SGD(lr=0.01, decay=1e-4)
    schedule = keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps=1,
                                                           decay_rate=decay)
    model = compiled(keras.optimizers.SGD(schedule))
    fit_and_report(model, X_train, y_train, X_valid, y_valid, "power scheduling",
                   epochs=n_epochs)
    n_steps_per_epoch = len(X_train) // batch_size
    epoch_index = np.arange(n_epochs)
    lrs = learning_rate / (1 + decay * epoch_index * n_steps_per_epoch)
    plot_rates(args, "power_scheduling", epoch_index, lrs, "Power Scheduling")


# ------------------------------------------------------------------------------ 2. exponential
def exponential_decay(lr0, s):
    def exponential_decay_fn(epoch):
        return lr0 * 0.1**(epoch / s)
    return exponential_decay_fn


def exponential_scheduling(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    exponential_decay_fn = exponential_decay(lr0=0.01, s=20)
    model = compiled("nadam")
    lr_scheduler = keras.callbacks.LearningRateScheduler(exponential_decay_fn)
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid,
                             "exponential scheduling", epochs=n_epochs,
                             callbacks=[lr_scheduler])
    # Keras 2 (the book): history.history["lr"]
    plot_rates(args, "exponential_scheduling", history.epoch,
               history.history["learning_rate"], "Exponential Scheduling")
    return history


# ------------------------------------------------------------------------------ 3. per batch
class ExponentialDecay(keras.callbacks.Callback):
    """The chapter's per-batch exponential decay, with its Keras 2 calls on ``optimizer.lr``."""

    def __init__(self, s=40000):
        super().__init__()
        self.s = s

    def on_batch_begin(self, batch, logs=None):
        # Note: the `batch` argument is reset at each epoch
        lr = K.get_value(self.model.optimizer.lr)
        K.set_value(self.model.optimizer.lr, lr * 0.1**(1 / self.s))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs['learning_rate'] = K.get_value(self.model.optimizer.lr)   # Keras 2: logs['lr']


def exponential_per_batch(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    lr0 = 0.01
    model = compiled(keras.optimizers.Nadam(learning_rate=lr0))
    s = 20 * len(X_train) // 32  # number of steps in 20 epochs (batch size = 32)
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid,
                             "exponential per batch", epochs=n_epochs,
                             callbacks=[ExponentialDecay(s)])
    n_steps = n_epochs * len(X_train) // 32
    steps = np.arange(n_steps)
    lrs = lr0 * 0.1**(steps / s)
    plot_rates(args, "exponential_per_batch", steps, lrs, "Exponential Scheduling (per batch)",
               xlabel="Batch", style="-", top=lr0 * 1.1)
    return history


# ------------------------------------------------------------------------------ 4. piecewise
def piecewise_constant(boundaries, values):
    boundaries = np.array([0] + boundaries)
    values = np.array(values)

    def piecewise_constant_fn(epoch):
        return values[np.argmax(boundaries > epoch) - 1]
    return piecewise_constant_fn


def piecewise_scheduling(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    piecewise_constant_fn = piecewise_constant([5, 15], [0.01, 0.005, 0.001])
    lr_scheduler = keras.callbacks.LearningRateScheduler(piecewise_constant_fn)
    model = compiled("nadam")
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid,
                             "piecewise constant", epochs=n_epochs, callbacks=[lr_scheduler])
    all_epochs = np.arange(25)
    plot_rates(args, "piecewise_constant", all_epochs,
               [piecewise_constant_fn(epoch) for epoch in all_epochs],
               "Piecewise Constant Scheduling")
    return history


# ------------------------------------------------------------------------------ 5. plateau
def performance_scheduling(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    lr_scheduler = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=5)
    model = compiled(keras.optimizers.SGD(learning_rate=0.02, momentum=0.9))
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid, "ReduceLROnPlateau",
                             epochs=n_epochs, callbacks=[lr_scheduler])
    plt = pyplot()
    plt.figure()
    plt.plot(history.epoch, history.history["learning_rate"], "bo-")   # Keras 2: ["lr"]
    plt.xlabel("Epoch")
    plt.ylabel("Learning Rate", color='b')
    plt.tick_params('y', colors='b')
    plt.gca().set_xlim(0, max(n_epochs - 1, 1))
    plt.grid(True)
    ax2 = plt.gca().twinx()
    ax2.plot(history.epoch, history.history["val_loss"], "r^-")
    ax2.set_ylabel('Validation Loss', color='r')
    ax2.tick_params('y', colors='r')
    plt.title("Reduce LR on Plateau", fontsize=14)
    save_fig(args, "reduce_lr_on_plateau")
    return history


# ------------------------------------------------------------------------------ 6. schedules
def schedule_objects(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    s = 20 * len(X_train) // 32  # number of steps in 20 epochs (batch size = 32)
    learning_rate = keras.optimizers.schedules.ExponentialDecay(0.01, s, 0.1)
    optimizer = keras.optimizers.SGD(learning_rate)
    model = compiled(optimizer)
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid,
                             "ExponentialDecay schedule", epochs=n_epochs)
    n_steps_per_epoch = -(-len(X_train) // 32)
    piecewise = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[5. * n_steps_per_epoch, 15. * n_steps_per_epoch],
        values=[0.01, 0.005, 0.001])
    steps = np.arange(25 * n_steps_per_epoch)
    plt = pyplot()
    plt.figure()
    plt.plot(steps, [learning_rate(step) for step in steps], "-", label="ExponentialDecay")
    plt.plot(steps, [piecewise(step) for step in steps], "-", label="PiecewiseConstantDecay")
    plt.axvline(optimizer.iterations, color="k", linestyle=":", label="steps trained")
    plt.xlabel("Step (batch)")
    plt.ylabel("Learning Rate")
    plt.title("Schedule objects", fontsize=14)
    plt.grid(True)
    plt.legend()
    save_fig(args, "schedule_objects")
    return history


# ------------------------------------------------------------------------------ 7. 1cycle
def one_cycle(args, data, n_epochs):
    (X_train, y_train), (X_valid, y_valid) = data
    batch_size = 128
    model = compiled(keras.optimizers.SGD(learning_rate=1e-3))
    rates, losses = find_learning_rate(model, X_train, y_train, epochs=1,
                                       batch_size=batch_size)
    plt = pyplot()
    plt.figure()
    plot_lr_vs_loss(rates, losses)
    plt.title("Learning-rate finder", fontsize=14)
    save_fig(args, "lr_finder")
    print(f"lowest loss {min(losses):.3f} at learning rate {rates[int(np.argmin(losses))]:.3g}")

    onecycle = OneCycleScheduler(len(X_train) // batch_size * n_epochs, max_rate=0.05)
    history = fit_and_report(model, X_train, y_train, X_valid, y_valid, "1cycle",
                             epochs=n_epochs, batch_size=batch_size, callbacks=[onecycle])
    iterations = np.arange(onecycle.iterations + 1)
    plot_rates(args, "one_cycle", iterations, [onecycle.rate_at(i) for i in iterations],
               "1cycle schedule", xlabel="Batch", style="-", top=0.055)
    return history


def main(argv=None):
    args = parse_args("lr_schedules", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
    X_train, X_valid = standardize(X_train, X_valid)
    data = ((X_train, y_train), (X_valid, y_valid))
    n_epochs = epochs(args, 25, quick=2)
    results = {}
    for title, run in (("Power scheduling", power_scheduling),
                       ("Exponential scheduling", exponential_scheduling),
                       ("Exponential scheduling per batch", exponential_per_batch),
                       ("Piecewise constant scheduling", piecewise_scheduling),
                       ("Performance scheduling", performance_scheduling),
                       ("ExponentialDecay / PiecewiseConstantDecay", schedule_objects),
                       ("1cycle", one_cycle)):
        section(title)
        results[title] = run(args, data, n_epochs)
    return results


if __name__ == "__main__":
    main()
