"""Keras 2's optimizers (``numpy_nn.optimizers.legacy``) against hand transcriptions of Keras 2's
equations, in float64 (tolerance 1e-12), plus what Keras 2 did around them.

The transcriptions are written from ``tf_keras.optimizers.legacy`` (``optimizer_v2``) and the
TensorFlow kernels it calls: epsilon outside the root in Adagrad and in RMSprop without
momentum, Nadam's ``0.96 ** (0.004 t)`` schedule, time decay ``lr / (1 + decay t)``, clipping
``clipvalue`` -> ``clipnorm`` -> ``global_clipnorm``. Where Keras 2's algebra is Keras 3's (SGD,
Adam, Adamax, RMSprop with momentum) the references of ``test_optimizers.py`` serve. Float64
equality cannot see float32 groupings; those are the parity suite's job against tf_keras.

Hyper-parameters here are numbers float32 represents exactly (0.875, 0.0625 ...): Keras 2 keeps
them in float32 variables, which the legacy classes copy (tested on its own below).
"""
import numpy as np
import pytest
from test_optimizers import (
    AdamaxRef,
    AdamRef,
    Reference,
    RMSpropRef,
    SGDRef,
    assert_histories_equal,
    clip,
    gradient_sequence,
    initial_weights,
    run_engine,
    run_reference,
)

import numpy_nn as nn
from numpy_nn import backend
from numpy_nn.models import load_model
from numpy_nn.optimizers import legacy, schedules
from numpy_nn.optimizers.flat import grad_buffer, packed_parameters
from numpy_nn.variables import Variable

EPS = 1e-7
#: Keras 2 writes Nadam's base as tf.cast(0.96, dtype): a float32 constant first
NADAM_BASE = float(np.float32(0.96))


# --------------------------------------------------------------------------- transcriptions
class AdagradKeras2Ref(Reference):
    def step(self, i, w, g, t, lr):
        accumulator = self.state.get(i, self.hyper.get("initial_accumulator_value", 0.1)) + g * g
        self.state[i] = accumulator
        return w - lr * g / (np.sqrt(accumulator) + self.hyper.get("epsilon", EPS))


class RMSpropKeras2Ref(RMSpropRef):
    """With momentum: TensorFlow's fused kernels, Keras 3's algebra (the parent). Without:
    epsilon outside the root."""

    def step(self, i, w, g, t, lr):
        if self.hyper.get("momentum", 0.0) > 0:
            return super().step(i, w, g, t, lr)
        rho, eps = self.hyper.get("rho", 0.9), self.hyper.get("epsilon", EPS)
        v, g_mean = self.state.get(i, (0.0, 0.0))
        v = rho * v + (1 - rho) * g * g
        g_mean = rho * g_mean + (1 - rho) * g
        self.state[i] = (v, g_mean)
        variance = v - g_mean ** 2 if self.hyper.get("centered", False) else v
        return w - lr * g / (np.sqrt(variance) + eps)


