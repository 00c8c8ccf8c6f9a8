"""Small behaviours a Keras 3 user meets outside the chapter's numbers, each checked against the
Keras source that defines it (file and function named per test)."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import numpy_nn as nn


def _classifier():
    model = nn.models.Sequential([nn.layers.Input((3,)),
                                  nn.layers.Dense(4, activation="softmax")])
    return model


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)).astype(np.float32), rng.integers(0, 4, n)


def test_early_stopping_on_an_unknown_monitor_raises():
    # keras/src/callbacks/early_stopping_test.py::test_early_stopping (monitor="unknown" raises
    # ValueError: MonitorCallback._set_monitor_op cannot tell min from max).
    model = _classifier()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = _data()
    with pytest.raises(ValueError, match="monitor='unknown'.*mode='min' or mode='max'"):
        model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
                  callbacks=[nn.callbacks.EarlyStopping(monitor="unknown")])


def test_early_stopping_on_a_named_but_absent_value_with_a_mode_warns_and_goes_on():
    # keras/src/callbacks/early_stopping.py::get_monitor_value warns when the value is absent.
    model = _classifier()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = _data()
    with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
        history = model.fit(x, y, epochs=2, verbose=0,
                            callbacks=[nn.callbacks.EarlyStopping(monitor="val_loss")])
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("module", [nn.optimizers, nn.initializers, nn.regularizers,
                                    nn.constraints])
def test_get_none_is_none(module):
    # keras/src/optimizers/__init__.py::get and keras/src/initializers/__init__.py::get
    assert module.get(None) is None


def test_an_initializer_of_none_is_glorot_uniform_as_in_add_weight():
    # keras/src/layers/layer.py::Layer.add_weight: initializer=None -> "glorot_uniform".
    nn.backend.set_random_seed(3)
    layer = nn.layers.Dense(5, kernel_initializer=None, bias_initializer=None)
    layer.build((None, 4))
    assert layer.get_config()["kernel_initializer"] is None
    limit = np.sqrt(6 / (4 + 5))
    assert np.all(np.abs(layer.kernel.numpy()) <= limit)
    bias_limit = np.sqrt(6 / (5 + 5))          # a (5,) weight: fan_in = fan_out = 5
    assert np.all(np.abs(layer.bias.numpy()) <= bias_limit) and np.any(layer.bias.numpy() != 0)


def test_optimizers_are_named_as_keras_names_them():
    # keras/src/utils/naming.py::auto_name (to_snake_case + get_uid), used by
    # keras/src/optimizers/base_optimizer.py::BaseOptimizer.__init__.
    nn.backend.reset_names()
    names = [nn.optimizers.Adam().name, nn.optimizers.Adam().name,
             nn.optimizers.RMSprop().name, nn.optimizers.AdamW().name, nn.optimizers.SGD().name]
    assert names == ["adam", "adam_1", "rm_sprop", "adam_w", "sgd"]
    assert nn.optimizers.Adam(name="mine").name == "mine"


@pytest.mark.parametrize("class_name, expected", [
    ("LeakyReLU", "leaky_re_lu"), ("PReLU", "p_re_lu"), ("BatchNormalization",
                                                          "batch_normalization"),
    ("RMSprop", "rm_sprop"), ("AdamW", "adam_w"), ("SGD", "sgd"), ("Dense", "dense")])
def test_snake_case_is_kerass_rule(class_name, expected):
    assert nn.backend.snake_case(class_name) == expected


def test_dense_activation_can_be_set_after_construction():
    # keras/src/layers/core/dense.py::Dense.call applies self.activation only when it is not None
    layer = nn.layers.Dense(2, activation="relu", kernel_initializer="ones")
    x = -np.ones((1, 3), np.float32)
    assert np.array_equal(layer(x), np.zeros((1, 2), np.float32))
    layer.activation = None
    assert np.array_equal(layer(x), -3 * np.ones((1, 2), np.float32))
    layer.activation = "elu"
    np.testing.assert_allclose(layer(x), np.expm1(-3.0) * np.ones((1, 2)), rtol=1e-6)


@pytest.mark.parametrize("instance", [nn.constraints.MaxNorm(3.0, axis=1),
                                      nn.regularizers.L1L2(l1=0.1, l2=0.02),
                                      nn.regularizers.L1(0.3), nn.regularizers.L2(0.4)])
def test_constraint_and_regularizer_configs_round_trip(instance):
    # keras/src/constraints/constraints.py::Constraint.from_config,
    # keras/src/regularizers/regularizers.py::Regularizer.from_config
    again = type(instance).from_config(instance.get_config())
    assert type(again) is type(instance) and again.get_config() == instance.get_config()


def test_a_missing_gradient_is_skipped_with_a_warning():
    # keras/src/optimizers/base_optimizer.py::_filter_empty_gradients
    a = nn.variables.Variable(np.ones(2, np.float32), name="a")
    b = nn.variables.Variable(np.ones(2, np.float32), name="b")
    optimizer = nn.optimizers.SGD(learning_rate=0.5)
    with pytest.warns(UserWarning, match=r"gradients do not exist for variables \['b'\]"):
        optimizer.apply([np.ones(2, np.float32), None], [a, b])
    assert np.array_equal(a.numpy(), [0.5, 0.5]) and np.array_equal(b.numpy(), [1, 1])
    with pytest.raises(ValueError, match="no gradients to apply"):
        optimizer.apply([None], [a])


def test_compile_takes_loss_and_metric_functions_as_the_book_writes_them():
    model = _classifier()
    model.compile(loss=nn.losses.sparse_categorical_crossentropy, optimizer="sgd",
                  metrics=[nn.metrics.sparse_categorical_accuracy])
    x, y = _data()
    nn.backend.set_random_seed(1)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "val_loss",
                                    "val_sparse_categorical_accuracy"}
    # the same numbers as with names
    named = _classifier()
    named.set_weights(model.get_weights())
    named.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["sparse_categorical_accuracy"])
    np.testing.assert_array_equal(named.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))


@pytest.mark.parametrize("metric, expected", [
    (nn.metrics.sparse_categorical_accuracy, [1.0, 0.0]),
    (nn.metrics.categorical_accuracy, [1.0, 0.0]),
])
def test_metric_functions_give_per_sample_values(metric, expected):
    # keras/src/metrics/accuracy_metrics.py::sparse_categorical_accuracy (one value per sample)
    y_pred = np.array([[0.1, 0.9], [0.8, 0.2]], np.float32)
    y_true = np.array([1, 1]) if metric is nn.metrics.sparse_categorical_accuracy \
        else np.array([[0, 1], [0, 1]])
    np.testing.assert_array_equal(metric(y_true, y_pred), expected)


def test_compile_refuses_a_function_whose_gradient_it_does_not_know():
    model = _classifier()
    with pytest.raises(TypeError, match="needs the loss's gradient"):
        model.compile(loss=lambda y, p: (y - p) ** 2, optimizer="sgd")
    with pytest.raises(TypeError, match="a metric function must be one of"):
        model.compile(loss="mse", optimizer="sgd", metrics=[len])


def test_wrappers_is_an_attribute_loaded_on_first_use():
    code = ("import sys, numpy_nn as keras\n"
            "assert 'numpy_nn.wrappers' not in sys.modules and 'sklearn' not in sys.modules\n"
            "assert keras.wrappers.SKLearnClassifier.__name__ == 'SKLearnClassifier'\n"
            "assert 'sklearn' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_warnings_from_a_plain_fit():
    model = _classifier()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=1, verbose=0)
