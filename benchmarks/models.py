"""The four benchmark networks, built the same way for numpy_nn and for Keras.

numpy_nn and Keras share the API the chapter uses, so one builder takes the library module
(``numpy_nn`` or ``keras``) and produces the identical architecture, initializers, loss,
optimizer and metric on either side:

* ``leaky_relu_mlp`` — the chapter's LeakyReLU network on Fashion-MNIST:
  784-300-100-10, He initialization, ``LeakyReLU()`` layers, SGD(1e-3).
* ``batch_norm_mlp`` — the chapter's first BatchNormalization network: BN after the input and
  after each hidden Dense(300/100, ReLU), SGD(1e-3).
* ``selu_100`` — the chapter's self-normalising net: Dense(300) then 99 x Dense(100), SELU,
  LeCun-normal, SGD(1e-3), on standardised inputs.
* ``elu_20x100_cifar`` — the exercise's 20 x Dense(100, ELU, He) on CIFAR-10 (3,072 inputs),
  Nadam(5e-5).

All use sparse categorical cross-entropy from a softmax output and the ``accuracy`` metric,
as the chapter compiles them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dataset: str                 # "fashion_mnist", "fashion_mnist_standardized", "cifar10"
    input_shape: tuple
    hidden: list = field(default_factory=list)    # [(units, activation or None, initializer)]
    batch_norm: bool = False     # BN after the input and after each hidden layer
    leaky_relu_layers: bool = False
    optimizer: tuple = ("SGD", {"learning_rate": 1e-3})
    description: str = ""

    def dense_shapes(self):
        """(inputs, units) of every Dense layer, output layer included."""
        size = 1
        for dim in self.input_shape:
            size *= dim
        shapes = []
        for units, _, _ in self.hidden:
            shapes.append((size, units))
            size = units
        shapes.append((size, 10))
        return shapes

    def input_gradient_layers(self):
        """Indices of the Dense layers whose input gradient backpropagation needs: all but the
        first, unless a trainable layer (BatchNormalization) sits below the first Dense."""
        return [i for i in range(len(self.dense_shapes())) if i > 0 or self.batch_norm]

    def parameter_count(self):
        count = sum(i * o + o for i, o in self.dense_shapes())
        if self.batch_norm:
            count += 4 * (self.dense_shapes()[0][0] + sum(u for u, _, _ in self.hidden))
        return count


MODELS = {
    "leaky_relu_mlp": ModelSpec(
        "leaky_relu_mlp", "fashion_mnist", (28, 28),
        hidden=[(300, None, "he_normal"), (100, None, "he_normal")], leaky_relu_layers=True,
        description="784-300-100-10, LeakyReLU layers, He init, SGD"),
    "batch_norm_mlp": ModelSpec(
        "batch_norm_mlp", "fashion_mnist", (28, 28),
        hidden=[(300, "relu", "glorot_uniform"), (100, "relu", "glorot_uniform")],
        batch_norm=True, description="BN-784-300(ReLU)-BN-100(ReLU)-BN-10, SGD"),
    "selu_100": ModelSpec(
        "selu_100", "fashion_mnist_standardized", (28, 28),
        hidden=[(300, "selu", "lecun_normal")] + [(100, "selu", "lecun_normal")] * 99,
        description="784-300-99x100-10, SELU, LeCun init, SGD"),
    "elu_20x100_cifar": ModelSpec(
        "elu_20x100_cifar", "cifar10", (32, 32, 3),
        hidden=[(100, "elu", "he_normal")] * 20, optimizer=("Nadam", {"learning_rate": 5e-5}),
        description="3072-20x100-10, ELU, He init, Nadam"),
}


def build(spec: ModelSpec, lib):
    """The compiled model of ``spec`` in library ``lib`` (the ``numpy_nn`` or ``keras`` module)."""
    layers = [lib.layers.Input(shape=spec.input_shape), lib.layers.Flatten()]
    if spec.batch_norm:
        layers.append(lib.layers.BatchNormalization())
    for units, activation, initializer in spec.hidden:
        layers.append(lib.layers.Dense(units, activation=activation,
                                       kernel_initializer=initializer))
        if spec.leaky_relu_layers:
            layers.append(lib.layers.LeakyReLU())
        if spec.batch_norm:
            layers.append(lib.layers.BatchNormalization())
    layers.append(lib.layers.Dense(10, activation="softmax"))
    model = lib.models.Sequential(layers)
    optimizer_name, optimizer_args = spec.optimizer
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=getattr(lib.optimizers, optimizer_name)(**optimizer_args),
                  metrics=["accuracy"])
    return model


def load_dataset(name, samples=None):
    """``(x, y)``: the first ``samples`` of the training images the chapter trains on (the last
    55,000 of Fashion-MNIST's 60,000, or 45,000 of CIFAR-10's 50,000) as float32, and their
    labels. Read with numpy_nn's loaders (which never import TensorFlow), so every engine
    trains on identical arrays. Standardisation uses the statistics of the whole training set,
    as the chapter does."""
    import numpy as np

    from numpy_nn.datasets import cifar10, fashion_mnist

    def scaled(images):                 # float32 throughout, without a float64 temporary
        images = images.astype(np.float32)
        images /= np.float32(255)
        return images

    if name.startswith("fashion_mnist"):
        (x, y), _ = _images("fashion_mnist", fashion_mnist.load_data)
        x, y = x[5000:], y[5000:]
        subset = scaled(x[:samples])
        if name == "fashion_mnist_standardized":
            full = scaled(x)
            mean, std = full.mean(axis=0, keepdims=True), full.std(axis=0, keepdims=True)
            subset -= mean
            subset /= std
        return subset, y[:samples]
    if name == "cifar10":
        (x, y), _ = _images("cifar10", cifar10.load_data)
        x, y = x[5000:], y[5000:]
        return scaled(x[:samples]), y[:samples]
    raise ValueError(f"unknown dataset {name!r}")


# Training speed does not depend on the pixel values of these dense networks, so on a machine
# without the datasets the benchmarks can still run, on random images of the same shapes.
# run.py decides once (missing_datasets) and tells the workers through this variable, so
# every engine of a run gets the same arrays; the report says when it happened.
SYNTHETIC_ENV = "NUMPY_NN_BENCH_SYNTHETIC"
_SHAPES = {"fashion_mnist": (60_000, (28, 28)), "cifar10": (50_000, (32, 32, 3))}


def _images(dataset, loader):
    if dataset in os.environ.get(SYNTHETIC_ENV, "").split(","):
        return synthetic_images(dataset)
    return loader()


def synthetic_images(dataset):
    """``((x, y), (None, None))``: uint8 images and labels shaped like ``dataset``'s training
    set, the same on every call (seeded)."""
    import numpy as np
    count, shape = _SHAPES[dataset]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    return (images, labels), (None, None)


def missing_datasets(names):
    """The datasets among ``names`` (``"fashion_mnist"``, ``"cifar10"``) that numpy_nn's loaders
    cannot find on this machine."""
    from numpy_nn.datasets import cifar10, fashion_mnist
    from numpy_nn.datasets._files import DatasetNotFoundError
    loaders = {"fashion_mnist": fashion_mnist.load_data, "cifar10": cifar10.load_data}
    missing = []
    for name in names:
        try:
            loaders[name]()
        except DatasetNotFoundError:
            missing.append(name)
    return missing


def dense_plan(model):
    """``(shapes, needs_input_gradient)`` of a built numpy_nn model: ``(inputs, units)`` of
    every Dense layer in order, and the indices of those whose input gradient backpropagation
    needs (all but the first, unless a layer with weights lies below the first Dense)."""
    from numpy_nn import layers as L
    shapes, needs, weights_below = [], [], False
    for layer in model.layers:
        if isinstance(layer, L.Dense):
            kernel = np.asarray(layer.kernel)
            if shapes or weights_below:
                needs.append(len(shapes))
            shapes.append((int(kernel.shape[0]), int(kernel.shape[1])))
        elif not shapes and layer.weights:
            weights_below = True
    return shapes, needs


def random_data(model, samples, seed=0):
    """``(x, y)``: ``samples`` random float32 inputs of a built numpy_nn classifier's input
    shape and random labels among its outputs (for timing a user's model, whose data we do
    not have; the speed of these networks does not depend on the values)."""
    rng = np.random.default_rng(seed)
    input_shape = tuple(model.layers[0].input_shape[1:])
    classes = int(model.layers[-1].output_shape[-1])
    x = rng.standard_normal((samples, *input_shape), dtype=np.float32)
    return x, rng.integers(0, classes, size=samples).astype(np.uint8 if classes <= 256
                                                              else np.int64)
