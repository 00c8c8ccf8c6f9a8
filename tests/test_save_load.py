"""``model.save`` -> ``load_model`` round-trips exactly, and foreign or damaged files fail
cleanly with ``ModelFileError``. (The hostile-file corpus is the reliability suite's.)"""
import os
import zipfile

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import backend, layers
from numpy_nn.models import ModelFileError, clone_model, load_model
from numpy_nn.optimizers import schedules

OPTIMIZERS = {
    "sgd_nesterov": lambda: nn.optimizers.SGD(learning_rate=0.02, momentum=0.9, nesterov=True,
                                              clipvalue=0.5),
    "adagrad": lambda: nn.optimizers.Adagrad(learning_rate=0.05),
    "rmsprop_centered": lambda: nn.optimizers.RMSprop(momentum=0.5, centered=True),
    "adam_amsgrad": lambda: nn.optimizers.Adam(amsgrad=True, global_clipnorm=1.0),
    "adamax": lambda: nn.optimizers.Adamax(),
    "nadam": lambda: nn.optimizers.Nadam(learning_rate=0.01, clipnorm=1.0),
    "sgd_schedule": lambda: nn.optimizers.SGD(schedules.ExponentialDecay(0.05, 3, 0.5)),
    "sgd_decay": lambda: nn.optimizers.SGD(lr=0.05, decay=0.01),
    # Keras 2's optimizers (saved as "legacy.X")
    "legacy_sgd_momentum_decay": lambda: nn.optimizers.legacy.SGD(lr=0.05, momentum=0.9,
                                                                  decay=0.01),
    "legacy_adagrad": lambda: nn.optimizers.legacy.Adagrad(lr=0.05, clipvalue=0.3, clipnorm=1.0),
    "legacy_rmsprop": lambda: nn.optimizers.legacy.RMSprop(lr=0.01, centered=True, decay=0.01),
    "legacy_adam_amsgrad": lambda: nn.optimizers.legacy.Adam(amsgrad=True, global_clipnorm=1.0),
    "legacy_adamax": lambda: nn.optimizers.legacy.Adamax(decay=0.05),
    "legacy_nadam": lambda: nn.optimizers.legacy.Nadam(lr=0.01, schedule_decay=0.01),
}


def every_layer_model(optimizer):
    """A model using every saveable layer type and option the chapter uses."""
    model = nn.models.Sequential([
        layers.Flatten(input_shape=[4, 3]),
        layers.Dense(8, activation="elu", kernel_initializer="he_normal",
                     kernel_regularizer=nn.regularizers.l2(0.01),
                     kernel_constraint=nn.constraints.max_norm(2.0)),
        layers.BatchNormalization(),
        layers.LeakyReLU(alpha=0.2),
        layers.Dropout(0.2),
        layers.Dense(8, use_bias=False, kernel_regularizer=nn.regularizers.l1_l2(0.001, 0.01)),
        layers.PReLU(),
        layers.AlphaDropout(0.1),
        layers.ELU(alpha=0.5),
        layers.Dense(6, activation="selu", kernel_initializer="lecun_normal"),
        layers.Activation("tanh"),
        layers.Dense(3, activation="softmax")])
    model.layers[5].trainable = False
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4, 3)).astype(np.float32), rng.integers(0, 3, size=n)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_save_load_round_trip_is_exact_and_training_resumes_identically(tmp_path, name):
    x, y = data()
    model = every_layer_model(OPTIMIZERS[name]())
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    assert os.listdir(tmp_path) == ["model.keras"], "no temporary files are left behind"
    loaded = load_model(path)

    assert ([type(layer).__name__ for layer in loaded.layers]
            == [type(layer).__name__ for layer in model.layers])
    assert loaded.get_config() == model.get_config()
    assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)

    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert type(loaded.loss) is type(model.loss)
    assert loaded.metric_names == ["accuracy"]
    ours = model.optimizer.get_state(model.trainable_weights)
    theirs = loaded.optimizer.get_state(loaded.trainable_weights)
    assert ours.keys() == theirs.keys() and ours["iterations"] == 10
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)

    # The strongest check of the optimizer state: one more epoch from the same random state
    # leaves both models with bit-identical weights.
    state = backend.get_rng_state()
    model.fit(x, y, batch_size=8, verbose=0)
    backend.set_rng_state(state)
    loaded.fit(x, y, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_model_saved_before_training_loads_and_trains_as_the_original(tmp_path, name):
    """Compiled but never trained: the optimizer has no slots yet; the file loads, and
    training the loaded model gives the same weights as training the original."""
    x, y = data()
    model = every_layer_model(OPTIMIZERS[name]())
    path = tmp_path / "untrained.keras"
    model.save(path)
    loaded = nn.models.load_model(path)
    assert loaded.optimizer.iterations == 0
    nn.utils.set_random_seed(7)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    nn.utils.set_random_seed(7)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_weights_only_and_uncompiled_models(tmp_path):
    x, y = data()
    model = every_layer_model("adam")
    model.fit(x, y, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = every_layer_model("sgd")
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))

    uncompiled = nn.models.Sequential([layers.Dense(2, input_shape=(3,))])
    uncompiled.save(tmp_path / "plain.keras")
    loaded = load_model(tmp_path / "plain.keras")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.get_weights()[0], uncompiled.get_weights()[0])


