"""Every technique page's displayed equations, transcribed into NumPy and checked against the
engine; and every page's table of defaults checked against the engine's signatures.

Each ``test_<page>`` below is written from the equations that ``docs/techniques/<page>.md``
displays (its ``$$ ... $$`` blocks, numbered with ``\\tag``), in the page's notation, and shares
no code with ``numpy_nn``: it only feeds the engine inputs and reads its outputs. Everything runs
in float64 on random inputs, over several steps where the technique has steps, so the
comparisons can be tight.

A page whose equations change must change its transcription: ``TRANSCRIBED`` holds a digest of
the equations each transcription was written from, and ``test_equations_unchanged`` fails, and
prints the new equations, until the transcription and the digest are updated together.

Numbers a page quotes (worked values such as Nadam's tenth step) are recomputed here by the
engine and looked up in the page's text, so the page cannot drift from the code either.
"""
import ast
import hashlib
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn.variables import Variable

pytestmark = pytest.mark.usefixtures("float64")

PAGES = Path(__file__).resolve().parents[1] / "docs" / "techniques"
TIGHT = dict(rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- reading pages
def page_text(name):
    return (PAGES / f"{name}.md").read_text(encoding="utf-8")


def stated_part(name):
    """The page without its "Derivation" and "Worked example" sections: the derivation's steps
    lead to equations stated above it (checked here), the worked example is the engine's own
    output (checked in ``tests/test_worked_examples.py``)."""
    return re.sub(r"^## (Derivation|Worked example)\n.*?(?=^## |\Z)", "", page_text(name),
                  flags=re.S | re.M)


def displayed_equations(name):
    """The page's stated ``$$ ... $$`` blocks, whitespace-normalised, in order."""
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", stated_part(name), flags=re.S | re.M)
    return [" ".join(block.split()) for block in blocks]


def equations_digest(name):
    return hashlib.sha256("\n".join(displayed_equations(name)).encode()).hexdigest()[:16]


def defaults_table(name):
    """Rows ``(object path, argument, default literal)`` of the page's "## Defaults" table."""
    match = re.search(r"^## Defaults\n(.*?)(?=^## |\Z)", page_text(name), flags=re.S | re.M)
    if match is None:
        return []
    rows = []
    for line in match.group(1).splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("nn."):
            rows.append(tuple(cells))
    return rows


def quoted(name, text):
    """Assert that ``text`` appears in the page (a number the page quotes)."""
    assert text in page_text(name), f"docs/techniques/{name}.md should quote {text!r}"


#: page -> digest of the displayed equations its transcription below was written from
TRANSCRIBED = {
    "adagrad": "309914f8884c84aa",
    "adam": "f0966ae9ef169780",
    "adamax": "f376ca72cadbf15b",
    "alpha_dropout": "e1da499b1f3690f5",
    "batch_normalization": "e8d1f395de789fe4",
    "dropout": "91f712efb90277a4",
    "elu": "b5b4baf226772ccb",
    "gelu": "6d6b1f82107326f1",
    "gradient_clipping": "28c0ebf5e1c419d1",
    "initializers": "c8a6d99375514d17",
    "l1_l2": "22d0e7f4976cf9cc",
    "leaky_relu": "534aab4b1ba40eab",
    "lr_finder": "f9f8212b9e4b89e2",
    "max_norm": "c6338e24886ae195",
    "mc_dropout": "cdb89ef5fbe44df7",
    "mish": "f7b33eea85a03c0f",
    "nadam": "15ca82a7a01ff905",
    "one_cycle": "d9d90e70d5f5513c",
    "relu": "424e62e5aff70582",
    "rmsprop": "c9feb4c970b5d473",
    "schedules": "b19255597267ec0e",
    "selu": "349f78a7cff631d2",
    "sgd_momentum": "0ee95d1dda3a4594",
    "sigmoid": "25ee21a8b3ce94ec",
    "silu": "ceb753bb61020f18",
    "transfer_learning": "c05e4a9d119d1d49",
}


def technique_pages():
    return sorted(p.stem for p in PAGES.glob("*.md") if p.stem != "index")


def test_every_technique_page_has_a_transcription():
    assert sorted(TRANSCRIBED) == technique_pages()


@pytest.mark.parametrize("name", technique_pages())
def test_equations_unchanged(name):
    assert displayed_equations(name), f"docs/techniques/{name}.md displays no equation"
    actual = equations_digest(name)
    shown = "\n".join(displayed_equations(name))
    assert TRANSCRIBED.get(name) == actual, (
        f"docs/techniques/{name}.md's equations are not the ones test_{name} transcribes. "
        f"Update test_{name} to these equations, then TRANSCRIBED[{name!r}] to {actual!r}:\n"
        f"{shown}")


@pytest.mark.parametrize("name", technique_pages())
def test_defaults_stated_on_the_page_are_the_engines(name):
    for path, argument, literal in defaults_table(name):
        target = nn
        for part in path.split(".")[1:]:
            target = getattr(target, part)
        expected = ast.literal_eval(literal)
        if argument == "()":
            actual = target()
        else:
            parameter = inspect.signature(target).parameters.get(argument)
            assert parameter is not None, f"{name}.md: {path} has no argument {argument}"
            actual = parameter.default
        assert actual == expected and type(actual) is type(expected), (
            f"{name}.md says {path}({argument}) defaults to {literal}; the engine has {actual!r}")


def test_the_defaults_tables_are_read():
    """The parser above finds the tables (a renamed heading must not silently skip them)."""
    assert len(defaults_table("batch_normalization")) >= 4
    assert sum(len(defaults_table(name)) for name in technique_pages()) >= 50


# --------------------------------------------------------------------------- helpers
def rng(seed=0):
    return np.random.default_rng(seed)


def run_optimizer(optimizer, weights, gradients):
    """Apply ``gradients[k]`` (a list per variable) for k = 0, 1, ...; return the weights after
    every step."""
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
    history = []
    for grads in gradients:
        optimizer.apply([g.copy() for g in grads], variables)
        history.append([v.value.copy() for v in variables])
    return history


def random_problem(seed=0, steps=6, shapes=((3, 2), (4,)), scale=1.0):
    r = rng(seed)
    weights = [r.normal(size=s) for s in shapes]
    gradients = [[r.normal(scale=scale, size=s) for s in shapes] for _ in range(steps)]
    return weights, gradients


def assert_trajectories(expected, actual, **tolerance):
    tolerance = tolerance or TIGHT
    for step, (e, a) in enumerate(zip(expected, actual)):
        for i, (ew, aw) in enumerate(zip(e, a)):
            np.testing.assert_allclose(aw, ew, err_msg=f"step {step}, variable {i}", **tolerance)


# --------------------------------------------------------------------------- optimizers
def test_sgd_momentum():
    weights, gradients = random_problem()
    eta, beta = 0.05, 0.9
    for nesterov in (False, True):
        theta = [w.copy() for w in weights]
        m = [np.zeros_like(w) for w in weights]
        expected = []
        for grads in gradients:
            for i, g in enumerate(grads):
                m[i] = beta * m[i] - eta * g                                 # (1)
                theta[i] = theta[i] + (beta * m[i] - eta * g if nesterov else m[i])
            expected.append([t.copy() for t in theta])
        engine = nn.optimizers.SGD(learning_rate=eta, momentum=beta, nesterov=nesterov)
        assert_trajectories(expected, run_optimizer(engine, weights, gradients))


def test_adagrad():
    weights, gradients = random_problem()
    eta, eps, s0 = 0.01, 1e-7, 0.1
    theta = [w.copy() for w in weights]
    s = [np.full_like(w, s0) for w in weights]
    expected = []
    for grads in gradients:
        for i, g in enumerate(grads):
            s[i] = s[i] + g * g                                              # (1)
            theta[i] = theta[i] - eta * g / np.sqrt(s[i] + eps)
        expected.append([t.copy() for t in theta])
    assert_trajectories(expected, run_optimizer(nn.optimizers.Adagrad(eta), weights, gradients))

    # The page's one-step example, g = 0.01, eta = 1e-3: equation (1) and the s0 = 0 form.
    step = run_optimizer(nn.optimizers.Adagrad(1e-3), [np.zeros(1)], [[np.full(1, 0.01)]])
    quoted("adagrad", f"-{-step[0][0][0] * 1e5:.4f} \\times 10^{{-5}}")
    other_form = -1e-3 * 0.01 / (math.sqrt(0.01 ** 2) + eps)
    quoted("adagrad", f"-{-other_form * 1e3:.1f} \\times 10^{{-3}}")


def test_rmsprop():
    weights, gradients = random_problem()
    eta, rho, eps = 0.01, 0.9, 1e-7
    for centered in (False, True):
        for mu in (0.0, 0.8):
            theta = [w.copy() for w in weights]
            s = [np.zeros_like(w) for w in weights]
            g_bar = [np.zeros_like(w) for w in weights]
            v = [np.zeros_like(w) for w in weights]
            expected = []
            for grads in gradients:
                for i, g in enumerate(grads):
                    s[i] = rho * s[i] + (1 - rho) * g * g                    # (1)
                    if centered:
                        g_bar[i] = rho * g_bar[i] + (1 - rho) * g            # (2)
                        delta = eta * g / np.sqrt(s[i] - g_bar[i] * g_bar[i] + eps)
                    else:
                        delta = eta * g / np.sqrt(s[i] + eps)                # (1)
                    if mu > 0:
                        v[i] = mu * v[i] + delta                             # (3)
                        theta[i] = theta[i] - v[i]
                    else:
                        theta[i] = theta[i] - delta
                expected.append([t.copy() for t in theta])
            engine = nn.optimizers.RMSprop(eta, rho=rho, momentum=mu, centered=centered)
            assert_trajectories(expected, run_optimizer(engine, weights, gradients))


def adam_textbook(weights, gradients, eta, beta_1, beta_2, eps):
    """Equations (1) and (2) of the Adam page."""
    theta = [w.copy() for w in weights]
    m = [np.zeros_like(w) for w in weights]
    s = [np.zeros_like(w) for w in weights]
    expected = []
    for t, grads in enumerate(gradients, start=1):
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            s[i] = beta_2 * s[i] + (1 - beta_2) * g * g
            m_hat, s_hat = m[i] / (1 - beta_1 ** t), s[i] / (1 - beta_2 ** t)
            epsilon = eps(t) if callable(eps) else eps
            theta[i] = theta[i] - eta * m_hat / (np.sqrt(s_hat) + epsilon)
        expected.append([x.copy() for x in theta])
    return expected


def test_adam():
    weights, gradients = random_problem()
    eta, beta_1, beta_2, eps_hat = 0.01, 0.9, 0.999, 1e-7
    engine = run_optimizer(nn.optimizers.Adam(eta, beta_1, beta_2, eps_hat), weights, gradients)
    # (3): alpha_t m / (sqrt(s) + eps_hat)
    theta = [w.copy() for w in weights]
    m = [np.zeros_like(w) for w in weights]
    s = [np.zeros_like(w) for w in weights]
    expected = []
    for t, grads in enumerate(gradients, start=1):
        alpha = eta * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g                          # (1)
            s[i] = beta_2 * s[i] + (1 - beta_2) * g * g
            theta[i] = theta[i] - alpha * m[i] / (np.sqrt(s[i]) + eps_hat)   # (3)
        expected.append([x.copy() for x in theta])
    assert_trajectories(expected, engine)
    # (2) is (3) when epsilon = eps_hat / sqrt(1 - beta_2^t), as the page derives.
    textbook = adam_textbook(weights, gradients, eta, beta_1, beta_2,
                             lambda t: eps_hat / math.sqrt(1 - beta_2 ** t))
    assert_trajectories(textbook, engine, rtol=1e-11, atol=1e-14)

    # The page's tiny-gradient example: g = 1e-6, eta = 1e-3, epsilon = 1e-7.
    one = run_optimizer(nn.optimizers.Adam(1e-3), [np.zeros(1)], [[np.full(1, 1e-6)]])
    by_code = -one[0][0][0]
    by_textbook = -adam_textbook([np.zeros(1)], [[np.full(1, 1e-6)]], 1e-3, 0.9, 0.999,
                                 1e-7)[0][0][0]
    quoted("adam", f"${by_textbook * 1e4:.2f} \\times 10^{{-4}}$ by equation (2)")
    quoted("adam", f"${by_code * 1e4:.2f} \\times 10^{{-4}}$ by equation (3)")
    quoted("adam", f"{by_textbook / by_code:.2f}× less")
    quoted("adam", f"({1 / math.sqrt(1 - 0.999):.1f}× at $t = 1$)")


def test_adamw_decays_before_the_update():
    weights, gradients = random_problem(steps=3)
    eta, decay = 0.01, 0.004
    plain = nn.optimizers.Adam(eta)
    theta = [w.copy() for w in weights]
    variables = [Variable(w) for w in theta]
    for grads in gradients:
        for v in variables:
            v.value[...] = v.value - eta * decay * v.value      # theta <- theta - eta lambda theta
        plain.apply([g.copy() for g in grads], variables)
    engine = run_optimizer(nn.optimizers.AdamW(eta), weights, gradients)
    for v, w in zip(variables, engine[-1]):
        np.testing.assert_allclose(w, v.value, **TIGHT)


def test_adamax():
    weights, gradients = random_problem()
    eta, beta_1, beta_2, eps = 0.01, 0.9, 0.999, 1e-7
    theta = [w.copy() for w in weights]
    m = [np.zeros_like(w) for w in weights]
    u = [np.zeros_like(w) for w in weights]
    expected = []
    for t, grads in enumerate(gradients, start=1):
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            u[i] = np.maximum(beta_2 * u[i], np.abs(g))
            theta[i] = theta[i] - eta / (1 - beta_1 ** t) * m[i] / (u[i] + eps)
        expected.append([x.copy() for x in theta])
    engine = nn.optimizers.Adamax(eta, beta_1, beta_2, eps)
    assert_trajectories(expected, run_optimizer(engine, weights, gradients))


def nadam_transcription(weights, gradients, eta, beta_1, beta_2, eps, schedule_decay=1.0):
    """Equations (1)-(3) of the Nadam page; ``schedule_decay=0.004`` is its equation (4)."""
    def mu(t):
        return beta_1 * (1 - 0.5 * 0.96 ** (schedule_decay * t))            # (1) / (4)

    theta = [w.copy() for w in weights]
    m = [np.zeros_like(w) for w in weights]
    s = [np.zeros_like(w) for w in weights]
    product = 1.0                                                            # Pi_0
    expected = []
    for t, grads in enumerate(gradients, start=1):
        product *= mu(t)                                                     # Pi_t
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g                          # (2)
            s[i] = beta_2 * s[i] + (1 - beta_2) * g * g
            m_hat = (mu(t + 1) * m[i] / (1 - product * mu(t + 1))            # (3)
                     + (1 - mu(t)) * g / (1 - product))
            s_hat = s[i] / (1 - beta_2 ** t)
            theta[i] = theta[i] - eta * m_hat / (np.sqrt(s_hat) + eps)
        expected.append([x.copy() for x in theta])
    return expected


def test_nadam():
    weights, gradients = random_problem(steps=8)
    eta, beta_1, beta_2, eps = 0.01, 0.9, 0.999, 1e-7
    expected = nadam_transcription(weights, gradients, eta, beta_1, beta_2, eps)
    engine = nn.optimizers.Nadam(eta, beta_1, beta_2, eps)
    assert_trajectories(expected, run_optimizer(engine, weights, gradients))

    # The page's numbers: mu_100 by (1) and (4), and ten steps of g = 0.5 from 0.
    quoted("nadam", f"$\\mu_{{100}} = {beta_1 * (1 - 0.5 * 0.96 ** 100):.4f}$ by equation (1)")
    quoted("nadam", f"and ${beta_1 * (1 - 0.5 * 0.96 ** (0.004 * 100)):.4f}$ by equation (4)")
    tens = [[np.full(1, 0.5)] for _ in range(10)]
    by_engine = run_optimizer(nn.optimizers.Nadam(1e-3), [np.zeros(1)], tens)[-1][0][0]
    by_keras_2 = nadam_transcription([np.zeros(1)], tens, 1e-3, 0.9, 0.999, 1e-7,
                                     schedule_decay=0.004)[-1][0][0]
    legacy = run_optimizer(nn.optimizers.legacy.Nadam(1e-3), [np.zeros(1)], tens)[-1][0][0]
    # Keras 2 (and so legacy.Nadam) keeps beta_1 and beta_2 in float32 even for float64
    # variables, which moves the tenth step by about 1e-7 relative.
    np.testing.assert_allclose(legacy, by_keras_2, rtol=1e-6)
    quoted("nadam", f"$\\theta = {by_engine:.7f}$ by equations (1)–(3)")
    quoted("nadam", f"at ${by_keras_2:.7f}$ with")


def test_gradient_clipping():
    weights, gradients = random_problem(steps=5, scale=3.0)
    eta, c = 0.1, 1.5
    for mode in ("clipvalue", "clipnorm", "global_clipnorm"):
        theta = [w.copy() for w in weights]
        expected = []
        for grads in gradients:
            if mode == "clipvalue":
                clipped = [np.minimum(np.maximum(g, -c), c) for g in grads]           # (1)
            elif mode == "clipnorm":
                clipped = [g * c / max(np.sqrt(np.sum(g * g)), c) for g in grads]     # (1)
            else:
                norm = math.sqrt(sum(np.sum(g * g) for g in grads))                   # (2)
                clipped = [g * c / max(norm, c) for g in grads]
            theta = [t - eta * g for t, g in zip(theta, clipped)]
            expected.append([t.copy() for t in theta])
        engine = nn.optimizers.SGD(eta, **{mode: c})
        assert_trajectories(expected, run_optimizer(engine, weights, gradients))
    with pytest.raises(ValueError, match="only one of"):
        nn.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_clipping_comes_after_the_penalty_and_before_the_constraint():
    """The page's order: penalty gradient -> clipping -> update -> constraint."""
    r = rng(3)
    x, y = r.normal(size=(4, 3)), r.normal(size=(4, 2))
    l2, c, eta, max_value = 0.5, 0.3, 0.2, 0.9
    model = nn.models.Sequential([nn.layers.Input((3,)), nn.layers.Dense(
        2, use_bias=False, kernel_regularizer=nn.regularizers.L2(l2),
        kernel_constraint=nn.constraints.MaxNorm(max_value))])
    model.compile(optimizer=nn.optimizers.SGD(eta, clipnorm=c), loss="mse")
    w = model.layers[-1].kernel.value.copy()
    model.train_on_batch(x, y)
    grad = 2 * x.T @ (x @ w - y) / y.size + 2 * l2 * w           # loss + penalty gradient
    grad = grad * c / max(np.sqrt(np.sum(grad * grad)), c)       # clipnorm
    w = w - eta * grad                                           # update
    norms = np.sqrt(np.sum(w * w, axis=0, keepdims=True))
    w = w * np.minimum(norms, max_value) / (1e-7 + norms)        # max-norm
    np.testing.assert_allclose(model.layers[-1].kernel.value, w, **TIGHT)


# --------------------------------------------------------------------------- schedules
def test_schedules_objects():
    eta_0, s, r = 0.1, 7, 0.3
    for staircase in (False, True):
        exponential = nn.optimizers.schedules.ExponentialDecay(eta_0, s, r, staircase=staircase)
        inverse = nn.optimizers.schedules.InverseTimeDecay(eta_0, s, r, staircase=staircase)
        for t in range(0, 40, 3):
            p = math.floor(t / s) if staircase else t / s
            np.testing.assert_allclose(exponential(t), eta_0 * r ** p, **TIGHT)         # (1)
            np.testing.assert_allclose(inverse(t), eta_0 / (1 + r * p), **TIGHT)        # (1)
    boundaries, values = [5, 15], [0.01, 0.005, 0.001]
    piecewise = nn.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)

    def by_equation_2(t):
        edges = [-math.inf, *boundaries, math.inf]
        return next(values[k] for k in range(len(values)) if edges[k] < t <= edges[k + 1])

    def by_equation_4(e):
        edges = [-math.inf, *boundaries, math.inf]
        return next(values[k] for k in range(len(values)) if edges[k] <= e < edges[k + 1])

    for t in range(25):
        assert float(piecewise(t)) == by_equation_2(t)
    quoted("schedules", f"at $t = 5$ equation (2) gives ${by_equation_2(5)}$ and equation (4) "
                        f"${by_equation_4(5)}$")
    quoted("schedules", f"$t = 15$, ${by_equation_2(15)}$ and ${by_equation_4(15)}$")

    # (3) with c = 1 is InverseTimeDecay with r = 1.
    for t in range(0, 30, 4):
        np.testing.assert_allclose(nn.optimizers.schedules.InverseTimeDecay(eta_0, s, 1.0)(t),
                                   eta_0 / (1 + t / s) ** 1, **TIGHT)


