"""Every optimizer against a hand transcription of its update rule, with each clipping mode.

The transcriptions below are written from the papers' equations in the form Keras 3 uses
(``update_step`` in ``keras/src/optimizers/{adagrad,rmsprop,adam,nadam}.py``: epsilon inside
the square root for Adagrad and RMSprop, the "epsilon-hat" form of Adam, Keras 3's Nadam
momentum schedule). They share no code with
``numpy_nn.optimizers``. Everything runs in float64 so the comparison can be tight (1e-12).
"""
import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import backend
from numpy_nn.optimizers import schedules
from numpy_nn.variables import Variable

pytestmark = pytest.mark.usefixtures("float64")

SHAPES = [(3, 2), (4,)]
#: per-step gradient scales: small steps leave every clip inactive, large ones trigger them
SCALES = [0.3, 3.0, 1.0, 0.2, 2.5, 0.8]
EPS = 1e-7


def gradient_sequence(seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(scale=s, size=shape) for shape in SHAPES] for s in SCALES]


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in SHAPES]


# --------------------------------------------------------------------------- transcriptions
def clip(grads, mode, c):
    if mode is None:
        return grads
    if mode == "clipvalue":
        return [np.minimum(np.maximum(g, -c), c) for g in grads]
    if mode == "clipnorm":
        return [g * c / max(np.sqrt(np.sum(g ** 2)), c) for g in grads]
    global_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * c / max(global_norm, c) for g in grads]


def clip_was_active(grads, mode, c):
    return any(not np.array_equal(a, b) for a, b in zip(grads, clip(grads, mode, c)))


class Reference:
    """A per-variable state dict and a ``step(w, g, t, lr)`` with ``t`` = 1, 2, ..."""

    def __init__(self, **hyper):
        self.hyper = hyper
        self.state = {}

    def begin_step(self, t):
        pass


class SGDRef(Reference):
    def step(self, i, w, g, t, lr):
        mu, nesterov = self.hyper.get("momentum", 0.0), self.hyper.get("nesterov", False)
        if mu == 0:
            return w - lr * g
        velocity = mu * self.state.get(i, 0.0) - lr * g
        self.state[i] = velocity
        return w + (mu * velocity - lr * g if nesterov else velocity)


class AdagradRef(Reference):
    def step(self, i, w, g, t, lr):
        accumulator = self.state.get(i, self.hyper.get("initial_accumulator_value", 0.1)) + g * g
        self.state[i] = accumulator
        return w - lr * g / np.sqrt(accumulator + self.hyper.get("epsilon", EPS))


class RMSpropRef(Reference):
    def step(self, i, w, g, t, lr):
        rho, mu = self.hyper.get("rho", 0.9), self.hyper.get("momentum", 0.0)
        eps = self.hyper.get("epsilon", EPS)
        v, g_mean, m = self.state.get(i, (0.0, 0.0, 0.0))
        v = rho * v + (1 - rho) * g * g
        if self.hyper.get("centered", False):
            g_mean = rho * g_mean + (1 - rho) * g
            step = lr * g / np.sqrt(v - g_mean ** 2 + eps)
        else:
            step = lr * g / np.sqrt(v + eps)
        if mu > 0:
            m = mu * m + step
            step = m
        self.state[i] = (v, g_mean, m)
        return w - step


