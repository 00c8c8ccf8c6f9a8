"""What a reader of the chapter sees of the API: dir() listings, Keras 3 names, Keras 2 hints."""
import numpy as np
import pytest

import numpy_nn as nn


@pytest.mark.parametrize("module", ["activations", "initializers", "layers", "optimizers",
                                    "regularizers", "constraints", "losses", "metrics",
                                    "callbacks"])
def test_dir_lists_public_names_only(module):
    """The chapter prints ``[n for n in dir(keras.activations) if not n.startswith("_")]``:
    no ``np``, ``math`` or helper imports should show up, and every listed name exists."""
    names = [n for n in dir(getattr(nn, module)) if not n.startswith("_")]
    assert not {"np", "math", "annotations", "lookup", "backend", "has_numba_twin"} & set(names)
    assert all(hasattr(getattr(nn, module), n) for n in names)


def test_chapter_listings():
    activations = [m for m in dir(nn.activations) if not m.startswith("_")]
    assert {"elu", "leaky_relu", "relu", "selu", "sigmoid", "softmax", "tanh"} <= set(activations)
    initializers = [n for n in dir(nn.initializers) if not n.startswith("_")]
    assert {"he_normal", "lecun_normal", "glorot_uniform", "VarianceScaling"} <= set(initializers)
    assert [m for m in dir(nn.layers) if "relu" in m.lower()] == ["LeakyReLU", "PReLU", "ReLU"]


def test_history_names_the_keras_3_key_for_keras_2_ones():
    model = nn.models.Sequential([nn.layers.Dense(2, activation="softmax", input_shape=[3])])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(np.zeros((4, 3)), np.zeros(4, int), verbose=0)
    with pytest.raises(KeyError, match="call it 'learning_rate'"):
        history.history["lr"]
    with pytest.raises(KeyError, match="call it 'accuracy'"):
        history.history["acc"]
    assert history.history.get("lr") is None


@pytest.mark.parametrize("name, cls, low, high", [
    ("random_normal", nn.initializers.RandomNormal, -0.25, 0.25),
    ("random_uniform", nn.initializers.RandomUniform, -0.05, 0.05),
    ("truncated_normal", nn.initializers.TruncatedNormal, -0.1, 0.1),
])
def test_plain_random_initializers_have_keras_defaults(name, cls, low, high):
    values = nn.initializers.get(name)((200, 300))
    assert isinstance(nn.initializers.get(name), cls) and values.dtype == np.float32
    assert low <= values.min() and values.max() <= high
    assert values.std() == pytest.approx({"random_normal": 0.05, "random_uniform": 0.1 / 12 ** 0.5,
                                          "truncated_normal": 0.05 * 0.8796}[name], rel=0.02)
    seeded = cls(seed=5)
    np.testing.assert_array_equal(seeded((3, 4)), cls(seed=5)((3, 4)))


def test_regression_metrics():
    mae, mse = nn.metrics.get("mae"), nn.metrics.get("mean_squared_error")
    assert (mae.name, mse.name, mae.direction) == ("mae", "mean_squared_error", "down")
    y, p = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[2.0, 2.0], [0.0, 3.0]])
    np.testing.assert_allclose(mae.values(y, p), [0.5, 1.5])
    np.testing.assert_allclose(mse.values(y, p), [0.5, 4.5])
    model = nn.models.Sequential([nn.layers.Dense(1, input_shape=[2])])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    assert set(model.fit(np.ones((8, 2)), np.ones(8), verbose=0).history) == {"loss", "mae"}
    with pytest.raises(ValueError, match="Unknown metric 'Accurcy'.*accuracy"):
        nn.metrics.get("Accurcy")