def test_the_first_update_uses_the_schedule_at_step_0():
    schedule = nn.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    steps = run_optimizer(nn.optimizers.SGD(schedule), [np.zeros(1)],
                          [[np.ones(1)] for _ in range(3)])
    # theta_k = -sum_{t < k} eta(t) * 1, with eta(t) = 0.1 * 0.5^t
    np.testing.assert_allclose([s[0][0] for s in steps], [-0.1, -0.15, -0.175], **TIGHT)


def test_book_epoch_functions_through_learning_rate_scheduler():
    """(4): the book's exponential function, given to LearningRateScheduler, sets eta(e) at the
    start of epoch e."""
    eta_0, s = 0.01, 2
    seen = []

    class Record(nn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    model = nn.models.Sequential([nn.layers.Input((2,)), nn.layers.Dense(1)])
    model.compile(optimizer=nn.optimizers.SGD(0.5), loss="mse")
    scheduler = nn.callbacks.LearningRateScheduler(lambda e: eta_0 * 0.1 ** (e / s))
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=4, verbose=0,
              callbacks=[scheduler, Record()])
    np.testing.assert_allclose(seen, [eta_0 * 0.1 ** (e / s) for e in range(4)], **TIGHT)


def test_reduce_lr_on_plateau():
    """(5), with patience, min_delta, cooldown and min_lr, against the engine's callback."""
    model = nn.models.Sequential([nn.layers.Input((2,)), nn.layers.Dense(1)])
    model.compile(optimizer=nn.optimizers.SGD(1.0), loss="mse")
    factor, patience, min_delta, cooldown, min_lr = 0.5, 2, 0.01, 1, 0.1
    callback = nn.callbacks.ReduceLROnPlateau(factor=factor, patience=patience,
                                              min_delta=min_delta, cooldown=cooldown,
                                              min_lr=min_lr)
    callback.set_model(model)
    callback.on_train_begin()
    losses = [1.0, 0.995, 0.99, 0.98, 0.97, 0.975, 0.97, 0.96, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    eta, best, wait, cooling = 1.0, math.inf, 0, 0
    for epoch, value in enumerate(losses):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if cooling > 0:
            cooling -= 1
            wait = 0
        if value < best - min_delta:
            best, wait = value, 0
        elif cooling == 0:
            wait += 1
            if wait >= patience and eta > min_lr:
                eta = max(eta * factor, min_lr)                              # (5)
                cooling, wait = cooldown, 0
        assert float(model.optimizer.learning_rate) == pytest.approx(eta, rel=1e-12), epoch


def test_one_cycle():
    for T, eta_max in ((100, 0.05), (37, 0.3), (1000, 1.0)):
        callback = nn.callbacks.OneCycleScheduler(T, eta_max)
        eta_0 = eta_max / 10                                                 # (2)
        T_last = T // 10 + 1
        eta_last = eta_0 / 1000
        h = (T - T_last) // 2
        for t in range(T + 5):
            if t < h:                                                        # (1)
                expected = eta_0 + (eta_max - eta_0) * t / h
            elif t < 2 * h:
                expected = eta_max + (eta_0 - eta_max) * (t - h) / h
            else:
                expected = max(eta_0 + (eta_last - eta_0) * (t - 2 * h) / (T - 2 * h), eta_last)
            assert callback.rate_at(t) == pytest.approx(expected, rel=1e-12, abs=1e-15), (T, t)


def test_lr_finder():
    r = rng(5)
    x, y = r.normal(size=(64, 3)), r.normal(size=(64, 1))
    model = nn.models.Sequential([nn.layers.Input((3,)), nn.layers.Dense(1)])
    model.compile(optimizer=nn.optimizers.SGD(1e-3), loss="mse")
    eta_min, eta_max, batch_size = 1e-4, 1e-1, 8
    rates, _ = nn.utils.find_learning_rate(model, x, y, epochs=2, batch_size=batch_size,
                                           min_rate=eta_min, max_rate=eta_max)
    K = len(x) // batch_size * 2
    f = math.exp(math.log(eta_max / eta_min) / K)
    np.testing.assert_allclose(rates, [eta_min * f ** k for k in range(K)], rtol=1e-10)


# --------------------------------------------------------------------------- activations
Z = np.concatenate([np.linspace(-4, 4, 41), [0.0, -1e-9, 1e-9]])


def activation_pair(function):
    """The engine's value and derivative (through its backward pass, upstream gradient 1)."""
    y = function.forward(Z)
    return y, function.backward(Z, y, np.ones_like(Z))


def test_sigmoid():
    y, dy = activation_pair(nn.activations.get("sigmoid"))
    sigma = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(y, sigma, **TIGHT)
    np.testing.assert_allclose(dy, sigma * (1 - sigma), **TIGHT)
    assert dy.max() <= 0.25


def test_relu():
    y, dy = activation_pair(nn.activations.get("relu"))
    np.testing.assert_array_equal(y, np.maximum(0, Z))
    np.testing.assert_array_equal(dy, (Z > 0).astype(float))


def test_leaky_relu():
    for alpha in (0.2, 0.01, 0.3):
        y, dy = activation_pair(nn.activations.LeakyReLU(alpha))
        np.testing.assert_array_equal(y, np.where(Z > 0, Z, alpha * Z))                 # (1)
        np.testing.assert_array_equal(y, np.maximum(alpha * Z, Z))
        np.testing.assert_array_equal(dy, np.where(Z > 0, 1.0, alpha))
    assert nn.layers.LeakyReLU().negative_slope == 0.3
    assert nn.activations.get("leaky_relu").negative_slope == 0.2


def test_prelu():
    r = rng(2)
    z = np.concatenate([r.normal(size=(5, 3)), np.zeros((1, 3))])
    layer = nn.layers.PReLU()
    y = layer(z, training=True)
    np.testing.assert_array_equal(y, np.maximum(z, 0))        # alpha starts at 0: a ReLU
    alpha = r.normal(size=3)
    layer.alpha.assign(alpha)
    g = r.normal(size=z.shape)
    y = layer(z, training=True)
    np.testing.assert_allclose(y, np.maximum(0, z) - alpha * np.maximum(0, -z), **TIGHT)
    dz = layer.backward(g)
    np.testing.assert_allclose(dz, np.where(z > 0, g, np.where(z == 0, 0.0, alpha * g)),  # (2)
                               **TIGHT)
    np.testing.assert_allclose(layer.alpha.grad, (g * np.minimum(z, 0)).sum(axis=0), **TIGHT)


def test_elu():
    for alpha in (1.0, 0.5, 2.0):
        y, dy = activation_pair(nn.activations.ELU(alpha))
        elu = np.where(Z > 0, Z, alpha * (np.exp(Z) - 1))
        np.testing.assert_allclose(y, elu, **TIGHT)
        np.testing.assert_allclose(dy, np.where(Z > 0, 1.0, elu + alpha), **TIGHT)


def test_selu():
    alpha, lam = nn.activations.SELU_ALPHA, nn.activations.SELU_SCALE
    quoted("selu", f"\\alpha \\approx {alpha:.4f}")
    quoted("selu", f"\\lambda \\approx {lam:.4f}")
    y, dy = activation_pair(nn.activations.get("selu"))
    np.testing.assert_allclose(y, lam * np.where(Z > 0, Z, alpha * (np.exp(Z) - 1)), **TIGHT)
    np.testing.assert_allclose(dy, np.where(Z >= 0, lam, lam * alpha * np.exp(Z)), **TIGHT)


def test_gelu():
    y, dy = activation_pair(nn.activations.get("gelu"))
    cdf = np.array([0.5 * math.erfc(-z / math.sqrt(2)) for z in Z])                   # (1)
    density = np.exp(-Z ** 2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(y, Z * cdf, **TIGHT)
    np.testing.assert_allclose(dy, cdf + Z * density, **TIGHT)
    y, dy = activation_pair(nn.activations.GELU(approximate=True))
    u = math.sqrt(2 / math.pi) * (Z + 0.044715 * Z ** 3)                                # (2)
    np.testing.assert_allclose(y, 0.5 * Z * (1 + np.tanh(u)), **TIGHT)
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * Z ** 2)
    np.testing.assert_allclose(dy, 0.5 * (1 + np.tanh(u)) + 0.5 * Z * (1 - np.tanh(u) ** 2) * du,
                               **TIGHT)


def test_silu():
    y, dy = activation_pair(nn.activations.get("silu"))
    sigma = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(y, Z / (1 + np.exp(-Z)), **TIGHT)                       # (1)
    np.testing.assert_allclose(dy, sigma * (1 + Z * (1 - sigma)), **TIGHT)
    assert nn.activations.get("swish") is nn.activations.get("silu")


def test_mish():
    y, dy = activation_pair(nn.activations.get("mish"))
    gate = np.tanh(np.log(1 + np.exp(Z)))                                              # (1)
    np.testing.assert_allclose(y, Z * gate, **TIGHT)
    sigma = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(dy, gate + Z * sigma * (1 - gate ** 2), **TIGHT)       # (2)


def test_numbers_the_derivations_quote():
    """Numbers stated in the pages' derivations, recomputed (the derivations' own algebra is
    what tests/test_activations.py, test_worked_examples.py and the transcriptions check)."""
    alpha, lam = nn.activations.selu_constants()
    quoted("selu", f"$\\alpha = {alpha:.7f}$")
    quoted("selu", f"$\\lambda = {lam:.7f}$")
    from scipy.optimize import brentq  # the minima, found independently of the pages
    silu = nn.activations.get("silu")
    z = brentq(lambda v: float(silu.backward(np.array(v), silu(np.array(v)), np.array(1.0))),
               -3, -0.5)
    quoted("silu", f"z^\\ast = {z:.5f}$")
    quoted("silu", f"\\text{{SiLU}}(z^\\ast) = {float(silu(np.array(z))):.5f}$")
    assert float(silu(np.array(z))) == pytest.approx(z + 1, abs=1e-9)
    quoted("silu", f"minimum of ${z + 1:.3f}$ at $z \\approx {z:.3f}$")
    mish = nn.activations.get("mish")
    z = brentq(lambda v: float(mish.backward(np.array(v), mish(np.array(v)), np.array(1.0))),
               -3, -0.3)
    quoted("mish", f"minimum ${float(mish(np.array(z))):.3f}$ at $z \\approx {z:.3f}$")
    quoted("gelu", "z = -0.75179$ and $\\text{GELU}(z) = -0.16997$")
    gelu_tail = float(nn.activations.gelu(np.array(-10.0)))
    quoted("gelu", f"{gelu_tail / 10 ** math.floor(math.log10(-gelu_tail)):.1f} \\times "
                   f"10^{{{math.floor(math.log10(-gelu_tail))}}}")
    quoted("gelu", f"c = \\frac{{2}}{{3\\pi}} - \\frac16 = {2 / (3 * math.pi) - 1 / 6:.4f}")
    quoted("initializers", f"{nn.initializers.TRUNCATED_NORMAL_STD:.5f}")
    g = np.array([0.9, 100.0])
    clipped = nn.optimizers.SGD(clipnorm=1.0).clip_gradients([g])[0]
    quoted("gradient_clipping", f"({clipped[0]:.4f}, {clipped[1]:.5f})")
    rate, (weights,) = 1e-3, [np.zeros(1)]
    final = run_optimizer(nn.optimizers.Adagrad(learning_rate=rate), [weights],
                          [[np.array([0.01])]])
    quoted("adagrad", f"{final[0][0][0] / 1e-5:.4f} \\times 10^{{-5}}")
    p = 0.5
    _, a, b = nn.layers.AlphaDropout(p).affine_constants
    quoted("alpha_dropout", f"{a:.4f}$ and $b = -a\\,\\alpha' p = {b:.4f}$")
    optimizer = nn.optimizers.Nadam()
    quoted("nadam", f"{float(optimizer.momentum_schedule(1, np.float64)):.3f}")
    quoted("nadam", f"{float(optimizer.momentum_schedule(2, np.float64)):.5f}")
    quoted("lr_finder", f"(10^4)^{{1/6}} = {10 ** (4 / 6):.4f}")
    quoted("one_cycle", f"in steps of ${(0.1 - 0.01) / 4:.4f}$")
    quoted("mish", "\\tfrac35$ at $z = 0$")
    assert float(nn.activations.mish.backward(np.array(0.0), np.array(0.0), np.array(1.0))) \
        == pytest.approx(3 / 5)


# --------------------------------------------------------------------------- layers
def test_batch_normalization():
    r = rng(4)
    N, features = 4, 3
    x, g = r.normal(size=(N, features)) * 2 + 1, r.normal(size=(N, features))
    layer = nn.layers.BatchNormalization()
    layer(x, training=False)                                    # build
    gamma, beta = r.normal(size=features), r.normal(size=features)
    m, v = r.normal(size=features), r.uniform(0.5, 2, size=features)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    layer.moving_mean.assign(m)
    layer.moving_variance.assign(v)
    p, eps = 0.99, 1e-3

    y = layer(x, training=True)
    mu = x.sum(axis=0) / N                                                   # (1)
    var = ((x - mu) ** 2).sum(axis=0) / N
    x_hat = (x - mu) / np.sqrt(var + eps)
    np.testing.assert_allclose(y, gamma * x_hat + beta, **TIGHT)
    dx = layer.backward(g)
    expected_dx = gamma / (N * np.sqrt(var + eps)) * (                       # (2)
        N * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(layer.gamma.grad, (g * x_hat).sum(axis=0), **TIGHT)
    np.testing.assert_allclose(layer.beta.grad, g.sum(axis=0), **TIGHT)
    m, v = p * m + (1 - p) * mu, p * v + (1 - p) * var                       # (3)
    np.testing.assert_allclose(layer.moving_mean.value, m, **TIGHT)
    np.testing.assert_allclose(layer.moving_variance.value, v, **TIGHT)

    y = layer(x, training=False)                                             # (4)
    np.testing.assert_allclose(y, gamma * (x - m) / np.sqrt(v + eps) + beta, **TIGHT)
    np.testing.assert_allclose(layer.backward(g), gamma * g / np.sqrt(v + eps), **TIGHT)
    np.testing.assert_allclose(layer.moving_mean.value, m, **TIGHT)         # not updated


def test_a_frozen_batch_normalization_runs_in_inference_mode_inside_fit():
    r = rng(6)
    x, y = r.normal(size=(8, 3)), r.normal(size=(8, 3))
    bn = nn.layers.BatchNormalization()
    model = nn.models.Sequential([nn.layers.Input((3,)), bn])
    bn.moving_mean.assign(r.normal(size=3))
    bn.moving_variance.assign(r.uniform(0.5, 2, size=3))
    bn.trainable = False
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in bn.get_weights()]
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for b, a in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)                   # no update of any of the four
    gamma, beta, m, v = before
    expected = gamma * (x - m) / np.sqrt(v + 1e-3) + beta     # (4), not (1)
    np.testing.assert_allclose(history.history["loss"][0], np.mean((expected - y) ** 2),
                               rtol=1e-12)


