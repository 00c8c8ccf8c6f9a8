"""The worked examples of the technique pages: tiny cases (3 samples, 2-3 units) whose every
number is computed by the engine when the site is built.

Most cases are one training step of a tiny model written out by
:func:`numpy_nn.utils.explain_step`; a few techniques act between steps rather than inside one
(initializers, schedules, the 1cycle policy, the learning-rate finder, MC dropout), and their
tables come from the engine's functions for those. ``tests/test_worked_examples.py``
recomputes every table with NumPy code of its own.

    python -m examples.worked_examples adam        # one case's table, as Markdown
    python -m examples.worked_examples --list
"""
from __future__ import annotations

import argparse

import numpy as np

import numpy_nn as keras
from numpy_nn.explain import format_value

#: The inputs every step-case uses: 3 samples, 3 features, 2 classes.
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [0.0, 1.0, -1.0]], dtype=np.float32)
Y = np.array([0, 1, 1])
SEED = 7


def tiny_model(hidden, optimizer="sgd", head="softmax", loss="sparse_categorical_crossentropy"):
    """``hidden`` layers (after an Input of 3 features) and a 2-unit head, compiled; layer
    seeded, so the weights are the same on every build."""
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.layers.Input((3,)), *hidden,
                              keras.layers.Dense(2, activation=head)])
    model.compile(loss=loss, optimizer=optimizer)
    return model


def activation_case(name):
    def build():
        return tiny_model([keras.layers.Dense(2, activation=name)],
                          keras.optimizers.SGD(learning_rate=0.1))
    return build


def optimizer_case(optimizer_factory):
    def build():
        return tiny_model([keras.layers.Dense(2, activation="elu")], optimizer_factory())
    return build


#: page name -> a function returning a compiled tiny model (trained on X, Y for one step)
STEP_CASES = {
    "sigmoid": activation_case("sigmoid"),
    "relu": activation_case("relu"),
    "leaky_relu": lambda: tiny_model([keras.layers.Dense(2), keras.layers.PReLU()],
                                     keras.optimizers.SGD(learning_rate=0.1)),
    "elu": activation_case("elu"),
    "selu": activation_case("selu"),
    "gelu": activation_case("gelu"),
    "silu": activation_case("silu"),
    "mish": activation_case("mish"),
    "batch_normalization": lambda: tiny_model(
        [keras.layers.Dense(2, use_bias=False), keras.layers.BatchNormalization(),
         keras.layers.Activation("elu")], keras.optimizers.SGD(learning_rate=0.1)),
    "gradient_clipping": optimizer_case(
        lambda: keras.optimizers.SGD(learning_rate=0.1, clipnorm=0.05)),
    "transfer_learning": lambda: tiny_model(
        [keras.layers.Dense(2, activation="elu", trainable=False)],
        keras.optimizers.SGD(learning_rate=0.1)),
    "sgd_momentum": optimizer_case(
        lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "adagrad": optimizer_case(lambda: keras.optimizers.Adagrad(learning_rate=0.1)),
    "rmsprop": optimizer_case(lambda: keras.optimizers.RMSprop(learning_rate=0.1)),
    "adam": optimizer_case(lambda: keras.optimizers.Adam(learning_rate=0.1)),
    "adamax": optimizer_case(lambda: keras.optimizers.Adamax(learning_rate=0.1)),
    "nadam": optimizer_case(lambda: keras.optimizers.Nadam(learning_rate=0.1)),
    "l1_l2": lambda: tiny_model(
        [keras.layers.Dense(2, activation="elu",
                            kernel_regularizer=keras.regularizers.l1_l2(0.01, 0.1))],
        keras.optimizers.SGD(learning_rate=0.1)),
    "dropout": lambda: tiny_model(
        [keras.layers.Dense(3, activation="elu"), keras.layers.Dropout(0.5)],
        keras.optimizers.SGD(learning_rate=0.1)),
    "alpha_dropout": lambda: tiny_model(
        [keras.layers.Dense(3, activation="selu", kernel_initializer="lecun_normal"),
         keras.layers.AlphaDropout(0.5)], keras.optimizers.SGD(learning_rate=0.1)),
    "max_norm": lambda: tiny_model(
        [keras.layers.Dense(2, activation="elu",
                            kernel_constraint=keras.constraints.max_norm(0.5))],
        keras.optimizers.SGD(learning_rate=1.0)),
}


def _fresh(build):
    """Layer names start afresh (``dense``, ``dense_1``, ...) before the layers are made."""
    def fresh():
        keras.backend.clear_session()
        return build()
    return fresh


STEP_CASES = {name: _fresh(build) for name, build in STEP_CASES.items()}


def explanation(name):
    """The :class:`~numpy_nn.explain.StepExplanation` of a step case."""
    return keras.utils.explain_step(STEP_CASES[name](), X, Y)


# ------------------------------------------------------------------- between-step cases
def initializers_table():
    """Each initializer on a 3 x 2 kernel (fan_in 3, fan_out 2): its scale, its variance and
    the drawn values (seed 7)."""
    rows = []
    for name in ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunNormal"):
        initializer = getattr(keras.initializers, name)(seed=SEED)
        values = initializer((3, 2))
        rows.append((name, initializer.scale, initializer.mode, initializer.distribution,
                     values))
    return rows


def schedule_table(steps=6):
    """The learning rate at steps 0..steps-1 of the chapter's schedules (tiny step counts)."""
    schedules = keras.optimizers.schedules
    return {
        "ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)":
            schedules.ExponentialDecay(0.1, 2, 0.5),
        "InverseTimeDecay(0.1, decay_steps=2, decay_rate=1.0)":
            schedules.InverseTimeDecay(0.1, 2, 1.0),
        "PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01])":
            schedules.PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01]),
    }, list(range(steps))


