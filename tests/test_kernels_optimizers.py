"""The fused optimizer updates (one pass over a flat buffer of all parameters) against the
per-variable reference, for every optimizer, option and clipping mode, in float32 and float64.

The kernels evaluate each optimizer's expressions in the reference's order with the same
float32 scalars, and the clipping norms are computed with the reference's own expressions,
so weights and every slot must agree **bit for bit** after several steps.

Also tested: the flat buffers (values become views that stay in sync with ``get_weights`` /
``set_weights``; a new set of trainable variables, or a second optimizer sharing some of
them, rebuilds the buffers without losing state), and the fallbacks to the reference.
"""
import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import backend
from numpy_nn.optimizers.flat import FlatParameters, grad_buffer, packed_parameters
from numpy_nn.variables import Variable

opt = nn.optimizers
OPTIMIZERS = {
    "sgd": lambda **k: opt.SGD(0.1, **k),
    "momentum": lambda **k: opt.SGD(0.1, momentum=0.9, **k),
    "nesterov": lambda **k: opt.SGD(0.1, momentum=0.9, nesterov=True, **k),
    "adagrad": lambda **k: opt.Adagrad(0.1, **k),
    "rmsprop": lambda **k: opt.RMSprop(0.01, **k),
    "rmsprop_momentum": lambda **k: opt.RMSprop(0.01, momentum=0.5, **k),
    "rmsprop_centered": lambda **k: opt.RMSprop(0.01, centered=True, **k),
    "rmsprop_centered_momentum": lambda **k: opt.RMSprop(0.01, centered=True, momentum=0.5, **k),
    "adam": lambda **k: opt.Adam(0.01, **k),
    "amsgrad": lambda **k: opt.Adam(0.01, amsgrad=True, **k),
    "adamw": lambda **k: opt.AdamW(0.01, **k),
    "adamax": lambda **k: opt.Adamax(0.01, **k),
    "nadam": lambda **k: opt.Nadam(0.01, **k),
    # Keras 2's versions have no fused kernels: the twin must hand them to the reference
    "legacy_sgd": lambda **k: opt.legacy.SGD(0.1, momentum=0.9, decay=0.1, **k),
    "legacy_adagrad": lambda **k: opt.legacy.Adagrad(0.1, **k),
    "legacy_rmsprop": lambda **k: opt.legacy.RMSprop(0.01, centered=True, **k),
    "legacy_rmsprop_momentum": lambda **k: opt.legacy.RMSprop(0.01, momentum=0.5, **k),
    "legacy_adam": lambda **k: opt.legacy.Adam(0.01, amsgrad=True, **k),
    "legacy_adamax": lambda **k: opt.legacy.Adamax(0.01, **k),
    "legacy_nadam": lambda **k: opt.legacy.Nadam(0.01, **k),
}
CLIPPING = {"none": {}, "clipnorm": {"clipnorm": 0.5}, "global_clipnorm": {"global_clipnorm": 0.5},
            "clipvalue": {"clipvalue": 0.01}}
SHAPES = [(13, 7), (7,), (7, 3), (3,), (1,)]


def train(path, make_optimizer, dtype, steps=4, in_place=True, shapes=SHAPES, seed=0):
    """``steps`` updates with random gradients; returns the values and slots of every variable.

    ``in_place`` writes each gradient into ``grad_buffer(variable)`` when the variable has one,
    as Dense's twin does on the Numba path; otherwise every gradient is a fresh array.
    """
    backend.set_kernel_path(path)
    rng = np.random.default_rng(seed)
    variables = [Variable(rng.standard_normal(shape).astype(dtype), name=f"v{i}")
                 for i, shape in enumerate(shapes)]
    optimizer = make_optimizer()
    for step in range(steps):
        grads = []
        for variable in variables:
            grad = rng.standard_normal(variable.shape).astype(dtype) * dtype(10.0 ** (step - 2))
            grad[rng.random(variable.shape) < 0.2] = 0     # some exact zeros
            if in_place and grad_buffer(variable) is not None:
                grad_buffer(variable)[...] = grad
                grad = grad_buffer(variable)
            grads.append(grad)
        optimizer.apply(grads, variables)
    state = {"values": [v.numpy() for v in variables],
             "slots": [{k: np.array(a) for k, a in optimizer.slots[v].items()} for v in variables],
             "iterations": optimizer.iterations}
    if hasattr(optimizer, "momentum_product"):
        state["momentum_product"] = np.array(optimizer.momentum_product)
    backend.set_kernel_path("numpy")
    return state


