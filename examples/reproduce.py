"""Reproduce the chapter's experiments with numpy_nn and, side by side, with Keras 3.

``python -m examples.reproduce`` (``make reproduce``) runs them at full size: real
Fashion-MNIST (55,000 training / 5,000 validation images) and the CIFAR-10 training set
(45,000 / the first 5,000 for validation), with the chapter's epochs.
``--quick`` (``make reproduce-quick``) runs a representative subset on 10,000 training
images with a few epochs, in a few minutes.

Each experiment is written once, as a function of the framework module ``kx`` (``numpy_nn``
or ``keras``), with Keras 3 spellings (``learning_rate=``, ``Input(shape=...)``), so both
sides build, compile and train the same model with the same code. The two frameworks draw
different random initial weights and shuffles, so their numbers agree only up to seed
noise. Keras runs only if TensorFlow and Keras 3 are installed.

Output: a Markdown table (experiment, numpy_nn result, Keras result, median seconds per
epoch for each, the chapter's reported result) printed, saved as ``reproduce.md`` and
``reproduce.json`` in ``--out``, and with ``--readme README.md`` written into the README
between ``<!-- reproduce:start -->`` and ``<!-- reproduce:end -->`` (``reproduce-quick``
markers for ``--quick``). A long full run can be done in parts (``--only``) and the parts'
``reproduce.json`` files combined with ``--merge``.
"""
from __future__ import annotations

import argparse
import json
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
    (X_train, y_train), (X_valid, y_valid) = data[:2]
    timer = epoch_timer(kx)
    callbacks = list(callbacks)
    if restore_best:
        callbacks.append(kx.callbacks.EarlyStopping(patience=restore_best,
                                                    restore_best_weights=True))
    history = model.fit(X_train, y_train, epochs=n_epochs, batch_size=batch_size, verbose=0,
                        validation_data=(X_valid, y_valid), callbacks=callbacks + [timer])
    if restore_best:
        value = float(model.evaluate(X_valid, y_valid, verbose=0)[1])
    else:
        value = float(history.history[metric][-1])
    return Result(value, len(timer.seconds), statistics.median(timer.seconds)), history


def compile_model(kx, model, optimizer, loss="sparse_categorical_crossentropy"):
    model.compile(loss=loss, optimizer=optimizer, metrics=["accuracy"])
    return model


def mlp(kx, activation="selu", initializer="lecun_normal", hidden=(300, 100), outputs=10,
        output_activation="softmax", input_shape=(28, 28)):
    """Flatten, Dense hidden layers, a softmax output: most of the chapter's networks."""
    kx.utils.set_random_seed(42)
    layers = [kx.layers.Input(shape=list(input_shape)), kx.layers.Flatten()]
    layers += [kx.layers.Dense(units, activation=activation, kernel_initializer=initializer)
               for units in hidden]
    layers.append(kx.layers.Dense(outputs, activation=output_activation))
    return kx.models.Sequential(layers)


# =============================================================================== experiments
def activation_layers(layer_name):
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(42)
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
        kx.utils.set_random_seed(42)
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
    sgd = lambda: kx.optimizers.SGD(learning_rate=1e-3)  # noqa: E731

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
                  note=f"test acc {accuracy_B:.4f} → {accuracy_B_on_A:.4f}")


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
        kx.utils.set_random_seed(42)
        layers = [kx.layers.Input(shape=[28, 28]), kx.layers.Flatten()]
        optimizer = "nadam"
        if kind == "l2":
            dense = lambda units, activation="elu": kx.layers.Dense(  # noqa: E731
                units, activation=activation, kernel_initializer="he_normal",
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
    kx.utils.set_random_seed(42)
    if kx is numpy_nn:
        mean, _ = numpy_nn.utils.mc_predict(model, X, n_samples)
    else:   # the chapter's way; the model has no BatchNormalization, so this is the same
        mean = np.mean([np.asarray(model(X, training=True)) for _ in range(n_samples)], axis=0)
    return float(np.mean(mean.argmax(axis=1) == np.asarray(y).reshape(-1)))


def cifar(variant, learning_rate):
    """Exercise 8: 20 x 100, Nadam, early stopping (patience 20), best weights restored."""
    def run(kx, data, n_epochs):
        kx.utils.set_random_seed(42)
        layers = [kx.layers.Input(shape=[32, 32, 3]), kx.layers.Flatten()]
        if variant == "bn":
            layers.append(kx.layers.BatchNormalization())
        for _ in range(20):
            if variant == "bn":
                layers += [kx.layers.Dense(100, kernel_initializer="he_normal"),
                           kx.layers.BatchNormalization(), kx.layers.Activation("elu")]
            elif variant == "elu":
                layers.append(kx.layers.Dense(100, activation="elu",
                                              kernel_initializer="he_normal"))
            else:
                layers.append(kx.layers.Dense(100, activation="selu",
                                              kernel_initializer="lecun_normal"))
        if variant in ("alpha_dropout", "1cycle"):
            layers.append(kx.layers.AlphaDropout(rate=0.1))
        layers.append(kx.layers.Dense(10, activation="softmax"))
        model = kx.models.Sequential(layers)
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
               transfer_learning, "≈4.1 (96.95% → 99.25%)", quick=True),
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


