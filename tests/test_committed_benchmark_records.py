"""Every committed benchmark report is its generator's output on the committed record beside
it: a figure edited by hand, a sentence added to a report, or a generator changed without
rewriting its report fails here (the README's summaries: tests/test_front_page.py)."""
import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def _load(name):
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def _blas_state():
    from benchmarks import blas_state
    return blas_state.markdown(_load("blas_state.json"))


def _drift():
    from benchmarks import jit_drift
    return jit_drift.table(_load("jit_compile/drift.json"))


def _steps():
    from benchmarks import jit_compile_table
    lines = jit_compile_table.steps_table(_load("benchmarks.json"))
    lines += jit_compile_table.versus_table(_load("jit_compile/versus_fused_trainer.json"))
    return "\n".join(lines) + "\n"


def _benchmarks():
    from benchmarks import report
    return report.markdown(_load("benchmarks.json"))


def _identical_work(name):
    def generate():
        from benchmarks import identical_work
        return identical_work.markdown(_load(f"{name}.json"), name)
    return generate


IDENTICAL_WORK = sorted(path.stem for path in RESULTS.glob("identical_work*.json"))


@pytest.mark.parametrize("report, generate", [
    ("blas_state.md", _blas_state), ("jit_compile/drift.md", _drift),
    ("jit_compile/steps.md", _steps), ("benchmarks.md", _benchmarks)]
    + [(f"{name}.md", _identical_work(name)) for name in IDENTICAL_WORK])
def test_the_committed_report_is_its_generators_output(report, generate):
    committed = (RESULTS / report).read_text(encoding="utf-8")
    assert committed == generate(), f"benchmarks/results/{report} is not its generator's output"
