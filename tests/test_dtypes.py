"""The float32 path stays float32: no silent promotion to float64 anywhere in a training step.

Inputs arrive as float64 (as ``X / 255.0`` does in the chapter) and are converted once at the
model's door; after that every activation, gradient, weight, optimizer slot, loss value and
prediction must be float32, for every layer type and every optimizer.
"""
import numpy as np
import pytest
from test_save_load import OPTIMIZERS, data, every_layer_model

from numpy_nn import activations, losses


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_training_step_never_leaves_float32(name):
    x, y = data()
    x = x.astype(np.float64)
    model = every_layer_model(OPTIMIZERS[name]())
    model.fit(x, y, batch_size=8, verbose=0)
    assert {v.dtype for v in model.weights} == {np.dtype(np.float32)}
    assert {v.grad.dtype for v in model.trainable_weights} == {np.dtype(np.float32)}
    for variable in model.trainable_weights:
        for slot, array in model.optimizer.slots[variable].items():
            assert np.asarray(array).dtype == np.float32, (variable.path, slot)
    assert all(np.asarray(p).dtype == np.float32 for p in model.losses)
    assert model.predict(x, verbose=0).dtype == np.float32

    # layer by layer, forward and backward, in training mode
    h = x.astype(np.float32)
    for layer in model.layers:
        h = layer.forward(h, training=True)
        assert h.dtype == np.float32, layer.name
    g = np.ones_like(h)
    for layer in reversed(model.layers):
        g = layer.backward(g)
        assert g.dtype == np.float32, layer.name


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu",
                                  "softmax", "linear"])
def test_activations_keep_float32(name):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    function = activations.get(name)
    y = function(x)
    assert y.dtype == np.float32
    assert function.backward(x, y, np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("loss, y_true, logits", [
    (losses.SparseCategoricalCrossentropy(), np.array([0, 2]), True),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 2]), False),
    (losses.CategoricalCrossentropy(), np.eye(3)[[0, 2]], False),
    (losses.BinaryCrossentropy(), np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]), True),
    (losses.BinaryCrossentropy(), np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]), False),
    (losses.MeanSquaredError(), np.ones((2, 3)), False),
])
def test_losses_keep_float32(loss, y_true, logits):
    z = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], np.float32)
    p = 1 / (1 + np.exp(-z))
    value, grad, _ = loss.value_and_grad(y_true, p, z if logits else None,
                                         np.array([1.0, 0.5]))
    assert value.dtype == np.float32 and grad.dtype == np.float32
