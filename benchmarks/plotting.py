"""The benchmark's figures, drawn from a run's records: throughput per engine, and efficiency
(useful FLOP/s over the machine's peak SGEMM rate) against batch size per engine."""
from __future__ import annotations

from benchmarks.analysis import efficiency
from benchmarks.engines import TITLES
from benchmarks.findings import cells, thread_counts

#: the engines drawn, in order (a peer measured pinned and unpinned is drawn at its better)
ENGINES = ("numpy", "numba", "jit", "jit_mkl", "keras_tf", "keras_tf_xla", "keras_jax",
           "torch", "torch_compile")
MODEL_TITLES = {"leaky_relu_mlp": "LeakyReLU 300-100 MLP", "batch_norm_mlp": "BN 300-100 MLP",
                "selu_100": "SELU, 100 hidden layers", "elu_20x100_cifar": "ELU 20x100, CIFAR-10"}


def counted(cell, engine):
    """The key whose figure stands for ``engine`` in ``cell`` (TensorFlow: the better of its
    pinned and unpinned runs), or None when it was not measured."""
    key = cell.get(f"{engine}_counted", engine)
    return key if key in cell["step_ms"] else None


def _engines(results):
    return [e for e in ENGINES if any(counted(c, e) for c in cells(results))]


def _save(figure, path):
    import matplotlib.pyplot as plt

    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)


def _grid(results):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    counts = thread_counts(results)
    models = list(dict.fromkeys(c["model"] for c in cells(results)))
    figure, axes = plt.subplots(len(counts), len(models),
                                figsize=(4.2 * len(models), 3.8 * len(counts)), squeeze=False)
    return figure, axes, counts, models


def plot_throughput(results, path):
    """Training samples per second, per model and thread count, bars by batch size."""
    import numpy as np
    figure, axes, counts, models = _grid(results)
    engines = _engines(results)
    for row, threads in enumerate(counts):
        for axis, model in zip(axes[row], models):
            found = cells(results, threads, model)
            positions = np.arange(len(found))
            width = 0.8 / len(engines)
            for offset, engine in enumerate(engines):
                values = [c["batch"] / c["step_ms"][counted(c, engine)] * 1e3
                          if counted(c, engine) else 0 for c in found]
                axis.bar(positions + (offset - (len(engines) - 1) / 2) * width, values, width,
                         label=TITLES[engine])
            axis.set_xticks(positions, [str(c["batch"]) for c in found])
            axis.set_xlabel("batch size")
            axis.set_ylim(bottom=0)
            axis.set_title(f"{MODEL_TITLES.get(model, model)}, {threads} thread(s)",
                           fontsize=10)
            axis.grid(axis="y", alpha=0.3)
        axes[row][0].set_ylabel("training samples/s")
    _legend_and_save(figure, axes, len(engines),
                     f"Training throughput — {results['machine']['cpu']}", path)


def plot_efficiency(results, path):
    """Each engine's useful GEMM FLOP/s over the peak SGEMM rate, against batch size (log
    scale), per model and thread count; the GEMM floor's own efficiency dashed."""
    figure, axes, counts, models = _grid(results)
    engines = _engines(results)
    for row, threads in enumerate(counts):
        for axis, model in zip(axes[row], models):
            found = cells(results, threads, model)
            batches = [c["batch"] for c in found]
            values = [efficiency(c, results.get("peak")) for c in found]
            for engine in engines:
                points = [(b, v[counted(c, engine)]) for b, v, c in zip(batches, values, found)
                          if counted(c, engine) and v]
                if points:
                    axis.plot(*zip(*points), marker="o", label=TITLES[engine])
            floor = [(b, v["floor"]) for b, v in zip(batches, values) if v and "floor" in v]
            if floor:
                axis.plot(*zip(*floor), "k--", label=TITLES["floor"])
            axis.set_xscale("log", base=2)
            axis.set_xticks(batches, [str(b) for b in batches])
            axis.set_ylim(0, 1.05)
            axis.set_xlabel("batch size")
            axis.set_title(f"{MODEL_TITLES.get(model, model)}, {threads} thread(s)",
                           fontsize=10)
            axis.grid(alpha=0.3)
        axes[row][0].set_ylabel("GEMM FLOP/s / peak SGEMM")
    _legend_and_save(figure, axes, len(engines) + 1,
                     f"Efficiency against the peak SGEMM rate — {results['machine']['cpu']}",
                     path)


def _legend_and_save(figure, axes, columns, title, path):
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=min(columns, 6), fontsize=8,
                  bbox_to_anchor=(0.5, 0.95), frameon=False)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.88))
    _save(figure, path)
