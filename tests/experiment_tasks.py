"""Task entries for the experiment-runner tests (imported by the workers by name)."""
import os
import time

from numpy_nn.experiments import cached

LOADS = 0


def _load(name):
    global LOADS
    LOADS += 1
    return f"data:{name}"


def count_loads(config):
    """How many times this worker process has loaded the dataset so far."""
    data = cached(_load, config["dataset"])
    return {"metrics": {"loads": LOADS}, "data": data}


def sleepy(config):
    """Sleeps (light on a shared machine), then returns a number made from the seed; fails on
    request."""
    time.sleep(config.get("seconds", 0.2))
    if config.get("fail"):
        raise ValueError(f"asked to fail (seed {config['seed']})")
    return {"metrics": {"value": config["seed"] ** 2}, "history": {"value": [config["seed"]]},
            "worker_pid": os.getpid()}


# --------------------------------------------------------------------------- wrapper helpers
def small_fashion(n, offset=5000):
    """``n`` Fashion-MNIST training images as a flat float32 (n, 784) array, and labels."""
    import numpy as np

    from numpy_nn.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    x = x[offset:offset + n].reshape(n, -1).astype(np.float32) / np.float32(255)
    return x, y[offset:offset + n]


def build_classifier(n_hidden=1, n_neurons=16, learning_rate=1e-2, activation="relu",
                     n_inputs=784, n_classes=10):
    """A compiled MLP; every argument is searchable as ``model__<name>``."""
    import numpy_nn
    layers = [numpy_nn.layers.Input(shape=[n_inputs])]
    layers += [numpy_nn.layers.Dense(n_neurons, activation=activation)
               for _ in range(n_hidden)]
    layers.append(numpy_nn.layers.Dense(n_classes, activation="softmax"))
    model = numpy_nn.models.Sequential(layers)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=numpy_nn.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


def build_regressor(n_neurons=8, learning_rate=1e-2, n_inputs=3):
    import numpy_nn
    model = numpy_nn.models.Sequential([
        numpy_nn.layers.Input(shape=[n_inputs]),
        numpy_nn.layers.Dense(n_neurons, activation="relu"), numpy_nn.layers.Dense(1)])
    model.compile(loss="mse", optimizer=numpy_nn.optimizers.SGD(learning_rate=learning_rate))
    return model
