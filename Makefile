# Every target sets up its own virtual environment from nothing, so a fresh clone needs only
# Python 3.10+ and network (or a local package index) for `pip install`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
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

.PHONY: help venv demo test test-unit parity bench bench-quick reproduce reproduce-quick \
        examples-quick clean

help:
	@echo "make demo        train the chapter's first model on Fashion-MNIST"
	@echo "make test        create .venv, install, run unit + parity tests"
	@echo "make parity      parity report against Keras 3 (writes parity_tests/report.md)"
	@echo "make bench-quick / bench        CPU benchmarks vs Keras (TF, JAX) and PyTorch"
	@echo "make reproduce-quick / reproduce  the chapter's experiments, numpy_nn vs Keras"
	@echo "make examples-quick  run every chapter example with --quick (figures in examples/results/)"

# Two install levels in one venv: the engine alone (numpy, numba) is all `make demo` needs;
# tests, parity, benchmarks and examples add TensorFlow/Keras, matplotlib and the test tools.
CORE_STAMP := $(VENV)/.installed-core

$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(CORE_STAMP)

$(STAMP): $(CORE_STAMP)
	$(BIN)/pip install --quiet -e '.[tf,keras2,plot,dev,bench,tensorboard]'
	touch $(STAMP)

venv: $(STAMP)

# One BLAS thread unless you say otherwise: the chapter's matrices are small, and on a busy
# 2-core machine OpenBLAS's second thread spins instead of working (measured: 0.28 s vs 32 s
# per quick epoch under load; see the README's benchmark section).
demo: $(CORE_STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(PY) -m examples.demo

test: $(STAMP)
	$(PY) -m pytest -q

examples-quick: $(STAMP)
	for name in activation_functions initializers leaky_relu_prelu selu_vs_relu \
	    batch_normalization gradient_clipping transfer_learning optimizers lr_schedules \
	    regularization cifar10_exercise; do $(PY) -m examples.$$name --quick || exit 1; done

test-unit: $(STAMP)
	$(PY) -m pytest -q tests

# The chapter's experiments, numpy_nn and Keras 3 side by side; the table goes into README.md.
# Not part of `make test`. REPRODUCE_THREADS=1 pins BLAS and TensorFlow to one thread each
# (fairer timings on a machine shared with other jobs); 0 keeps the libraries' defaults.
REPRODUCE_THREADS ?= 0
REPRODUCE := TF_ENABLE_ONEDNN_OPTS=1 $(PY) -m examples.reproduce --readme README.md \
	--threads $(REPRODUCE_THREADS)

reproduce: $(STAMP)
	$(REPRODUCE)

reproduce-quick: $(STAMP)
	$(REPRODUCE) --quick

# Benchmarks run TensorFlow at its default (oneDNN on), not the parity setting above.
# The peers (PyTorch, Keras on JAX) are the optional bench-peers extra; PyTorch from its CPU
# index (PyPI's Linux wheel is the CUDA build). Without network or wheels the benchmark still
# runs, and its report names the engines it skipped and why.
PEERS_STAMP := $(VENV)/.installed-peers
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

$(PEERS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench-peers]' --extra-index-url $(TORCH_CPU_INDEX) \
	    && touch $(PEERS_STAMP) \
	    || echo "bench-peers not installed: PyTorch and Keras-on-JAX will be skipped"

bench: $(PEERS_STAMP)
	$(PY) -m benchmarks.run

bench-quick: $(PEERS_STAMP)
	$(PY) -m benchmarks.run --quick

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# The parity suite alone: prints the report table, writes it to parity_tests/report.md and
# copies its summary into the README's "Parity with Keras 3" section.
parity: $(STAMP)
	$(PY) -m pytest -q parity_tests --parity-report parity_tests/report.md
	$(PY) -m parity_tests.update_readme
