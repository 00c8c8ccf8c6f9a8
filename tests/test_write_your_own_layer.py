"""examples/write_your_own_layer.py (the docs page "Write your own layer" includes its output):
the checker passes the correct custom layers and catches the wrong one, both layers train, and
the ScaledTanh network follows its Keras twin within the parity suite's trajectory tolerances."""
import pytest

from parity_tests.tolerances import TRAJECTORY_FLOAT32_LOSS, TRAJECTORY_FLOAT32_WEIGHTS


def test_write_your_own_layer_example(tmp_path):
    pytest.importorskip("keras", reason="the comparison runs the Keras twin ([tf] extra)")
    from threadpoolctl import threadpool_limits

    from examples import write_your_own_layer
    with threadpool_limits(1, user_api="blas"):
        checks, histories, comparison = write_your_own_layer.main(["--quick", "--out",
                                                                   str(tmp_path)])
    assert checks["ScaledTanh"].passed and checks["MCDropout(0.3)"].passed
    wrong = checks["ScaledTanh, wrong backward"]
    assert not wrong.passed and wrong.worst_relative_error > 0.1
    for history in histories.values():
        assert history["loss"][-1] < history["loss"][0]
        assert history["val_accuracy"][-1] > 0.5
    loss_error, weight_error = comparison
    assert loss_error <= TRAJECTORY_FLOAT32_LOSS
    assert weight_error <= TRAJECTORY_FLOAT32_WEIGHTS
    text = (tmp_path / "output.txt").read_text(encoding="utf-8")
    assert "WRONG" in text and "worst relative difference" in text
