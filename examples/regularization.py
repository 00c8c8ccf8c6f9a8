"""Regularisation (chapter section "Avoiding Overfitting Through Regularization"):
ℓ2 weight penalties (also through ``functools.partial``), dropout, alpha dropout, MC dropout
and max-norm, on standardised Fashion-MNIST with the chapter's epochs (2 for each model, 20
for alpha dropout).

MC dropout is shown twice: the chapter's ``np.stack([model(X, training=True) ...])`` and
its ``MCAlphaDropout`` subclass, and the library's :func:`numpy_nn.utils.mc_predict`.
Writes ``learning_curves.png`` and ``mc_dropout.png`` (the first test image's class
probabilities: one deterministic prediction vs the MC mean ± std).
"""
from __future__ import annotations

from functools import partial

import numpy as np

import numpy_nn as keras
from examples.common import (
    epochs,
    fit_and_report,
    load_fashion_mnist,
    parse_args,
    plot_learning_curves,
    pyplot,
    save_fig,
    section,
    standardize,
)
from numpy_nn.utils import mc_predict


def compile_nadam(model):
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam",
                  metrics=["accuracy"])
    return model


def l2_model():
    keras.utils.set_random_seed(42)
    RegularizedDense = partial(keras.layers.Dense,
                               activation="elu",
                               kernel_initializer="he_normal",
                               kernel_regularizer=keras.regularizers.l2(0.01))
    # or l1(0.1) for ℓ1 regularization with a factor of 0.1,
    # or l1_l2(0.1, 0.01) for both, with factors 0.1 and 0.01 respectively
    return compile_nadam(keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        RegularizedDense(300),
        RegularizedDense(100),
        RegularizedDense(10, activation="softmax")
    ]))


def dropout_model():
    keras.utils.set_random_seed(42)
    return compile_nadam(keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(300, activation="elu", kernel_initializer="he_normal"),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(100, activation="elu", kernel_initializer="he_normal"),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(10, activation="softmax")
    ]))


def alpha_dropout_model():
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.AlphaDropout(rate=0.2),
        keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.AlphaDropout(rate=0.2),
        keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.AlphaDropout(rate=0.2),
        keras.layers.Dense(10, activation="softmax")
    ])
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def max_norm_model():
    keras.utils.set_random_seed(42)
    MaxNormDense = partial(keras.layers.Dense,
                           activation="selu", kernel_initializer="lecun_normal",
                           kernel_constraint=keras.constraints.max_norm(1.))
    return compile_nadam(keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        MaxNormDense(300),
        MaxNormDense(100),
        keras.layers.Dense(10, activation="softmax")
    ]))


class MCAlphaDropout(keras.layers.AlphaDropout):
    def call(self, inputs):
        return super().call(inputs, training=True)


def mc_dropout(args, model, X_test_scaled, y_test):
    """The chapter's MC dropout, then the same with mc_predict and with MCAlphaDropout."""
    keras.utils.set_random_seed(42)
    y_probas = np.stack([model(X_test_scaled, training=True)
                         for sample in range(100)])
    y_proba = y_probas.mean(axis=0)
    y_std = y_probas.std(axis=0)
    print("model.predict, first test image:", np.round(model.predict(X_test_scaled[:1]), 2))
    print("MC mean:", np.round(y_proba[:1], 2))
    print("MC std: ", np.round(y_std[:1], 2))
    y_pred = np.argmax(y_proba, axis=1)
    accuracy = np.sum(y_pred == y_test) / len(y_test)
    print(f"MC dropout test accuracy (100 samples): {accuracy:.4f}")

    mean, std = mc_predict(model, X_test_scaled, n_samples=100)
    print(f"mc_predict test accuracy (100 samples): "
          f"{np.mean(mean.argmax(axis=1) == y_test):.4f}")

    mc_model = keras.models.Sequential([
        MCAlphaDropout(layer.rate) if isinstance(layer, keras.layers.AlphaDropout) else layer
        for layer in model.layers
    ])
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
    mc_model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                     metrics=["accuracy"])
    mc_model.set_weights(model.get_weights())
    print("MCAlphaDropout model, mean of 100 predictions of the first test image:",
          np.round(np.mean([mc_model.predict(X_test_scaled[:1]) for sample in range(100)],
                           axis=0), 2))

    plt = pyplot()
    plt.figure(figsize=(8, 4))
    classes = np.arange(10)
    plt.bar(classes - 0.2, model.predict(X_test_scaled[:1])[0], width=0.4,
            label="model.predict (dropout off)")
    plt.bar(classes + 0.2, mean[0], width=0.4, yerr=std[0], capsize=3,
            label="MC dropout mean ± std")
    plt.xticks(classes)
    plt.xlabel(f"Class (true: {y_test[0]})")
    plt.ylabel("Probability")
    plt.legend()
    plt.title("MC dropout on the first test image", fontsize=14)
    save_fig(args, "mc_dropout")
    return accuracy


def main(argv=None):
    args = parse_args("regularization", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_fashion_mnist(args)
    X_train_scaled, X_valid_scaled, X_test_scaled = standardize(X_train, X_valid, X_test)
    histories = {}
    for label, build, n_epochs in (("l2(0.01)", l2_model, 2), ("dropout 0.2", dropout_model, 2),
                                   ("alpha dropout 0.2", alpha_dropout_model, 20),
                                   ("max_norm(1.)", max_norm_model, 2)):
        section(label)
        model = build()
        histories[label] = fit_and_report(model, X_train_scaled, y_train, X_valid_scaled,
                                          y_valid, label, epochs=epochs(args, n_epochs))
        if build is alpha_dropout_model:
            alpha_model = model
    plot_learning_curves(args, "learning_curves", histories, title="Regularization")

    section("Alpha dropout: test and train scores (dropout off)")
    print("test  [loss, accuracy]:", alpha_model.evaluate(X_test_scaled, y_test, verbose=0))
    print("train [loss, accuracy]:", alpha_model.evaluate(X_train_scaled, y_train, verbose=0))
    section("MC dropout")
    accuracy = mc_dropout(args, alpha_model, X_test_scaled, y_test)
    return histories, accuracy


if __name__ == "__main__":
    main()
