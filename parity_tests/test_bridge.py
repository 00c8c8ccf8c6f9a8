"""tf_backend itself: translation both ways, ``.keras`` files both ways, the side-by-side runner,
and clear errors for what cannot be translated.

This is the only parity file that uses tf_backend: every other test builds its Keras side with
Keras's own classes (``parity_tests.builders``), and the conftest fails one that does not."""
import os

import keras
import numpy as np
import pytest

import numpy_nn as nn
import tf_backend
from parity_tests import tolerances as tol
from parity_tests.report import check
from tf_backend import UntranslatableError

L = nn.layers


def every_layer_model():
    """A numpy_nn model using every translatable layer and setting."""
    model = nn.models.Sequential([
        L.Flatten(input_shape=[4, 5]),
        L.Dense(16, activation="selu", kernel_initializer="lecun_normal",
                kernel_regularizer=nn.regularizers.l1_l2(1e-4, 1e-3),
                kernel_constraint=nn.constraints.max_norm(2.0)),
        L.AlphaDropout(0.1),
        L.Dense(16, use_bias=False, kernel_initializer=nn.initializers.VarianceScaling(
            scale=2.0, mode="fan_avg", distribution="uniform", seed=3)),
        L.BatchNormalization(momentum=0.9, epsilon=1e-4,
                             gamma_regularizer=nn.regularizers.l2(1e-3)),
        L.Activation("elu"),
        L.Dense(12, bias_initializer=nn.initializers.Constant(0.1)),
        L.PReLU(alpha_initializer=nn.initializers.Constant(0.25)),
        L.Dense(12), L.LeakyReLU(negative_slope=0.1),
        L.Dense(12), L.ELU(alpha=0.5),
        L.Dense(12), L.ReLU(),
        L.Dropout(0.2),
        L.Dense(3), L.Softmax()])
    rng = np.random.default_rng(0)
    for variable in model.weights:   # non-trivial values everywhere, positive variances
        low = 0.5 if variable.name in ("gamma", "moving_variance") else -0.5
        variable.assign(rng.uniform(low, 1.0, variable.shape))
    model.layers[1].trainable = False
    return model