def test_clone_model_has_the_same_architecture_and_fresh_weights():
    model = every_layer_model("sgd")
    clone = clone_model(model)
    assert ([layer.get_config() for layer in clone.layers]
            == [layer.get_config() for layer in model.layers])
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    assert not any(a is b for a, b in zip(clone.layers, model.layers))


# --------------------------------------------------------------------------- foreign files
@pytest.fixture
def saved(tmp_path):
    model = every_layer_model("nadam")
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def write_npz(path, **arrays):
    with open(path, "wb") as handle:   # np.savez(path) would append ".npz" to the name
        np.savez(handle, **arrays)
    return path


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize("make", [
    lambda p: p.write_text("this is not a model\n") and p,
    lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)) and p,
    lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200)) and p,
    lambda p: write_npz(p, kernel=np.zeros(3)),
    lambda p: write_zip(p, {"model.json": '{"format": "something.else"}'}),
    lambda p: write_zip(p, {"model.json": "{not json"}),
    lambda p: write_zip(p, {"weights/00000.npy": b""}),
    lambda p: write_zip(p, {"model.json": "{}", "../evil.npy": b""}),
], ids=["text", "random_bytes", "hdf5_header", "npz", "other_format", "bad_json",
        "no_manifest", "path_trick"])
def test_a_file_that_is_not_ours_fails_cleanly(tmp_path, make):
    path = make(tmp_path / "foreign.bin")
    with pytest.raises(ModelFileError, match="foreign.bin"):
        load_model(path)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_a_truncated_file_fails_cleanly(saved, tmp_path, fraction):
    content = saved.read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(content[:int(len(content) * fraction)])
    with pytest.raises(ModelFileError):
        load_model(path)


def test_a_missing_weight_array_fails_cleanly(saved, tmp_path):
    path = tmp_path / "partial.keras"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            if info.filename != "weights/00002.npy":
                target.writestr(info, source.read(info))
    with pytest.raises(ModelFileError, match="missing weights/00002.npy"):
        load_model(path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.keras")


def test_set_weights_is_all_or_nothing():
    """A wrong shape anywhere leaves every weight as it was (layer and model alike)."""
    dense = nn.layers.Dense(3)
    dense.build((None, 4))
    before = dense.get_weights()
    with pytest.raises(ValueError, match=r"weight '.*bias' has shape \(3,\), got an array of "
                                         r"shape \(5,\)"):
        dense.set_weights([np.ones((4, 3)), np.ones(5)])
    for a, b in zip(dense.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_np_array_of_a_variable_is_a_copy_and_np_asarray_may_share():
    variable = nn.layers.Dense(3)
    variable.build((None, 2))
    kernel = variable.kernel
    copied = np.array(kernel)
    copied[...] = 7
    assert not np.any(kernel.value == 7)
    assert np.asarray(kernel) is kernel.value
    assert np.array(kernel, dtype=np.float64).dtype == np.float64


class MCAlphaDropout(nn.layers.AlphaDropout):
    """The chapter's MC-dropout layer: always in training mode."""

    def call(self, inputs):
        return super().call(inputs, training=True)


def test_own_layer_classes_load_with_custom_objects_only(tmp_path):
    """The chapter's MCAlphaDropout model saves (with a warning saying what loading needs),
    refuses to load without custom_objects (no class is ever imported by name), and loads
    with them; clone_model knows the classes of the model it clones."""
    model = nn.models.Sequential([nn.layers.Input((4,)), nn.layers.Dense(5, activation="selu"),
                                  MCAlphaDropout(0.2), nn.layers.Dense(2, activation="softmax")])
    path = tmp_path / "mc.keras"
    with pytest.warns(UserWarning, match=r"custom_objects=\{'MCAlphaDropout': MCAlphaDropout\}"):
        model.save(path)
    with pytest.raises(ModelFileError, match="unknown layer class 'MCAlphaDropout'"):
        load_model(path)
    with pytest.raises(ModelFileError, match="must be a numpy_nn Layer subclass"):
        load_model(path, custom_objects={"MCAlphaDropout": print})
    loaded = load_model(path, custom_objects={"MCAlphaDropout": MCAlphaDropout})
    assert type(loaded.layers[1]) is MCAlphaDropout
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert type(clone_model(model).layers[1]) is MCAlphaDropout
