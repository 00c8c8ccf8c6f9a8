"""Write your own layer: two custom layers, checked, trained, and compared with Keras.

1. ``MCDropout`` — the chapter's Monte Carlo dropout layer, exactly as the chapter writes it.
2. ``ScaledTanh`` — a small activation layer with its own backward pass:
   :math:`y = a \\tanh(b x)` with LeCun's constants :math:`a = 1.7159`, :math:`b = 2/3`.

Both are checked with :func:`numpy_nn.utils.check_gradients` (central differences in float64),
trained on Fashion-MNIST inside a model, and the ``ScaledTanh`` network is trained side by side
with its Keras twin (the same layer written with ``keras.ops``) through ``tf_backend``, from the
same weights on the same batches. Everything printed is also written to
``<out>/output.txt``, which the documentation page includes.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys

import numpy as np

import numpy_nn
from examples.common import QUICK_TRAIN, load_fashion_mnist, parse_args, section
from numpy_nn.io_utils import atomic_write


# ----------------------------------------------------------------------------- the layers
class MCDropout(numpy_nn.layers.Dropout):
    def call(self, inputs):
        return super().call(inputs, training=True)


class ScaledTanh(numpy_nn.layers.Layer):
    r"""LeCun's scaled tanh, :math:`y = a \tanh(b x)`; backward:
    :math:`\partial L/\partial x = a b \,(1 - \tanh^2(b x))\, g`."""

    def __init__(self, a=1.7159, b=2 / 3, **kwargs):
        super().__init__(**kwargs)
        self.a, self.b = a, b

    def call(self, inputs):
        self._tanh = np.tanh(self.b * inputs)          # cached for backward
        return self.a * self._tanh

    def backward(self, grad_output, need_input_grad=True):
        if not need_input_grad:
            return None
        return (self.a * self.b) * (1 - self._tanh ** 2) * grad_output

    def get_config(self):
        return {**super().get_config(), "a": self.a, "b": self.b}


class ScaledTanhWrongBackward(ScaledTanh):
    """The same layer with a classic mistake: the inner factor ``b`` forgotten."""

    def backward(self, grad_output, need_input_grad=True):
        return self.a * (1 - self._tanh ** 2) * grad_output


# ----------------------------------------------------------------------------- the steps
def check_layers():
    x = np.random.default_rng(0).normal(size=(8, 5))
    results = {}
    for name, layer, training in (("ScaledTanh", ScaledTanh(), False),
                                  ("ScaledTanh, wrong backward", ScaledTanhWrongBackward(), False),
                                  ("MCDropout(0.3)", MCDropout(0.3), True)):
        result = numpy_nn.utils.check_gradients(layer, x, training=training)
        print(f"check_gradients({name}):\n{result}\n")
        results[name] = result
    return results


def build(hidden_layer):
    numpy_nn.utils.set_random_seed(42)
    model = numpy_nn.models.Sequential([
        numpy_nn.layers.Flatten(input_shape=[28, 28]),
        numpy_nn.layers.Dense(100, kernel_initializer="lecun_normal"),
        hidden_layer,
        numpy_nn.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=numpy_nn.optimizers.SGD(learning_rate=0.05), metrics=["accuracy"])
    return model


def keras_scaled_tanh_twin(model):
    """The Keras twin of ``build(ScaledTanh())``: its own ScaledTanh written with keras.ops,
    the numpy_nn model's weights, the same optimizer settings."""
    import keras

    import tf_backend

    class KerasScaledTanh(keras.layers.Layer):
        def __init__(self, a=1.7159, b=2 / 3, **kwargs):
            super().__init__(**kwargs)
            self.a, self.b = a, b

        def call(self, inputs):
            return self.a * keras.ops.tanh(self.b * inputs)

    twin = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(100), KerasScaledTanh(),
                             keras.layers.Dense(10, activation="softmax")])
    twin.set_weights(model.get_weights())
    twin.compile(loss="sparse_categorical_crossentropy",
                 optimizer=tf_backend.optimizer_to_keras(model.optimizer), metrics=["accuracy"],
                 run_eagerly=True)
    return twin


def compare_with_keras(X, y, epochs):
    import tf_backend

    model = build(ScaledTanh())
    result = tf_backend.train_side_by_side(model, X, y, epochs=epochs, batch_size=32,
                                           keras_model=keras_scaled_tanh_twin(model))
    losses = np.array(result.numpy_history["loss"]), np.array(result.keras_history["loss"])
    loss_error = float(np.max(np.abs(losses[0] - losses[1]) / np.abs(losses[1])))
    weight_error = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
                       for a, b in zip(result.numpy_weights, result.keras_weights))
    print(f"ScaledTanh network, {len(X)} images, {epochs} epochs, same batches:")
    print(f"  numpy_nn loss per epoch: {np.round(losses[0], 6).tolist()}")
    print(f"  Keras    loss per epoch: {np.round(losses[1], 6).tolist()}")
    print(f"  worst relative difference: loss {loss_error:.1e}, weights {weight_error:.1e}")
    return loss_error, weight_error


def main(argv=None):
    args = parse_args("write_your_own_layer", __doc__, argv)
    printed, console = io.StringIO(), sys.stdout

    class Tee(io.TextIOBase):
        def write(self, text):
            printed.write(text)
            return console.write(text)

    with contextlib.redirect_stdout(Tee()):
        section("1. check_gradients")
        checks = check_layers()
        (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
        X_train, y_train = X_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
        epochs = 2 if args.quick else 5
        section("2. training with the custom layers")
        histories = {}
        for name, layer in (("ScaledTanh", ScaledTanh()), ("MCDropout(0.2)", MCDropout(0.2))):
            model = build(layer)
            history = model.fit(X_train, y_train, epochs=epochs,
                                validation_data=(X_valid, y_valid), verbose=0)
            histories[name] = history.history
            print(f"{name}: loss {history.history['loss'][0]:.4f} -> "
                  f"{history.history['loss'][-1]:.4f}, val_accuracy "
                  f"{history.history['val_accuracy'][-1]:.4f} after {epochs} epochs")
        section("3. the same ScaledTanh network in Keras, side by side")
        try:
            comparison = compare_with_keras(X_train[:1000], y_train[:1000], epochs=2)
        except ImportError as error:
            comparison = None
            print(f"Keras comparison skipped: {error}")
    with atomic_write(os.path.join(args.out, "output.txt"), "w") as handle:
        handle.write(printed.getvalue())
    return checks, histories, comparison


if __name__ == "__main__":
    main()
