"""Every worked example of the technique pages (``examples/worked_examples.py``, shown by the
``[[worked NAME]]`` directive) recomputed by NumPy code written here, in float64, from the
case's starting weights and its equations — not by calling the engine's layers, losses or
optimizers. Only the dropout masks are read from the explanation (random draws cannot be
recomputed; the rest of the step is checked given them).
"""
import math

import numpy as np
import pytest

import numpy_nn as nn
from examples import worked_examples as worked

RTOL, ATOL = 2e-5, 2e-6            # the engine computes in float32; these sums are short

SELU_ALPHA, SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805


def phi(z):
    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def big_phi(z):
    return np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))(z)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softplus(z):
    return np.log1p(np.exp(z))


#: name -> (f, f') as functions of the pre-activation
ACTIVATIONS = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
    "elu": (lambda z: np.where(z > 0, z, np.exp(z) - 1), lambda z: np.where(z > 0, 1, np.exp(z))),
    "selu": (lambda z: SELU_LAMBDA * np.where(z > 0, z, SELU_ALPHA * (np.exp(z) - 1)),
             lambda z: SELU_LAMBDA * np.where(z > 0, 1, SELU_ALPHA * np.exp(z))),
    "gelu": (lambda z: z * big_phi(z), lambda z: big_phi(z) + z * phi(z)),
    "silu": (lambda z: z * sigmoid(z), lambda z: sigmoid(z) + z * sigmoid(z) * (1 - sigmoid(z))),
    "mish": (lambda z: z * np.tanh(softplus(z)),
             lambda z: np.tanh(softplus(z))
             + z * sigmoid(z) * (1 - np.tanh(softplus(z)) ** 2)),
}


def close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=RTOL, atol=ATOL,
                               err_msg=what)


# ---------------------------------------------------------------------- the step by hand
def forward(model, explanation, x):
    """Each layer's cache for the backward pass, and the output logits."""
    caches = []
    for layer in model.layers:
        kind, name = type(layer).__name__, layer.name
        weights = [w.astype(np.float64) for w in layer.get_weights()]
        if kind == "Dense":
            w, b = weights[0], (weights[1] if layer.use_bias else 0.0)
            x_in = x
            z = x @ w + b
            close(explanation.find(name, "z").value, z, f"{name} z")
            act = layer.activation.name
            if act != "softmax":
                x = ACTIVATIONS[act][0](z)
                if act != "linear":
                    close(explanation.find(name, "a").value, x, f"{name} a")
            else:
                x = z
            caches.append((layer, "Dense", dict(x=x_in, z=z, w=w)))
        elif kind == "BatchNormalization":
            gamma, beta, moving_mean, moving_var = weights
            mu, var = x.mean(axis=0), x.var(axis=0)
            x_hat = (x - mu) / np.sqrt(var + layer.epsilon)
            y = gamma * x_hat + beta
            close(explanation.find(name, r"\mu").value, mu, "BN mu")
            close(explanation.find(name, r"\sigma^2").value, var, "BN variance")
            close(explanation.find(name, r"\hat x").value, x_hat, "BN x_hat")
            close(explanation.find(name, r"\mu_{\text{moving}}").value,
                  0.99 * moving_mean + 0.01 * mu, "BN moving mean")
            close(explanation.find(name, r"\sigma^2_{\text{moving}}").value,
                  0.99 * moving_var + 0.01 * var, "BN moving variance")
            caches.append((layer, kind, dict(x_hat=x_hat, var=var, gamma=gamma)))
            x = y
        elif kind == "Dropout":
            mask = explanation.find(name, "m").value.astype(np.float64)
            x = mask * x / (1 - layer.rate)
            caches.append((layer, kind, dict(mask=mask)))
        elif kind == "AlphaDropout":
            mask = explanation.find(name, "m").value.astype(np.float64)
            p, alpha_p = layer.rate, -SELU_LAMBDA * SELU_ALPHA
            a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
            x = a * (mask * x + alpha_p * (1 - mask)) - a * alpha_p * p
            caches.append((layer, kind, dict(mask=mask, a=a)))
        elif kind == "PReLU":
            alpha = weights[0]
            caches.append((layer, kind, dict(x=x, alpha=alpha)))
            x = np.where(x > 0, x, alpha * x)
        elif kind == "Activation":
            caches.append((layer, kind, dict(x=x)))
            x = ACTIVATIONS[layer.activation.name][0](x)
        if kind in ("BatchNormalization", "Dropout", "AlphaDropout", "PReLU", "Activation"):
            close(explanation.find(name, "y" if kind != "Activation" else "a").value, x,
                  f"{name} output")
    return caches, x


