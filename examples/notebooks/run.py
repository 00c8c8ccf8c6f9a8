"""Execute the chapter notebook with nbclient: ``python -m examples.notebooks.run [--quick]``.

* ``--quick`` sets ``NUMPY_NN_QUICK=1`` (small data slices, one epoch per ``fit``);
* the notebook runs in a working folder (``--workdir``, default ``build/notebook``), so the files
  the chapter writes (``my_model_A.h5``, ``my_cifar10_logs/``, ``images/``) land there;
* ``--output`` is where the executed notebook is written (default: the notebook itself, which
  is how ``make notebook`` refreshes the committed outputs), atomically (temp file + rename), so
  a failed or interrupted run never leaves a half-written notebook.

The kernel gets ``OPENBLAS_NUM_THREADS=1`` unless the variable is already set, as ``make demo``
does: the chapter's matrices are small, and on a busy 2-core machine a second BLAS thread spins
instead of working.

A cell that raises stops the run with the cell's error (nbclient's ``CellExecutionError``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NOTEBOOK = os.path.join(HERE, "chapter11.ipynb")


def execute(notebook_path, output_path, workdir, quick, timeout=None):
    """Run every cell of ``notebook_path`` in ``workdir``; write the result to ``output_path``.

    Returns the run time in seconds.
    """
    import nbformat
    from nbclient import NotebookClient

    os.makedirs(workdir, exist_ok=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    previous = os.environ.get("NUMPY_NN_QUICK")
    os.environ["NUMPY_NN_QUICK"] = "1" if quick else "0"
    # the kernel imports this checkout's numpy_nn, whatever the current directory
    paths = [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    previous_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    previous_threads = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    start = time.perf_counter()
    try:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        client.execute()
    finally:
        for name, value in (("NUMPY_NN_QUICK", previous), ("PYTHONPATH", previous_path),
                            ("OPENBLAS_NUM_THREADS", previous_threads)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    seconds = time.perf_counter() - start
    notebook.metadata["numpy_nn"] = {"quick": bool(quick), "seconds": round(seconds, 1)}
    temporary = output_path + ".tmp"
    nbformat.write(notebook, temporary)
    os.replace(temporary, output_path)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="NUMPY_NN_QUICK=1")
    parser.add_argument("--notebook", default=NOTEBOOK)
    parser.add_argument("--output", default=None, help="default: overwrite --notebook")
    parser.add_argument("--workdir", default=os.path.join(REPO, "build", "notebook"))
    args = parser.parse_args(argv)
    seconds = execute(args.notebook, args.output or args.notebook, os.path.abspath(args.workdir),
                      args.quick)
    print(f"executed {args.notebook} ({'quick' if args.quick else 'full'}) in {seconds:.0f} s",
          file=sys.stderr)
    return seconds


if __name__ == "__main__":
    main()