def one_cycle_table(iterations=10):
    """The 1cycle policy's learning rate at every batch of a 10-batch run."""
    callback = keras.callbacks.OneCycleScheduler(iterations, max_rate=0.1)
    return callback, [(i, callback.rate_at(i)) for i in range(iterations)]


def lr_finder_table():
    """The finder's rates for a 6-batch sweep from 1e-4 to 1 (one epoch of 6 batches)."""
    model = tiny_model([keras.layers.Dense(2, activation="elu")])
    x = np.repeat(X, 12, axis=0)
    y = np.repeat(Y, 12)
    rates, losses = keras.utils.find_learning_rate(model, x, y, epochs=1, batch_size=6,
                                                   min_rate=1e-4, max_rate=1.0)
    return rates, losses


def mc_dropout_table(samples=4):
    """``mc_predict`` of a tiny dropout model: each sample's class-1 probability and the mean."""
    model = tiny_model([keras.layers.Dense(3, activation="elu"), keras.layers.Dropout(0.5)])
    keras.utils.set_random_seed(SEED)
    draws = np.stack([model(X, training=True) for _ in range(samples)])
    keras.utils.set_random_seed(SEED)
    mean, std = keras.utils.mc_predict(model, X, n_samples=samples)
    return draws, mean, std


# ----------------------------------------------------------------------------- rendering
def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(name):
    """The Markdown of case ``name``."""
    if name in STEP_CASES:
        model = STEP_CASES[name]()
        intro = (f"One training step of `{_describe(model)}` on the 3 samples "
                 f"x = {format_value(X)}, labels y = {format_value(Y)}, computed by "
                 f"`numpy_nn.utils.explain_step` when this page was built:\n\n")
        return intro + keras.utils.explain_step(model, X, Y).to_markdown()
    return RENDERERS[name]()


def _describe(model):
    layers = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items()
                  if k in ("units", "activation", "rate", "trainable", "kernel_constraint",
                           "kernel_regularizer") and v not in (None, True)}
        arguments = ", ".join(f"{k}={v!r}" for k, v in config.items())
        layers.append(f"{type(layer).__name__}({arguments})")
    optimizer = model.optimizer.get_config()
    settings = {k: v for k, v in optimizer.items() if v not in (None, False, 0, 0.0)
                and k in ("learning_rate", "momentum", "nesterov", "clipnorm")}
    return (" → ".join(layers) + f", {type(model.optimizer).__name__}("
            + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v!r}"
                        for k, v in settings.items()) + ")")


def _render_initializers():
    rows = [(f"`{name}`", scale, mode, distribution, format_value(values))
            for name, scale, mode, distribution, values in initializers_table()]
    return ("Each initializer's draw for a 3 x 2 kernel (fan_in = 3, fan_out = 2, seed 7); the "
            "variance it aims at is scale / fan (the page's equation (1)):\n\n"
            + _table(("initializer", "scale", "mode", "distribution", "W"), rows))


def _render_schedules():
    schedules, steps = schedule_table()
    rows = [(f"`{name}`", *(f"{float(s(step)):.6g}" for step in steps))
            for name, s in schedules.items()]
    return _table(("schedule", *(f"step {step}" for step in steps)), rows)


def _render_one_cycle():
    callback, rows = one_cycle_table()
    return (f"`OneCycleScheduler(10, max_rate=0.1)`: start rate {callback.start_rate:.6g}, "
            f"half-way batch {callback.half_iteration}, last rate {callback.last_rate:.6g}:\n\n"
            + _table(("batch", "learning rate"), [(i, f"{rate:.6g}") for i, rate in rows]))


def _render_lr_finder():
    rates, losses = lr_finder_table()
    rows = [(i, f"{rate:.6g}", f"{loss:.6g}") for i, (rate, loss) in enumerate(zip(rates, losses))]
    return ("`find_learning_rate(model, X, y, epochs=1, batch_size=6, min_rate=1e-4, "
            "max_rate=1.0)` on the 3 samples repeated 12 times (6 batches): each batch's rate is "
            "the previous one times (max_rate / min_rate)^(1/6):\n\n"
            + _table(("batch", "learning rate", "loss"), rows))


def _render_mc_dropout():
    draws, mean, std = mc_dropout_table()
    rows = [(f"sample {i + 1}", format_value(draw[:, 1])) for i, draw in enumerate(draws)]
    rows.append(("`mc_predict` mean", format_value(mean[:, 1])))
    rows.append(("`mc_predict` standard deviation", format_value(std[:, 1])))
    return ("The class-1 probability of the 3 inputs with dropout on, 4 times, and their mean "
            "(`mc_predict(model, X, n_samples=4)` from the same seed):\n\n"
            + _table(("", "p(class 1) for x₁, x₂, x₃"), rows))


RENDERERS = {
    "initializers": _render_initializers,
    "schedules": _render_schedules,
    "one_cycle": _render_one_cycle,
    "lr_finder": _render_lr_finder,
    "mc_dropout": _render_mc_dropout,
}
CASES = sorted([*STEP_CASES, *RENDERERS])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", choices=CASES)
    parser.add_argument("--list", action="store_true", help="list the cases")
    args = parser.parse_args(argv)
    if args.list or args.case is None:
        print("\n".join(CASES))
        return
    print(render(args.case))


if __name__ == "__main__":
    main()