class NadamKeras2Ref(Reference):
    """Dozat (2016) with schedule_decay: mu_t = beta_1 (1 - 0.5 * 0.96^(0.004 t))."""

    def begin_step(self, t):
        b1, decay = self.hyper.get("beta_1", 0.9), self.hyper.get("schedule_decay", 0.004)
        self.mu = lambda s: b1 * (1 - 0.5 * NADAM_BASE ** (decay * s))
        self.product = getattr(self, "product", 1.0) * self.mu(t)

    def step(self, i, w, g, t, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        m, v = self.state.get(i, (0.0, 0.0))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        self.state[i] = (m, v)
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        m_bar = (1 - mu_t) * g / (1 - self.product) + mu_next * m / (1 - self.product * mu_next)
        return w - lr * m_bar / (np.sqrt(v / (1 - b2 ** t)) + self.hyper.get("epsilon", EPS))


L = legacy
OPTIMIZERS = {
    "sgd": (L.SGD, SGDRef, dict(learning_rate=0.0625)),
    "sgd_momentum": (L.SGD, SGDRef, dict(learning_rate=0.0625, momentum=0.875)),
    "sgd_nesterov": (L.SGD, SGDRef, dict(learning_rate=0.0625, momentum=0.75, nesterov=True)),
    "adagrad": (L.Adagrad, AdagradKeras2Ref,
                dict(learning_rate=0.125, initial_accumulator_value=0.2, epsilon=1e-3)),
    "rmsprop": (L.RMSprop, RMSpropKeras2Ref, dict(learning_rate=0.015625, rho=0.75)),
    "rmsprop_centered": (L.RMSprop, RMSpropKeras2Ref,
                         dict(learning_rate=0.015625, rho=0.75, centered=True)),
    "rmsprop_momentum": (L.RMSprop, RMSpropKeras2Ref,
                         dict(learning_rate=0.015625, rho=0.875, momentum=0.75)),
    "rmsprop_centered_momentum": (L.RMSprop, RMSpropKeras2Ref,
                                  dict(learning_rate=0.015625, rho=0.75, momentum=0.5,
                                       centered=True)),
    "adam": (L.Adam, AdamRef, dict(learning_rate=0.015625, beta_1=0.75, beta_2=0.9921875)),
    "adam_amsgrad": (L.Adam, AdamRef, dict(learning_rate=0.015625, beta_1=0.75,
                                           beta_2=0.9921875, amsgrad=True)),
    "adamax": (L.Adamax, AdamaxRef, dict(learning_rate=0.015625, beta_1=0.75, beta_2=0.9375)),
    "nadam": (L.Nadam, NadamKeras2Ref, dict(learning_rate=0.015625, beta_1=0.875,
                                            beta_2=0.9921875)),
    "nadam_fast_schedule": (L.Nadam, NadamKeras2Ref, dict(learning_rate=0.015625, beta_1=0.75,
                                                          beta_2=0.9375, schedule_decay=0.5)),
}
#: Keras 2's clipping: any set option applies, in this order (clipnorm + global_clipnorm is
#: the one combination it refuses)
CLIPS = {"none": [], "clipvalue": [("clipvalue", 0.5)], "clipnorm": [("clipnorm", 1.0)],
         "global_clipnorm": [("global_clipnorm", 2.0)],
         "clipvalue+clipnorm": [("clipvalue", 0.5), ("clipnorm", 0.75)],
         "clipvalue+global_clipnorm": [("clipvalue", 0.5), ("global_clipnorm", 1.0)]}


def keras2_clip(grads, clips):
    for mode, value in clips:
        grads = clip(grads, mode, value)
    return grads


def engine_and_reference(name, clips=(), **overrides):
    """(engine history, reference history) for optimizer ``name`` with ``overrides``."""
    engine_class, reference_class, hyper = OPTIMIZERS[name]
    hyper = {**hyper, **overrides}
    grads_seq = gradient_sequence()
    engine, optimizer = run_engine(engine_class(**hyper, **dict(clips)), grads_seq)
    assert optimizer.iterations == len(grads_seq)
    clipped = [keras2_clip(grads, clips) for grads in grads_seq]
    return engine, run_reference(reference_class, hyper, clipped)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("clipping", CLIPS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_legacy_optimizer_matches_keras2_formula(name, clipping):
    engine, reference = engine_and_reference(name, CLIPS[clipping])
    assert_histories_equal(engine, reference)
    if clipping != "none":     # the clipping must have changed something to prove anything
        _, unclipped = engine_and_reference(name)
        assert not np.allclose(unclipped[-1][0], engine[-1][0], rtol=1e-6)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("name", ["sgd_nesterov", "adagrad", "rmsprop", "adam", "adamax"])
def test_book_decay_divides_the_learning_rate(name):
    """``lr=`` and ``decay=d``: the step with iteration count t uses lr / (1 + d t)."""
    engine_class, _, hyper = OPTIMIZERS[name]
    engine, reference = engine_and_reference(name, lr=hyper["learning_rate"], decay=0.25)
    assert_histories_equal(engine, reference)
    _, without = engine_and_reference(name)
    assert not np.allclose(without[-1][0], engine[-1][0], rtol=1e-6)


@pytest.mark.usefixtures("float64")
def test_decay_also_divides_a_schedule():
    schedule = schedules.ExponentialDecay(0.0625, decay_steps=2, decay_rate=0.5)
    engine, reference = engine_and_reference("sgd_momentum", learning_rate=schedule, decay=0.25)
    assert_histories_equal(engine, reference)
    optimizer = L.SGD(learning_rate=schedule, decay=0.25)
    optimizer.iterations = 4
    assert float(optimizer.current_learning_rate("float64")) == 0.0625 * 0.5 ** 2 / (1 + 1)


# --------------------------------------------------------------------------- Nadam
def test_nadam_momentum_schedule_is_keras2s():
    """u_1 = 0.450, u_100 = 0.457, u_1000 = 0.518, from ``_prepare_local`` in
    ``tf_keras/src/optimizers/legacy/nadam.py`` (Keras 3: u_1 = 0.468, u_100 = 0.892)."""
    nadam = L.Nadam()
    schedule = [float(nadam.momentum_schedule(np.float64(t), np.float64)) for t in (1, 100, 1000)]
    np.testing.assert_allclose(schedule, [0.450, 0.457, 0.518], atol=5e-4)
    keras3 = nn.optimizers.Nadam()
    assert float(keras3.momentum_schedule(np.float64(100), np.float64)) == pytest.approx(0.892,
                                                                                         abs=5e-4)


def test_nadam_ignores_decay_as_keras2_did():
    with pytest.warns(UserWarning, match="decay=0.01 is ignored"):
        ignored = L.Nadam(lr=0.01, decay=0.01)
    assert ignored.decay == 0 and "decay" not in ignored.get_config()
    grads_seq = gradient_sequence()
    engine, _ = run_engine(ignored, grads_seq)
    plain, _ = run_engine(L.Nadam(lr=0.01), grads_seq)
    for a, b in zip(engine[-1], plain[-1]):
        np.testing.assert_array_equal(a, b)


def test_nadam_refuses_schedule_objects_like_keras2():
    schedule = schedules.ExponentialDecay(0.01, 10, 0.5)
    for kwargs in ({"learning_rate": schedule}, {"lr": schedule}):
        with pytest.raises(ValueError, match="schedule"):
            L.Nadam(**kwargs)


# --------------------------------------------------------------------------- around the update
def test_a_clip_value_of_zero_is_not_off():
    """Keras 2 clips to 0 (no step); Keras 3 reads 0 as "no clipping"."""
    gradient = [np.array([0.5, -2.0], np.float32)]
    for cls in (L.SGD, nn.optimizers.SGD):
        variable = Variable(np.ones(2, np.float32))
        cls(learning_rate=0.5, clipvalue=0.0).apply(gradient, [variable])
        moved = not np.array_equal(variable.value, np.ones(2, np.float32))
        assert moved is (cls is nn.optimizers.SGD), cls


def test_keras2_argument_checks():
    with pytest.raises(ValueError, match="clipnorm and global_clipnorm"):
        L.Adam(clipnorm=1.0, global_clipnorm=1.0)
    for key in ("clipnorm", "clipvalue", "global_clipnorm", "decay"):
        with pytest.raises(ValueError, match=key):
            L.SGD(**{key: -1.0})
    with pytest.raises(TypeError, match="weight_decay"):
        L.Adam(weight_decay=0.004)
    with pytest.raises(TypeError, match="unknown argument"):
        L.RMSprop(schedule_decay=0.004)
    assert L.Adam(epsilon=0).epsilon == L.Adagrad(epsilon=None).epsilon == 1e-7


def test_defaults_are_keras2s():
    expected = {
        L.SGD: dict(learning_rate=0.01, momentum=0.0, nesterov=False),
        L.Adagrad: dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
        L.RMSprop: dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                        centered=False),
        L.Adam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                     amsgrad=False),
        L.Adamax: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        L.Nadam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                      schedule_decay=0.004),
    }
    for cls, defaults in expected.items():
        config = cls().get_config()
        assert config.get("decay", 0.0) == 0.0
        for key, value in defaults.items():
            assert config[key] == pytest.approx(value, rel=1e-7), (cls.__name__, key)