class AdamRef(Reference):
    def step(self, i, w, g, t, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps = self.hyper.get("epsilon", EPS)
        m, v, v_max = self.state.get(i, (0.0, 0.0, 0.0))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        self.state[i] = (m, v, v_max)
        step_size = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        v_used = v_max if self.hyper.get("amsgrad", False) else v
        return w - step_size * m / (np.sqrt(v_used) + eps)


class AdamaxRef(Reference):
    def step(self, i, w, g, t, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps = self.hyper.get("epsilon", EPS)
        m, u = self.state.get(i, (0.0, 0.0))
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        self.state[i] = (m, u)
        return w - lr * m / ((1 - b1 ** t) * (u + eps))


class NadamRef(Reference):
    """Dozat (2016) with Keras 3's schedule mu_t = beta_1 (1 - 0.5 * 0.96^t)."""

    def begin_step(self, t):
        b1 = self.hyper.get("beta_1", 0.9)
        self.mu = lambda s: b1 * (1 - 0.5 * 0.96 ** s)
        self.product = getattr(self, "product", 1.0) * self.mu(t)

    def step(self, i, w, g, t, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps = self.hyper.get("epsilon", EPS)
        m, v = self.state.get(i, (0.0, 0.0))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        self.state[i] = (m, v)
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        m_hat = mu_next * m / (1 - self.product * mu_next) + (1 - mu_t) * g / (1 - self.product)
        v_hat = v / (1 - b2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)


OPTIMIZERS = {
    "sgd": (nn.optimizers.SGD, SGDRef, dict(learning_rate=0.05)),
    "sgd_momentum": (nn.optimizers.SGD, SGDRef, dict(learning_rate=0.05, momentum=0.9)),
    "sgd_nesterov": (nn.optimizers.SGD, SGDRef,
                     dict(learning_rate=0.05, momentum=0.8, nesterov=True)),
    "adagrad": (nn.optimizers.Adagrad, AdagradRef,
                dict(learning_rate=0.1, initial_accumulator_value=0.2, epsilon=1e-6)),
    "rmsprop": (nn.optimizers.RMSprop, RMSpropRef, dict(learning_rate=0.01, rho=0.8)),
    "rmsprop_centered": (nn.optimizers.RMSprop, RMSpropRef,
                         dict(learning_rate=0.01, rho=0.8, centered=True)),
    "rmsprop_momentum": (nn.optimizers.RMSprop, RMSpropRef,
                         dict(learning_rate=0.01, rho=0.85, momentum=0.7)),
    "rmsprop_centered_momentum": (nn.optimizers.RMSprop, RMSpropRef,
                                  dict(learning_rate=0.01, momentum=0.5, centered=True)),
    "adam": (nn.optimizers.Adam, AdamRef, dict(learning_rate=0.02, beta_1=0.8, beta_2=0.99)),
    "adam_amsgrad": (nn.optimizers.Adam, AdamRef,
                     dict(learning_rate=0.02, beta_1=0.8, beta_2=0.99, amsgrad=True)),
    "adamax": (nn.optimizers.Adamax, AdamaxRef, dict(learning_rate=0.02, beta_1=0.8, beta_2=0.95)),
    "nadam": (nn.optimizers.Nadam, NadamRef, dict(learning_rate=0.02, beta_1=0.85, beta_2=0.99)),
}
CLIPS = [(None, None), ("clipvalue", 0.5), ("clipnorm", 1.0), ("global_clipnorm", 2.0)]


def learning_rate_at(hyper, t):
    """The rate for the step whose iteration count is ``t`` (before the increment)."""
    lr = hyper.get("learning_rate", hyper.get("lr"))
    if isinstance(lr, schedules.LearningRateSchedule):
        lr = float(lr(t))
    return lr / (1 + hyper.get("decay", 0.0) * t)


def run_reference(reference_class, hyper, grads_seq, clip_mode=None, clip_value=None,
                  constraint=None):
    weights = initial_weights()
    reference = reference_class(**{k: v for k, v in hyper.items()
                                   if k not in ("learning_rate", "lr", "decay")})
    history = []
    for iteration, grads in enumerate(grads_seq):
        grads = clip(grads, clip_mode, clip_value)
        t = iteration + 1
        reference.begin_step(t)
        weights = [reference.step(i, w, g, t, learning_rate_at(hyper, iteration))
                   for i, (w, g) in enumerate(zip(weights, grads))]
        if constraint is not None:
            weights = [constraint(w) for w in weights]
        history.append([w.copy() for w in weights])
    return history


def run_engine(optimizer, grads_seq, constraint=None):
    variables = [Variable(w, name=f"w{i}", constraint=constraint)
                 for i, w in enumerate(initial_weights())]
    history = []
    for grads in grads_seq:
        optimizer.apply([g.copy() for g in grads], variables)
        history.append([v.numpy() for v in variables])
    return history, optimizer


def assert_histories_equal(engine, reference):
    for step, (ours, theirs) in enumerate(zip(engine, reference)):
        for index, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14,
                                       err_msg=f"step {step + 1}, variable {index}")


# --------------------------------------------------------------------------- the algorithms
@pytest.mark.parametrize("clip_mode, clip_value", CLIPS, ids=[c[0] or "no_clip" for c in CLIPS])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_its_formula(name, clip_mode, clip_value):
    engine_class, reference_class, hyper = OPTIMIZERS[name]
    grads_seq = gradient_sequence()
    if clip_mode is not None:
        active = [clip_was_active(g, clip_mode, clip_value) for g in grads_seq]
        assert any(active) and not all(active), "the clip should bite on some steps only"
    clip_kwargs = {clip_mode: clip_value} if clip_mode else {}
    engine, optimizer = run_engine(engine_class(**hyper, **clip_kwargs), grads_seq)
    assert optimizer.iterations == len(grads_seq)
    reference = run_reference(reference_class, hyper, grads_seq, clip_mode, clip_value)
    assert_histories_equal(engine, reference)
    # A test that could not tell clipping on from off would prove nothing about clipping:
    if clip_mode is not None:
        unclipped = run_reference(reference_class, hyper, grads_seq)
        assert not np.allclose(unclipped[-1][0], engine[-1][0], rtol=1e-6)


def test_optimizers_keep_keras_defaults():
    expected = {
        nn.optimizers.SGD: dict(learning_rate=0.01, momentum=0.0, nesterov=False),
        nn.optimizers.Adagrad: dict(learning_rate=0.001, initial_accumulator_value=0.1,
                                    epsilon=1e-7),
        nn.optimizers.RMSprop: dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                                    centered=False),
        nn.optimizers.Adam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                                 amsgrad=False),
        nn.optimizers.Adamax: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        nn.optimizers.Nadam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    }
    for cls, defaults in expected.items():
        config = cls().get_config()
        for key, value in defaults.items():
            assert config[key] == pytest.approx(value, rel=1e-7), (cls.__name__, key)


