"""Parity suite: numpy_nn against Keras 3, component by component and over whole training runs.

Every comparison goes through :func:`parity_tests.report.check`, which asserts the error is within
its tolerance (all tolerances live in :mod:`parity_tests.tolerances`) and records the worst error
per component for the report written by ``make parity``.
"""
