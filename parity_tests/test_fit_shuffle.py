"""``fit(shuffle=True)`` after a global seed: Keras 3 repeats one order, numpy_nn reshuffles.

Keras documents ``shuffle`` as "whether to shuffle the training data before each epoch". On the
TensorFlow backend the permutation is drawn by ``tf.random.shuffle`` inside the ``tf.data``
pipeline that ``ArrayDataAdapter.get_tf_dataset`` builds
(``keras/src/trainers/data_adapters/array_data_adapter.py``). Once
``keras.utils.set_random_seed`` has set TensorFlow's global seed, that op has a fixed seed, and
every epoch's pass over the dataset starts its random state afresh: every epoch visits the
samples in the *same* shuffled order. Without a global seed the order changes every epoch.

numpy_nn draws a fresh permutation from its seeded generator at the start of every epoch (the
documented meaning), so a seeded run is reproducible and still reshuffles.

This matters beyond bookkeeping: a fixed order lets a network fit the sequence of batches. On
the chapter's CIFAR-10 + batch-normalization network, both engines trained from the same weights
on the same fixed order follow the same losses, and both train the same, more slowly, when the
order changes every epoch; the reproduction report (docs/reports/reproduction.md) says what
this does to the CIFAR-10 rows.
"""
import keras
import numpy as np

import numpy_nn as nn

SAMPLES, BATCH, EPOCHS = 64, 16, 3


def _data():
    x = np.repeat(np.arange(SAMPLES, dtype="float32")[:, None], 2, axis=1)   # x[i] = (i, i)
    return x, np.arange(SAMPLES) % 2


class _KerasOrderSpy(keras.layers.Layer):
    """Identity that writes down the sample ids of each training batch (eager mode)."""

    def __init__(self, record):
        super().__init__()
        self.record = record        # a function: Keras would track (and copy) a list attribute

    def call(self, x, training=None):
        if training:
            self.record(np.asarray(x)[:, 0].astype(int))
        return x


def _epoch_orders(batches):
    per_epoch = -(-SAMPLES // BATCH)
    orders = [np.concatenate(batches[e * per_epoch:(e + 1) * per_epoch]) for e in range(EPOCHS)]
    for order in orders:                       # each epoch is a permutation of all samples
        assert sorted(order.tolist()) == list(range(SAMPLES))
    return orders


def _keras_orders(seed):
    keras.utils.set_random_seed(seed)
    seen = []
    model = keras.Sequential([keras.Input((2,)), _KerasOrderSpy(seen.append),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", run_eagerly=True)
    model.fit(*_data(), batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=0)
    return _epoch_orders(seen)


def _numpy_nn_orders(seed):
    nn.utils.set_random_seed(seed)
    model = nn.models.Sequential([nn.layers.Input(shape=(2,)),
                                  nn.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    seen = []
    step = model.train_step

    def spy(x, y, *args, **kwargs):
        seen.append(x[:, 0].astype(int))
        return step(x, y, *args, **kwargs)
    model.train_step = spy
    model.fit(*_data(), batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=0)
    return _epoch_orders(seen)


def test_keras_repeats_one_shuffled_order_every_epoch_after_a_global_seed():
    orders = _keras_orders(42)
    assert not np.array_equal(orders[0], np.arange(SAMPLES))          # it did shuffle ...
    for order in orders[1:]:
        np.testing.assert_array_equal(order, orders[0])               # ... once, for all epochs


def test_numpy_nn_reshuffles_every_epoch_and_a_seed_reproduces_the_orders():
    orders = _numpy_nn_orders(42)
    assert not np.array_equal(orders[0], np.arange(SAMPLES))
    assert not np.array_equal(orders[1], orders[0])
    assert not np.array_equal(orders[2], orders[1])
    for again, order in zip(_numpy_nn_orders(42), orders):
        np.testing.assert_array_equal(again, order)


def test_in_graph_mode_keras_repeats_one_full_well_mixed_permutation():
    """The reproduction's Keras runs use graph mode (``run_eagerly=False``) on tens of
    thousands of samples. There too ``fit(shuffle=True)`` after a global seed visits one full
    permutation of all samples, the same in every epoch, and it is well mixed: the mean
    distance between a sample's id and its position is that of a uniform random permutation,
    (n^2 - 1) / (3 n), within 2%."""
    import tensorflow as tf
    samples, epochs = 5000, 2
    x = np.repeat(np.arange(samples, dtype="float32")[:, None], 2, axis=1)
    seen = tf.Variable(tf.zeros([epochs * samples]), trainable=False)
    position = tf.Variable(0, dtype=tf.int64, trainable=False)

    class GraphSpy(keras.layers.Layer):
        def call(self, inputs, training=None):
            if training:
                n = tf.shape(inputs, out_type=tf.int64)[0]
                seen.scatter_nd_update(tf.reshape(tf.range(position, position + n), [-1, 1]),
                                       inputs[:, 0])
                position.assign_add(n)
            return inputs

    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input((2,)), GraphSpy(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  run_eagerly=False, jit_compile=False)
    model.fit(x, np.arange(samples) % 2, batch_size=32, epochs=epochs, shuffle=True,
              verbose=0)
    orders = seen.numpy().astype(int).reshape(epochs, samples)
    assert sorted(orders[0].tolist()) == list(range(samples))
    np.testing.assert_array_equal(orders[1], orders[0])
    uniform = (samples ** 2 - 1) / (3 * samples)
    assert abs(np.mean(np.abs(orders[0] - np.arange(samples))) / uniform - 1) < 0.02
