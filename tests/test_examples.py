"""Every chapter example runs to the end in ``--quick`` mode and writes its figures.

The examples are imported and their ``main([...])`` called in this process (no interpreter
start-up per script). BLAS is limited to one thread here: on a shared 2-core machine
OpenBLAS's second thread can wait for a core long enough to make a 32x3072 matmul 500 times
slower, which says nothing about the examples.
"""
import importlib
import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the examples draw their figures with matplotlib")
threadpoolctl = pytest.importorskip("threadpoolctl", reason="used to pin BLAS to one thread")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

EXPECTED_FIGURES = {
    "activation_functions": ["sigmoid_saturation_plot", "leaky_relu_plot", "elu_plot",
                             "selu_plot"],
    "initializers": ["activation_std_per_layer"],
    "leaky_relu_prelu": ["learning_curves"],
    "selu_vs_relu": ["learning_curves"],
    "batch_normalization": ["learning_curves"],
    "gradient_clipping": ["clipping", "learning_curves"],
    "transfer_learning": ["learning_curves"],
    "optimizers": ["learning_curves"],
    "lr_schedules": ["power_scheduling", "exponential_scheduling", "exponential_per_batch",
                     "piecewise_constant", "reduce_lr_on_plateau", "schedule_objects",
                     "lr_finder", "one_cycle"],
    "regularization": ["learning_curves", "mc_dropout"],
    "cifar10_exercise": ["lr_finder", "learning_curves"],
    "smooth_activations": ["activations", "gradient_health"],
}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpoolctl.threadpool_limits(1):
        yield


def run_example(name, tmp_path):
    os.environ.setdefault("MPLBACKEND", "Agg")
    module = importlib.import_module(f"examples.{name}")
    out = tmp_path / name
    result = module.main(["--quick", "--out", str(out)])
    for figure in EXPECTED_FIGURES[name]:
        path = out / f"{figure}.png"
        assert path.exists(), f"{name} did not write {figure}.png"
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 5000, f"{figure}.png looks empty"
    return result, out


@pytest.mark.parametrize("name", sorted(set(EXPECTED_FIGURES) - {"activation_functions",
                                                                 "transfer_learning",
                                                                 "cifar10_exercise",
                                                                 "lr_schedules"}))
def test_example_quick_mode_runs_and_plots(name, tmp_path):
    run_example(name, tmp_path)


def test_activation_functions_selu_stays_normalised(tmp_path, capsys):
    (mean, std), _ = run_example("activation_functions", tmp_path)
    printed = capsys.readouterr().out
    assert "Layer 0: mean -0.00, std deviation 1.00" in printed
    assert "Layer 900:" in printed
    assert abs(mean) < 0.1 and 0.8 < std < 1.2


def test_lr_schedules_history_has_learning_rate(tmp_path):
    results, _ = run_example("lr_schedules", tmp_path)
    exponential = results["Exponential scheduling"].history["learning_rate"]
    np.testing.assert_allclose(exponential, [0.01, 0.01 * 0.1 ** (1 / 20)], rtol=1e-6)
    assert "lr" not in results["Performance scheduling"].history


def test_transfer_learning_reports_both_scores(tmp_path):
    (accuracy_B, accuracy_B_on_A, ratio), out = run_example("transfer_learning", tmp_path)
    assert 0 <= accuracy_B <= 1 and 0 <= accuracy_B_on_A <= 1 and ratio > 0
    assert (out / "my_model_A.h5").exists()


def test_cifar10_exercise_keeps_checkpoints(tmp_path):
    results, out = run_example("cifar10_exercise", tmp_path)
    assert set(results) == {"ELU", "ELU + BN", "SELU", "SELU + alpha dropout",
                            "SELU + alpha dropout, MC dropout", "1cycle"}
    for run in ("elu", "bn", "selu", "alpha_dropout"):
        assert (out / f"my_cifar10_{run}_model.h5").exists()
    if importlib.util.find_spec("tensorboardX"):
        assert (out / "my_cifar10_logs" / "run_elu_001" / "train").is_dir()
