"""fit / evaluate / predict semantics (keras/src/trainers/trainer.py and
keras/src/trainers/data_adapters/array_data_adapter.py in Keras 3).

Each test pins one rule of Keras 3's training loop: how batches are cut, how the epoch loss
is averaged, when validation runs and with which weights, which samples ``validation_split``
holds out, what freezing does, how BatchNormalization's moving statistics move, what
``training=True`` means at inference time, how ``"accuracy"`` is resolved, and what
``summary()`` prints.
"""
import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import layers
from numpy_nn.callbacks import Callback


class Recorder(layers.Layer):
    """An identity layer that records every batch it sees and the mode it was called in."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def call(self, inputs, training=None):
        self.calls.append((inputs.copy(), bool(training)))
        return inputs

    def backward(self, grad_output, need_input_grad=True):
        return grad_output if need_input_grad else None


class Spy(Callback):
    """Counts batches and keeps the params ``fit`` hands to callbacks."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def indexed_data(n=70, features=4, classes=3, seed=0):
    """Inputs whose first feature is the sample's index, so a recorder can tell who was seen."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    x[:, 0] = np.arange(n)
    return x, rng.integers(0, classes, size=n)


def small_classifier(recorder=None, features=4, classes=3, learning_rate=0.01, extra=()):
    model = nn.models.Sequential(
        [layers.Input(shape=(features,))] + ([recorder] if recorder else []) + list(extra)
        + [layers.Dense(classes, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=nn.optimizers.SGD(learning_rate=learning_rate), metrics=["accuracy"])
    return model


def per_sample_cross_entropy(model, x, y):
    probabilities = model.predict(x, verbose=0).astype(np.float64)
    return -np.log(probabilities[np.arange(len(y)), y])


# --------------------------------------------------------------------------- batching
def test_partial_last_batch_is_kept():
    """N=70, batch_size=32: three steps of 32, 32 and 6 samples; nothing dropped or padded."""
    recorder, spy = Recorder(), Spy()
    x, y = indexed_data()
    model = small_classifier(recorder)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[spy])
    assert [len(batch) for batch, _ in recorder.calls] == [32, 32, 6]
    assert spy.batches == 3 and spy.params["steps"] == 3
    assert np.array_equal(np.concatenate([b[:, 0] for b, _ in recorder.calls]), np.arange(70))


def test_shuffle_draws_a_fresh_permutation_each_epoch():
    recorder = Recorder()
    x, y = indexed_data()
    small_classifier(recorder).fit(x, y, epochs=2, verbose=0)
    orders = [np.concatenate([b[:, 0] for b, _ in recorder.calls[:3]]),
              np.concatenate([b[:, 0] for b, _ in recorder.calls[3:]])]
    for order in orders:
        assert sorted(order) == list(range(70)), "every sample exactly once per epoch"
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], np.arange(70))


def test_default_batch_size_is_32():
    recorder = Recorder()
    x, y = indexed_data(n=100)
    small_classifier(recorder).fit(x, y, verbose=0)
    assert [len(b) for b, _ in recorder.calls] == [32, 32, 32, 4]


# --------------------------------------------------------------------------- epoch values
def test_epoch_loss_is_the_per_sample_mean_not_the_mean_of_batch_means(float64):
    """Spec §5: the loss tracker weights each batch by its size. With lr=0 the weights never
    move, so the logged epoch loss must equal the plain mean over all 70 samples."""
    x, y = indexed_data()
    x[:, 0] /= 70
    model = small_classifier(learning_rate=0.0)
    model.set_weights([np.random.default_rng(1).normal(size=w.shape) for w in model.get_weights()])
    history = model.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    per_sample = per_sample_cross_entropy(model, x, y)
    batch_means = [per_sample[i:i + 32].mean() for i in range(0, 70, 32)]
    assert history.history["loss"][0] == pytest.approx(per_sample.mean(), rel=1e-12)
    assert abs(np.mean(batch_means) - per_sample.mean()) > 1e-3, "the two averages must differ"
    accuracy = np.mean(model.predict(x, verbose=0).argmax(1) == y)
    assert history.history["accuracy"][0] == pytest.approx(accuracy, rel=1e-12)

    weights = np.random.default_rng(2).uniform(0, 2, size=70)
    history = model.fit(x, y, batch_size=32, shuffle=False, verbose=0, sample_weight=weights)
    # sum_over_batch_size: each batch's loss is sum(w*l)/n_b, weighted by n_b -> sum(w*l)/N
    assert history.history["loss"][0] == pytest.approx(np.sum(weights * per_sample) / 70,
                                                       rel=1e-12)


def test_sample_and_class_weights_weight_the_loss_but_not_the_accuracy(float64):
    """Keras 3 passes sample weights to the loss and to ``weighted_metrics`` only; the
    ``metrics=["accuracy"]`` of ``compile`` stay unweighted (``compile_utils.py``). A class
    missing from ``class_weight`` weighs 1, and combining it with ``sample_weight`` is an
    error, as in Keras's array data adapter."""
    x, y = indexed_data()
    x[:, 0] /= 70
    model = small_classifier(learning_rate=0.0)
    per_sample = per_sample_cross_entropy(model, x, y)
    accuracy = np.mean(model.predict(x, verbose=0).argmax(1) == y)
    class_weight = {0: 3.0, 2: 0.5}
    weights = np.array([class_weight.get(int(label), 1.0) for label in y])
    history = model.fit(x, y, batch_size=32, shuffle=False, verbose=0, class_weight=class_weight)
    assert history.history["loss"][0] == pytest.approx(np.sum(weights * per_sample) / 70,
                                                       rel=1e-12)
    assert history.history["accuracy"][0] == pytest.approx(accuracy, rel=1e-12)
    one_hot = small_classifier(learning_rate=0.0)
    one_hot.compile(loss="categorical_crossentropy", optimizer=nn.optimizers.SGD(0.0))
    one_hot.set_weights(model.get_weights())
    history = one_hot.fit(x, np.eye(3)[y], batch_size=32, verbose=0, class_weight=class_weight)
    assert history.history["loss"][0] == pytest.approx(np.sum(weights * per_sample) / 70,
                                                       rel=1e-12)
    with pytest.raises(ValueError, match="class_weight and sample_weight"):
        model.fit(x, y, verbose=0, class_weight=class_weight, sample_weight=weights)


