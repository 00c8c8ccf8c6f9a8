"""Parity suite: numpy_nn against Keras 3, component by component and over whole training runs.

Every comparison goes through :func:`parity_tests.report.check`, which asserts the error is within
its tolerance (all tolerances live in :mod:`parity_tests.tolerances`) and records the worst error
per component for the report written by ``make parity``. The Keras side of every comparison is
built by Keras from the test's own description (:mod:`parity_tests.builders`), never translated
from numpy_nn; ``test_bridge.py`` alone tests that translation (``tf_backend``).
"""
