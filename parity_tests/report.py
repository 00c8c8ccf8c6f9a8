"""Assertions that also feed the parity report.

Every parity comparison calls :func:`check` (or :func:`check_z`): it asserts the error is within
the tolerance and remembers, per component, the worst error seen. ``make parity`` runs the suite
with ``--parity-report PATH`` and the conftest writes :func:`markdown_table` there and prints it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from parity_tests.keras_conformance import inventory


@dataclass
class _Row:
    tolerance: float
    unit: str
    worst: float = 0.0
    cases: int = 0

    @property
    def passed(self):
        return self.worst <= self.tolerance


_ROWS: dict[str, _Row] = {}
#: test id -> True when its Keras side came through tf_backend (see conftest.py), for the tests
#: outside test_bridge.py; the bridge's own tests are counted apart.
_KERAS_SIDE: dict[str, bool] = {}
_BRIDGE_TESTS: set[str] = set()
#: tests outside test_bridge.py that built no Keras object (they compare with fixed values)
_NO_KERAS: set[str] = set()


def record_keras_side(test_id, bridge_test, through_bridge, built_keras=True):
    """Note how a test obtained its Keras side (called by the conftest after each test):
    through tf_backend, with Keras's own classes (``built_keras``), or not at all."""
    if bridge_test:
        _BRIDGE_TESTS.add(test_id)
    elif built_keras or through_bridge:
        _KERAS_SIDE[test_id] = through_bridge
    else:
        _NO_KERAS.add(test_id)


_CONFORMANCE: dict = {}      # Keras case id -> passed (all tests porting it passed)


def record_conformance(case_ids, passed):
    """One conformance test's outcome, for every Keras case it ports."""
    for case_id in case_ids:
        _CONFORMANCE[case_id] = _CONFORMANCE.get(case_id, True) and bool(passed)


def conformance_row():
    """The summary row for Keras's own unit-test cases run on numpy_nn (empty before any ran)."""
    if not _CONFORMANCE:
        return None
    table = inventory.classify(inventory.ported_ids())
    passed = sum(_CONFORMANCE.values())
    failed = len(_CONFORMANCE) - passed
    return (f"| Keras's own unit-test cases ({len(inventory.SCOPE)} test files of keras/src; "
            f"see parity_tests/keras_conformance) | Keras's | {passed} passed, {failed} failed, "
            f"{len(table['not applicable'])} not applicable, {len(table['not yet ported'])} not "
            f"yet ported | {len(_CONFORMANCE)} | {'pass' if not failed else '**FAIL**'} |")


def conformance_section():
    """Markdown: per Keras test file, the cases ported (passed / failed in this run), not
    applicable and not yet ported; then every not-applicable reason with its cases."""
    if not _CONFORMANCE:
        return ""
    table = inventory.classify(inventory.ported_ids())
    lines = ["| Keras test file (keras/src/...) | ported: passed | failed | not applicable | "
             "not yet ported |", "|---|---|---|---|---|"]
    for relative in inventory.SCOPE:
        def count(ids, relative=relative):
            return sum(case_id.startswith(relative + "::") for case_id in ids)
        ran = {case_id: ok for case_id, ok in _CONFORMANCE.items()
               if case_id.startswith(relative + "::")}
        lines.append(f"| {relative} | {sum(ran.values())} | {len(ran) - sum(ran.values())} | "
                     f"{count(table['not applicable'])} | {count(table['not yet ported'])} |")
    reasons = {}
    for case_id, reason in table["not applicable"].items():
        reasons.setdefault(reason, []).append(case_id)
    lines += ["", "Not applicable, by reason:", ""]
    for reason, ids in reasons.items():
        lines.append(f"* {reason} ({len(ids)}): " + ", ".join(
            f"`{case_id.split('::', 1)[1]}`" for case_id in ids))
    return "\n".join(lines)


def tests_without_keras():
    return sorted(_NO_KERAS)


def keras_side_row():
    """The summary row counting parity tests whose Keras side Keras built itself."""
    independent = sum(not through_bridge for through_bridge in _KERAS_SIDE.values())
    total = len(_KERAS_SIDE)
    share = f"{independent} of {total} ({100 * independent / total:.0f}%)" if total else "none run"
    return (f"| Keras side built with Keras's own classes (the tests that build a Keras object; "
            f"{len(_NO_KERAS)} others build none, {len(_BRIDGE_TESTS)} test the bridge) | all | "
            f"{share} | {total} | {'pass' if independent == total else '**FAIL**'} |")


