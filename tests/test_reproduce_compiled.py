"""Every network of the 24 reproduction experiments trains with compile(jit_compile=True)
through fit, with validation data and the experiment's own callbacks (EarlyStopping with
best weights, LearningRateScheduler, ReduceLROnPlateau, 1cycle, the epoch timer), on small
random data of the experiments' shapes: none falls back or is refused."""
import numpy as np
import pytest

import numpy_nn
from examples import reproduce


def _data(kind, rng):
    shape = (32, 32, 3) if kind.startswith("cifar") else (28, 28)
    return tuple((rng.standard_normal((n, *shape), dtype=np.float32),
                  rng.integers(0, 10, n).astype(np.uint8)) for n in (256, 64, 64))


@pytest.mark.parametrize("experiment", reproduce.EXPERIMENTS, ids=lambda e: e.key)
def test_the_experiment_trains_compiled(experiment, monkeypatch):
    compiled = []
    original = reproduce.compile_model

    def recording(kx, model, optimizer, loss="sparse_categorical_crossentropy"):
        model = original(kx, model, optimizer, loss)
        compiled.append(model)
        return model
    monkeypatch.setattr(reproduce, "compile_model", recording)
    monkeypatch.setattr(reproduce, "_jit_compile", True)
    numpy_nn.backend.clear_session()
    numpy_nn.utils.set_random_seed(0)
    result = experiment.run(numpy_nn, _data(experiment.data, np.random.default_rng(0)), 1)
    assert compiled, "the experiment compiled no model"
    assert [model.jit_compile for model in compiled] == [True] * len(compiled)
    assert np.isfinite(result.value) and result.epochs_run >= 1
