"""Keras 3's own unit-test cases, run on numpy_nn (see :mod:`.inventory`).

Each test carries ``@keras_case("<file>::<Class>::<method>", ...)`` naming the Keras test(s) in
the installed wheel (``keras/src/<file>``) whose golden values and tolerances it checks; the
test code is written here, in this project's style.
"""
import pytest


def keras_case(*case_ids):
    """Mark a test as porting the Keras test(s) ``case_ids`` (ids as in :mod:`.inventory`)."""
    return pytest.mark.keras_case(*case_ids)