def backward(caches, delta, explanation):
    """Top-down; returns {variable path: gradient} for trainable weights."""
    grads = {}
    grad = None
    lowest = next(i for i, (layer, _, _) in enumerate(caches) if layer.trainable_weights)
    for index in range(len(caches) - 1, lowest - 1, -1):     # frozen layers below: no pass
        layer, kind, c = caches[index]
        name = layer.name
        if kind == "Dense":
            if grad is not None:
                delta = grad * ACTIVATIONS[layer.activation.name][1](c["z"])
                if layer.activation.name != "linear":
                    close(explanation.find(name, r"\delta").value, delta, f"{name} delta")
            if layer.trainable:
                grads[f"{name}/kernel"] = c["x"].T @ delta
                close(explanation.find(name, r"\partial L/\partial W").value,
                      grads[f"{name}/kernel"], f"{name} dW")
                if layer.use_bias:
                    grads[f"{name}/bias"] = delta.sum(axis=0)
            grad = delta @ c["w"].T
        elif kind == "BatchNormalization":
            x_hat, n = c["x_hat"], len(c["x_hat"])
            grads[f"{name}/gamma"] = (grad * x_hat).sum(axis=0)
            grads[f"{name}/beta"] = grad.sum(axis=0)
            grad = c["gamma"] / (n * np.sqrt(c["var"] + layer.epsilon)) * (
                n * grad - grad.sum(axis=0) - x_hat * (grad * x_hat).sum(axis=0))
        elif kind == "Dropout":
            grad = c["mask"] * grad / (1 - layer.rate)
        elif kind == "AlphaDropout":
            grad = c["a"] * c["mask"] * grad
        elif kind == "PReLU":
            grads[f"{name}/alpha"] = (grad * np.minimum(c["x"], 0)).sum(axis=0)
            grad = np.where(c["x"] > 0, grad, c["alpha"] * grad)
        elif kind == "Activation":
            grad = grad * ACTIVATIONS[layer.activation.name][1](c["x"])
        if any(q.layer == name and q.symbol == r"\partial L/\partial x" for q in explanation):
            close(explanation.find(name, r"\partial L/\partial x").value, grad, f"{name} dx")
    return grads


def optimizer_step(optimizer, theta, g):
    """One first step (t = 1, zero state) of ``optimizer`` on one variable: (state, new theta)."""
    config, kind = optimizer.get_config(), type(optimizer).__name__
    eta, eps = config["learning_rate"], config.get("epsilon", 1e-7)
    if config.get("clipnorm"):
        g = g * config["clipnorm"] / max(np.linalg.norm(g), config["clipnorm"])
    if kind == "SGD":
        mu = config["momentum"]
        if not mu:
            return {}, theta - eta * g
        m = -eta * g
        step = mu * m - eta * g if config["nesterov"] else m
        return {"m": m}, theta + step
    if kind == "Adagrad":
        a = config["initial_accumulator_value"] + g * g
        return {"a": a}, theta - eta * g / np.sqrt(a + eps)
    if kind == "RMSprop":
        v = (1 - config["rho"]) * g * g
        return {"v": v}, theta - eta * g / np.sqrt(v + eps)
    b1, b2 = config["beta_1"], config["beta_2"]
    m, v = (1 - b1) * g, (1 - b2) * g * g
    if kind == "Adam":
        alpha = eta * math.sqrt(1 - b2) / (1 - b1)             # the folded step size at t = 1
        return {"m": m, "v": v}, theta - alpha * m / (np.sqrt(v) + eps)
    if kind == "Adamax":
        u = np.abs(g)
        return {"m": m, "u": u}, theta - eta * m / ((1 - b1) * (u + eps))
    if kind == "Nadam":
        mu_1, mu_2 = b1 * (1 - 0.5 * 0.96), b1 * (1 - 0.5 * 0.96 ** 2)
        m_hat = mu_2 * m / (1 - mu_1 * mu_2) + (1 - mu_1) * g / (1 - mu_1)
        return {"m": m, "v": v}, theta - eta * m_hat / (np.sqrt(v / (1 - b2)) + eps)
    raise AssertionError(f"no hand-written step for {kind}")