@pytest.mark.usefixtures("float64")
def test_hyper_parameters_are_float32_as_in_keras2():
    """A float64 model still sees Keras 2's float32 constants: beta_1 = f32(0.9), lr = f32(0.01),
    decay = f32(0.05); the reference with those values matches, the exact ones do not."""
    f32 = lambda value: float(np.float32(value))  # noqa: E731
    optimizer = L.Adam(lr=0.01, beta_1=0.9, decay=0.05)
    assert (optimizer.beta_1, optimizer.decay) == (f32(0.9), f32(0.05))
    assert float(optimizer.learning_rate) == f32(0.01)
    grads_seq = gradient_sequence()
    engine, _ = run_engine(optimizer, grads_seq)
    rounded = dict(learning_rate=f32(0.01), beta_1=f32(0.9), beta_2=f32(0.999), decay=f32(0.05))
    assert_histories_equal(engine, run_reference(AdamRef, rounded, grads_seq))
    exact = run_reference(AdamRef, dict(learning_rate=0.01, beta_1=0.9, decay=0.05), grads_seq)
    assert not np.allclose(exact[-1][0], engine[-1][0], rtol=1e-10, atol=0)


def test_where_keras2_computed_like_keras3_the_updates_are_bit_identical():
    """Float32, constants float32 represents exactly: SGD and Adam (with 1 - beta the same
    number both ways) are Keras 3's arithmetic to the bit; with tiny gradients (1e-5, where
    epsilon's placement matters) Adagrad and RMSprop are not, nor is Nadam anywhere."""
    def displacement(optimizer, scale):
        start = [w.astype(np.float32) for w in initial_weights()]
        variables = [Variable(w) for w in start]
        for grads in gradient_sequence():
            optimizer.apply([(g * scale).astype(np.float32) for g in grads], variables)
        return np.concatenate([(v.value - w).ravel() for v, w in zip(variables, start)])

    K3 = nn.optimizers
    same = [(L.SGD(0.0625, momentum=0.875, nesterov=True),
             K3.SGD(0.0625, momentum=0.875, nesterov=True)),
            (L.Adam(0.015625, beta_1=0.75, beta_2=0.9921875, amsgrad=True),
             K3.Adam(0.015625, beta_1=0.75, beta_2=0.9921875, amsgrad=True))]
    for ours, keras3 in same:
        np.testing.assert_array_equal(displacement(ours, 1.0), displacement(keras3, 1.0))
    different = [(L.Adagrad(0.125, initial_accumulator_value=0.0),
                  K3.Adagrad(0.125, initial_accumulator_value=0.0)),
                 (L.RMSprop(0.015625), K3.RMSprop(0.015625)),
                 (L.Nadam(0.015625), K3.Nadam(0.015625))]
    for ours, keras3 in different:
        a, b = displacement(ours, 1e-5), displacement(keras3, 1e-5)
        assert np.max(np.abs(a - b)) > 1e-3 * np.max(np.abs(b)), type(ours).__name__