# =============================================================================== frameworks
def frameworks(wanted, threads):
    """{"numpy_nn": module, "Keras": module} for what is wanted and installed."""
    import numpy_nn
    found = {}
    if "numpy_nn" in wanted:
        found["numpy_nn"] = numpy_nn
    if "keras" in wanted:
        try:
            import tensorflow as tf
            if threads:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            import keras
            if not keras.__version__.startswith("3"):
                raise ImportError(f"Keras 3 is needed, found {keras.__version__}")
            found["Keras"] = keras
        except ImportError as error:
            print(f"(Keras side skipped: {error})", file=sys.stderr)
    return found


# =============================================================================== table
def format_value(experiment, result):
    if result is None:
        return "—"
    if isinstance(result, str):
        return result
    text = f"{result.value:.2f}" if experiment.metric == "error ratio" else f"{result.value:.4f}"
    if experiment.metric.startswith("best"):
        text += f" ({result.epochs_run} epochs run)"
    if result.note:
        text += f"; {result.note}"
    return text


def format_seconds(result):
    return "—" if result is None or isinstance(result, str) else f"{result.seconds_per_epoch:.2f}"


def markdown_table(experiments, names, quick, info):
    lines = [f"Run: `{info['command']}` on {info['machine']}, {info['date']}, "
             f"total {info['minutes']:.1f} min. " + ("Subset on 10,000 training images with few "
                                                     "epochs." if quick else
                                                     "Full size, the chapter's epochs."),
             "",
             "| experiment | epochs | metric | " + " | ".join(f"{n} result" for n in names)
             + " | " + " | ".join(f"{n} s/epoch" for n in names)
             + " | the chapter (Keras 2, full runs) |",
             "|---|---|---|" + "---|" * (2 * len(names)) + "---|"]
    for experiment in experiments:
        row = [experiment.title, str(experiment.quick_epochs if quick else experiment.epochs),
               experiment.metric]
        row += [format_value(experiment, experiment.results.get(n)) for n in names]
        row += [format_seconds(experiment.results.get(n)) for n in names]
        row.append(experiment.chapter or "")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["",
              "Results are validation accuracies unless the metric says otherwise (the transfer "
              "row is the test error rate of model_B divided by that of model_B_on_A). The "
              "two frameworks start from different random weights, so rows agree up to seed "
              "noise, not digit for digit (the parity suite compares them exactly). Seconds per "
              "epoch are medians over epochs, training plus validation; "
              f"threads: {info['threads']}."]
    return "\n".join(lines)


def write_into_readme(readme, table, block):
    """Replace the text between ``<!-- block:start -->`` and ``<!-- block:end -->``."""
    start_marker, end_marker = f"<!-- {block}:start -->", f"<!-- {block}:end -->"
    text = open(readme, encoding="utf-8").read()
    if start_marker not in text or end_marker not in text:
        raise SystemExit(f"{readme} has no {start_marker} ... {end_marker} block")
    before, rest = text.split(start_marker, 1)
    _, after = rest.split(end_marker, 1)
    from numpy_nn.io_utils import atomic_write
    with atomic_write(readme, "w") as handle:
        handle.write(before + start_marker + "\n" + table + "\n" + end_marker + after)


