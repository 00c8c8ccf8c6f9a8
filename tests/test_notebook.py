"""The chapter notebook (examples/notebooks/chapter11.ipynb) runs end to end in quick mode.

It is executed by a real Jupyter kernel (nbclient + ipykernel) on a temporary copy, in a
temporary working folder, with ``NUMPY_NN_QUICK=1``; the committed notebook is never modified.
"""
import hashlib
import os

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs the [notebook] extra "
                                                  "(nbclient, nbformat, ipykernel)")
pytest.importorskip("nbclient", reason="the notebook test needs the [notebook] extra")
pytest.importorskip("ipykernel", reason="the notebook test needs the [notebook] extra")

from examples.notebooks import run


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_committed_notebook_has_its_outputs():
    notebook = nbformat.read(run.NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) > 100
    assert all(cell.execution_count is not None for cell in code), "some cells were never run"
    images = sum("image/png" in output.get("data", {})
                 for cell in code for output in cell.outputs)
    assert images >= 10
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert not any("keras" in cell.source.replace("Keras", "").lower()
                   for cell in code), "a code cell still uses keras"


def test_notebook_runs_in_quick_mode(tmp_path):
    before = digest(run.NOTEBOOK)
    copy = tmp_path / "chapter11.ipynb"
    with open(run.NOTEBOOK, "rb") as original:
        copy.write_bytes(original.read())
    for cell_output in ("my_model_A.h5", "images"):
        assert not (tmp_path / "work" / cell_output).exists()
    seconds = run.execute(str(copy), str(tmp_path / "executed.ipynb"), str(tmp_path / "work"),
                          quick=True, timeout=600)
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert code[0].outputs[0]["text"].strip().endswith("| quick mode")
    assert all(cell.execution_count is not None for cell in code)
    texts = "".join(output.get("text", "") for cell in code for output in cell.outputs)
    assert "Layer 900: mean" in texts and "val_accuracy" in texts
    # the files the chapter writes are in the working folder, not next to the notebook
    work = tmp_path / "work"
    assert (work / "my_model_A.h5").exists()
    assert (work / "images" / "deep" / "selu_plot.png").exists()
    assert (work / "my_cifar10_logs").is_dir()
    assert executed.metadata["numpy_nn"]["quick"] is True and seconds > 0
    assert digest(run.NOTEBOOK) == before, "the committed notebook was modified"
    assert not os.path.exists(run.NOTEBOOK + ".tmp")
