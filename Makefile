# Every target sets up its own virtual environment from nothing, so a fresh clone needs only
# Python 3.10+ and network (or a local package index) for `pip install`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
PEERS_STAMP := $(VENV)/.installed-peers
# The shared, offline copy of the datasets, when this checkout sits next to it; override with
# NUMPY_NN_DATA_DIR=/path make ... (without either, the loaders look in Keras's cache and in
# /usr/share/datasets, then download).
ifneq ($(wildcard ../shared/data),)
NUMPY_NN_DATA_DIR ?= $(abspath ../shared/data)
endif
ifdef NUMPY_NN_DATA_DIR
export NUMPY_NN_DATA_DIR
endif
# Parity needs exact float32 matmuls from TensorFlow (see parity_tests/conftest.py).
export TF_ENABLE_ONEDNN_OPTS = 0
export TF_CPP_MIN_LOG_LEVEL = 2
export MPLBACKEND = Agg

.PHONY: help venv demo test test-unit parity bench bench-quick reproduce reproduce-quick reproduce-paired \
        search-quick examples-quick check-numpy-only lint clean docs docs-test notebook browser \
        fuzz

help:
	@echo "make demo        train the chapter's first model on Fashion-MNIST"
	@echo "make test        create .venv, install, lint, run unit + parity + notebook + docs tests"
	@echo "make lint        ruff (configured in pyproject.toml)"
	@echo "make fuzz        the hostile-API fuzzing at 100,000 generated cases (make test: 10,000)"
	@echo "make check-numpy-only  install, import and train in a throwaway venv with NumPy alone"
	@echo "make parity      parity report against Keras 3 (writes parity_tests/report.md)"
	@echo "make bench-quick / bench        CPU benchmarks vs Keras (TF, JAX) and PyTorch"
	@echo "make reproduce-quick / reproduce  the chapter's experiments, numpy_nn vs Keras, over"
	@echo "                 seeds (SEEDS=5 SCHEDULER=tcp://HOST:8786 WORKERS=N)"
	@echo "make reproduce-paired  the same, same batches and same initial weights in both, paired"
	@echo "make search-quick  hyper-parameter search of the chapter's MLP (scikit-learn wrapper)"
	@echo "make examples-quick  run every chapter example with --quick (figures in examples/results/)"
	@echo "make docs        the documentation site, into site/ (make docs-test: checked in Chromium)"
	@echo "make notebook    run examples/notebooks/chapter11.ipynb in full and save its outputs"

# Two install levels in one venv: the engine alone (NumPy only) is all `make demo` needs;
# tests, parity, benchmarks and examples add Numba (the optional kernel path), TensorFlow/Keras,
# matplotlib and the test tools.
CORE_STAMP := $(VENV)/.installed-core

$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(CORE_STAMP)

$(STAMP): $(CORE_STAMP)
	$(BIN)/pip install --quiet -e \
	    '.[numba,tf,keras2,plot,dev,bench,tensorboard,notebook,docs,experiments,cluster,sklearn]'
	touch $(STAMP)

venv: $(STAMP)