def test_validation_runs_after_the_epoch_with_end_of_epoch_weights():
    """``val_loss`` of the last epoch equals ``evaluate()`` after fit (inference mode: the
    dropout and BatchNormalization here would change it otherwise)."""
    x, y = indexed_data(n=200)
    x[:, 0] /= 200
    xv, yv = indexed_data(n=90, seed=1)
    xv[:, 0] /= 90
    model = small_classifier(learning_rate=0.1, extra=[layers.Dense(8, activation="relu"),
                                                       layers.BatchNormalization(),
                                                       layers.Dropout(0.3)])
    history = model.fit(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    assert history.history["val_loss"][-1] == model.evaluate(xv, yv, verbose=0)[0]
    assert history.history["val_accuracy"][-1] == model.evaluate(xv, yv, verbose=0)[1]
    assert len(set(history.history["val_loss"])) == 3, "weights moved between epochs"


def test_validation_split_holds_out_the_tail_before_shuffling():
    recorder = Recorder()
    x, y = indexed_data()
    model = small_classifier(recorder)
    history = model.fit(x, y, validation_split=0.2, epochs=2, verbose=0)
    trained = np.concatenate([b[:, 0] for b, training in recorder.calls if training])
    validated = np.concatenate([b[:, 0] for b, training in recorder.calls if not training])
    split = int(np.floor(70 * (1 - 0.2)))
    assert sorted(trained) == sorted(list(range(split)) * 2)
    assert sorted(validated) == sorted(list(range(split, 70)) * 2)
    assert history.history["val_loss"][-1] == model.evaluate(x[split:], y[split:], verbose=0)[0]


# --------------------------------------------------------------------------- freezing
def test_frozen_layers_get_no_updates_and_no_penalty(float64):
    x, y = indexed_data()
    x[:, 0] /= 70
    hidden = layers.Dense(5, activation="elu", kernel_regularizer=nn.regularizers.l2(0.1))
    model = small_classifier(extra=[hidden], learning_rate=0.1)
    hidden.trainable = False
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=nn.optimizers.SGD(learning_rate=0.1), metrics=["accuracy"])
    frozen_before = [w.copy() for w in hidden.get_weights()]
    head_before = model.layers[-1].get_weights()[0].copy()
    assert model.losses == [] and hidden.trainable_weights == []
    assert len(model.non_trainable_weights) == 2
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(frozen_before, hidden.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(head_before, model.layers[-1].get_weights()[0])
    data_loss = per_sample_cross_entropy(model, x, y).mean()
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(data_loss, rel=1e-12)

    hidden.trainable = True
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    penalty = 0.1 * np.sum(hidden.kernel.value ** 2)
    assert float(model.losses[0]) == pytest.approx(penalty, rel=1e-12)
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(data_loss + penalty, rel=1e-12)


def test_setting_model_trainable_freezes_every_layer():
    """``model.trainable = False`` (Keras's spelling for freezing a whole model) must not be a
    silent no-op."""
    x, y = indexed_data()
    model = small_classifier(extra=[layers.Dense(5), layers.BatchNormalization()])
    model.trainable = False
    assert not model.trainable and model.trainable_weights == []
    assert all(not layer.trainable for layer in model.layers)
    model.trainable = True
    assert len(model.trainable_weights) == 6


def test_training_loss_includes_penalty_of_pre_update_weights(float64):
    """Spec §4: logged loss = data loss + l2 * sum(W^2), both from the weights before the step."""
    x, y = indexed_data()
    x[:, 0] /= 70
    model = small_classifier(extra=[layers.Dense(5, kernel_regularizer=nn.regularizers.l2(0.05))])
    expected = per_sample_cross_entropy(model, x, y).mean() + float(model.losses[0])
    history = model.fit(x, y, batch_size=70, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- BatchNormalization
def test_batch_normalization_moving_statistics_update_rule(float64):
    """m <- 0.99 m + 0.01 mean(x); v <- 0.99 v + 0.01 var(x) with the *biased* variance,
    once per training batch (the BN layer is first, so its inputs are the raw batches)."""
    x, y = indexed_data()
    x = x * [0.1, 2.0, 3.0, 0.5] + [1.0, -2.0, 0.0, 5.0]
    bn = layers.BatchNormalization()
    model = small_classifier(extra=[bn])
    model.fit(x, y, batch_size=32, shuffle=False, verbose=0)
    mean, variance = np.zeros(4), np.ones(4)
    for start in range(0, 70, 32):
        batch = x[start:start + 32]
        mean = 0.99 * mean + 0.01 * batch.mean(0)
        variance = 0.99 * variance + 0.01 * batch.var(0, ddof=0)
    np.testing.assert_allclose(bn.moving_mean.value, mean, rtol=1e-13)
    np.testing.assert_allclose(bn.moving_variance.value, variance, rtol=1e-13)
    unbiased = 0.99 ** 2 * (0.99 * 1 + 0.01 * x[:32].var(0, ddof=1))
    assert not np.allclose(bn.moving_variance.value, unbiased, rtol=1e-6)


def test_calling_the_model_in_training_mode_updates_moving_statistics_predict_does_not():
    x, _ = indexed_data()
    bn = layers.BatchNormalization()
    model = nn.models.Sequential([layers.Input(shape=(4,)), bn])
    model.predict(x, verbose=0)
    model(x)
    np.testing.assert_array_equal(bn.moving_mean.value, 0)
    model(x, training=True)
    assert np.all(bn.moving_mean.value != 0)


def test_frozen_batch_normalization_runs_in_inference_mode():
    x, y = indexed_data()
    bn = layers.BatchNormalization(trainable=False)
    model = small_classifier(extra=[bn])
    bn.set_weights([np.full(4, 2.0), np.full(4, 0.5), np.full(4, 3.0), np.full(4, 4.0)])
    before = [w.copy() for w in bn.get_weights()]
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    np.testing.assert_array_equal(model(x, training=True), model(x, training=False))
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- History
def test_history_keys_and_epochs():
    x, y = indexed_data()
    model = small_classifier()
    history = model.fit(x, y, epochs=3, initial_epoch=1, validation_data=(x[:10], y[:10]),
                        verbose=0)
    assert model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == [1, 2]
    assert all(len(v) == 2 for v in history.history.values())
    assert set(model.fit(x, y, verbose=0).history) == {"loss", "accuracy"}


def test_batch_logs_are_a_plain_dict_of_running_means(capsys):
    """Batch callbacks get a real dict: printable, copyable, and a key one callback adds does not
    hide the others from the next callback (or from the progress bar)."""
    seen = []

    class Tagger(Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["tag"] = batch
            print(logs)

    class Reader(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs.copy()))

    x, y = indexed_data()
    small_classifier().fit(x, y, epochs=1, verbose=1, callbacks=[Tagger(), Reader()])
    assert [set(logs) for logs in seen] == [{"loss", "accuracy", "tag"}] * 3
    assert all(isinstance(v, float) for logs in seen for k, v in logs.items() if k != "tag")
    assert "'loss':" in capsys.readouterr().out


def test_verbose_fit_prints_keras_like_progress(capsys):
    x, y = indexed_data()
    small_classifier().fit(x, y, epochs=2, validation_data=(x, y), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3" in out and "loss:" in out and "val_accuracy:" in out


# --------------------------------------------------------------------------- MC dropout
def test_model_called_with_training_true_turns_on_dropout():
    x, _ = indexed_data()
    model = small_classifier(extra=[layers.Dense(16, activation="relu"), layers.Dropout(0.5)])
    deterministic = model(x)
    np.testing.assert_array_equal(deterministic, model(x))
    np.testing.assert_allclose(deterministic, model.predict(x, verbose=0), rtol=1e-6)
    samples = np.stack([model(x, training=True) for _ in range(3)])
    assert not np.allclose(samples[0], samples[1])
    assert not np.allclose(samples[0], deterministic)


def test_chapter_mc_alpha_dropout_subclass():
    """The chapter's MC dropout classes override ``call(self, inputs)`` and force training."""

    class MCDropout(layers.Dropout):
        def call(self, inputs):
            return super().call(inputs, training=True)

    class MCAlphaDropout(layers.AlphaDropout):
        def call(self, inputs):
            return super().call(inputs, training=True)

    x, y = indexed_data()
    model = nn.models.Sequential([
        layers.Flatten(input_shape=[4]),
        layers.AlphaDropout(rate=0.2),
        layers.Dense(16, activation="selu", kernel_initializer="lecun_normal"),
        layers.Dropout(rate=0.2),
        layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(x, y, verbose=0)
    mc_model = nn.models.Sequential([
        MCAlphaDropout(layer.rate) if isinstance(layer, layers.AlphaDropout)
        else MCDropout(layer.rate) if isinstance(layer, layers.Dropout) else layer
        for layer in model.layers])
    lines = []
    mc_model.summary(print_fn=lines.append)
    assert any("MCAlphaDropout" in line for line in lines)
    mc_model.compile(loss="sparse_categorical_crossentropy",
                     optimizer=nn.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True),
                     metrics=["accuracy"])
    mc_model.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0))
    draws = np.stack([mc_model.predict(x[:5], verbose=0) for _ in range(20)])
    assert not np.allclose(draws[0], draws[1])
    assert np.allclose(draws.mean(0).sum(1), 1.0, atol=1e-5)
    mc_model.fit(x, y, verbose=0)   # and it still trains


# --------------------------------------------------------------------------- metrics
def test_accuracy_resolution_binary_sparse_categorical():
    from numpy_nn import metrics
    assert type(metrics.get("accuracy", (10,), (10, 1))).__name__ == "BinaryAccuracy"
    assert type(metrics.get("accuracy", (10,), (10, 5))).__name__ == "SparseCategoricalAccuracy"
    assert type(metrics.get("acc", (10, 1), (10, 5))).__name__ == "SparseCategoricalAccuracy"
    assert type(metrics.get("accuracy", (10, 5), (10, 5))).__name__ == "CategoricalAccuracy"

    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4))
    # binary: a zero sigmoid unit outputs exactly 0.5, which the strict ">" counts as class 0
    binary = nn.models.Sequential([layers.Input(shape=(4,)), layers.Dense(1, activation="sigmoid")])
    binary.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    binary.set_weights([np.zeros((4, 1)), np.zeros(1)])
    y_binary = rng.integers(0, 2, size=40)
    assert binary.evaluate(x, y_binary, verbose=0)[1] == pytest.approx(np.mean(y_binary == 0))
    # sparse (labels as (N,) or (N, 1)) and categorical (one-hot) agree on the same predictions
    model = small_classifier()
    labels = rng.integers(0, 3, size=40)
    expected = np.mean(model.predict(x, verbose=0).argmax(1) == labels)
    assert model.evaluate(x, labels, verbose=0)[1] == pytest.approx(expected)
    assert model.evaluate(x, labels[:, None], verbose=0)[1] == pytest.approx(expected)
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert model.evaluate(x, np.eye(3)[labels], verbose=0)[1] == pytest.approx(expected)


