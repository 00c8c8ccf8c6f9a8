"""The benchmarks' data: real images when the loaders find them, otherwise the same random
stand-in for every engine of a run (speed does not depend on the pixel values)."""
import numpy as np

from benchmarks import models, report
from numpy_nn.datasets import fashion_mnist
from numpy_nn.datasets._files import DatasetNotFoundError


def test_synthetic_stand_in_has_the_training_set_shapes_and_is_seeded(monkeypatch):
    monkeypatch.setenv(models.SYNTHETIC_ENV, "fashion_mnist,cifar10")
    x, y = models.load_dataset("fashion_mnist", samples=100)
    assert (x.shape, x.dtype, y.shape) == ((100, 28, 28), np.float32, (100,))
    assert 0 <= x.min() and x.max() <= 1 and set(np.unique(y)) <= set(range(10))
    again, _ = models.load_dataset("fashion_mnist", samples=100)
    np.testing.assert_array_equal(x, again)
    x, y = models.load_dataset("cifar10", samples=10)
    assert (x.shape, y.shape) == ((10, 32, 32, 3), (10,))
    standardized, _ = models.load_dataset("fashion_mnist_standardized", samples=2000)
    assert abs(standardized.mean()) < 0.05 and abs(standardized.std() - 1) < 0.05


def test_missing_datasets_names_what_the_loaders_cannot_find(monkeypatch):
    def not_here():
        raise DatasetNotFoundError("not here")
    monkeypatch.setattr(fashion_mnist, "load_data", not_here)
    monkeypatch.setattr("numpy_nn.datasets.cifar10.load_data", lambda: None)
    assert models.missing_datasets(["fashion_mnist", "cifar10"]) == ["fashion_mnist"]


def test_the_report_says_when_the_images_were_random():
    assert report.synthetic_data_line({"synthetic_data": []}) == []
    line = report.synthetic_data_line({"synthetic_data": ["cifar10"]})[-1]
    assert "cifar10 not found" in line and "random images" in line


def test_cell_figures_keep_the_fit_set_up_out_of_the_step_time():
    from benchmarks.harness import summarize
    steps = {"numpy": [2e-3, 2e-3, 3e-3], "numba": [1e-3, 1e-3, 1e-3],
             "keras": [4e-3, 4e-3, 4e-3], "floor": [0.5e-3, 0.5e-3, 0.5e-3]}
    setups = {"numpy": [1e-4] * 3, "numba": [1e-4] * 3, "keras": [30e-3] * 3}
    cell = summarize("leaky_relu_mlp", 32, 32 * 100, 100, steps, setups,
                     {"numpy": {"parameters": 1}})
    assert cell["ratios"]["keras_over_numba"] == 4.0
    assert cell["samples_per_second"]["numba"] == 32 / 1e-3
    assert cell["fit_setup_ms"]["keras"] == 30.0
    epoch_steps = -(-55_000 // 32)
    assert abs(cell["epoch_seconds"]["keras"] - (4e-3 * epoch_steps + 30e-3)) < 1e-12
    assert abs(cell["epoch_seconds"]["floor"] - 0.5e-3 * epoch_steps) < 1e-12
    assert "set-up per fit() call" in report.training_table([{**cell, "threads": 1}])[0]
