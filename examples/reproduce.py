"""Reproduce the chapter's experiments with numpy_nn and, side by side, with Keras 3, over
several seeds, with statistics.

``python -m examples.reproduce`` (``make reproduce``) runs them at full size: real
Fashion-MNIST (55,000 training / 5,000 validation images) and the CIFAR-10 training set
(45,000 / the first 5,000 for validation), with the chapter's epochs, 5 seeds per framework.
``--quick`` (``make reproduce-quick``) runs a representative subset on 10,000 training
images with a few epochs, 3 seeds per framework. ``--seeds N`` changes the number of seeds.

Each experiment is written once, as a function of the framework module ``kx`` (``numpy_nn``
or ``keras``), with Keras 3 spellings (``learning_rate=``, ``Input(shape=...)``), so both
sides build, compile and train the same model with the same code. The two frameworks draw
different random initial weights and shuffles from the same seed, so their numbers agree
only up to seed noise; the statistics say how much noise. Keras runs only if TensorFlow and
Keras 3 are installed.

Every (experiment, framework, seed) is one task of :mod:`numpy_nn.experiments`: run on local
worker processes (one per core, one thread each; ``--workers``) or on a Dask cluster
(``--scheduler tcp://HOST:8786`` or ``$DASK_SCHEDULER_ADDRESS``), each finished task written
as a record into ``--results``. Re-running the same command skips the finished tasks, so a
long run can be stopped and resumed, split with ``--only``, or run on several machines whose
record files are then copied into one folder; ``--table-only`` builds the table from the
folder's records without running anything.

Output: a Markdown table (per experiment and framework: mean ± standard deviation and 95%
confidence interval over seeds, the difference of the means with Welch's p-value, median
seconds per epoch, the chapter's reported result) and sentences generated from those numbers,
printed, saved as ``reproduce.md`` (``reproduce-quick.md``) in ``--out``, and with
``--report docs/reports/reproduction.md`` written into that page between
``<!-- reproduce:start -->`` and ``<!-- reproduce:end -->`` (``reproduce-quick`` markers for
``--quick``). ``--front-page README.md`` writes the full table's two-line summary into the
README, between ``<!-- reproduce-summary:start -->`` and ``<!-- reproduce-summary:end -->``.
The same-batches, same-start diagnostic (``--batch-order same --init-from keras``) writes its
table, paired by seed, into ``reproduce-paired`` blocks instead (``reproduce-paired-summary``
in the README).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from examples import common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

QUICK_TRAIN = 10_000


# =============================================================================== plumbing
@dataclass
class Result:
    value: float                 # the experiment's headline number
    epochs_run: int
    seconds_per_epoch: float     # median over epochs (Keras's first epoch also traces)
    note: str = ""
    history: dict = field(default_factory=dict)      # the (main) fit's per-epoch logs
    seconds: list = field(default_factory=list)      # the (main) fit's seconds per epoch


#: The seed of the task being run: every experiment seeds its framework with it. A worker
#: process runs one task at a time (numpy_nn.experiments.worker), so one global suffices.
_seed = 42
#: None, or the --batch-order diagnostic: "fixed" (numpy_nn visits one shuffled order in every
#: epoch) or "same" (both frameworks visit that one order: the same batches in both)
_batch_order = None


def current_seed():
    return _seed


@dataclass
class Experiment:
    key: str
    title: str
    metric: str                  # what ``Result.value`` is, e.g. "val accuracy"
    epochs: int                  # the chapter's
    quick_epochs: int
    run: object                  # run(kx, data, n_epochs) -> Result
    chapter: str = ""            # the chapter's reported result, where it gives one
    quick: bool = False          # part of --quick
    data: str = "fashion"        # "fashion" | "fashion_scaled" | "cifar" | "cifar_scaled"
    initial_models: int = 1      # models built from fresh draws (--init-from keras)
    results: dict = field(default_factory=dict)


def epoch_timer(kx):
    """A callback (of framework ``kx``) recording each epoch's wall time."""
    class EpochTimer(kx.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
    return EpochTimer()


def train(kx, model, data, n_epochs, callbacks=(), batch_size=32, restore_best=None,
          metric="val_accuracy"):
    """Fit with validation; the result is the final (or restored best) validation accuracy."""
    if _skip_training:          # reading Keras's initial weights: nothing to train
        return None, None
    (X_train, y_train), (X_valid, y_valid) = data[:2]
    timer = epoch_timer(kx)
    callbacks = list(callbacks)
    if restore_best:
        callbacks.append(kx.callbacks.EarlyStopping(patience=restore_best,
                                                    restore_best_weights=True))
    shuffle = True
    if _batch_order in ("fixed", "same"):
        # Keras 3's fit(shuffle=True) after keras.utils.set_random_seed visits one shuffled
        # order in every epoch (parity_tests/test_fit_shuffle.py): the same, drawn once (by
        # NumPy from the task's seed, so with "same" both frameworks get this very order)
        order = np.random.default_rng(_seed).permutation(len(X_train))
        X_train, y_train, shuffle = X_train[order], y_train[order], False
    history = model.fit(X_train, y_train, epochs=n_epochs, batch_size=batch_size, verbose=0,
                        validation_data=(X_valid, y_valid), callbacks=callbacks + [timer],
                        shuffle=shuffle)
    if restore_best:
        value = float(model.evaluate(X_valid, y_valid, verbose=0)[1])
    else:
        value = float(history.history[metric][-1])
    logs = {key: [float(v) for v in values] for key, values in history.history.items()}
    return Result(value, len(timer.seconds), statistics.median(timer.seconds), history=logs,
                  seconds=list(timer.seconds)), history


#: None, or a function of the model that ``compile_model`` calls first (the --init-from keras
#: diagnostic: read Keras's initial weights, or give them to numpy_nn's model).
_initial_weights_hook = None


#: None, or a function of the model that ``compile_model`` calls last (examples.trace_row:
#: take the compiled model and stop the experiment)
_compiled_hook = None

#: ``train`` returns at once (while ``keras_initial_weights`` reads Keras's draws)
_skip_training = False

#: numpy_nn's models compile with jit_compile=True (``--kernels jit`` / ``--jit-compile``)
_jit_compile = False


def compile_model(kx, model, optimizer, loss="sparse_categorical_crossentropy"):
    if _initial_weights_hook is not None:
        _initial_weights_hook(model)
    options = {"jit_compile": True} if _jit_compile and kx.__name__ == "numpy_nn" else {}
    model.compile(loss=loss, optimizer=optimizer, metrics=["accuracy"], **options)
    if _compiled_hook is not None:
        _compiled_hook(model)
    return model


def mlp(kx, activation="selu", initializer="lecun_normal", hidden=(300, 100), outputs=10,
        output_activation="softmax", input_shape=(28, 28)):
    """Flatten, Dense hidden layers, a softmax output: most of the chapter's networks."""
    kx.utils.set_random_seed(current_seed())
    layers = [kx.layers.Input(shape=list(input_shape)), kx.layers.Flatten()]
    layers += [kx.layers.Dense(units, activation=activation, kernel_initializer=initializer)
               for units in hidden]
    layers.append(kx.layers.Dense(outputs, activation=output_activation))
    return kx.models.Sequential(layers)


# =============================================================================== experiments
def activation_layers(layer_name):
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(current_seed())
        model = kx.models.Sequential([
            kx.layers.Input(shape=[28, 28]), kx.layers.Flatten(),
            kx.layers.Dense(300, kernel_initializer="he_normal"), getattr(kx.layers, layer_name)(),
            kx.layers.Dense(100, kernel_initializer="he_normal"), getattr(kx.layers, layer_name)(),
            kx.layers.Dense(10, activation="softmax")])
        compile_model(kx, model, kx.optimizers.SGD(learning_rate=1e-3))
        return train(kx, model, data, n_epochs)[0]
    return run


def deep_100(activation, initializer):
    def run(kx, data, n_epochs):
        model = mlp(kx, activation, initializer, hidden=(300,) + (100,) * 99)
        compile_model(kx, model, kx.optimizers.SGD(learning_rate=1e-3))
        return train(kx, model, data, n_epochs)[0]
    return run


def batch_norm(before_activation):
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(current_seed())
        layers = [kx.layers.Input(shape=[28, 28]), kx.layers.Flatten(),
                  kx.layers.BatchNormalization()]
        for units in (300, 100):
            if before_activation:
                layers += [kx.layers.Dense(units, use_bias=False),
                           kx.layers.BatchNormalization(), kx.layers.Activation("relu")]
            else:
                layers += [kx.layers.Dense(units, activation="relu"),
                           kx.layers.BatchNormalization()]
        layers.append(kx.layers.Dense(10, activation="softmax"))
        model = compile_model(kx, kx.models.Sequential(layers),
                              kx.optimizers.SGD(learning_rate=1e-3))
        return train(kx, model, data, n_epochs)[0]
    return run


def split_dataset(X, y):
    y_5_or_6 = (y == 5) | (y == 6)
    y_A = y[~y_5_or_6].copy()
    y_A[y_A > 6] -= 2
    y_B = (y[y_5_or_6] == 6).astype(np.float32)
    return (X[~y_5_or_6], y_A), (X[y_5_or_6], y_B)


def transfer_learning(kx, data, n_epochs):
    """model_A (n_epochs), model_B from scratch, model_B_on_A frozen 4 + unfrozen 16 epochs;
    the result is the ratio of test error rates model_B / model_B_on_A."""
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data
    (X_train_A, y_train_A), (X_train_B, y_train_B) = split_dataset(X_train, y_train)
    (X_valid_A, y_valid_A), (X_valid_B, y_valid_B) = split_dataset(X_valid, y_valid)
    _, (X_test_B, y_test_B) = split_dataset(X_test, y_test)
    X_train_B, y_train_B = X_train_B[:200], y_train_B[:200]
    def sgd():
        return kx.optimizers.SGD(learning_rate=1e-3)

    model_A = compile_model(kx, mlp(kx, hidden=(300, 100, 50, 50, 50), outputs=8,
                                    initializer="glorot_uniform"), sgd())
    result_A, _ = train(kx, model_A, ((X_train_A, y_train_A), (X_valid_A, y_valid_A)),
                        n_epochs)
    data_B = ((X_train_B, y_train_B), (X_valid_B, y_valid_B))
    model_B = compile_model(kx, mlp(kx, hidden=(300, 100, 50, 50, 50), outputs=1,
                                    output_activation="sigmoid", initializer="glorot_uniform"),
                            sgd(), loss="binary_crossentropy")
    train(kx, model_B, data_B, 20)
    model_B_on_A = kx.models.Sequential(model_A.layers[:-1])
    model_B_on_A.add(kx.layers.Dense(1, activation="sigmoid"))
    for layer in model_B_on_A.layers[:-1]:
        layer.trainable = False
    compile_model(kx, model_B_on_A, sgd(), loss="binary_crossentropy")
    train(kx, model_B_on_A, data_B, 4)
    for layer in model_B_on_A.layers[:-1]:
        layer.trainable = True
    compile_model(kx, model_B_on_A, sgd(), loss="binary_crossentropy")
    train(kx, model_B_on_A, data_B, 16)
    accuracy_B = model_B.evaluate(X_test_B, y_test_B, verbose=0)[1]
    accuracy_B_on_A = model_B_on_A.evaluate(X_test_B, y_test_B, verbose=0)[1]
    ratio = (1 - accuracy_B) / max(1 - accuracy_B_on_A, 1e-12)
    return Result(ratio, result_A.epochs_run, result_A.seconds_per_epoch,
                  note=f"test acc {accuracy_B:.4f} → {accuracy_B_on_A:.4f}",
                  history=result_A.history, seconds=result_A.seconds)


def with_callbacks(optimizer, make_callbacks=lambda kx, data, n_epochs: [], batch_size=32):
    """The chapter's SELU 300-100 network trained with an optimizer and callbacks."""
    def run(kx, data, n_epochs):
        model = compile_model(kx, mlp(kx), optimizer(kx, data))
        callbacks = make_callbacks(kx, data, n_epochs)
        return train(kx, model, data, n_epochs, callbacks, batch_size=batch_size)[0]
    return run


def exponential_decay_fn(epoch):
    return 0.01 * 0.1 ** (epoch / 20)


def piecewise_constant_fn(epoch):
    return 0.01 if epoch < 5 else 0.005 if epoch < 15 else 0.001


def per_batch_exponential_decay(kx, data, n_epochs):
    s = 20 * len(data[0][0]) // 32

    class ExponentialDecay(kx.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            optimizer = self.model.optimizer
            optimizer.learning_rate = float(np.asarray(optimizer.learning_rate)) * 0.1 ** (1 / s)
    return [ExponentialDecay()]


def one_cycle(kx, data, n_epochs):
    import numpy_nn
    iterations = len(data[0][0]) // 128 * n_epochs
    if kx is numpy_nn:
        return [numpy_nn.callbacks.OneCycleScheduler(iterations, max_rate=0.05)]
    schedule = numpy_nn.callbacks.OneCycleScheduler(iterations, max_rate=0.05)   # rate_at only

    class OneCycle(kx.callbacks.Callback):
        iteration = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate = schedule.rate_at(self.iteration)
            self.iteration += 1
    return [OneCycle()]


def regularized(kind, n_mc_samples=100):
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(current_seed())
        layers = [kx.layers.Input(shape=[28, 28]), kx.layers.Flatten()]
        optimizer = "nadam"
        if kind == "l2":
            def dense(units, activation="elu"):      # the chapter's RegularizedDense
                return kx.layers.Dense(units, activation=activation,
                                       kernel_initializer="he_normal",
                                       kernel_regularizer=kx.regularizers.l2(0.01))
            layers += [dense(300), dense(100), dense(10, "softmax")]
        elif kind in ("dropout", "alpha_dropout"):
            selu = kind == "alpha_dropout"
            drop = kx.layers.AlphaDropout if selu else kx.layers.Dropout
            for units in (300, 100):
                layers += [drop(rate=0.2), kx.layers.Dense(
                    units, activation="selu" if selu else "elu",
                    kernel_initializer="lecun_normal" if selu else "he_normal")]
            layers += [drop(rate=0.2), kx.layers.Dense(10, activation="softmax")]
            if selu:
                optimizer = kx.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
        elif kind == "max_norm":
            layers += [kx.layers.Dense(units, activation="selu", kernel_initializer="lecun_normal",
                                       kernel_constraint=kx.constraints.max_norm(1.))
                       for units in (300, 100)]
            layers.append(kx.layers.Dense(10, activation="softmax"))
        model = compile_model(kx, kx.models.Sequential(layers), optimizer)
        result, _ = train(kx, model, data, n_epochs)
        if kind == "alpha_dropout":
            X_test, y_test = data[2]
            test_accuracy = model.evaluate(X_test, y_test, verbose=0)[1]
            mc_accuracy = mc_dropout_accuracy(kx, model, X_test, y_test, n_mc_samples)
            result.note = f"test acc {test_accuracy:.4f}, MC dropout {mc_accuracy:.4f}"
        return result
    return run


def mc_dropout_accuracy(kx, model, X, y, n_samples):
    import numpy_nn
    kx.utils.set_random_seed(current_seed())
    if kx is numpy_nn:
        mean, _ = numpy_nn.utils.mc_predict(model, X, n_samples)
    else:   # the chapter's way; the model has no BatchNormalization, so this is the same
        mean = np.mean([np.asarray(model(X, training=True)) for _ in range(n_samples)], axis=0)
    return float(np.mean(mean.argmax(axis=1) == np.asarray(y).reshape(-1)))


def cifar_model(kx, variant):
    """Exercise 8's network with ``kx`` (numpy_nn or Keras): 20 x 100 ELU, BN + ELU, SELU, or
    SELU with alpha dropout (``"alpha_dropout"``, ``"1cycle"``); not compiled."""
    layers = [kx.layers.Input(shape=[32, 32, 3]), kx.layers.Flatten()]
    if variant == "bn":
        layers.append(kx.layers.BatchNormalization())
    for _ in range(20):
        if variant == "bn":
            layers += [kx.layers.Dense(100, kernel_initializer="he_normal"),
                       kx.layers.BatchNormalization(), kx.layers.Activation("elu")]
        elif variant == "elu":
            layers.append(kx.layers.Dense(100, activation="elu", kernel_initializer="he_normal"))
        else:
            layers.append(kx.layers.Dense(100, activation="selu",
                                          kernel_initializer="lecun_normal"))
    if variant in ("alpha_dropout", "1cycle"):
        layers.append(kx.layers.AlphaDropout(rate=0.1))
    layers.append(kx.layers.Dense(10, activation="softmax"))
    return kx.models.Sequential(layers)


def cifar(variant, learning_rate):
    """Exercise 8: 20 x 100, Nadam, early stopping (patience 20), best weights restored."""
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(current_seed())
        model = cifar_model(kx, variant)
        if variant == "1cycle":
            compile_model(kx, model, kx.optimizers.SGD(learning_rate=1e-2))
            return train(kx, model, data, n_epochs, one_cycle(kx, data, n_epochs),
                         batch_size=128)[0]
        compile_model(kx, model, kx.optimizers.Nadam(learning_rate=learning_rate))
        result, _ = train(kx, model, data, n_epochs, restore_best=20)
        if variant == "alpha_dropout":
            X_valid, y_valid = data[1]
            result.note = f"MC dropout {mc_dropout_accuracy(kx, model, X_valid, y_valid, 10):.4f}"
        return result
    return run


def schedule_optimizer(name):
    def make(kx, data):
        steps_per_epoch = len(data[0][0]) // 32
        if name == "power":       # Keras 2: SGD(lr=0.01, decay=1e-4)
            return kx.optimizers.SGD(kx.optimizers.schedules.InverseTimeDecay(0.01, 1, 1e-4))
        if name == "exponential":
            return kx.optimizers.SGD(kx.optimizers.schedules.ExponentialDecay(
                0.01, 20 * steps_per_epoch, 0.1))
        if name == "piecewise":
            return kx.optimizers.Nadam(kx.optimizers.schedules.PiecewiseConstantDecay(
                [5. * steps_per_epoch, 15. * steps_per_epoch], [0.01, 0.005, 0.001]))
        raise ValueError(name)
    return make


def lr_scheduler(function):
    return lambda kx, data, n_epochs: [kx.callbacks.LearningRateScheduler(function)]


EXPERIMENTS = [
    Experiment("leaky_relu", "LeakyReLU 300-100, SGD 1e-3", "val accuracy", 10, 3,
               activation_layers("LeakyReLU"), quick=True),
    Experiment("prelu", "PReLU 300-100, SGD 1e-3", "val accuracy", 10, 3,
               activation_layers("PReLU")),
    Experiment("selu_100", "100 hidden layers, SELU", "val accuracy", 5, 2,
               deep_100("selu", "lecun_normal"), data="fashion_scaled", quick=True),
    Experiment("relu_100", "100 hidden layers, ReLU (vanishing/exploding)", "val accuracy", 5,
               2, deep_100("relu", "he_normal"), "much worse than SELU",
               data="fashion_scaled"),
    Experiment("bn_after", "BN after activations, SGD 1e-3", "val accuracy", 10, 3,
               batch_norm(False), quick=True),
    Experiment("bn_before", "BN before activations (no bias)", "val accuracy", 10, 3,
               batch_norm(True)),
    Experiment("transfer", "Transfer learning A → B (error-rate ratio)", "error ratio", 20, 5,
               transfer_learning, "≈4.1 (96.95% → 99.25%)", quick=True, initial_models=3),
    Experiment("power", "Power scheduling (InverseTimeDecay)", "val accuracy", 25, 3,
               with_callbacks(schedule_optimizer("power")), data="fashion_scaled"),
    Experiment("exponential_epoch", "Exponential scheduling per epoch (Nadam)", "val accuracy",
               25, 3, with_callbacks(lambda kx, d: "nadam", lr_scheduler(exponential_decay_fn)),
               data="fashion_scaled", quick=True),
    Experiment("exponential_batch", "Exponential scheduling per batch (Nadam)", "val accuracy",
               25, 3, with_callbacks(lambda kx, d: kx.optimizers.Nadam(learning_rate=0.01),
                                     per_batch_exponential_decay), data="fashion_scaled"),
    Experiment("piecewise", "Piecewise constant (LearningRateScheduler, Nadam)",
               "val accuracy", 25, 3,
               with_callbacks(lambda kx, d: "nadam", lr_scheduler(piecewise_constant_fn)),
               data="fashion_scaled"),
    Experiment("plateau", "ReduceLROnPlateau(0.5, 5), SGD momentum", "val accuracy", 25, 3,
               with_callbacks(lambda kx, d: kx.optimizers.SGD(learning_rate=0.02, momentum=0.9),
                              lambda kx, d, n: [kx.callbacks.ReduceLROnPlateau(factor=0.5,
                                                                               patience=5)]),
               data="fashion_scaled"),
    Experiment("exponential_schedule", "ExponentialDecay schedule object, SGD", "val accuracy",
               25, 3, with_callbacks(schedule_optimizer("exponential")), data="fashion_scaled"),
    Experiment("piecewise_schedule", "PiecewiseConstantDecay schedule object, Nadam",
               "val accuracy", 25, 3, with_callbacks(schedule_optimizer("piecewise")),
               data="fashion_scaled"),
    Experiment("one_cycle", "1cycle (max 0.05, batch 128), SGD", "val accuracy", 25, 3,
               with_callbacks(lambda kx, d: kx.optimizers.SGD(learning_rate=1e-3), one_cycle,
                              batch_size=128), data="fashion_scaled", quick=True),
    Experiment("l2", "ℓ2(0.01) ELU, Nadam", "val accuracy", 2, 2, regularized("l2"),
               data="fashion_scaled"),
    Experiment("dropout", "Dropout 0.2 ELU, Nadam", "val accuracy", 2, 2, regularized("dropout"),
               data="fashion_scaled"),
    Experiment("alpha_dropout", "Alpha dropout 0.2 SELU + MC dropout", "val accuracy", 20, 3,
               regularized("alpha_dropout"), data="fashion_scaled", quick=True),
    Experiment("max_norm", "Max-norm(1) SELU, Nadam", "val accuracy", 2, 2,
               regularized("max_norm"), data="fashion_scaled"),
    Experiment("cifar_elu", "CIFAR-10: 20×100 ELU, Nadam 5e-5, early stopping",
               "best val accuracy", 100, 2, cifar("elu", 5e-5), "≈47% (39 epochs)", data="cifar"),
    Experiment("cifar_bn", "CIFAR-10: + batch normalization, Nadam 5e-4", "best val accuracy",
               100, 2, cifar("bn", 5e-4), "≈54%", data="cifar"),
    Experiment("cifar_selu", "CIFAR-10: SELU, Nadam 7e-4", "best val accuracy", 100, 2,
               cifar("selu", 7e-4), "51.4% (13 epochs)", data="cifar_scaled", quick=True),
    Experiment("cifar_alpha_dropout", "CIFAR-10: SELU + alpha dropout 0.1 (+ MC dropout)",
               "best val accuracy", 100, 2, cifar("alpha_dropout", 5e-4), "50.8% (MC: 50.9%)",
               data="cifar_scaled"),
    Experiment("cifar_1cycle", "CIFAR-10: 1cycle, 15 epochs, batch 128", "val accuracy", 15, 2,
               cifar("1cycle", None), "52.8%", data="cifar_scaled"),
]


# =============================================================================== data
def load_data(kind, quick):
    """((X_train, y_train), (X_valid, y_valid), (X_test, y_test)) as float32 arrays."""
    args = argparse.Namespace(quick=False)
    loader = common.load_cifar10 if kind.startswith("cifar") else common.load_fashion_mnist
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = loader(args)
    if quick:
        X_train, y_train = X_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
    X_train, X_valid, X_test = (np.asarray(X, np.float32) for X in (X_train, X_valid, X_test))
    if kind.endswith("scaled"):
        X_train, X_valid, X_test = common.standardize(X_train, X_valid, X_test)
    return (X_train, y_train), (X_valid, y_valid), (X_test, y_test)


# =============================================================================== one task
ENTRY = "examples.reproduce:run_task"
FRAMEWORK_NAMES = {"numpy_nn": "numpy_nn", "keras": "Keras"}
FIRST_SEED = 42                  # the single-seed table used 42; more seeds count up from it


def framework_module(name):
    """numpy_nn, or Keras 3 on TensorFlow limited to one thread (imported here, in the
    worker, only by the tasks that need it)."""
    import numpy_nn
    if name == "numpy_nn":
        return numpy_nn
    import tensorflow  # noqa: F401 - before keras, so the thread limits apply

    from numpy_nn.experiments.worker import limit_tensorflow_threads
    limit_tensorflow_threads()
    import keras
    if not keras.__version__.startswith("3"):
        raise ImportError(f"Keras 3 is needed, found {keras.__version__}")
    return keras


def run_task(config):
    """One experiment, one framework, one seed (the runner's task entry; runs in a worker)."""
    global _seed, _batch_order
    from numpy_nn.experiments import cached
    experiment = {e.key: e for e in EXPERIMENTS}[config["experiment"]]
    kx = framework_module(config["framework"])
    data = cached(load_data, experiment.data, config["quick"])
    n_epochs = experiment.quick_epochs if config["quick"] else experiment.epochs
    initial = (keras_initial_weights(experiment, data, n_epochs, config["seed"])
               if config.get("init") == "keras" else None)
    kx.backend.clear_session()
    _seed = config["seed"]
    _batch_order = config.get("order")
    kx.utils.set_random_seed(_seed)
    if config["framework"] == "numpy_nn":
        global _jit_compile
        previous = kx.backend.kernel_path()
        kernels = config.get("kernels", "numpy")
        kx.backend.set_kernel_path("numpy" if kernels == "jit" else kernels)
        _jit_compile = kernels == "jit"
        try:
            result = run_with_initial_weights(experiment, kx, data, n_epochs, initial)
        finally:            # a task run in a caller's own process leaves its setting alone
            kx.backend.set_kernel_path(previous)
            _jit_compile = False
    else:
        result = experiment.run(kx, data, n_epochs)
    # timings go to seconds_per_epoch only: metrics hold what a re-run must reproduce exactly
    return {"metrics": {"value": float(result.value), "epochs_run": result.epochs_run},
            "history": result.history, "seconds_per_epoch": result.seconds,
            "note": result.note}


class _InitialWeightsRead(Exception):
    """Stops a Keras run once the initial weights of its last new model are read."""


def _new_layers(model, seen, data):
    """The layers of ``model`` no earlier compile has seen (all of a new model; the new head
    of a model reusing trained layers), after building the model for the experiment's inputs
    if it is not built yet (Keras 3 builds a Sequential model without an Input at its first
    fit; building it earlier draws the same numbers, as nothing is drawn between)."""
    if not model.built:
        model.build((None,) + tuple(data[0][0].shape[1:]))
    new = [layer for layer in model.layers if not any(layer is old for old in seen)]
    seen.extend(new)
    return new


def keras_initial_weights(experiment, data, n_epochs, seed):
    """The weights Keras's own task starts from for this experiment and seed: one list per
    model the experiment builds (``experiment.initial_models``), the weights of the layers
    that model's ``compile_model`` is the first to see, in layer order. The Keras run is
    started with the same code and seed, its training skipped (``fit`` draws nothing from
    Keras's seed generator when no layer drops out, tested), and stopped at the compile of the
    last of those models; so these are Keras's draws, not numpy_nn's."""
    global _initial_weights_hook, _seed, _skip_training
    keras = framework_module("keras")
    read, seen = [], []

    def read_new_layers(model):
        layers = _new_layers(model, seen, data)
        if layers:
            read.append([w for layer in layers for w in layer.get_weights()])
        if len(read) == experiment.initial_models:
            raise _InitialWeightsRead

    keras.backend.clear_session()
    _seed = seed
    keras.utils.set_random_seed(seed)
    _initial_weights_hook, _skip_training = read_new_layers, True
    try:
        experiment.run(keras, data, n_epochs)
    except _InitialWeightsRead:
        pass
    finally:
        _initial_weights_hook, _skip_training = None, False
    if len(read) != experiment.initial_models:
        raise RuntimeError(f"{experiment.key}: the Keras run compiled {len(read)} new "
                           f"model(s), expected {experiment.initial_models}")
    return read


def run_with_initial_weights(experiment, kx, data, n_epochs, weights):
    """Run ``experiment`` with ``kx``, each new model's new layers starting from the next
    list of ``weights`` (set just before it is compiled; numpy_nn's own draws for the seed are
    overwritten), or from its own draws when ``weights`` is None."""
    global _initial_weights_hook
    if weights is None:
        return experiment.run(kx, data, n_epochs)
    remaining, seen = list(weights), []

    def assign(model):
        global _initial_weights_hook
        layers = _new_layers(model, seen, data)
        if not layers:
            return
        arrays = iter(remaining.pop(0))
        for layer in layers:
            layer.set_weights([next(arrays) for _ in layer.get_weights()])
        if not remaining:
            _initial_weights_hook = None      # the experiment's new models all started
    _initial_weights_hook = assign
    try:
        return experiment.run(kx, data, n_epochs)
    finally:
        _initial_weights_hook = None


def task_config(experiment_key, framework, seed, quick, kernels, init=None, order=None):
    """What one task carries to its worker. numpy_nn's kernel path is part of it (the Numba
    twins agree with the NumPy reference within a few ulp, not bit for bit, so a record says
    which one ran); Keras has no such choice."""
    config = {"experiment": experiment_key, "framework": framework, "seed": seed,
              "quick": quick}
    if framework == "numpy_nn" and kernels != "numpy":
        config["kernels"] = kernels
    if framework == "numpy_nn" and init is not None:
        config["init"] = init
    if order == "same" or (framework == "numpy_nn" and order is not None):
        config["order"] = order
    return config


def make_tasks(experiments, framework_keys, seeds, quick, kernels="numpy", init=None,
               order=None):
    from numpy_nn.experiments import Task
    return [Task(ENTRY, task_config(e.key, framework, seed, quick, kernels, init, order),
                 name=f"{e.key}/{framework}/seed={seed}")
            for e in experiments for seed in seeds for framework in framework_keys]


def default_kernels():
    """numpy_nn's Numba path when Numba is installed (the same algorithms, faster), else the
    NumPy reference."""
    import importlib.util
    return "numba" if importlib.util.find_spec("numba") else "numpy"


def available_frameworks(wanted):
    """The wanted framework keys whose libraries are installed (checked without importing
    TensorFlow in the driver)."""
    import importlib.util
    found = []
    for key in wanted:
        if key not in FRAMEWORK_NAMES:
            raise SystemExit(f"--frameworks: unknown {key!r}; expected numpy_nn and/or keras")
        if key == "keras" and not (importlib.util.find_spec("tensorflow")
                                   and importlib.util.find_spec("keras")):
            print("(Keras side skipped: TensorFlow/Keras is not installed)", file=sys.stderr)
            continue
        found.append(key)
    return found


# =============================================================================== table
def collect(records, experiments, framework_keys, quick, seeds=None, kernels="numpy",
            init=None, order=None):
    """{experiment key: {framework key: [ok records]}} for this table, and the failed ones
    (numpy_nn records only of the ``kernels`` path and the ``init`` and ``order`` choices, so a
    seed is never counted twice)."""
    wanted = {e.key for e in experiments}
    table = {e.key: {f: [] for f in framework_keys} for e in experiments}
    failed = []
    for record in records:
        config = record.get("config", {})
        if (record.get("entry") != ENTRY or config.get("experiment") not in wanted
                or config.get("framework") not in framework_keys
                or bool(config.get("quick")) != quick
                or (config.get("framework") == "numpy_nn"
                    and (config.get("kernels", "numpy") != kernels
                         or config.get("init") != init or config.get("order") != order))
                # Keras runs its own order except in the "same" diagnostic
                or (config.get("framework") == "keras"
                    and config.get("order") != (order if order == "same" else None))
                or (seeds is not None and config.get("seed") not in seeds)):
            continue
        if record.get("status") == "ok":
            table[config["experiment"]][config["framework"]].append(record)
        else:
            failed.append(record)
    return table, failed


def format_number(experiment, value):
    return f"{value:.2f}" if experiment.metric == "error ratio" else f"{value:.4f}"


def markdown_table(experiments, framework_keys, table, failed, quick, info):
    from numpy_nn.experiments.progress import last_line
    from numpy_nn.experiments.stats import holm_adjust, summarize, welch_test
    names = [FRAMEWORK_NAMES[f] for f in framework_keys]
    both = framework_keys == ["numpy_nn", "keras"]
    header = ["experiment", "epochs", "metric"]
    for name in names:
        header += [f"{name} mean ± std (n)", f"{name} 95% CI"]
    if both:
        header += ["difference", "Welch p", "Holm p"]
    header += [f"{name} s/epoch" for name in names] + ["the chapter (Keras 2, one run)"]
    lines = [f"Run: `{info['command']}` on {info['machine']}, {info['date']}; "
             f"{info['timing']}. "
             + ("**Quick run**: a subset on 10,000 training images with few epochs; "
                "its numbers are not the chapter's." if quick else
                "Full size, the chapter's epochs."),
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows, tests, seed_counts, counts = [], [], set(), {}
    for experiment in experiments:
        cells = [experiment.title, str(experiment.quick_epochs if quick else experiment.epochs),
                 experiment.metric]
        values, speeds = {}, []
        for framework in framework_keys:
            records = table[experiment.key][framework]
            values[framework] = [r["metrics"]["value"] for r in records]
            seed_counts.add(len(records))
            counts.setdefault(experiment.key, {})[framework] = len(records)
            cells += summary_cells(experiment, summarize(values[framework]))
            seconds = [statistics.median(r["seconds_per_epoch"]) for r in records
                       if r.get("seconds_per_epoch")]
            speeds.append(f"{statistics.median(seconds):.2f}" if seconds else "—")
        test = welch_test(values["numpy_nn"], values["keras"]) if both else None
        rows.append((experiment, cells, speeds))
        tests.append(test)
    p_values = [t.p_value if t is not None else float("nan") for t in tests]
    holm = holm_adjust(p_values) if both else p_values
    compared = [(e, t, h) for (e, _, _), t, h in zip(rows, tests, holm) if t and h == h]
    for (experiment, cells, speeds), test, adjusted in zip(rows, tests, holm):
        if test is not None and adjusted == adjusted:      # a p-value exists (not NaN)
            sign = "+" if test.difference >= 0 else "-"
            cells += [sign + format_number(experiment, abs(test.difference)),
                      f"{test.p_value:.3g}", f"{adjusted:.3g}"]
        elif both:
            cells += ["—", "—", "—"]
        cells += speeds + [experiment.chapter or ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", legend(seed_counts, info.get("init") == "keras") + " "
              + provenance_text(table)]
    if both:
        lines += ["", significance_text(compared)]
    info["summary"] = front_page_text(compared, info, quick)     # main() writes it, if asked
    unfinished = progress_text(counts, info["seeds"])
    if unfinished:
        lines += ["", unfinished]
    if failed:
        lines += ["", f"{len(failed)} task(s) failed and are left out: " + "; ".join(
            f"{r['name']} ({last_line(r.get('error'))[:100]})" for r in failed)]
    return "\n".join(lines)


def provenance_text(table):
    """Where and when the records were run: seconds per epoch compare only within one machine
    and day (shared machines change speed)."""
    records = [r for rows in table.values() for rs in rows.values() for r in rs]
    if not records:
        return ""
    days = sorted({str(r.get("started", ""))[:10] for r in records} - {""})
    hosts = sorted({str(r.get("host")) for r in records if r.get("host")})
    text = (f"The records were run on {len(days)} day(s) ({', '.join(days)}) on {len(hosts)} "
            f"host name(s) ({', '.join(hosts)})")
    if len(days) > 1 or len(hosts) > 1:
        return text + ": seconds per epoch from different days or machines are not comparable."
    return text + "."


def progress_text(counts, seeds):
    """Which rows lack seeds: {experiment key: {framework key: records}} -> a sentence, or ""."""
    not_run = [key for key, by in counts.items() if not any(by.values())]
    partly = [f"{key} ({', '.join(f'{FRAMEWORK_NAMES[f]} {n}' for f, n in by.items())})"
              for key, by in counts.items() if any(by.values()) and min(by.values()) < seeds]
    if not (not_run or partly):
        return ""
    parts = ([f"not run yet: {', '.join(not_run)}"] if not_run else []) + \
        ([f"partly run (seeds so far): {', '.join(partly)}"] if partly else [])
    return (f"Rows not yet at {seeds} seeds per framework — " + "; ".join(parts) + ". "
            "Running the same command again runs only the missing tasks.")


def summary_cells(experiment, summary):
    """'mean ± std (n)' and '[low, high]' for one framework's values."""
    if summary.n == 0:
        return ["—", "—"]
    if summary.n == 1:
        return [f"{format_number(experiment, summary.mean)} (1)", "—"]
    return [(f"{format_number(experiment, summary.mean)} ± "
             f"{format_number(experiment, summary.std)} ({summary.n})"),
            (f"[{format_number(experiment, summary.ci_low)}, "
             f"{format_number(experiment, summary.ci_high)}]")]


def legend(seed_counts, same_start=False):
    counts = sorted(seed_counts)
    start = ("numpy_nn starts from the initial weights Keras draws for the seed" if same_start
             else "the two frameworks draw different initial weights from the same seed")
    seeds_text = (f"{counts[0]} seed{'s' if counts[0] != 1 else ''} per framework and row"
                  if len(counts) == 1 else
                  f"{counts[0]} to {counts[-1]} seeds per framework and row")
    return (f"Each cell summarises {seeds_text} (seeds {FIRST_SEED}, {FIRST_SEED + 1}, "
            f"...; {start}): "
            "mean ± sample standard deviation, and the 95% t confidence interval of the "
            "mean. *difference* is numpy_nn's mean minus Keras's; *Welch p* is the "
            "two-sided p-value of Welch's t-test (`scipy.stats.ttest_ind`, "
            "`equal_var=False`); *Holm p* is that p-value after Holm's correction for the "
            "number of rows tested (`numpy_nn.experiments.stats.holm_adjust`), so that the "
            "chance of calling any row different by accident stays at 5%. Results are "
            "validation accuracies unless the metric says otherwise (the transfer row is the "
            "test error rate of model_B divided by that of model_B_on_A). Seconds per epoch "
            "are medians over seeds of each run's median epoch, training plus validation, one "
            "thread per worker process.")


def front_page_text(compared, info, quick):
    """The README's lines for a table: what was run, and how many rows differ before and
    after Holm's correction (the table and its sentences are in the report)."""
    size = "Quick subset" if quick else "Full size, the chapter's epochs"
    n = len(compared)
    raw = sum(t.p_value < 0.05 for _, t, _ in compared)
    held = sum(h < 0.05 for _, _, h in compared)
    higher = sum(t.difference > 0 for _, t, _ in compared)
    return (f"{size}: {info['seeds']} seeds per framework and experiment "
            f"(`{info['command']}`; table written {info['date']}). Of {n} compared rows, {raw} "
            f"differ at "
            f"p < 0.05 (Welch's t-test) and {held} after Holm's correction; numpy_nn's mean is "
            f"the higher in {higher} of {n}. The table, its tests and what is known of each "
            f"difference are in [the reproduction report](docs/reports/reproduction.md).")


def significance_text(compared):
    """The sentences under the table, from (experiment, Welch test, Holm p) of each row."""
    def describe(pairs, key):
        return "; ".join(
            f"{e.title} (numpy_nn {'higher' if t.difference > 0 else 'lower'} by "
            f"{format_number(e, abs(t.difference))}, {key} = "
            f"{(t.p_value if key == 'p' else h):.3g})" for e, t, h in pairs)
    if not compared:
        return "No row has enough seeds on both sides for a test yet."
    n = len(compared)
    raw = [(e, t, h) for e, t, h in compared if t.p_value < 0.05]
    held = [(e, t, h) for e, t, h in compared if h < 0.05]
    if not raw:
        return f"None of the {n} compared rows differs significantly at p < 0.05 (Welch's t-test)."
    def differ(count):
        return "differs" if count == 1 else "differ"
    text = (f"{len(raw)} of {n} compared rows {differ(len(raw))} at p < 0.05 before correction: "
            f"{describe(raw, 'p')}. With {n} rows tested at 0.05, about {0.05 * n:.1f} would "
            "be expected to do so by chance alone. ")
    if held:
        text += (f"After Holm's correction, {len(held)} still {differ(len(held))}: "
                 f"{describe(held, 'Holm p')}.")
    else:
        text += "After Holm's correction, none does."
    return text + direction_text(compared, raw)


def direction_text(compared, raw):
    """Which way the differences point, over the rows at p < 0.05 and over all rows: counts
    only. No sign test: it would treat the rows as independent coin tosses, and they are not
    (every Keras row shares Keras's repeated batch order under ``set_random_seed``, and several
    rows train the same network), so its p-value would overstate the evidence."""
    parts = []
    for rows, which in ((raw, "of the rows at p < 0.05"), (compared, "over all compared rows")):
        differences = [t.difference for _, t, _ in rows]
        higher = sum(d > 0 for d in differences)
        lower = sum(d < 0 for d in differences)
        if higher + lower >= 2:
            parts.append(f"{which}, numpy_nn's mean is higher in {higher} and lower in {lower}")
    if not parts:
        return ""
    text = "; ".join(parts)
    return (" " + text[0].upper() + text[1:] + ". These counts carry no p-value: the rows are "
            "not independent (every Keras row shares one confounder, Keras's repeated batch "
            "order, and several rows train the same network), so a sign test treating them as "
            "coin tosses would overstate the evidence.")


def paired_runs(table, experiment):
    """``({framework: {seed: record}}, seeds both frameworks have)`` for one experiment."""
    runs = {f: {r["seed"]: r for r in table[experiment.key].get(f, [])}
            for f in ("numpy_nn", "keras")}
    return runs, sorted(set(runs["numpy_nn"]) & set(runs["keras"]))


def paired_text(table, experiments):
    """Seed by seed, numpy_nn against Keras where both trained on the same batches: the mean
    training loss of some epochs, and a paired t-test (``scipy.stats.ttest_rel``) of the
    final loss and of the result over the seeds both have."""
    from numpy_nn.experiments.stats import _scipy_stats
    lines = []
    for experiment in experiments:
        runs, seeds = paired_runs(table, experiment)
        if not seeds:
            continue
        losses = {f: [runs[f][s]["history"]["loss"] for s in seeds] for f in runs}
        epochs = min(len(h) for f in losses for h in losses[f])
        shown = sorted({1, 2, 5, 10, 15, 20, epochs} & set(range(1, epochs + 1)))
        lines += [f"**{experiment.title}**, training loss (mean over the epoch), numpy_nn / "
                  f"Keras, seed by seed:", "",
                  "| seed | " + " | ".join(f"epoch {e}" for e in shown) + " | result |",
                  "|---|" + "---:|" * (len(shown) + 1)]
        for i, seed in enumerate(seeds):
            lines.append(f"| {seed} | " + " | ".join(
                f"{losses['numpy_nn'][i][e - 1]:.4f} / {losses['keras'][i][e - 1]:.4f}"
                for e in shown) + " | " + " / ".join(
                format_number(experiment, runs[f][seed]["metrics"]["value"])
                for f in ("numpy_nn", "keras")) + " |")
        lines.append("")
        if len(seeds) >= 2:
            stats = _scipy_stats()
            for what, a, b in (
                    (f"final training loss (epoch {epochs})",
                     [h[epochs - 1] for h in losses["numpy_nn"]],
                     [h[epochs - 1] for h in losses["keras"]]),
                    (experiment.metric, [runs["numpy_nn"][s]["metrics"]["value"] for s in seeds],
                     [runs["keras"][s]["metrics"]["value"] for s in seeds])):
                d = [x - y for x, y in zip(a, b)]
                p = float(stats.ttest_rel(a, b).pvalue) if np.std(d) > 0 else float("nan")
                lines.append(f"- {what}: numpy_nn minus Keras {statistics.fmean(d):+.4f} on "
                             f"average over {len(seeds)} seeds (from {min(d):+.4f} to "
                             f"{max(d):+.4f}; paired t-test p = {p:.3g}).")
            lines.append("")
    return "\n".join(lines).strip()


def paired_rows(table, experiments):
    r"""Per experiment both engines trained on the same batches, over the seeds both have
    (at least 2): the mean of numpy_nn's result minus Keras's, :math:`\bar d`, its 95%
    t-interval :math:`\bar d \pm t_{0.975, n-1}\, s_d / \sqrt n` and the paired t-test's
    p-value, as ``(experiment, n, mean, low, high, p)``."""
    from numpy_nn.experiments.stats import _scipy_stats
    stats = _scipy_stats()
    rows = []
    for experiment in experiments:
        runs, seeds = paired_runs(table, experiment)
        if len(seeds) < 2:
            continue
        ours, keras = ([runs[f][s]["metrics"]["value"] for s in seeds]
                       for f in ("numpy_nn", "keras"))
        d = [a - b for a, b in zip(ours, keras)]
        mean, spread = statistics.fmean(d), statistics.stdev(d)
        half = float(stats.t.ppf(0.975, len(d) - 1)) * spread / len(d) ** 0.5
        p = float(stats.ttest_rel(ours, keras).pvalue) if spread > 0 else float("nan")
        rows.append((experiment, len(d), mean, mean - half, mean + half, p))
    return rows


def paired_holm(rows):
    """The rows' paired p-values after Holm's correction for the number of rows (a row whose
    differences are all equal has no p-value and is not counted)."""
    from numpy_nn.experiments.stats import holm_adjust
    return holm_adjust([p for *_, p in rows])


def paired_counts_text(rows):
    """How many of the rows' intervals contain 0, their widths, and how many rows differ
    once Holm's correction accounts for the number of rows tested."""
    widths = [high - low for _, _, _, low, high, _ in rows]
    contain = sum(low <= 0 <= high for _, _, _, low, high, _ in rows)
    below = sum(p < 0.05 for p in paired_holm(rows))
    return (f"{contain} of {len(rows)} intervals contain 0; their widths range from "
            f"{min(widths):.4f} to {max(widths):.4f} (median {statistics.median(widths):.4f}); "
            f"{below} of {len(rows)} rows have a Holm-adjusted paired p below 0.05")


def paired_summary(table, experiments):
    """One row per experiment of :func:`paired_rows`, with the engine effect its interval
    rules out: none larger in size than its farther end. An interval that excludes 0 rules
    out a zero effect, at that row's 95% level only: over many rows about one in twenty
    excludes 0 by chance when nothing differs, which the Holm-adjusted p-value accounts for."""
    rows = paired_rows(table, experiments)
    if not rows:
        return ""
    lines = ["| experiment | seeds | numpy_nn − Keras | 95% interval | paired p | Holm p | "
             "engine effect ruled out |", "|---|---:|---:|---|---:|---:|---|"]
    for (experiment, n, mean, low, high, p), holm in zip(rows, paired_holm(rows)):
        if low <= 0 <= high:
            ruled_out = f"any larger than {max(abs(low), abs(high)):.4f}"
        else:
            ruled_out = f"0, at this row's 95% level (interval {low:+.4f} to {high:+.4f})"
        lines.append(f"| {experiment.title} ({experiment.metric}) | {n} | {mean:+.4f} | "
                     f"[{low:+.4f}, {high:+.4f}] | {p:.3g} | {holm:.3g} | {ruled_out} |")
    return "\n".join(lines + ["", paired_counts_text(rows) + "."])


def paired_front_page_text(table, experiments, info):
    """The README's line for the same-batches, same-start diagnostic: what ran, how many
    rows have paired seeds, and how many of their intervals contain 0."""
    rows = paired_rows(table, experiments)
    done = (f"{len(rows)} of {len(experiments)} experiments have paired seeds so far"
            if len(rows) < len(experiments) else f"all {len(rows)} experiments")
    counts = paired_counts_text(rows) if rows else "no interval yet"
    return (f"Same batches and the same initial weights in both engines (`{info['command']}`; "
            f"written {info['date']}): {done}; numpy_nn's result minus Keras's, paired by "
            f"seed: {counts}. Every row is in [the reproduction report]"
            f"(docs/reports/reproduction.md#every-experiment-same-batches-same-start).")


def write_into_block(path, table, block):
    """Replace the text between ``<!-- block:start -->`` and ``<!-- block:end -->`` of the
    Markdown file ``path``."""
    start_marker, end_marker = f"<!-- {block}:start -->", f"<!-- {block}:end -->"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if start_marker not in text or end_marker not in text:
        raise SystemExit(f"{path} has no {start_marker} ... {end_marker} block")
    before, rest = text.split(start_marker, 1)
    _, after = rest.split(end_marker, 1)
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(before + start_marker + "\n" + table + "\n" + end_marker + after)


# =============================================================================== main
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.reproduce",
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the representative subset")
    parser.add_argument("--seeds", type=int, help="seeds per framework (default: 5, "
                        "quick: 3)")
    parser.add_argument("--only", help="comma-separated experiment keys: "
                        + ", ".join(e.key for e in EXPERIMENTS))
    parser.add_argument("--kernels", choices=("numba", "numpy", "jit"),
                        help="numpy_nn's kernel path (default: numba when Numba is installed, "
                             "else numpy); jit: every model compiled with jit_compile=True")
    parser.add_argument("--jit-compile", action="store_true",
                        help="the same as --kernels jit: numpy_nn's side compiled")
    parser.add_argument("--init-from", choices=("keras",),
                        help="diagnostic: numpy_nn starts each run from the initial weights "
                             "Keras draws for the same experiment and seed, so a difference "
                             "that remains comes from training, not from the initial draws "
                             "(its records and table are kept apart from the main ones)")
    parser.add_argument("--batch-order", choices=("fixed", "same"),
                        help="diagnostic: numpy_nn visits the training set in one shuffled "
                             "order, the same in every epoch, as Keras 3's fit(shuffle=True) "
                             "does after keras.utils.set_random_seed, instead of a new order "
                             "each epoch (fixed); or both frameworks visit that very order, "
                             "the same batches in both (same; with --init-from keras also the "
                             "same initial weights). Experiments trained through train(); "
                             "records and table kept apart from the main ones")
    parser.add_argument("--frameworks", default="numpy_nn,keras",
                        help="comma-separated, from numpy_nn and keras (default: both)")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:8786 (default: "
                        "$DASK_SCHEDULER_ADDRESS, else local worker processes)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    parser.add_argument("--results", default=os.path.join(common.EXAMPLES_DIR, "records",
                                                          "reproduce"),
                        help="the results folder: one record per task; re-runs skip the "
                             "finished ones; copy parts' records here to merge them")
    parser.add_argument("--table-only", action="store_true",
                        help="run nothing: build the table from the records in --results")
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per task")
    parser.add_argument("--out", default=os.path.join(common.EXAMPLES_DIR, "results",
                                                      "reproduce"))
    parser.add_argument("--report",
                        help="write the table into this Markdown page, between "
                             "<!-- reproduce:start/end --> (full) or "
                             "<!-- reproduce-quick:start/end --> (--quick) or "
                             "<!-- reproduce-paired:start/end --> (--batch-order same "
                             "--init-from keras)")
    parser.add_argument("--front-page",
                        help="write the full table's summary into this README, between "
                             "<!-- reproduce-summary:start/end --> (not with --quick; "
                             "reproduce-paired-summary for the paired diagnostic)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    quick = args.quick
    n_seeds = args.seeds if args.seeds is not None else (3 if quick else 5)
    if n_seeds < 1:
        parser.error(f"--seeds must be >= 1, got {n_seeds}")
    experiments = [e for e in EXPERIMENTS if e.quick or not quick]
    if args.only:
        keys = args.only.split(",")
        unknown = set(keys) - {e.key for e in EXPERIMENTS}
        if unknown:
            parser.error(f"unknown experiment(s) {sorted(unknown)}")
        by_key = {e.key: e for e in EXPERIMENTS}
        experiments = [by_key[key] for key in dict.fromkeys(keys)]    # run in the order given
    framework_keys = available_frameworks(args.frameworks.split(","))
    seeds = list(range(FIRST_SEED, FIRST_SEED + n_seeds))
    kernels = "jit" if args.jit_compile else (args.kernels or default_kernels())
    paired = args.batch_order == "same" and args.init_from == "keras"
    if (args.init_from or args.batch_order) and (args.report or args.front_page) \
            and not paired:
        option, name = (("init-from", "init-from-keras") if args.init_from
                        else ("batch-order", "batch-order-fixed"))
        parser.error(f"--report/--front-page: a --{option} table is a diagnostic, kept out of "
                     f"the reports (it is written to --out as reproduce-{name}.md); only "
                     f"--batch-order same --init-from keras has its own blocks")
    if quick and args.front_page:
        parser.error("--front-page: the README summarises the full-size table, not --quick")

    from numpy_nn.experiments import ResultsStore, resolve_scheduler, run_grid
    store = ResultsStore(args.results)
    command = "python -m examples.reproduce" + (" --quick" if quick else "") + \
        f" --seeds {n_seeds} --kernels {kernels}" + (f" --only {args.only}" if args.only else "") \
        + (f" --init-from {args.init_from}" if args.init_from else "") \
        + (f" --batch-order {args.batch_order}" if args.batch_order else "")
    if args.table_only:
        timing = "built from the records in the results folder"
        records = list(store.records())
        table, failed = collect(records, experiments, framework_keys, quick, kernels=kernels,
                                init=args.init_from, order=args.batch_order)
    else:
        tasks = make_tasks(experiments, framework_keys, seeds, quick, kernels, args.init_from,
                           args.batch_order)
        summary = run_grid(tasks, store,
                           scheduler=args.scheduler, workers=args.workers, verbose=args.verbose)
        where = ("a Dask cluster" if resolve_scheduler(args.scheduler) else
                 f"{args.workers or os.cpu_count()} local worker process(es)")
        timing = (f"wall time {summary.seconds / 60:.1f} min on {where} "
                  f"({summary.total - summary.skipped} task(s) run, {summary.skipped} found "
                  f"finished in the results folder)")
        table, failed = collect(store.records(), experiments, framework_keys, quick, seeds,
                                kernels, args.init_from, args.batch_order)
    task_minutes = sum(r.get("seconds") or 0 for rows in table.values() for rs in rows.values()
                       for r in rs) / 60
    info = {"command": command, "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                       f"Python {platform.python_version()}",
            "timing": f"{timing}; {task_minutes:.1f} min of task time in the table; load "
                      f"average {os.getloadavg()[0]:.1f} when the table was written",
            "seeds": n_seeds, "init": args.init_from}
    text = markdown_table(experiments, framework_keys, table, failed, quick, info)
    name = "reproduce-quick" if quick else "reproduce"
    if args.init_from:
        text = ("**Diagnostic** (`--init-from keras`): numpy_nn starts every run from the "
                "initial weights Keras draws for the same experiment and seed; its shuffles "
                "and dropout masks are still its own. A difference that remains comes from "
                "training, not from the initial draws.\n\n" + text)
        name += "-init-from-keras"
    if args.batch_order == "fixed":
        text = ("**Diagnostic** (`--batch-order fixed`): numpy_nn visits the training set in "
                "one shuffled order, the same in every epoch, as Keras 3's `fit(shuffle=True)` "
                "does after `keras.utils.set_random_seed`; Keras runs as always. A difference "
                "that this removes came from the batch order.\n\n" + text)
        name += "-batch-order-fixed"
    elif args.batch_order == "same":
        text = ("**Diagnostic** (`--batch-order same`): both frameworks visit the training set "
                "in one shuffled order drawn from the seed, the same in every epoch and the "
                "same in both, so they train on the same batches. A difference that remains "
                "comes from the engines' arithmetic (or, without `--init-from keras`, from "
                "the initial draws).\n\n" + text + "\n\n" + paired_summary(table, experiments)
                + "\n\n" + paired_text(table, experiments))
        name += "-batch-order-same"
    print("\n" + text)
    from numpy_nn.io_utils import atomic_write
    with atomic_write(os.path.join(args.out, name + ".md"), "w") as handle:
        handle.write(text + "\n")
    if paired:      # the same batches from the same start: blocks of their own
        block, summary = "reproduce-paired", paired_front_page_text(table, experiments, info)
    else:
        block, summary = "reproduce-quick" if quick else "reproduce", info["summary"]
    if args.report:
        write_into_block(args.report, text, block)
    if args.front_page:
        write_into_block(args.front_page, summary, block + "-summary")
    return table


if __name__ == "__main__":
    main()