def test_evaluate_returns_loss_and_accuracy_including_penalties(float64):
    x, y = indexed_data()
    x[:, 0] /= 70
    model = small_classifier(extra=[layers.Dense(6, activation="tanh",
                                                 kernel_regularizer=nn.regularizers.l1(0.02))])
    result = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    penalty = 0.02 * np.sum(np.abs(model.layers[0].kernel.value))
    assert result[0] == pytest.approx(per_sample_cross_entropy(model, x, y).mean() + penalty,
                                      rel=1e-12)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": result[0],
                                                                 "accuracy": result[1]}


def test_predict_batches_give_the_same_outputs_as_one_call(float64):
    x, _ = indexed_data()
    model = small_classifier(extra=[layers.Dense(8, activation="relu")])
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), model(x), rtol=1e-14)


# --------------------------------------------------------------------------- summary
def test_summary_of_the_chapter_batch_normalization_model():
    """The chapter's BN model: 271,346 parameters, 2,368 of them the non-trainable moving
    statistics (the figures the book prints)."""
    model = nn.models.Sequential([
        layers.Flatten(input_shape=[28, 28]),
        layers.BatchNormalization(),
        layers.Dense(300, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(100, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    rows = [line for line in lines if line.startswith("│")]
    expected = [("Flatten", "(None, 784)", "0"), ("BatchNormalization", "(None, 784)", "3,136"),
                ("Dense", "(None, 300)", "235,500"), ("BatchNormalization", "(None, 300)", "1,200"),
                ("Dense", "(None, 100)", "30,100"), ("BatchNormalization", "(None, 100)", "400"),
                ("Dense", "(None, 10)", "1,010")]
    assert len(rows) == len(expected)
    for row, (kind, shape, params) in zip(rows, expected):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[0].endswith(f"({kind})") and cells[1] == shape and cells[2] == params
    assert "Total params: 271,346" in text
    assert "Trainable params: 268,978" in text
    assert "Non-trainable params: 2,368" in text
    bn1 = model.layers[1]
    assert [(v.name, v.trainable) for v in bn1.variables] == [
        ("gamma", True), ("beta", True), ("moving_mean", False), ("moving_variance", False)]