# One BLAS thread unless you say otherwise: the chapter's matrices are small, and on a busy
# machine a BLAS thread that waits for a core holds up every product (what a second thread
# gives on an idle one: the "Threads" table of docs/reports/benchmarks.md).
demo: $(CORE_STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(PY) -m examples.demo

# The benchmark peers (PyTorch, JAX) and Intel MKL (the fused step's other BLAS) are installed
# when they can be, so the tests of the PyTorch translation and of the MKL provider run; where
# they cannot, those tests skip and say so.
test: $(STAMP) $(PEERS_STAMP) browser lint
	$(PY) -m pytest -q

# ruff's rules and line length are in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(BIN)/ruff check .

# The browser test drives Debian's Chromium (Playwright never downloads a browser here); install
# it when missing and we may (root). Otherwise tests/test_docs_site.py fails and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	    echo "warning: could not install chromium; the browser test will fail"

# The documentation site (MkDocs Material + mkdocstrings), written to site/. Figures come from
# examples/results/ (the examples run with --quick first when a figure is missing).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

docs-test: $(STAMP) browser
	$(PY) -m pytest -q tests/test_docs_site.py

# The chapter notebook, run in full; its outputs are saved into the notebook (atomically).
notebook: $(STAMP)
	$(PY) -m examples.notebooks.run

examples-quick: $(STAMP)
	for name in activation_functions initializers leaky_relu_prelu selu_vs_relu \
	    batch_normalization gradient_clipping transfer_learning optimizers lr_schedules \
	    regularization cifar10_exercise gradient_health smooth_activations; do $(PY) -m examples.$$name --quick || exit 1; done

# Numba is optional: prove numpy_nn installs, imports and trains with NumPy alone, and that the
# Numba path then says what to install (a throwaway venv; about half a minute).
check-numpy-only:
	PYTHON=$(PYTHON) .ci/numpy_only_check

test-unit: $(STAMP)
	$(PY) -m pytest -q tests

# The hostile-API fuzzing of tests/test_fuzz_api.py at ten times make test's 10,000 cases.
fuzz: $(STAMP)
	NUMPY_NN_FUZZ_SCALE=10 $(PY) -m pytest -q tests/test_fuzz_api.py --hypothesis-show-statistics

# The chapter's experiments, numpy_nn and Keras 3 side by side over several seeds; the tables
# go into examples/records/reproduction_tables.md (the site's reproduction page shows them) and
# the full table's summary into README.md. Not part of `make test`. Every (experiment, framework, seed) is a task
# run on one-thread worker processes (WORKERS, default: one per core) or on a Dask cluster
# (SCHEDULER=tcp://HOST:8786); finished tasks are records in RESULTS, and running the same
# command again skips them (stop and resume at will; merge parts by copying record files).
# SEEDS: seeds per framework (default 5, quick 3). The default RESULTS folder is committed:
# it holds the records behind the tables, so `make reproduce` continues that run.
SEEDS     ?=
SCHEDULER ?=
WORKERS   ?=
RESULTS   ?= examples/records/reproduce
RUN_TASKS := TF_ENABLE_ONEDNN_OPTS=1 $(PY) -m examples.reproduce --results $(RESULTS) \
	$(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))
REPRODUCE := $(RUN_TASKS) --report examples/records/reproduction_tables.md \
	$(if $(SEEDS),--seeds $(SEEDS))

reproduce: $(STAMP)
	$(REPRODUCE) --front-page README.md

reproduce-quick: $(STAMP)
	$(REPRODUCE) --quick

# The diagnostic with the same batches and the same initial weights (Keras's) in both engines,
# for every experiment that can take them, paired by seed (default 3 seeds): its table goes
# into examples/records/reproduction_paired.md and its one-line summary into README.md.
reproduce-paired: $(STAMP)
	$(RUN_TASKS) --batch-order same --init-from keras --seeds $(or $(SEEDS),3) \
	    --report examples/records/reproduction_paired.md --front-page README.md

# A hyper-parameter search of the chapter's Fashion-MNIST MLP (scikit-learn, RandomizedSearchCV).
search-quick: $(STAMP)
	$(PY) -m examples.hyperparameter_search --quick

# Benchmarks run TensorFlow at its default (oneDNN on), not the parity setting above.
# The peers (PyTorch, Keras on JAX) are the optional bench-peers extra. PyTorch is pinned to a
# CPU-capable release; PIP_EXTRA_INDEX_URL can point pip at PyTorch's CPU wheels (its install
# page gives the address). Without the peers the benchmark still runs, and its report names the
# engines it skipped and why.
$(PEERS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[mkl]' \
	    || echo "mkl not installed: the fused step's MKL column and tests will be skipped"
	$(BIN)/pip install --quiet -e '.[bench-peers]' \
	    && touch $(PEERS_STAMP) \
	    || echo "bench-peers not installed: PyTorch and Keras-on-JAX will be skipped"

bench: $(PEERS_STAMP)
	$(PY) -m benchmarks.run

bench-quick: $(PEERS_STAMP)
	$(PY) -m benchmarks.run --quick

clean:
	rm -rf $(VENV) .pytest_cache build site *.egg-info

# The parity suite alone: prints the report table, writes it to parity_tests/report.md and
# copies its summary into the README's "Parity with Keras 3" section.
parity: $(STAMP)
	$(PY) -m pytest -q parity_tests --parity-report parity_tests/report.md
	$(PY) -m parity_tests.update_readme
