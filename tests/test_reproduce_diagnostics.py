"""The reproduction report's diagnostic sections are generated from committed records: the
committed Markdown is what the generators write from those records today, and the sentences
follow the numbers (checked on synthetic records where the answer is known)."""
import os

import pytest

pytest.importorskip("scipy", reason="the diagnostics' statistics need the [experiments] extra")

from examples import batch_order_cifar, reproduce_diagnostics  # noqa: E402
from numpy_nn.experiments.store import ResultsStore  # noqa: E402


def test_committed_nadam_diagnostics_are_generated_from_the_records():
    records = list(ResultsStore(reproduce_diagnostics.RESULTS).records())
    with open(reproduce_diagnostics.REPORT, encoding="utf-8") as handle:
        assert handle.read() == reproduce_diagnostics.render(records)


def test_committed_cifar_batch_order_report_is_generated_from_the_records(tmp_path):
    if not os.path.isdir(batch_order_cifar.RECORDS):
        pytest.fail("examples/records/batch_order_cifar/ is missing: run "
                    "python -m examples.batch_order_cifar")
    written = batch_order_cifar.write_report(batch_order_cifar.load(batch_order_cifar.RECORDS),
                                             str(tmp_path / "report.md"))
    with open(batch_order_cifar.REPORT, encoding="utf-8") as handle:
        assert handle.read() == written


def synthetic_runs(numpy_offset):
    runs = {}
    for seed in (1, 2, 3):
        for framework, offset in (("numpy_nn", numpy_offset), ("keras", 0.0)):
            runs[("same", "fixed", framework, seed)] = [2.0 - 0.1 * e + offset + 0.001 * seed
                                                        for e in range(4)]
            for order, shift in (("fixed", 0.0), ("fresh", 0.05), ("own", 0.0 if framework
                                                                   == "keras" else 0.05)):
                runs[("orders", order, framework, seed)] = [2.0 - 0.1 * e + shift
                                                            for e in range(3)]
    return runs


def test_cifar_sentences_follow_the_numbers():
    text = batch_order_cifar.same_section(synthetic_runs(0.02))
    assert "+0.0200, +0.0200, +0.0200" in text and "at most 1.2% of Keras's loss" in text
    text = batch_order_cifar.orders_section(synthetic_runs(0.0))
    # Keras's own order equals its fixed order here, numpy_nn's its fresh permutations
    assert "Keras's own `fit(shuffle=True)` ends 0.0000 from its fixed-order run and 0.0500" \
        in text
    assert "numpy_nn's own `fit(shuffle=True)` ends 0.0500 from its fixed-order run and " \
        "0.0000" in text
