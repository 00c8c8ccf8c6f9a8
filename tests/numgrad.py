"""Central-difference gradients, the one place the unit tests get numerical derivatives from.

Use in float64 (the ``float64`` fixture): with step ``h = 1e-6`` the central difference
:math:`(f(x+h) - f(x-h)) / 2h` has truncation error :math:`O(h^2) \\approx 10^{-12}` and
round-off :math:`O(\\epsilon_{64} / h) \\approx 10^{-10}`, far below the 1e-6 the tests allow,
so a failure means a wrong formula, not noise.
"""
from __future__ import annotations

import numpy as np

#: Largest relative error a correct analytic gradient may show against the numerical one.
TOLERANCE = 1e-6


def numerical_gradient(f, array, h=1e-6):
    """:math:`\\partial f / \\partial a` for a scalar function ``f()`` of the ndarray ``array``.

    ``array`` is perturbed *in place* one entry at a time (so it may be a weight buffer the
    function reads indirectly, e.g. ``layer.kernel.value``) and restored afterwards.
    """
    assert array.dtype == np.float64, "numerical gradients need float64 (use the float64 fixture)"
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, array), "array must be contiguous to be perturbed in place"
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = float(f())
        flat[i] = original - h
        f_minus = float(f())
        flat[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(analytic, numerical):
    """:math:`\\lVert a - n \\rVert / (\\lVert a \\rVert + \\lVert n \\rVert)`
    (0 when both are 0)."""
    analytic, numerical = np.asarray(analytic, np.float64), np.asarray(numerical, np.float64)
    assert analytic.shape == numerical.shape, (analytic.shape, numerical.shape)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numerical) / scale)


def assert_gradient_close(analytic, numerical, what, tolerance=TOLERANCE):
    """Fail with a readable message when the relative error exceeds ``tolerance``.

    Also insists the gradient is not identically zero, so a test cannot pass vacuously
    because nothing flowed.
    """
    assert np.any(np.asarray(numerical) != 0), f"{what}: numerical gradient is all zeros"
    error = relative_error(analytic, numerical)
    assert error <= tolerance, f"{what}: relative error {error:.3e} > {tolerance:.0e}"
    return error


def check_layer(layer, x, training=None, upstream=None, before_call=None, seed=0):
    """Check ``layer.backward`` (input gradient and every trainable weight's ``grad``).

    The scalar checked is :math:`L = \\sum y \\odot u` for a fixed random upstream gradient
    :math:`u`, so :math:`\\partial L / \\partial y = u`. ``before_call`` runs before every forward
    pass (e.g. to reseed so dropout draws the same mask each time). Returns the errors.
    """
    x = np.array(x, dtype=np.float64)
    if not layer.built:
        layer.build((None,) + x.shape[1:])

    def forward():
        if before_call is not None:
            before_call()
        return layer.forward(x, training=training)

    y = forward()
    if upstream is None:
        upstream = np.random.default_rng(seed).normal(size=y.shape)

    def loss():
        return np.sum(forward() * upstream)

    forward()
    analytic_input = layer.backward(upstream)
    analytic_params = {v.path: np.array(v.grad) for v in layer.trainable_weights}
    errors = {"input": assert_gradient_close(analytic_input, numerical_gradient(loss, x),
                                             f"{layer.name}: d/dx")}
    for variable in layer.trainable_weights:
        errors[variable.name] = assert_gradient_close(
            analytic_params[variable.path], numerical_gradient(loss, variable.value),
            f"{layer.name}: d/d{variable.name}")
    return errors


def check_model(model, x, y):
    """Check the gradient of the model's *total* training loss (data loss + penalties).

    The model must be compiled with ``SGD(learning_rate=0.0)``: ``train_on_batch`` then leaves
    the weights where they are and each trainable variable's ``grad`` holds the full gradient
    the optimizer would use; the numerical side differentiates ``test_on_batch`` (the same
    loss with penalties, in inference mode — so use it only for models without dropout/BN).
    """
    model.train_on_batch(x, y)
    analytic = {v.path: np.array(v.grad) for v in model.trainable_weights}

    def loss():
        result = model.test_on_batch(x, y)
        return result[0] if isinstance(result, list) else result

    errors = {}
    for variable in model.trainable_weights:
        errors[variable.path] = assert_gradient_close(
            analytic[variable.path], numerical_gradient(loss, variable.value), variable.path)
    return errors
