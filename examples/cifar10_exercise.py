"""Exercise 8 of the chapter: a deep network on CIFAR-10.

a-b. 20 hidden layers of 100 ELU units (He init), Nadam(learning_rate=5e-5), early stopping
     (patience 20), the best model kept by ``ModelCheckpoint`` and curves in TensorBoard;
c.   the same with batch normalisation (before each activation, and on the inputs), 5e-4;
d.   SELU with LeCun init and standardised inputs instead of BN, 7e-4;
e.   SELU + alpha dropout (10 %), 5e-4, then MC dropout on the validation set without
     retraining;
f.   1cycle: the learning-rate finder, then 15 epochs of SGD with ``OneCycleScheduler``
     (max_rate 0.05, batch size 128).

The first 5,000 training images validate, the other 45,000 train; up to 100 epochs each.
The chapter's Keras runs reached about 47 % (a-b), 54 % (c), 51.4 % (d), 50.8 % → 50.9 % with
MC dropout (e) and 52.8 % (f) validation accuracy. Writes checkpoints, TensorBoard logs
(``my_cifar10_logs/``, if tensorboardX is installed), ``lr_finder.png`` and
``learning_curves.png`` into the results folder.
"""
from __future__ import annotations

import os

import numpy as np

import numpy_nn as keras
from examples.common import (
    epochs,
    fit_and_report,
    load_cifar10,
    parse_args,
    plot_learning_curves,
    pyplot,
    save_fig,
    section,
    standardize,
)
from numpy_nn.callbacks import OneCycleScheduler
from numpy_nn.utils import find_learning_rate, plot_lr_vs_loss


def deep_network(activation="elu", initializer="he_normal", batch_norm=False,
                 alpha_dropout=None):
    keras.backend.clear_session()
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential()
    model.add(keras.layers.Flatten(input_shape=[32, 32, 3]))
    if batch_norm:
        model.add(keras.layers.BatchNormalization())
    for _ in range(20):
        if batch_norm:
            model.add(keras.layers.Dense(100, kernel_initializer=initializer))
            model.add(keras.layers.BatchNormalization())
            model.add(keras.layers.Activation(activation))
        else:
            model.add(keras.layers.Dense(100, activation=activation,
                                         kernel_initializer=initializer))
    if alpha_dropout:
        model.add(keras.layers.AlphaDropout(rate=alpha_dropout))
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def callbacks_for(args, run_name):
    """Early stopping, the best-model checkpoint and (if available) TensorBoard."""
    early_stopping_cb = keras.callbacks.EarlyStopping(patience=20)
    checkpoint_path = os.path.join(args.out, f"my_cifar10_{run_name}_model.h5")
    model_checkpoint_cb = keras.callbacks.ModelCheckpoint(checkpoint_path, save_best_only=True)
    callbacks = [early_stopping_cb, model_checkpoint_cb]
    run_index = 1  # increment every time you train the model
    run_logdir = os.path.join(args.out, "my_cifar10_logs", f"run_{run_name}_{run_index:03d}")
    try:
        callbacks.append(keras.callbacks.TensorBoard(run_logdir))
    except ImportError as error:
        print(f"(no TensorBoard logs: {error})")
    return callbacks, checkpoint_path


def train_and_keep_best(args, model, run_name, learning_rate, train, valid):
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
                  metrics=["accuracy"])
    callbacks, checkpoint_path = callbacks_for(args, run_name)
    history = fit_and_report(model, *train, *valid, run_name, epochs=epochs(args, 100, 2),
                             callbacks=callbacks)
    best = keras.models.load_model(checkpoint_path)
    loss, accuracy = best.evaluate(*valid, verbose=0)
    print(f"{run_name}: best checkpoint val_accuracy {accuracy:.4f} (val_loss {loss:.4f})")
    return history, best


def mc_dropout_predict_probas(mc_model, X, n_samples=10):
    Y_probas = [mc_model.predict(X) for sample in range(n_samples)]
    return np.mean(Y_probas, axis=0)


