"""``numpy_nn.utils.explain_step``: it shows the step ``fit`` takes, changes nothing, and every
row's source line is a real line of the engine."""
import os

import numpy as np
import pytest

import numpy_nn as nn
from examples import worked_examples as worked

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def snapshot(model):
    optimizer = model.optimizer
    return ([w.copy() for w in model.get_weights()], optimizer.iterations,
            {v.path: {k: a.copy() for k, a in slots.items()}
             for v, slots in optimizer.slots.items()}, nn.backend.get_rng_state())


@pytest.mark.parametrize("case", ["dropout", "batch_normalization", "nadam", "l1_l2",
                                  "max_norm", "alpha_dropout", "leaky_relu"])
def test_the_model_is_unchanged_and_fit_takes_the_explained_step(case):
    model = worked.STEP_CASES[case]()
    model.fit(worked.X, worked.Y, batch_size=3, epochs=1, shuffle=False, verbose=0)  # state
    before = snapshot(model)
    explanation = nn.utils.explain_step(model, worked.X, worked.Y)
    after = snapshot(model)
    for a, b in zip(before[0], after[0]):
        np.testing.assert_array_equal(a, b)
    assert before[1] == after[1]
    assert before[2].keys() == after[2].keys()
    for path in before[2]:
        for slot in before[2][path]:
            np.testing.assert_array_equal(before[2][path][slot], after[2][path][slot])
    assert before[3] == after[3]
    history = model.fit(worked.X, worked.Y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(explanation.loss, rel=1e-6)
    for variable in model.trainable_weights:
        np.testing.assert_array_equal(explanation.find(variable.path, r"\theta", "update").value,
                                      variable.value)
    for variable in model.non_trainable_weights:       # BN's moving statistics
        symbol = {"moving_mean": r"\mu_{\text{moving}}",
                  "moving_variance": r"\sigma^2_{\text{moving}}"}[variable.name]
        np.testing.assert_array_equal(explanation.find(variable.path.split("/")[0], symbol)
                                      .value, variable.value)


def test_every_source_line_is_a_line_of_code_of_its_file():
    for case in worked.STEP_CASES:
        for quantity in nn.utils.explain_step(worked.STEP_CASES[case](), worked.X, worked.Y):
            if quantity.layer == "input":
                continue
            path, line = quantity.source.rsplit(":", 1)
            with open(os.path.join(REPO, path), encoding="utf-8") as handle:
                text = handle.read().splitlines()[int(line) - 1]
            assert text.strip() and not text.strip().startswith("#"), (case, quantity)


def test_runs_the_reference_code_and_puts_the_kernel_path_back():
    pytest.importorskip("numba", reason="the Numba kernel path needs numba")
    model = worked.STEP_CASES["elu"]()
    nn.backend.set_kernel_path("numba")
    try:
        explanation = nn.utils.explain_step(model, worked.X, worked.Y)
        assert nn.backend.kernel_path() == "numba"
    finally:
        nn.backend.set_kernel_path("numpy")
    assert explanation.find("dense", "a").source.startswith("numpy_nn/activations/")


def test_views_and_errors():
    explanation = nn.utils.explain_step(worked.STEP_CASES["adam"](), worked.X, worked.Y)
    table = explanation.to_markdown()
    lines = table.strip().splitlines()
    assert len(lines) == len(explanation) + 2
    assert all(line.count(" | ") == 5 for line in lines[2:])     # no cell broke the table
    assert "One training step, loss" in explanation._repr_markdown_()
    assert "quantities" in repr(explanation)
    with pytest.raises(KeyError, match="no quantity 'q' of 'dense'"):
        explanation.find("dense", "q")
    model = nn.Sequential([nn.layers.Input((3,)), nn.layers.Dense(2)])
    with pytest.raises(ValueError, match="explain_step: the model must be compiled"):
        nn.utils.explain_step(model, worked.X, worked.Y)


@pytest.mark.parametrize("optimizer, loss, jit, slots", [
    # Keras 2's Adam runs Keras 3's update_step (its differences are around it), so its rows
    # carry Adam's equations; Keras 2's Adagrad has its own update_step: rows name its slots
    (nn.optimizers.legacy.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", False,
     {"m", "v"}),
    (nn.optimizers.legacy.Adagrad(learning_rate=0.01), "sparse_categorical_crossentropy", False,
     {r"\text{accumulator}"}),
    (nn.optimizers.RMSprop(momentum=0.9, centered=True), "mean_squared_error", False,
     {"v", r"\bar g", "m"}),
    (nn.optimizers.AdamW(amsgrad=True), "sparse_categorical_crossentropy", "auto",
     {"m", "v", r"v_{\max}"}),
])
def test_other_optimizers_losses_and_compiled_models(optimizer, loss, jit, slots):
    """Keras 2's optimizers (rows name their slots), every slot of the Keras 3 ones, MSE, and a
    model compiled with jit_compile: the explained step is still the one fit takes."""
    nn.backend.clear_session()
    nn.utils.set_random_seed(3)
    model = nn.Sequential([nn.layers.Input((3,)), nn.layers.Dense(2, activation="tanh"),
                           nn.layers.Dense(2, activation="softmax")])
    model.compile(loss=loss, optimizer=optimizer, jit_compile=jit)
    y = worked.Y if loss != "mean_squared_error" else np.eye(2)[worked.Y]
    explanation = nn.utils.explain_step(model, worked.X, y)
    assert {q.symbol for q in explanation if q.stage == "optimizer"
            and q.layer == "dense/kernel" and q.symbol != "g"} == slots
    model.fit(worked.X, y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    for variable in model.trainable_weights:
        np.testing.assert_allclose(explanation.find(variable.path, r"\theta", "update").value,
                                   variable.value, rtol=1e-6, atol=1e-7)