def test_center_and_scale_off():
    x = rng(8).normal(size=(5, 2))
    layer = nn.layers.BatchNormalization(center=False, scale=False)
    y = layer(x, training=True)
    mu, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mu) / np.sqrt(var + 1e-3), **TIGHT)
    assert layer.gamma is None and layer.beta is None


def dropout_mask_and_output(layer_type, rate, x, seed=0):
    nn.utils.set_random_seed(seed)
    layer = layer_type(rate)
    y = layer(x, training=True)
    return layer, y


def test_dropout():
    r = rng(9)
    x, g = r.uniform(0.5, 1.5, size=(200, 50)), r.normal(size=(200, 50))
    p = 0.3
    layer, y = dropout_mask_and_output(nn.layers.Dropout, p, x)
    m = (y != 0).astype(float)                                # x > 0 everywhere: y = 0 iff dropped
    np.testing.assert_allclose(y, m * x / (1 - p), **TIGHT)
    np.testing.assert_allclose(layer.backward(g), m * g / (1 - p), **TIGHT)
    assert abs(m.mean() - (1 - p)) < 0.02                     # m_i ~ Bernoulli(1 - p)
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_alpha_dropout():
    r = rng(10)
    x, g = r.normal(size=(300, 40)), r.normal(size=(300, 40))
    p = 0.2
    alpha_prime = -nn.activations.SELU_SCALE * nn.activations.SELU_ALPHA
    a = ((1 - p) * (1 + p * alpha_prime ** 2)) ** -0.5
    b = -a * alpha_prime * p
    layer, y = dropout_mask_and_output(nn.layers.AlphaDropout, p, x)
    dropped_value = a * alpha_prime + b
    m = (~np.isclose(y, dropped_value, rtol=0, atol=1e-12)).astype(float)
    np.testing.assert_allclose(y, a * (m * x + alpha_prime * (1 - m)) + b, **TIGHT)
    np.testing.assert_allclose(layer.backward(g), a * m * g, **TIGHT)
    assert abs(m.mean() - (1 - p)) < 0.02


