"""Transfer learning with a pretrained Fashion-MNIST model (chapter section "Reusing
Pretrained Layers").

Task A: the 8 classes other than sandal (5) and shirt (6). Task B: sandal or shirt, from
only 200 training images. ``model_A`` (five SELU hidden layers) is trained on A for 20
epochs and saved; ``model_B`` is the same architecture trained from scratch on B;
``model_B_on_A`` reuses model_A's hidden layers with a new sigmoid output, trained 4 epochs
with the reused layers frozen, then 16 epochs unfrozen. The chapter reports roughly a
fourfold drop of the test error rate ((100 - 96.95) / (100 - 99.25) ≈ 4.07); the exact
figure depends heavily on the seed. Writes ``learning_curves.png`` and ``my_model_A.h5``.
"""
from __future__ import annotations

import os

import numpy as np

import numpy_nn as keras
from examples.common import epochs, load_fashion_mnist, parse_args, plot_learning_curves, section


def split_dataset(X, y):
    y_5_or_6 = (y == 5) | (y == 6)  # sandals or shirts
    y_A = y[~y_5_or_6]
    y_A[y_A > 6] -= 2  # class indices 7, 8, 9 should be moved to 5, 6, 7
    y_B = (y[y_5_or_6] == 6).astype(np.float32)  # binary classification task: is it a shirt?
    return ((X[~y_5_or_6], y_A),
            (X[y_5_or_6], y_B))


def hidden_stack(model):
    model.add(keras.layers.Flatten(input_shape=[28, 28]))
    for n_hidden in (300, 100, 50, 50, 50):
        model.add(keras.layers.Dense(n_hidden, activation="selu"))
    return model


def main(argv=None):
    args = parse_args("transfer_learning", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_fashion_mnist(args)
    (X_train_A, y_train_A), (X_train_B, y_train_B) = split_dataset(X_train, y_train)
    (X_valid_A, y_valid_A), (X_valid_B, y_valid_B) = split_dataset(X_valid, y_valid)
    (X_test_A, y_test_A), (X_test_B, y_test_B) = split_dataset(X_test, y_test)
    X_train_B = X_train_B[:200]
    y_train_B = y_train_B[:200]
    print("X_train_A", X_train_A.shape, "X_train_B", X_train_B.shape)
    print("y_train_A[:30]", y_train_A[:30])
    print("y_train_B[:30]", y_train_B[:30])

    section("model_A: 8 classes")
    keras.utils.set_random_seed(42)
    model_A = hidden_stack(keras.models.Sequential())
    model_A.add(keras.layers.Dense(8, activation="softmax"))
    model_A.compile(loss="sparse_categorical_crossentropy",
                    optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                    metrics=["accuracy"])
    model_A.fit(X_train_A, y_train_A, epochs=epochs(args, 20), verbose=2,
                validation_data=(X_valid_A, y_valid_A))
    path_A = os.path.join(args.out, "my_model_A.h5")
    model_A.save(path_A)

    section("model_B: from scratch on 200 images")
    model_B = hidden_stack(keras.models.Sequential())
    model_B.add(keras.layers.Dense(1, activation="sigmoid"))
    model_B.compile(loss="binary_crossentropy",
                    optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                    metrics=["accuracy"])
    history_B = model_B.fit(X_train_B, y_train_B, epochs=epochs(args, 20), verbose=2,
                            validation_data=(X_valid_B, y_valid_B))

    section("model_B_on_A: reuse model_A's hidden layers")
    model_A = keras.models.load_model(path_A)
    model_B_on_A = keras.models.Sequential(model_A.layers[:-1])
    model_B_on_A.add(keras.layers.Dense(1, activation="sigmoid"))
    # model_B_on_A shares its layers with model_A; keep an untouched copy of model_A:
    model_A_clone = keras.models.clone_model(model_A)
    model_A_clone.set_weights(model_A.get_weights())

    for layer in model_B_on_A.layers[:-1]:
        layer.trainable = False
    model_B_on_A.compile(loss="binary_crossentropy",
                         optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                         metrics=["accuracy"])
    frozen = model_B_on_A.fit(X_train_B, y_train_B, epochs=epochs(args, 4), verbose=2,
                              validation_data=(X_valid_B, y_valid_B))
    for layer in model_B_on_A.layers[:-1]:
        layer.trainable = True
    model_B_on_A.compile(loss="binary_crossentropy",
                         optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                         metrics=["accuracy"])
    unfrozen = model_B_on_A.fit(X_train_B, y_train_B, epochs=epochs(args, 16), verbose=2,
                                validation_data=(X_valid_B, y_valid_B))
    for key in frozen.history:
        frozen.history[key] += unfrozen.history[key]

    section("Test scores")
    _, accuracy_B = model_B.evaluate(X_test_B, y_test_B, verbose=0)
    _, accuracy_B_on_A = model_B_on_A.evaluate(X_test_B, y_test_B, verbose=0)
    ratio = (1 - accuracy_B) / max(1 - accuracy_B_on_A, 1e-12)
    print(f"model_B      test accuracy {accuracy_B:.4f}")
    print(f"model_B_on_A test accuracy {accuracy_B_on_A:.4f}")
    print(f"error rate ratio (model_B / model_B_on_A): {ratio:.2f}  (the chapter: about 4)")
    plot_learning_curves(args, "learning_curves", {"model_B": history_B,
                                                   "model_B_on_A": frozen},
                         title="Task B: from scratch vs reusing model_A")
    return accuracy_B, accuracy_B_on_A, ratio


if __name__ == "__main__":
    main()