def test_to_keras_and_back_keeps_everything():
    model = every_layer_model()
    model.compile(optimizer=nn.optimizers.Nadam(learning_rate=2e-3, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras_model = tf_backend.to_keras(model)
    assert [type(k).__name__ for k in keras_model.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert keras_model.layers[1].trainable is False
    assert keras_model.layers[1].get_config()["kernel_constraint"]["config"]["max_value"] == 2.0
    assert isinstance(keras_model.optimizer, keras.optimizers.Nadam)
    assert keras_model.optimizer.clipnorm == 1.0
    x = np.random.default_rng(1).normal(0, 1, (9, 4, 5)).astype(np.float32)
    check("bridge: to_keras / from_keras / .keras predictions",
          tol.relative_error(model.predict(x, verbose=0), keras_model.predict(x, verbose=0)),
          tol.FORWARD, "numpy_nn vs its Keras translation")

    back = tf_backend.from_keras(keras_model)
    assert back.input_shape == model.input_shape == (None, 4, 5)
    original = model.get_config()["layers"]
    original[0]["config"].pop("input_shape")      # the translation declares it with an Input
    assert back.get_config()["layers"] == original
    for ours, again in zip(model.weights, back.weights):
        assert ours.path == again.path
        np.testing.assert_array_equal(ours.value, again.value)
    assert type(back.optimizer) is nn.optimizers.Nadam
    assert back.optimizer.get_config() == model.optimizer.get_config()
    assert type(back.loss) is type(model.loss) and back.metric_names == ["accuracy"]


def test_from_keras_model_built_with_keras():
    keras.utils.set_random_seed(3)
    keras_model = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
        keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])
    keras_model.compile(optimizer=keras.optimizers.RMSprop(
                            learning_rate=keras.optimizers.schedules.ExponentialDecay(
                                0.01, 10, 0.5, staircase=True), centered=True),
                        loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
    x = np.random.default_rng(2).normal(0, 1, (20, 6)).astype(np.float32)
    keras_model.fit(x, (x[:, 0] > 0).astype(np.float32), epochs=2, verbose=0)
    model = tf_backend.from_keras(keras_model)
    check("bridge: to_keras / from_keras / .keras predictions",
          tol.relative_error(model.predict(x, verbose=0), keras_model.predict(x, verbose=0)),
          tol.FORWARD, "Keras model vs its numpy_nn translation")
    assert model.optimizer.centered is True
    schedule = model.optimizer.learning_rate_schedule
    assert type(schedule).__name__ == "ExponentialDecay" and schedule.staircase is True
    assert model.loss.name == "binary_crossentropy"


def test_keras_file_written_by_numpy_nn_opens_in_keras(tmp_path):
    model = every_layer_model()
    model.compile(optimizer=nn.optimizers.SGD(lr=0.01, momentum=0.9, decay=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "model.keras"
    tf_backend.save_keras(model, path)
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]       # no temporary file left
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(3).normal(0, 1, (7, 4, 5)).astype(np.float32)
    check("bridge: to_keras / from_keras / .keras predictions",
          tol.relative_error(model.predict(x, verbose=0), loaded.predict(x, verbose=0)),
          tol.FORWARD, ".keras file written by numpy_nn, read by Keras")
    # The book's decay= travels as the schedule Keras 3 documents as its replacement.
    schedule = loaded.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "InverseTimeDecay"
    assert schedule["config"]["decay_rate"] == pytest.approx(1e-3)
    # numpy_nn's own loader refuses the Keras format and says what to use instead.
    with pytest.raises(nn.models.ModelFileError, match=r"tf_backend\.load_keras"):
        nn.models.load_model(path)


def test_keras_trained_file_loads_into_numpy_nn(tmp_path):
    keras.utils.set_random_seed(4)
    keras_model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                    keras.layers.Dense(30, activation="relu",
                                                       kernel_initializer="he_normal"),
                                    keras.layers.Dense(10, activation="softmax")])
    keras_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    keras_model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "trained.keras"
    keras_model.save(path)
    model = tf_backend.load_keras(path)
    check("bridge: to_keras / from_keras / .keras predictions",
          tol.relative_error(model.predict(x, verbose=0), keras_model.predict(x, verbose=0)),
          tol.FORWARD, ".keras file trained by Keras, read by numpy_nn")
    assert type(model.optimizer) is nn.optimizers.Adam
    # Evaluating gives Keras's numbers too.
    ours = model.evaluate(x, y, verbose=0)
    theirs = keras_model.evaluate(x, y, verbose=0)
    check("bridge: to_keras / from_keras / .keras predictions",
          tol.relative_error(ours, theirs), tol.FORWARD, "evaluate() of the loaded model")


def test_float64_model_round_trips_through_a_keras_file(tmp_path, float64):
    model = nn.models.Sequential([L.Input(shape=(3,)), L.Dense(4, activation="elu"),
                                  L.Dense(2)])
    path = tmp_path / "f64.keras"
    tf_backend.save_keras(model, path)
    loaded = tf_backend.load_keras(path, compile=False)
    assert all(w.dtype == np.float64 for w in loaded.weights)
    for ours, again in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, again)


# ------------------------------------------------------------------ clear errors
def test_untranslatable_keras_layers_are_named():
    keras_model = keras.Sequential([keras.Input((8, 8, 1)),
                                    keras.layers.Conv2D(2, 3, name="my_conv"),
                                    keras.layers.Flatten(),
                                    keras.layers.LayerNormalization(name="my_norm"),
                                    keras.layers.Dense(2)])
    with pytest.raises(UntranslatableError, match=r"'my_conv' \(Conv2D\).*'my_norm' "
                                                  r"\(LayerNormalization\)"):
        tf_backend.from_keras(keras_model)