def test_mc_dropout():
    r = rng(11)
    x = r.normal(size=(6, 4))
    model = nn.models.Sequential([nn.layers.Input((4,)), nn.layers.Dense(5, activation="relu"),
                           nn.layers.Dropout(0.4), nn.layers.Dense(3, activation="softmax")])
    S = 30
    nn.utils.set_random_seed(7)
    mean, std = nn.utils.mc_predict(model, x, n_samples=S)
    nn.utils.set_random_seed(7)
    samples = np.stack([model(x, training=True) for _ in range(S)])      # f(x; m_s)
    p_hat = samples.sum(axis=0) / S
    sigma = np.sqrt(((samples - p_hat) ** 2).sum(axis=0) / S)
    np.testing.assert_allclose(mean, p_hat, **TIGHT)
    np.testing.assert_allclose(std, sigma, rtol=1e-10, atol=1e-14)


def test_transfer_learning():
    r = rng(12)
    x, y = r.normal(size=(6, 3)), r.normal(size=(6, 2))
    lower, frozen = nn.layers.Dense(4), nn.layers.Dense(2)
    model = nn.models.Sequential([nn.layers.Input((3,)), lower, frozen])
    frozen.trainable = False
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    W = frozen.kernel.value.copy()
    lower_before = lower.kernel.value.copy()
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(frozen.kernel.value, W)                    # W <- W
    assert not np.array_equal(lower.kernel.value, lower_before)
    # dL/dx = delta W^T through the frozen layer
    h = frozen(r.normal(size=(6, 4)), training=True)
    delta = r.normal(size=h.shape)
    np.testing.assert_allclose(frozen.backward(delta), delta @ W.T, **TIGHT)


