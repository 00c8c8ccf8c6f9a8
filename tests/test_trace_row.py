"""examples.trace_row: a reproduction row's first model in both engines, from Keras's initial
weights and on the diagnostic's batches, compared step by step by tf_backend.compare."""
import numpy as np
import pytest

pytest.importorskip("tensorflow")
from examples import reproduce, trace_row  # noqa: E402


def test_the_rows_models_start_from_kerass_weights_on_the_seeds_order():
    numpy_model, keras_model, x, y = trace_row.models_and_batches("leaky_relu", 43, quick=True)
    assert all(np.array_equal(a, b) for a, b in
               zip(numpy_model.get_weights(), keras_model.get_weights()))
    assert type(numpy_model.optimizer).__name__ == type(keras_model.optimizer).__name__ == "SGD"
    data = reproduce.load_data("fashion", True)
    order = np.random.default_rng(43).permutation(len(data[0][0]))
    np.testing.assert_array_equal(x, data[0][0][order])
    np.testing.assert_array_equal(y, data[0][1][order])
    assert reproduce._compiled_hook is None


def test_an_unmodified_row_shows_no_divergence_and_a_changed_slope_is_located():
    result, _ = trace_row.trace("leaky_relu", 42, steps=3, quick=True)
    assert result.passed, result.summary()
    from tf_backend import compare
    numpy_model, keras_model, x, y = trace_row.models_and_batches("leaky_relu", 42, quick=True)
    leaky = [layer for layer in numpy_model.layers if type(layer).__name__ == "LeakyReLU"]
    import numpy_nn
    leaky[1].function = numpy_nn.activations.LeakyReLU(0.31)   # Keras's layer keeps its 0.3
    first = compare(numpy_model, keras_model, x, y, steps=3).first_divergence
    assert (first.step, first.phase, first.layer, first.tensor) == \
        (0, "forward", leaky[1].name, "output")


def test_main_prints_the_verdict_and_exits_0_without_a_divergence(capsys):
    assert trace_row.main(["prelu", "--steps", "2", "--quick"]) == 0
    printed = capsys.readouterr().out
    assert "teacher-forced: no divergence in 2 steps" in printed
    assert "free-running, loss difference relative to Keras's:" in printed


@pytest.mark.parametrize("key, message", [("transfer", "8 classes"),
                                          ("nonsense", "unknown 'nonsense'")])
def test_rows_it_cannot_trace_are_refused_by_name(key, message):
    with pytest.raises(SystemExit, match=message):
        trace_row.models_and_batches(key, 42, quick=True)