# --------------------------------------------------------------------------- names and files
def test_names_serialize_and_get():
    optimizer = L.Nadam(lr=0.002, clipvalue=0.5)
    config = nn.optimizers.serialize(optimizer)
    assert config["class_name"] == "legacy.Nadam"
    again = nn.optimizers.get(config)
    assert type(again) is L.Nadam and again.get_config() == optimizer.get_config()
    assert type(nn.optimizers.get("legacy.rmsprop")) is L.RMSprop
    assert type(nn.optimizers.get("rmsprop")) is nn.optimizers.RMSprop
    assert repr(L.SGD()).startswith("<legacy.SGD ")


def test_model_file_keeps_the_legacy_optimizer_and_its_state(tmp_path):
    """A model compiled with legacy.Nadam saves and loads as legacy.Nadam, slots and momentum
    product included (test_save_load.py runs every legacy class through its round trip)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 5)).astype(np.float32), rng.integers(0, 3, 32)
    model = nn.models.Sequential([nn.layers.Dense(4, activation="selu", input_shape=(5,)),
                                  nn.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=L.Nadam(lr=0.01, schedule_decay=0.02))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is L.Nadam
    assert loaded.optimizer.schedule_decay == 0.02
    assert loaded.optimizer.iterations == 8
    assert loaded.optimizer.momentum_product == model.optimizer.momentum_product
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- Numba path
def test_numba_path_after_a_keras3_optimizer_packed_the_weights():
    """On the Numba path a Keras 3 optimizer moves the weights into flat buffers, and Dense
    writes gradients into them; a legacy optimizer compiled afterwards (it has no fused kernel)
    must update those shared views exactly as on the NumPy path. (test_kernels_optimizers.py
    compares every legacy class on both paths, bit for bit.)"""
    def run(path):
        backend.set_kernel_path(path)
        rng = np.random.default_rng(1)
        variables = [Variable(rng.standard_normal(s).astype(np.float32), name=f"v{i}")
                     for i, s in enumerate([(6, 4), (4,)])]
        steps = [[rng.standard_normal(v.shape).astype(np.float32) for v in variables]
                 for _ in range(5)]
        nn.optimizers.Adam(0.01).apply(steps[0], variables)
        packed = all(grad_buffer(v) is not None for v in variables)
        optimizer = L.RMSprop(0.01, decay=0.1)
        for grads in steps[1:]:
            for variable, grad in zip(variables, grads):
                if grad_buffer(variable) is not None:          # as Dense's twin does
                    grad_buffer(variable)[...] = grad
            optimizer.apply([grad_buffer(v) if grad_buffer(v) is not None else g
                             for v, g in zip(variables, grads)], variables)
        backend.set_kernel_path("numpy")
        assert packed_parameters(optimizer) is None
        return packed, [v.numpy() for v in variables]

    packed_numpy, reference = run("numpy")
    packed_numba, twin = run("numba")
    assert packed_numba and not packed_numpy
    for a, b in zip(reference, twin):
        np.testing.assert_array_equal(b, a)


def test_fit_on_the_numba_path():
    """End to end on the Numba path with the book's optimizer: the same run as on the NumPy
    path up to the Numba activations' float32 rounding."""
    histories = []
    for path in ("numpy", "numba"):
        backend.set_kernel_path(path)
        nn.utils.set_random_seed(5)
        rng = np.random.default_rng(5)
        x, y = rng.standard_normal((64, 8)).astype(np.float32), rng.integers(0, 3, 64)
        model = nn.models.Sequential([nn.layers.Dense(16, activation="selu", input_shape=(8,)),
                                      nn.layers.Dense(3, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=L.Nadam(lr=0.01))
        histories.append(model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)
    assert histories[0][-1] < histories[0][0]
