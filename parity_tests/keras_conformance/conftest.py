"""Collects each conformance test's outcome for the parity report's "Keras's own test cases"
row (passed / failed, with the not-applicable and not-yet-ported counts from the inventory)."""
import pytest

from parity_tests import report


def pytest_configure(config):
    config.addinivalue_line("markers", "keras_case(*ids): the Keras unit test(s) a test ports")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    result = outcome.get_result()
    marker = item.get_closest_marker("keras_case")
    if marker is None:
        return
    if result.when == "call" or (result.when == "setup" and not result.passed):
        report.record_conformance(marker.args, passed=result.passed)