@pytest.mark.parametrize("keras_layer, message", [
    (keras.layers.Dense(3, activation="softsign", name="d"), r"'d'.*activation 'softsign'"),
    (keras.layers.ReLU(max_value=6.0, name="r"), r"'r'.*max_value=6.0"),
    (keras.layers.Dense(3, activity_regularizer="l2", name="a"), r"'a'.*activity_regularizer"),
    (keras.layers.Dense(3, kernel_initializer="orthogonal", name="o"),
     r"'o'.*initializer 'Orthogonal'"),
])
def test_untranslatable_settings_are_named(keras_layer, message):
    keras_model = keras.Sequential([keras.Input((4,)), keras_layer])
    with pytest.raises(UntranslatableError, match=message):
        tf_backend.from_keras(keras_model)


def test_functional_models_are_refused():
    inputs = keras.Input((4,))
    keras_model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="functional_one")
    with pytest.raises(UntranslatableError, match="only keras.Sequential.*functional_one"):
        tf_backend.from_keras(keras_model)


def test_untranslatable_numpy_settings_are_named():
    model = nn.models.Sequential([L.Input(shape=(4,)),
                                  L.Dense(3, activation=nn.activations.LeakyReLU(0.1),
                                          name="leaky_dense")])
    with pytest.raises(UntranslatableError, match="'leaky_dense'.*LeakyReLU/ELU layer"):
        tf_backend.to_keras(model)
    optimizer = nn.optimizers.SGD(learning_rate=nn.optimizers.schedules.ExponentialDecay(
        0.1, 10, 0.5), decay=0.01)
    with pytest.raises(UntranslatableError, match="decay=0.01 on top of a ExponentialDecay"):
        tf_backend.optimizer_to_keras(optimizer)


def test_keras_only_options_are_refused():
    with pytest.raises(UntranslatableError, match="use_ema=True"):
        tf_backend.optimizer_from_keras(keras.optimizers.Adam(use_ema=True))
    with pytest.raises(UntranslatableError, match="label_smoothing=0.1"):
        tf_backend.loss_from_keras(keras.losses.CategoricalCrossentropy(label_smoothing=0.1))


def test_failed_save_leaves_nothing(tmp_path):
    model = nn.models.Sequential([L.Input(shape=(4,)),
                                  L.Dense(3, activation=nn.activations.ELU(0.5))])
    with pytest.raises(UntranslatableError):
        tf_backend.save_keras(model, tmp_path / "bad.keras")
    with pytest.raises(ValueError, match="must end in '.keras'"):
        tf_backend.save_keras(model, tmp_path / "bad.h5")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ translations
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True, clipvalue=0.5)),
    ("Adagrad", dict(learning_rate=0.02, initial_accumulator_value=0.2, epsilon=1e-6)),
    ("RMSprop", dict(learning_rate=0.003, rho=0.8, momentum=0.5, centered=True,
                     global_clipnorm=2.0)),
    ("Adam", dict(learning_rate=0.004, beta_1=0.8, beta_2=0.99, amsgrad=True, clipnorm=3.0)),
    ("AdamW", dict(learning_rate=0.004, weight_decay=0.01)),
    ("Adamax", dict(learning_rate=0.004, beta_1=0.85)),
    ("Nadam", dict(learning_rate=0.004, beta_2=0.98, epsilon=1e-5)),
])
def test_optimizer_translation_round_trip(name, kwargs):
    ours = getattr(nn.optimizers, name)(**kwargs)
    theirs = tf_backend.optimizer_to_keras(ours)
    assert type(theirs) is getattr(keras.optimizers, name)
    config = theirs.get_config()
    for key, value in kwargs.items():
        assert config[key] == pytest.approx(value), key
    again = tf_backend.optimizer_from_keras(theirs)
    assert type(again) is type(ours)
    original, translated = ours.get_config(), again.get_config()
    assert translated.keys() == original.keys()
    for key, value in original.items():   # Keras stores the learning rate as a float32
        assert translated[key] == (pytest.approx(value, rel=1e-7)
                                   if isinstance(value, float) else value), key


