"""The test and predict hooks, fired where Keras fires them: ``evaluate`` and ``fit``'s
validation call ``on_test_*``, ``predict`` calls ``on_predict_*``
(``keras/src/backend/tensorflow/trainer.py::TensorFlowTrainer``); and the model's build is
undone when a layer refuses the input shape.
"""
import numpy as np
import pytest
from test_callbacks import tiny_data, tiny_model

import numpy_nn as keras
from numpy_nn.callbacks import Callback


class HookRecorder(Callback):
    """Records every call of the epoch, test and predict hooks as ``(hook, argument, logs)``."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def record(self, hook, argument=None, logs=None):
        self.calls.append((hook, argument, None if logs is None else dict(logs)))

    def names(self):
        return [hook for hook, _, _ in self.calls]

    def on_epoch_begin(self, epoch, logs=None):
        self.record("on_epoch_begin", epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.record("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None):
        self.record("on_test_begin")

    def on_test_end(self, logs=None):
        self.record("on_test_end", None, logs)

    def on_predict_begin(self, logs=None):
        self.record("on_predict_begin")

    def on_predict_end(self, logs=None):
        self.record("on_predict_end")

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append(("on_test_batch_begin", batch, None))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("on_test_batch_end", batch, dict(logs)))

    def on_predict_batch_begin(self, batch, logs=None):
        self.calls.append(("on_predict_batch_begin", batch, None))

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("on_predict_batch_end", batch, dict(logs)))


def test_evaluate_fires_the_test_hooks_with_running_and_final_logs():
    x, y = tiny_data(50)
    model = tiny_model()
    recorder = HookRecorder()
    results = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True,
                             callbacks=[recorder])
    assert recorder.names() == ["on_test_begin"] + ["on_test_batch_begin",
                                                    "on_test_batch_end"] * 3 + ["on_test_end"]
    batches = [argument for hook, argument, _ in recorder.calls if hook == "on_test_batch_end"]
    assert batches == [0, 1, 2]
    last_batch_logs = recorder.calls[-2][2]
    assert last_batch_logs == results                     # running means end at the result
    assert recorder.calls[-1] == ("on_test_end", None, results)
    assert recorder.model is model


def test_fit_fires_the_test_hooks_for_each_validation_only():
    x, y = tiny_data(64)
    model = tiny_model()
    recorder = HookRecorder()
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25,
                        validation_freq=2, verbose=0, callbacks=[recorder])
    epoch_hooks = [h for h in recorder.names() if "batch" not in h]
    assert epoch_hooks == ["on_epoch_begin", "on_epoch_end",
                           "on_epoch_begin", "on_test_begin", "on_test_end", "on_epoch_end",
                           "on_epoch_begin", "on_epoch_end"]
    assert recorder.names().count("on_test_batch_end") == 1       # 16 samples, batch 16
    test_end_logs = next(logs for hook, _, logs in recorder.calls if hook == "on_test_end")
    assert test_end_logs == {"loss": history.history["val_loss"][0],
                             "accuracy": history.history["val_accuracy"][0]}


def test_predict_fires_the_predict_hooks_with_each_batch_of_outputs():
    x, _ = tiny_data(10)
    model = tiny_model()
    recorder = HookRecorder()
    predictions = model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    assert recorder.names() == ["on_predict_begin"] + ["on_predict_batch_begin",
                                                       "on_predict_batch_end"] * 3 + [
                                                           "on_predict_end"]
    outputs = [logs["outputs"] for hook, _, logs in recorder.calls
               if hook == "on_predict_batch_end"]
    assert [len(o) for o in outputs] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(outputs), predictions)


def test_callbacks_argument_of_evaluate_and_predict_is_checked():
    x, y = tiny_data(8)
    model = tiny_model()
    with pytest.raises(TypeError, match="evaluate: callbacks must be a list"):
        model.evaluate(x, y, verbose=0, callbacks=HookRecorder())
    with pytest.raises(TypeError, match="predict: callbacks must be a list"):
        model.predict(x, verbose=0, callbacks=HookRecorder())


def test_a_build_that_fails_partway_is_undone():
    """The second Dense cannot take the first one's output (its kernel was built for 7
    inputs): building for 4 inputs fails there, and the first layer is unbuilt again."""
    second = keras.layers.Dense(2)
    second.build((None, 7))
    model = keras.models.Sequential([keras.layers.Dense(5), second])
    with pytest.raises(ValueError, match="was built for inputs"):
        model.build((None, 4))
    assert model.input_shape is None and not model.built
    first = model.layers[0]
    assert not first.built and first.weights == [] and first.input_shape is None
    assert second.built                                   # built before: left as it was
    model2 = keras.models.Sequential([keras.layers.Dense(5), keras.layers.Dense(2)])
    model2.build((None, 4))
    assert model2.output_shape == (None, 2)


def test_layer_forward_passes_training_only_to_layers_that_take_it():
    class Doubling(keras.layers.Layer):
        def call(self, inputs):                           # no training argument
            return 2 * inputs

    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(Doubling().forward(x, training=True), 2 * x)
    dropout = keras.layers.Dropout(0.5, seed=1)
    dropout.build((None, 2))
    assert np.array_equal(dropout.forward(x, training=False), x)
    assert not np.array_equal(dropout.forward(np.ones((50, 2), np.float32), training=True),
                              np.ones((50, 2)))