@pytest.mark.parametrize("case", sorted(worked.STEP_CASES))
def test_step_case_recomputed_by_hand(case):
    model = worked.STEP_CASES[case]()
    explanation = nn.utils.explain_step(model, worked.X, worked.Y)
    x = worked.X.astype(np.float64)
    caches, logits = forward(model, explanation, x)
    n = len(x)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(2)[worked.Y]
    loss = -np.log(p[np.arange(n), worked.Y]).mean()
    delta = (p - onehot) / n
    close(explanation.find("loss", r"\partial L/\partial z").value, delta, "dL/dz")
    grads = backward(caches, delta, explanation)
    penalty = 0.0
    for variable in model.trainable_weights:
        regularizer = variable.regularizer
        if regularizer is not None:
            w = variable.value.astype(np.float64)
            penalty += regularizer.l1 * np.abs(w).sum() + regularizer.l2 * (w * w).sum()
            grads[variable.path] = grads[variable.path] + regularizer.l1 * np.sign(w) \
                + 2 * regularizer.l2 * w
    close(explanation.loss, loss + penalty, "loss with penalties")
    assert set(grads) == {v.path for v in model.trainable_weights}
    for variable in model.trainable_weights:
        state, theta = optimizer_step(model.optimizer, variable.value.astype(np.float64),
                                      grads[variable.path])
        constraint = variable.constraint
        if constraint is not None:                     # max-norm: columns scaled back
            norms = np.sqrt((theta * theta).sum(axis=0, keepdims=True))
            theta = theta * np.minimum(norms, constraint.max_value) / (1e-7 + norms)
        for symbol, value in state.items():
            close(explanation.find(variable.path, symbol, "optimizer").value, value,
                  f"{variable.path} {symbol}")
        close(explanation.find(variable.path, r"\theta", "update").value, theta,
              f"{variable.path} new value")
    for variable in model.non_trainable_weights:     # frozen: no row updates them
        assert not any(q.layer == variable.path and q.stage == "update" for q in explanation)


# ------------------------------------------------------------------- between-step cases
def test_initializers_table_by_hand():
    fans = {"fan_in": 3, "fan_out": 2, "fan_avg": 2.5}
    expected = {"GlorotUniform": (1.0, "fan_avg", "uniform"),
                "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
                "HeUniform": (2.0, "fan_in", "uniform"),
                "HeNormal": (2.0, "fan_in", "truncated_normal"),
                "LecunNormal": (1.0, "fan_in", "truncated_normal")}
    for name, scale, mode, distribution, values in worked.initializers_table():
        assert (scale, mode, distribution) == expected[name]
        variance = scale / fans[mode]
        if distribution == "uniform":       # U(-r, r) has variance r^2 / 3
            assert np.all(np.abs(values) <= math.sqrt(3 * variance))
        else:                               # N(0, s^2) cut at 2s, s = sqrt(var) / 0.8796...
            assert np.all(np.abs(values) <= 2 * math.sqrt(variance) / 0.87962566103423978)
        assert values.shape == (3, 2) and len(np.unique(values)) == 6


def test_schedules_table_by_hand():
    schedules, steps = worked.schedule_table()
    by_hand = {
        "ExponentialDecay": lambda t: 0.1 * 0.5 ** (t / 2),
        "InverseTimeDecay": lambda t: 0.1 / (1 + 1.0 * t / 2),
        "PiecewiseConstantDecay": lambda t: 0.1 if t <= 2 else (0.05 if t <= 4 else 0.01),
    }
    for title, schedule in schedules.items():
        rule = by_hand[title.split("(")[0]]
        for step in steps:
            assert float(schedule(step)) == pytest.approx(rule(step), rel=1e-6), (title, step)


def test_one_cycle_table_by_hand():
    callback, rows = worked.one_cycle_table()
    # 10 batches: the last 10 // 10 + 1 = 2 anneal; half = (10 - 2) // 2 = 4
    by_hand = [0.01 + (0.1 - 0.01) * i / 4 for i in range(5)] + \
              [0.1 - (0.1 - 0.01) * (i - 4) / 4 for i in range(5, 9)] + \
              [0.01 + (1e-5 - 0.01) * (9 - 8) / 2]
    np.testing.assert_allclose([rate for _, rate in rows], by_hand, rtol=1e-12)


def test_lr_finder_table_by_hand():
    rates, losses = worked.lr_finder_table()
    # the rate lives in the optimizer's float32 variable, as in Keras: 1 float32 rounding
    np.testing.assert_allclose(rates, [1e-4 * 1e4 ** (k / 6) for k in range(6)], rtol=1.2e-7)
    assert len(losses) == 6 and np.all(np.isfinite(losses))


def test_mc_dropout_table_by_hand():
    draws, mean, std = worked.mc_dropout_table()
    np.testing.assert_allclose(mean, draws.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, draws.std(axis=0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(draws[0], draws[1])              # dropout was on


def test_every_case_renders_a_table():
    for case in worked.CASES:
        text = worked.render(case)
        assert text.count("\n|") >= 3, case