def mc_dropout_predict_classes(mc_model, X, n_samples=10):
    Y_probas = mc_dropout_predict_probas(mc_model, X, n_samples)
    return np.argmax(Y_probas, axis=1)


class MCAlphaDropout(keras.layers.AlphaDropout):
    def call(self, inputs):
        return super().call(inputs, training=True)


def main(argv=None):
    args = parse_args("cifar10_exercise", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), _ = load_cifar10(args)
    X_train_scaled, X_valid_scaled = standardize(X_train.astype(np.float32),
                                                 X_valid.astype(np.float32))
    raw = ((X_train, y_train), (X_valid, y_valid))
    scaled = ((X_train_scaled, y_train), (X_valid_scaled, y_valid))
    histories, results = {}, {}

    section("a-b. 20 x 100 ELU, Nadam 5e-5, early stopping")
    histories["ELU"], best = train_and_keep_best(args, deep_network(), "elu", 5e-5, *raw)
    results["ELU"] = best.evaluate(X_valid, y_valid, verbose=0)[1]

    section("c. with batch normalization")
    histories["ELU + BN"], best = train_and_keep_best(args, deep_network(batch_norm=True),
                                                      "bn", 5e-4, *raw)
    results["ELU + BN"] = best.evaluate(X_valid, y_valid, verbose=0)[1]

    section("d. SELU instead of BN")
    histories["SELU"], best = train_and_keep_best(
        args, deep_network("selu", "lecun_normal"), "selu", 7e-4, *scaled)
    results["SELU"] = best.evaluate(X_valid_scaled, y_valid, verbose=0)[1]

    section("e. SELU + alpha dropout, then MC dropout")
    histories["SELU + alpha dropout"], model = train_and_keep_best(
        args, deep_network("selu", "lecun_normal", alpha_dropout=0.1), "alpha_dropout", 5e-4,
        *scaled)
    results["SELU + alpha dropout"] = model.evaluate(X_valid_scaled, y_valid, verbose=0)[1]
    mc_model = keras.models.Sequential([
        MCAlphaDropout(layer.rate) if isinstance(layer, keras.layers.AlphaDropout) else layer
        for layer in model.layers
    ])
    keras.utils.set_random_seed(42)
    y_pred = mc_dropout_predict_classes(mc_model, X_valid_scaled)
    results["SELU + alpha dropout, MC dropout"] = float(np.mean(y_pred == y_valid[:, 0]))
    print(f"MC dropout val_accuracy: {results['SELU + alpha dropout, MC dropout']:.4f}")

    section("f. 1cycle")
    batch_size = 128
    model = deep_network("selu", "lecun_normal", alpha_dropout=0.1)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=1e-3), metrics=["accuracy"])
    rates, losses = find_learning_rate(model, X_train_scaled, y_train, epochs=1,
                                       batch_size=batch_size)
    plt = pyplot()
    plt.figure()
    plot_lr_vs_loss(rates, losses)
    plt.axis([min(rates), max(rates), min(losses), (losses[0] + min(losses)) / 1.4])
    save_fig(args, "lr_finder")
    model = deep_network("selu", "lecun_normal", alpha_dropout=0.1)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=1e-2), metrics=["accuracy"])
    n_epochs = epochs(args, 15, 2)
    onecycle = OneCycleScheduler(len(X_train_scaled) // batch_size * n_epochs, max_rate=0.05)
    histories["1cycle"] = fit_and_report(model, X_train_scaled, y_train, X_valid_scaled,
                                         y_valid, "1cycle", epochs=n_epochs,
                                         batch_size=batch_size, callbacks=[onecycle])
    results["1cycle"] = histories["1cycle"].history["val_accuracy"][-1]

    plot_learning_curves(args, "learning_curves", histories, title="CIFAR-10")
    section("Validation accuracy")
    for name, accuracy in results.items():
        print(f"{name:<36} {accuracy:.4f}")
    return results


if __name__ == "__main__":
    main()