@pytest.mark.parametrize("name", ["sgd", "adam", "nadam"])
def test_string_names_give_default_optimizers(name):
    optimizer = nn.optimizers.get(name.upper())
    assert type(optimizer).__name__.lower() == name


# --------------------------------------------------------------------------- learning rates
@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "nadam", "rmsprop"])
@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5),
    schedules.PiecewiseConstantDecay(boundaries=[1, 3], values=[0.05, 0.01, 0.002]),
    schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.7),
], ids=["exponential", "piecewise", "inverse_time"])
def test_schedule_as_learning_rate_is_read_before_the_increment(name, schedule):
    engine_class, reference_class, hyper = OPTIMIZERS[name]
    hyper = {**hyper, "learning_rate": schedule}
    grads_seq = gradient_sequence()
    optimizer = engine_class(**hyper)
    variables = [Variable(w) for w in initial_weights()]
    engine = []
    for t, grads in enumerate(grads_seq):
        assert float(optimizer.learning_rate) == pytest.approx(float(schedule(t)), rel=1e-15)
        optimizer.apply(grads, variables)
        engine.append([v.numpy() for v in variables])
    assert_histories_equal(engine, run_reference(reference_class, hyper, grads_seq))
    with pytest.raises(TypeError, match="schedule"):
        optimizer.learning_rate = 0.1