def assert_same_state(reference, twin):
    assert reference["iterations"] == twin["iterations"]
    for i, (a, b) in enumerate(zip(reference["values"], twin["values"])):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(b, a, err_msg=f"value of variable {i}")
    for i, (a, b) in enumerate(zip(reference["slots"], twin["slots"])):
        assert sorted(a) == sorted(b)
        for name in a:
            np.testing.assert_array_equal(b[name], a[name], err_msg=f"slot {name} of {i}")
    if "momentum_product" in reference:
        np.testing.assert_array_equal(twin["momentum_product"], reference["momentum_product"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clipping", sorted(CLIPPING))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_update_equals_the_reference(name, clipping, dtype):
    make = lambda: OPTIMIZERS[name](**CLIPPING[clipping])  # noqa: E731
    assert_same_state(train("numpy", make, dtype), train("numba", make, dtype))


@pytest.mark.parametrize("in_place", [True, False])
def test_gradients_may_arrive_in_place_or_as_new_arrays(in_place):
    make = lambda: opt.Adam(0.01)  # noqa: E731
    assert_same_state(train("numpy", make, np.float32),
                      train("numba", make, np.float32, in_place=in_place))


def test_schedules_and_keras2_decay_reach_the_kernels_unchanged():
    schedule = opt.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    for make in (lambda: opt.SGD(schedule, momentum=0.9), lambda: opt.Adam(lr=0.01, decay=0.1)):
        assert_same_state(train("numpy", make, np.float32, steps=6),
                          train("numba", make, np.float32, steps=6))


def test_values_become_views_of_one_buffer_that_stays_in_sync():
    backend.set_kernel_path("numba")
    model = nn.models.Sequential([nn.layers.Dense(4, input_shape=(3,)), nn.layers.Dense(2)])
    model.compile(loss="mse", optimizer=opt.Adam())
    x, y = np.ones((5, 3), np.float32), np.zeros((5, 2), np.float32)
    model.train_on_batch(x, y)
    pack = packed_parameters(model.optimizer)
    assert all(np.shares_memory(v.value, pack.values) for v in model.trainable_weights)
    assert all(np.shares_memory(grad_buffer(v), pack.grads) for v in model.trainable_weights)
    new_weights = [np.full(w.shape, 0.5, np.float32) for w in model.get_weights()]
    model.set_weights(new_weights)

    def slices():        # each variable's slice; the padding between them stays 0
        return np.concatenate([pack.values[a:b] for a, b in zip(pack.starts, pack.stops)])
    np.testing.assert_array_equal(slices(), 0.5)
    assert all(v.value.ctypes.data % 64 == 0 for v in model.trainable_weights)
    model.train_on_batch(x, y)
    assert packed_parameters(model.optimizer) is pack     # still valid, not rebuilt
    assert not np.all(slices() == 0.5)
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in model.get_weights()]),
                                  slices())
    padding = np.ones(pack.values.size, bool)
    for a, b in zip(pack.starts, pack.stops):
        padding[a:b] = False
    assert padding.any() and np.all(pack.values[padding] == 0)


def _transfer_learning_run(path):
    """The chapter's pattern: model B reuses model A's layers, frozen then unfrozen, with its
    own optimizer, while A keeps training with its optimizer (two packs over shared weights)."""
    backend.set_kernel_path(path)
    nn.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model_a = nn.models.Sequential([nn.layers.Dense(8, activation="elu", input_shape=(6,)),
                                    nn.layers.Dense(5, activation="selu"),
                                    nn.layers.Dense(3, activation="softmax")])
    model_a.compile(loss="sparse_categorical_crossentropy", optimizer=opt.Nadam(0.01))
    model_a.fit(x, y, epochs=2, verbose=0)
    model_b = nn.models.Sequential(model_a.layers[:-1] + [nn.layers.Dense(3, activation="softmax")])
    for layer in model_b.layers[:-1]:
        layer.trainable = False
    model_b.compile(loss="sparse_categorical_crossentropy", optimizer=opt.SGD(0.1, momentum=0.9))
    model_b.fit(x, y, epochs=2, verbose=0)
    for layer in model_b.layers[:-1]:
        layer.trainable = True
    model_b.compile(loss="sparse_categorical_crossentropy", optimizer=opt.Adam(0.01))
    model_b.fit(x, y, epochs=2, verbose=0)
    model_a.fit(x, y, epochs=1, verbose=0)
    backend.set_kernel_path("numpy")
    return model_a.get_weights() + model_b.get_weights()


def test_shared_and_refrozen_variables_rebuild_the_buffers_without_losing_state():
    reference, twin = _transfer_learning_run("numpy"), _transfer_learning_run("numba")
    for a, b in zip(reference, twin):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_optimizer_state_round_trips_on_the_numba_path():
    """get_state/set_state see the slots (now views) and a resumed run continues identically."""
    make = lambda: opt.Adam(0.01, amsgrad=True)  # noqa: E731
    uninterrupted = train("numba", make, np.float32, steps=6)
    backend.set_kernel_path("numba")
    rng = np.random.default_rng(0)
    variables = [Variable(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]
    first = make()
    grads_per_step = []
    for step in range(6):
        grads = []
        for variable in variables:
            grad = rng.standard_normal(variable.shape).astype(np.float32) * np.float32(
                10.0 ** (step - 2))
            grad[rng.random(variable.shape) < 0.2] = 0
            grads.append(grad)
        grads_per_step.append(grads)
    for grads in grads_per_step[:3]:
        first.apply(grads, variables)
    state = first.get_state(variables)
    resumed_variables = [Variable(v.numpy()) for v in variables]
    second = make()
    second.set_state(state, resumed_variables)
    for grads in grads_per_step[3:]:
        second.apply(grads, resumed_variables)
    for a, b in zip(uninterrupted["values"], resumed_variables):
        np.testing.assert_array_equal(b.value, a)


def test_fallbacks_to_the_reference():
    """A user's optimizer subclass, and variables of mixed dtypes, take the reference path."""
    class HalfSGD(opt.SGD):
        def update_step(self, gradient, variable, learning_rate):
            super().update_step(gradient / 2, variable, learning_rate)

    make = lambda: HalfSGD(0.1)  # noqa: E731
    assert_same_state(train("numpy", make, np.float32), train("numba", make, np.float32))
    results = []
    for path in ("numpy", "numba"):
        backend.set_kernel_path(path)
        variables = [Variable(np.ones(3, np.float32)), Variable(np.ones(2, np.float64))]
        optimizer = opt.Adam(0.1)
        optimizer.apply([np.ones(3, np.float32), np.ones(2)], variables)
        assert packed_parameters(optimizer) is None
        assert not FlatParameters.can_hold(optimizer, variables)
        results.append([v.numpy() for v in variables])
    for a, b in zip(*results):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(b, a)
