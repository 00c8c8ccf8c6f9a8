"""Calls the book's code makes that Keras answers: ``model.get_layer`` (its first classifier
looks a layer up by name) and ``keras.utils.to_categorical``; the expected values are Keras 3's
(``keras/src/models/model.py::Model.get_layer``, the docstring examples of
``keras/src/utils/numerical_utils.py::to_categorical``)."""
import numpy as np
import pytest

import numpy_nn as nn


def _model():
    return nn.models.Sequential([nn.layers.Input((4,)), nn.layers.Dense(3, name="hidden"),
                                 nn.layers.Dense(2, activation="softmax", name="output")])


def test_get_layer_by_name_and_by_index():
    model = _model()
    assert model.get_layer("hidden") is model.layers[0]
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer(index=-1) is model.layers[-1]
    weights, biases = model.get_layer("hidden").get_weights()   # as the book inspects them
    assert weights.shape == (4, 3) and biases.shape == (3,)


@pytest.mark.parametrize("arguments, message", [
    ({"name": "missing"}, r"no layer named 'missing'; the layers are \['hidden', 'output'\]"),
    ({"index": 2}, r"index must be an int in \[-2, 2\) for a model of 2 layers, got 2"),
    ({"index": 1.0}, r"index must be an int"),
    ({"name": "hidden", "index": 0}, r"give a layer name or a layer index, not both"),
    ({}, r"give a layer name or a layer index"),
])
def test_get_layer_refuses_with_the_reason(arguments, message):
    with pytest.raises(ValueError, match=message):
        _model().get_layer(**arguments)


def test_to_categorical_as_keras():
    np.testing.assert_array_equal(nn.utils.to_categorical([0, 1, 2, 3], num_classes=4),
                                  np.eye(4))
    one_hot = nn.utils.to_categorical(np.array([[1], [0], [2]]))    # trailing 1 dropped
    assert one_hot.shape == (3, 3) and one_hot.dtype == np.float64
    np.testing.assert_array_equal(one_hot.argmax(axis=1), [1, 0, 2])
    assert nn.utils.to_categorical(np.zeros((2, 3), int), num_classes=5).shape == (2, 3, 5)


def test_to_categorical_refuses_what_is_not_a_class_index():
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        nn.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="whole class indices"):
        nn.utils.to_categorical([0.5, 1.0])