def test_schedule_values_match_keras():
    """Staircase exponential decay and inclusive piecewise boundaries, as
    ``keras/src/optimizers/schedules/learning_rate_schedule.py`` (ExponentialDecay,
    PiecewiseConstantDecay) computes them."""
    staircase = schedules.ExponentialDecay(0.01, 10, 0.1, staircase=True)
    np.testing.assert_allclose([float(staircase(s)) for s in (0, 9, 10, 20)],
                               [0.01, 0.01, 0.001, 0.0001], rtol=1e-12)
    piecewise = schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert [float(piecewise(s)) for s in (0, 5, 6, 10, 11)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    # the chapter writes boundaries as floats (5. * n_steps_per_epoch): truncated to ints
    assert float(schedules.PiecewiseConstantDecay([5.9], [1.0, 0.5])(5)) == 1.0
    assert float(schedules.PiecewiseConstantDecay([5.9], [1.0, 0.5])(6)) == 0.5
    inverse = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    assert float(inverse(4)) == pytest.approx(0.1 / (1 + 0.5 * 2), rel=1e-15)


@pytest.mark.parametrize("name", ["sgd", "sgd_nesterov", "adam", "adagrad"])
def test_book_lr_and_decay_spellings(name):
    """``lr=`` means ``learning_rate=``; ``decay=d`` is Keras 2's lr / (1 + d * iterations)."""
    engine_class, reference_class, hyper = OPTIMIZERS[name]
    hyper = dict(hyper)
    hyper["lr"] = hyper.pop("learning_rate")
    hyper["decay"] = 0.3
    grads_seq = gradient_sequence()
    engine, optimizer = run_engine(engine_class(**hyper), grads_seq)
    assert float(optimizer.lr) == pytest.approx(hyper["lr"], rel=1e-15)
    assert_histories_equal(engine, run_reference(reference_class, hyper, grads_seq))
    without_decay = run_reference(reference_class, {**hyper, "decay": 0.0}, grads_seq)
    assert not np.allclose(without_decay[-1][0], engine[-1][0], rtol=1e-6)


def test_learning_rate_is_readable_and_settable_between_steps():
    """Callbacks change the rate between steps: the next step must use the new value, and
    ``keras.backend.get_value/set_value(optimizer.lr, ...)`` (the chapter's spelling) work."""
    optimizer = nn.optimizers.SGD(learning_rate=0.1)
    variable = Variable(np.array([1.0, -2.0]))
    gradient = np.array([0.5, 0.25])
    optimizer.apply([gradient], [variable])
    np.testing.assert_array_equal(variable.value, [1.0 - 0.05, -2.0 - 0.025])
    optimizer.learning_rate = 0.01
    assert float(optimizer.learning_rate) == 0.01
    optimizer.apply([gradient], [variable])
    np.testing.assert_allclose(variable.value, [0.95 - 0.005, -2.025 - 0.0025], rtol=1e-15)
    backend.set_value(optimizer.lr, backend.get_value(optimizer.lr) * 10)
    assert float(optimizer.learning_rate) == pytest.approx(0.1, rel=1e-15)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizer.learning_rate = -1.0


def test_max_norm_constraint_is_applied_after_the_step():
    max_norm = nn.constraints.max_norm(1.0)

    def reference_constraint(w):
        norms = np.sqrt(np.sum(w ** 2, axis=0, keepdims=True))
        return w * np.clip(norms, 0, 1.0) / (1e-7 + norms)

    engine_class, reference_class, hyper = OPTIMIZERS["adam"]
    grads_seq = gradient_sequence()
    engine, _ = run_engine(engine_class(**hyper), grads_seq, constraint=max_norm)
    reference = run_reference(reference_class, hyper, grads_seq, constraint=reference_constraint)
    assert_histories_equal(engine, reference)
    assert np.all(np.linalg.norm(engine[-1][0], axis=0) <= 1.0 + 1e-12)
    assert np.any(np.linalg.norm(initial_weights()[0], axis=0) > 1.0), "constraint must bite"


def test_constraint_is_not_applied_at_initialisation():
    layer = nn.layers.Dense(5, kernel_constraint=nn.constraints.max_norm(0.1))
    layer.build((None, 50))
    assert np.all(np.linalg.norm(layer.kernel.value, axis=0) > 0.1)


def test_only_one_clipping_mode_is_allowed():
    with pytest.raises(ValueError, match="clipnorm"):
        nn.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
