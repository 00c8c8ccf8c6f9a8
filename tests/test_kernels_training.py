"""Whole training runs on both kernel paths: same losses, deterministic bits, the switch itself.

Small models of the chapter's kinds train for three epochs on 2,000 real Fashion-MNIST
images. The two paths differ only by the few-ulp differences of the softmax / exp kernels,
so their epoch losses agree to ~1e-6 (a small, well-conditioned model does not amplify
them; a deep net trained at a high learning rate would, chaotically, which says nothing
about the kernels). Each path on its own is deterministic: the same seed gives the same
bits, because every kernel is sequential (no threads, no reassociation).

Why BatchNormalization trains with SGD here: the first BN sees pixels that are 0 in every
image, and the next BN cancels any constant shift, so the gradient of those betas is exactly
zero in exact arithmetic and only rounding noise in float32. Adam-type optimizers divide
by the gradient's own size and turn that noise into steps of size ~learning rate in an
arbitrary direction, different on each path; it shifts the moving means and so the
validation loss by ~1e-5. That is a property of the model + optimizer, not of the kernels.

The same goes for the SELU net with gradient clipping, which trains with SGD + momentum:
clipnorm scales many of its gradients into Adam's epsilon range, where Adam's step is most
sensitive to its gradient, and some of those gradients are sums that nearly cancel, whose
last bits are rounding noise. With Adam, the NumPy path alone, run with OpenBLAS's Haswell
and then its SkylakeX GEMM kernels (nothing else differs), ended epoch 3 with losses
4.3e-4 apart (seed 42; 1.2e-4 for seed 1), and so did the two kernel paths. With SGD they
agree to 5e-7 for every seed tried (7 seeds, both OpenBLAS kernels).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import backend

L = nn.layers
opt = nn.optimizers

MODELS = {
    "leaky_relu_nadam": (lambda: [
        L.Flatten(input_shape=[28, 28]), L.Dense(64, kernel_initializer="he_normal"),
        L.LeakyReLU(alpha=0.2), L.Dense(32, kernel_initializer="he_normal"), L.LeakyReLU(),
        L.Dense(10, activation="softmax")], lambda: opt.Nadam(1e-3)),
    "batch_norm_dropout_nesterov": (lambda: [
        L.Flatten(input_shape=[28, 28]), L.BatchNormalization(),
        L.Dense(64, use_bias=False, kernel_initializer="he_normal"), L.BatchNormalization(),
        L.Activation("elu"), L.Dropout(0.2), L.Dense(32, activation="relu"),
        L.BatchNormalization(), L.Dense(10, activation="softmax")],
        lambda: opt.SGD(0.01, momentum=0.9, nesterov=True)),
    "selu_alpha_dropout_momentum_clipnorm": (lambda: [
        L.Flatten(input_shape=[28, 28])] + [
        L.Dense(32, activation="selu", kernel_initializer="lecun_normal") for _ in range(5)] + [
        L.AlphaDropout(0.1), L.Dense(10, activation="softmax")],
        lambda: opt.SGD(1e-2, momentum=0.9, clipnorm=1.0)),
    "prelu_rmsprop": (lambda: [
        L.Flatten(input_shape=[28, 28]), L.Dense(48), L.PReLU(),
        L.Dense(10, activation="softmax")], lambda: opt.RMSprop(1e-3, momentum=0.5)),
}


def fit(path, name, data, epochs=3, seed=42):
    backend.set_kernel_path(path)
    (x, y), (x_valid, y_valid) = data
    nn.utils.set_random_seed(seed)
    make_layers, make_optimizer = MODELS[name]
    model = nn.models.Sequential(make_layers())
    model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer(),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, validation_data=(x_valid, y_valid), verbose=0)
    backend.set_kernel_path("numpy")
    return history.history, model.get_weights()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_both_paths_train_to_the_same_losses(name, fashion_small):
    numpy_history, _ = fit("numpy", name, fashion_small)
    numba_history, _ = fit("numba", name, fashion_small)
    assert numpy_history["loss"][-1] < numpy_history["loss"][0]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(numba_history[key], numpy_history[key], rtol=2e-6, atol=0,
                                   err_msg=key)
    np.testing.assert_allclose(numba_history["accuracy"], numpy_history["accuracy"],
                               atol=1 / 2000)


@pytest.mark.parametrize("path", ["numpy", "numba"])
def test_each_path_is_deterministic(path, fashion_small):
    name = "batch_norm_dropout_nesterov"
    first_history, first_weights = fit(path, name, fashion_small, epochs=2)
    second_history, second_weights = fit(path, name, fashion_small, epochs=2)
    assert first_history == second_history
    for a, b in zip(first_weights, second_weights):
        np.testing.assert_array_equal(a, b)


def test_switching_path_in_the_middle_of_training(fashion_small):
    """Flat buffers built on the Numba path keep working when the NumPy path takes over."""
    (x, y), _ = fashion_small
    nn.utils.set_random_seed(0)
    model = nn.models.Sequential(MODELS["leaky_relu_nadam"][0]())
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt.Adam())
    losses = []
    for path in ("numba", "numpy", "numba"):
        backend.set_kernel_path(path)
        losses += model.fit(x[:500], y[:500], epochs=1, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_the_switch_validates_its_value():
    with pytest.raises(ValueError, match="numba"):
        backend.set_kernel_path("fortran")


def _run(code, env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env, timeout=300)


TRAIN_TINY_MODEL = textwrap.dedent("""
    import numpy as np
    import numpy_nn as nn
    x = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    y = np.arange(64) % 3
    model = nn.models.Sequential([nn.layers.Dense(6, activation="selu", input_shape=(8,)),
                                  nn.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=2, verbose=0)
    print("path", nn.backend.kernel_path())
""")


def test_numpy_path_works_without_numba_and_numba_path_says_what_is_missing():
    hide_numba = "import sys; sys.modules['numba'] = None\n"
    result = _run(hide_numba + TRAIN_TINY_MODEL + textwrap.dedent("""
        assert "numba" not in sys.modules or sys.modules["numba"] is None
        try:
            nn.backend.set_kernel_path("numba")
        except ImportError as error:
            print("ImportError:", error)
        print("still", nn.backend.kernel_path())
    """), {"NUMPY_NN_KERNELS": "numpy"})
    assert result.returncode == 0, result.stderr
    assert "path numpy" in result.stdout
    assert "ImportError: numpy_nn: the 'numba' kernel path needs Numba" in result.stdout
    assert "pip install numpy_nn[numba]" in result.stdout
    assert "still numpy" in result.stdout
    result = _run(hide_numba + "import numpy_nn\n", {"NUMPY_NN_KERNELS": "numba"})
    assert result.returncode != 0
    assert "NUMPY_NN_KERNELS=numba, but Numba is not installed" in result.stderr
    assert "pip install numpy_nn[numba]" in result.stderr


def test_environment_variable_selects_the_numba_path():
    result = _run(TRAIN_TINY_MODEL + "from numpy_nn import dispatch\n"
                  "print('twins loaded', dispatch._twins_loaded)\n",
                  {"NUMPY_NN_KERNELS": "numba"})
    assert result.returncode == 0, result.stderr
    assert "path numba" in result.stdout and "twins loaded True" in result.stdout