def run_experiments(experiments, wanted_frameworks, threads, quick):
    """Run every experiment with every available framework; returns (names, minutes)."""
    if threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    available = frameworks(wanted_frameworks, threads)
    start = time.perf_counter()
    data_cache = {}
    for experiment in experiments:
        if experiment.data not in data_cache:
            data_cache = {experiment.data: load_data(experiment.data, quick)}
        n_epochs = experiment.quick_epochs if quick else experiment.epochs
        for name, kx in available.items():
            kx.backend.clear_session()
            try:
                result = experiment.run(kx, data_cache[experiment.data], n_epochs)
            except Exception as error:     # a failed row is reported, the others still run
                result = f"error: {type(error).__name__}: {error}"[:120]
            experiment.results[name] = result
            print(f"[{time.perf_counter() - start:7.1f}s] {experiment.key:<22} {name:<8} "
                  f"{format_value(experiment, result)}  "
                  f"({format_seconds(result)} s/epoch)", flush=True)
    return list(available), (time.perf_counter() - start) / 60


def merge_runs(paths):
    """Experiments, framework names and run info from earlier runs' ``reproduce.json`` files
    (for a full reproduction run in parts with ``--only``)."""
    by_key = {e.key: e for e in EXPERIMENTS}
    names, infos = [], []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            run = json.load(handle)
        infos.append(run["info"])
        for key, results in run["experiments"].items():
            for name, result in results.items():
                by_key[key].results[name] = result if isinstance(result, str) else Result(**result)
                if name not in names:
                    names.append(name)
    experiments = [e for e in EXPERIMENTS if e.results]
    quick = all("quick" in info["command"] for info in infos)
    info = dict(infos[0], minutes=sum(info["minutes"] for info in infos),
                command=("make reproduce-quick" if quick else "make reproduce")
                + f" (in {len(infos)} parts)" if len(infos) > 1 else infos[0]["command"])
    return experiments, names, quick, info


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.reproduce",
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the representative subset")
    parser.add_argument("--only", help="comma-separated experiment keys: "
                        + ", ".join(e.key for e in EXPERIMENTS))
    parser.add_argument("--frameworks", default="numpy_nn,keras",
                        help="comma-separated, from numpy_nn and keras (default: both)")
    parser.add_argument("--threads", type=int, default=0,
                        help="limit BLAS (numpy_nn) and TensorFlow to this many threads "
                             "(0: their defaults)")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="run nothing: build the table from earlier runs' reproduce.json")
    parser.add_argument("--out", default=os.path.join(common.EXAMPLES_DIR, "results",
                                                      "reproduce"))
    parser.add_argument("--readme", help="write the table into this README, between "
                                         "<!-- reproduce:start/end --> (full) or "
                                         "<!-- reproduce-quick:start/end --> (--quick)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for experiment in EXPERIMENTS:      # forget an earlier call's results (same process)
        experiment.results = {}

    if args.merge:
        experiments, names, quick, info = merge_runs(args.merge)
    else:
        quick = args.quick
        experiments = [e for e in EXPERIMENTS if e.quick or not quick]
        if args.only:
            keys = args.only.split(",")
            unknown = set(keys) - {e.key for e in EXPERIMENTS}
            if unknown:
                parser.error(f"unknown experiment(s) {sorted(unknown)}")
            experiments = [e for e in EXPERIMENTS if e.key in keys]
        names, minutes = run_experiments(experiments, args.frameworks.split(","), args.threads,
                                         quick)
        command = "make reproduce-quick" if quick else "make reproduce"
        if args.only:
            command = (f"python -m examples.reproduce{' --quick' if quick else ''} "
                       f"--only {args.only}")
        info = {"command": command, "minutes": minutes,
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                           f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                "threads": args.threads or "library defaults"}
    table = markdown_table(experiments, names, quick, info)
    print("\n" + table)
    with open(os.path.join(args.out, "reproduce.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    with open(os.path.join(args.out, "reproduce.json"), "w", encoding="utf-8") as handle:
        json.dump({"info": info, "experiments": {
            e.key: {name: (r if isinstance(r, str) else r.__dict__)
                    for name, r in e.results.items()} for e in experiments}}, handle, indent=1)
    if args.readme:
        write_into_readme(args.readme, table, "reproduce-quick" if quick else "reproduce")
    return experiments


if __name__ == "__main__":
    main()