# --------------------------------------------------------------------------- weights
def test_initializers():
    shape = (300, 200)
    fan_in, fan_out = shape
    fan_avg = (fan_in + fan_out) / 2
    cases = {"GlorotNormal": 1 / fan_avg, "GlorotUniform": 1 / fan_avg,
             "HeNormal": 2 / fan_in, "HeUniform": 2 / fan_in,
             "LecunNormal": 1 / fan_in, "LecunUniform": 1 / fan_in}
    for name, variance in cases.items():
        initializer = getattr(nn.initializers, name)(seed=3)
        assert initializer.variance(shape) == pytest.approx(variance, rel=1e-15)
        w = initializer(shape)
        # 60,000 draws: the sample variance is within 2% of sigma^2 (its standard error is
        # about 0.6% for a uniform or truncated normal)
        assert np.var(w) == pytest.approx(variance, rel=0.02), name
        if name.endswith("Uniform"):
            r_limit = math.sqrt(3 * variance)
            assert np.abs(w).max() <= r_limit
            assert np.abs(w).max() > 0.99 * r_limit
        else:
            draw_std = math.sqrt(variance) / 0.8796
            assert np.abs(w).max() <= 2 * draw_std * (1 + 1e-4)
            assert np.abs(w).max() > 1.95 * draw_std
    for mode, n in (("fan_in", fan_in), ("fan_out", fan_out), ("fan_avg", fan_avg)):
        scaling = nn.initializers.VarianceScaling(scale=3.0, mode=mode)
        assert scaling.variance(shape) == pytest.approx(3.0 / n, rel=1e-15)


def test_l1_l2():
    w = rng(13).normal(size=(4, 3))
    w[0, 0] = 0.0
    l1, l2 = 0.03, 0.2
    regularizer = nn.regularizers.L1L2(l1=l1, l2=l2)
    np.testing.assert_allclose(regularizer(w), l1 * np.abs(w).sum() + l2 * (w ** 2).sum(),
                               **TIGHT)
    np.testing.assert_allclose(regularizer.gradient(w), l1 * np.sign(w) + 2 * l2 * w, **TIGHT)


def test_max_norm():
    w = rng(14).normal(size=(5, 4)) * np.array([0.1, 1.0, 3.0, 0.0])
    r = 1.2
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    expected = w * np.minimum(norms, r) / (1e-7 + norms)                     # (1)
    np.testing.assert_allclose(nn.constraints.MaxNorm(r)(w), expected, **TIGHT)
