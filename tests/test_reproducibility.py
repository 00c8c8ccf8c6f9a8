"""Same seed, same machine: bit-identical training, beyond tests/test_determinism.py.

``numpy_nn.utils.set_random_seed(seed)`` (= ``backend.set_random_seed``) seeds the one generator
that initializers (through the seeds they draw when built), epoch shuffling, Dropout and
AlphaDropout masks draw from; layers given their own ``seed=`` use their own generator. So two
runs with the same seed must agree to the last bit: initial weights, every epoch's loss, the
final weights, and MC-dropout predictions. A fresh Python process must agree too (nothing may
depend on what ran before in the process, such as automatic layer names). The run here
touches every random thing at once: several initializers, Dropout, a seeded Dropout,
AlphaDropout, PReLU, BatchNormalization, shuffling, a validation split, MC dropout and
``np.random`` (which ``set_random_seed`` seeds for the chapter's code).
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

import numpy_nn as keras
from numpy_nn import backend

X = np.random.default_rng(0).random((200, 6, 5)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 4, 200)


def train(seed, epochs=4):
    """A run touching every random thing; returns everything that must be reproducible."""
    backend.set_random_seed(seed)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=(6, 5)),
        keras.layers.Dense(24, kernel_initializer="he_normal"),
        keras.layers.LeakyReLU(alpha=0.2),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(24, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.AlphaDropout(0.1),
        keras.layers.Dense(16, kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_avg", distribution="uniform")),
        keras.layers.PReLU(),
        keras.layers.Dropout(0.2, seed=5),
        keras.layers.Dense(4, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Nadam(learning_rate=3e-3), metrics=["accuracy"])
    initial = model.get_weights()
    history = model.fit(X, Y, epochs=epochs, batch_size=32, validation_split=0.25, verbose=0)
    mc_dropout = np.stack([model(X[:20], training=True) for _ in range(5)])
    return {"initial": initial, "final": model.get_weights(), "history": history.history,
            "mc_dropout": mc_dropout, "numpy_random": np.random.random(3)}


def fingerprint(run):
    digest = hashlib.sha256()
    for array in run["initial"] + run["final"] + [run["mc_dropout"], run["numpy_random"]]:
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(json.dumps(run["history"], sort_keys=True).encode())
    return digest.hexdigest()


def assert_same(a, b):
    for key in ("initial", "final"):
        for x, y in zip(a[key], b[key]):
            np.testing.assert_array_equal(x, y)
    assert a["history"] == b["history"]
    np.testing.assert_array_equal(a["mc_dropout"], b["mc_dropout"])
    np.testing.assert_array_equal(a["numpy_random"], b["numpy_random"])


def test_same_seed_is_bit_identical_for_everything_random():
    assert_same(train(42), train(42))


def test_a_different_seed_changes_everything_random():
    a, b = train(42), train(43)
    assert not np.array_equal(a["initial"][0], b["initial"][0])
    assert a["history"]["loss"] != b["history"]["loss"]
    assert not np.array_equal(a["mc_dropout"], b["mc_dropout"])


def test_other_work_in_between_does_not_matter():
    """Building and training other models between two runs changes nothing."""
    first = train(42)
    train(7, epochs=1)
    keras.models.Sequential([keras.layers.Dense(3, input_shape=(2,))]).predict(np.ones((1, 2)))
    assert_same(first, train(42))


def test_a_fresh_process_gets_the_same_bits():
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys; sys.path.insert(0, {here!r}); import test_reproducibility as t; "
            "print(t.fingerprint(t.train(42)))")
    env = dict(os.environ, PYTHONHASHSEED="random")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300, check=True)
    assert result.stdout.strip().splitlines()[-1] == fingerprint(train(42))
