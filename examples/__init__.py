"""The chapter, runnable: one module per section (``python -m examples.<name> [--quick]``)."""