def check(component, error, tolerance, what="", unit="relative"):
    """Record ``error`` under ``component`` and assert ``error <= tolerance``.

    ``unit`` says how the error is measured: ``"relative"`` (see
    :func:`parity_tests.tolerances.relative_error`), ``"z"`` (standard errors), ``"KS"`` (a
    two-sample Kolmogorov-Smirnov distance, see :func:`parity_tests.builders.ks_statistic`) or
    ``"samples"`` (a count).
    """
    error = float(error)
    row = _ROWS.get(component)
    if row is None:
        row = _ROWS[component] = _Row(tolerance=float(tolerance), unit=unit)
    elif row.tolerance != tolerance or row.unit != unit:
        raise AssertionError(f"component {component!r} checked with two tolerances "
                             f"({row.tolerance} {row.unit} and {tolerance} {unit})")
    row.cases += 1
    if math.isnan(error):
        error = math.inf
    row.worst = max(row.worst, error)
    assert error <= tolerance, (f"{component}{': ' + what if what else ''}: error {error:.3g} "
                                f"{unit} > tolerance {tolerance:.3g}")


def check_z(component, difference, standard_error, tolerance, what=""):
    """Statistical agreement: ``|difference| / standard_error <= tolerance`` (a z-score)."""
    z = abs(float(difference)) / float(standard_error) if standard_error > 0 else (
        0.0 if difference == 0 else math.inf)
    check(component, z, tolerance, what, unit="z")


def _format(value, unit):
    if unit == "z":
        return f"{value:.2f} σ"
    if unit == "KS":
        return f"KS {value:.2f}"
    if unit == "samples":
        return f"{value:g} samples"
    if value == 0:
        return "0"
    return f"{value:.1e}"


#: Sections of the table, in reading order; a component belongs to the longest prefix it
#: starts with (so the Keras 2 rows, numpy_nn.optimizers.legacy against tf_keras, follow the
#: Keras 3 rows of the same kind).
SECTIONS = ("initial weights", "forward", "gradient:", "loss", "optimizer",
            "optimizer (Keras 2)", "schedule", "callback", "batchnorm", "dropout",
            "alpha dropout", "mc dropout", "trajectory", "trajectory (Keras 2)", "bridge")


def _section(component):
    matches = [i for i, prefix in enumerate(SECTIONS) if component.startswith(prefix)]
    return max(matches, key=lambda i: len(SECTIONS[i]), default=len(SECTIONS))


def markdown_table():
    """The report: one row per component, by section, then in the order first checked."""
    lines = ["| component | tolerance | worst error seen | cases | result |",
             "|---|---|---|---|---|"]
    order = sorted(_ROWS, key=lambda c: (_section(c), list(_ROWS).index(c)))
    for component in order:
        row = _ROWS[component]
        tolerance = _format(row.tolerance, row.unit) + (" (identical)" if row.tolerance == 0
                                                       else "")
        lines.append(f"| {component} | {tolerance} | {_format(row.worst, row.unit)} | "
                     f"{row.cases} | {'pass' if row.passed else '**FAIL**'} |")
    return "\n".join(lines)


def _group(component):
    """The family a component belongs to: its text before the first colon."""
    return component.split(":")[0]


def summary_table():
    """One row per family of components (all forward passes, all optimizers, ...): the
    tolerances used in the family and the worst error under each, the number of checks,
    pass/fail."""
    groups = {}
    for component in sorted(_ROWS, key=lambda c: (_section(c), list(_ROWS).index(c))):
        groups.setdefault(_group(component), []).append(_ROWS[component])
    lines = ["| component | tolerance | worst error seen | checks | result |",
             "|---|---|---|---|---|"]
    for name, rows in groups.items():
        # One "tolerance / worst" pair per distinct tolerance in the family, in the same order.
        by_tolerance = {}
        for row in rows:
            key = (row.tolerance, row.unit)
            by_tolerance[key] = max(by_tolerance.get(key, 0.0), row.worst)
        keys = sorted(by_tolerance)
        tolerance = " / ".join(_format(t, unit) for t, unit in keys)
        worst = " / ".join(_format(by_tolerance[key], key[1]) for key in keys)
        passed = all(row.passed for row in rows)
        lines.append(f"| {name} | {tolerance} | {worst} | {sum(row.cases for row in rows)} | "
                     f"{'pass' if passed else '**FAIL**'} |")
    lines.append(keras_side_row())
    if conformance_row() is not None:
        lines.append(conformance_row())
    return "\n".join(lines)


def has_rows():
    return bool(_ROWS)