@pytest.mark.parametrize("name, args", [("ExponentialDecay", (0.1, 7, 0.5, True)),
                                        ("InverseTimeDecay", (0.1, 3, 0.2)),
                                        ("PiecewiseConstantDecay", ([3, 9], [0.1, 0.05, 0.01]))])
def test_schedule_translation_round_trip(name, args):
    ours = getattr(nn.optimizers.schedules, name)(*args)
    again = tf_backend.schedule_from_keras(tf_backend.schedule_to_keras(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_side_by_side_runner_returns_both_runs():
    model = nn.models.Sequential([L.Input(shape=(5,)), L.Dense(4, activation="relu"),
                                  L.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="compile"):
        tf_backend.train_side_by_side(model, np.zeros((4, 5)), np.zeros(4))
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    initial = model.get_weights()
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, (40, 5)), rng.integers(0, 2, 40)
    result = tf_backend.train_side_by_side(model, x, y, epochs=3, batch_size=8,
                                           validation_data=(x[:8], y[:8]))
    assert sorted(result.numpy_history) == sorted(result.keras_history) == \
        ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(result.numpy_history["loss"]) == 3
    assert result.weight_paths == [v.path for v in model.weights]
    assert not all(np.array_equal(a, b) for a, b in zip(initial, result.numpy_weights))
    check("bridge: side-by-side runner (3 epochs, float32)",
          tol.worst_relative_error(result.numpy_weights, result.keras_weights),
          tol.TRAJECTORY_FLOAT32_WEIGHTS, "final weights")


def test_bridge_refuses_legacy_optimizers():
    """Keras 3 has no Keras 2 optimizers; translating one to its Keras 3 namesake would change
    the arithmetic silently."""
    model = nn.models.Sequential([L.Flatten(input_shape=[28, 28]),
                                  L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.legacy.Nadam())
    with pytest.raises(UntranslatableError, match="legacy.Nadam computes Keras 2's updates"):
        tf_backend.to_keras(model)
    with pytest.raises(UntranslatableError, match="legacy.SGD"):
        tf_backend.optimizer_to_keras(nn.optimizers.legacy.SGD(lr=0.01, decay=1e-4))


def test_no_other_parity_module_imports_tf_backend():
    """The static half of the conftest's check: apart from this file and the conftest (which
    only watches the bridge), no parity module imports tf_backend's translations, so no Keras
    side can be a translation of numpy_nn's model. The comparison tool (``compare`` and its
    report), which translates nothing, may be imported."""
    import ast
    import pathlib

    here = pathlib.Path(__file__).parent
    importers = []
    for path in sorted(here.glob("*.py")):
        if path.name in ("test_bridge.py", "conftest.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            comparing_only = isinstance(node, ast.ImportFrom) and (
                node.module in ("tf_backend.compare", "tf_backend.compare_report")
                or (node.module == "tf_backend"
                    and {alias.name for alias in node.names} <= {"compare", "kinks"}))
            if not comparing_only and any(name == "tf_backend" or name.startswith("tf_backend.")
                                          for name in names):
                importers.append(f"{path.name}:{node.lineno}")
    assert importers == [], f"parity modules importing tf_backend: {importers}"


def test_the_guard_watches_every_bridge_function():
    """parity_tests/conftest.py fails any test outside this file that reaches its Keras side
    through tf_backend; it must watch every public function of every tf_backend module (not
    only ``tf_backend.__all__``), except the comparison tool, which translates nothing."""
    import importlib
    import inspect
    import pkgutil

    from parity_tests import conftest
    unwatched = []
    for info in pkgutil.iter_modules(tf_backend.__path__):
        module = importlib.import_module(f"tf_backend.{info.name}")
        if module.__name__ in conftest.COMPARES_ONLY:
            continue
        for name, value in vars(module).items():
            if inspect.isfunction(value) and not name.startswith("_") \
                    and value.__module__ == module.__name__ and not hasattr(value, "__wrapped__"):
                unwatched.append(f"{module.__name__}.{name}")
    assert not unwatched, f"not watched by the guard: {unwatched}"
    assert "keras_weights_in_numpy_order" in {name for _, name in conftest.bridge_functions()}
