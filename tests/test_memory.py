"""Training for many epochs does not grow memory: what an epoch allocates is released.

Measured with ``tracemalloc`` (it sees NumPy's buffers as well as Python objects) at the end of
epochs 10 and 40 (the steady state), each time after a garbage collection. Only those two
epochs collect: a full collection walks every object of the process, which takes a third of a
second once TensorFlow has been imported by other tests, so collecting every epoch would make
the test several times slower without changing the two measurements. Two things may
legitimately grow there, and bound the tolerance:

* ``History`` keeps one float per metric per epoch (4 here): about 200 bytes per epoch;
* NumPy keeps a bounded cache of small freed buffers, which fills up during the first epochs.

A real leak is much bigger: keeping one batch of activations per epoch (32 x 64 floats) would
add 8 KB per epoch, keeping one per batch 100 KB per epoch. The tolerance is 1 KB per epoch.
An RSS check (psutil) on a Fashion-MNIST-shaped model also covers memory outside tracemalloc's
view (e.g. compiled kernels), with the coarser tolerance RSS allows.
"""
import gc
import tracemalloc

import numpy as np
import pytest

import numpy_nn as keras

FIRST, LAST = 10, 40
PER_EPOCH_TOLERANCE = 1024


class TracedMemory(keras.callbacks.Callback):
    """Bytes traced by tracemalloc at the end of epochs FIRST and LAST, keyed by epoch."""

    def __init__(self):
        super().__init__()
        self.sizes = {}

    def on_epoch_end(self, epoch, logs=None):
        if epoch in (FIRST, LAST):
            gc.collect()
            self.sizes[epoch] = tracemalloc.get_traced_memory()[0]


def small_problem(optimizer="nadam"):
    keras.backend.set_random_seed(0)
    x = np.random.default_rng(0).random((512, 20)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 5, 512)
    model = keras.models.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(20,),
                           kernel_regularizer=keras.regularizers.l2(1e-4)),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(5, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model, x, y


@pytest.mark.parametrize("optimizer", ["nadam", "sgd"])
def test_memory_returns_to_baseline_every_epoch(optimizer):
    model, x, y = small_problem(optimizer)
    memory = TracedMemory()
    tracemalloc.start()
    try:
        model.fit(x, y, epochs=LAST + 1, batch_size=32, verbose=0, validation_split=0.2,
                  callbacks=[memory])
    finally:
        tracemalloc.stop()
    growth = memory.sizes[LAST] - memory.sizes[FIRST]
    assert growth < PER_EPOCH_TOLERANCE * (LAST - FIRST), (
        f"memory grew by {growth:,} bytes from epoch {FIRST} to {LAST}")


def test_the_memory_test_can_fail():
    """A callback that keeps one batch of activations per epoch is caught."""
    model, x, y = small_problem()

    class Hoarder(keras.callbacks.Callback):
        kept = []

        def on_epoch_end(self, epoch, logs=None):
            self.kept.append(self.model.layers[0]._outputs[:32].copy())

    memory = TracedMemory()
    tracemalloc.start()
    try:
        model.fit(x, y, epochs=LAST + 1, batch_size=32, verbose=0,
                  callbacks=[Hoarder(), memory])
    finally:
        tracemalloc.stop()
    assert memory.sizes[LAST] - memory.sizes[FIRST] > PER_EPOCH_TOLERANCE * (LAST - FIRST)


def test_repeated_fit_evaluate_predict_calls_do_not_accumulate():
    """After a warm-up (NumPy's and Python's internal caches fill during the first ~40
    rounds, by about 50 KB, then stay flat), 40 more rounds add almost nothing."""
    model, x, y = small_problem()
    x, y = x[:128], y[:128]

    def round_trip():
        model.fit(x, y, epochs=1, batch_size=64, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x, verbose=0)
        model.train_on_batch(x[:32], y[:32])

    tracemalloc.start()
    try:
        for _ in range(40):
            round_trip()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(40):
            round_trip()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 8 * PER_EPOCH_TOLERANCE, f"grew by {growth:,} bytes over 40 rounds"


def test_resident_memory_stays_flat_on_a_fashion_mnist_shaped_model():
    psutil = pytest.importorskip("psutil", reason="psutil reads the process's resident size")
    process = psutil.Process()
    keras.backend.set_random_seed(0)
    x = np.random.default_rng(0).random((1000, 28, 28)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 10, 1000)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(200, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(50, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    rss = {}

    class Resident(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch in (4, 19):
                gc.collect()
                rss[epoch] = process.memory_info().rss

    model.fit(x, y, epochs=20, batch_size=100, verbose=0, callbacks=[Resident()])
    growth = rss[19] - rss[4]
    # one epoch's activations are 1000 x 260 floats, 1 MB (the inputs 3 MB); keeping either
    # every epoch would add 15 to 45 MB over these 15 epochs
    assert growth < 8 * 2 ** 20, f"resident memory grew by {growth / 2 ** 20:.1f} MB"
