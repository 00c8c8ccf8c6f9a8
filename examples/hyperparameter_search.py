"""Fine-tuning the chapter's Fashion-MNIST MLP the way the book does it: a build function,
a scikit-learn wrapper, and ``RandomizedSearchCV`` over depth, width, activation,
initializer and learning rate.

``python -m examples.hyperparameter_search [--quick] [--n-iter N] [--scheduler ADDR]``

The search runs its cross-validation fits in parallel with joblib (local processes, one per
core), or on a Dask cluster with ``--scheduler tcp://HOST:8786`` (``joblib.parallel_backend
("dask")``; the workers must be able to import ``examples``). Output: the table of every
configuration tried (mean ± std of the cross-validated accuracy), the best one's accuracy on
the validation set, and a plot of accuracy against learning rate (``search.png`` in
``--out``).
"""
from __future__ import annotations

import argparse
import contextlib
import os

import numpy as np

from examples import common


def build_model(n_hidden=2, n_neurons=100, activation="relu", initializer="he_normal",
                learning_rate=3e-3):
    """The chapter's MLP on flattened 28×28 images, compiled; every argument is a
    hyper-parameter the search can set as ``model__<name>``."""
    import numpy_nn as keras
    model = keras.models.Sequential([keras.layers.Input(shape=[784])])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation=activation,
                                     kernel_initializer=initializer))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


def search_space():
    from scipy.stats import loguniform
    return {"model__n_hidden": [1, 2, 3, 4],
            "model__n_neurons": [30, 100, 300],
            "model__activation": ["relu", "elu", "selu", "tanh"],
            "model__initializer": ["he_normal", "glorot_uniform", "lecun_normal"],
            "model__learning_rate": loguniform(3e-4, 3e-2)}


def parallel_backend(scheduler):
    """joblib's Dask backend on ``scheduler``, or its default (local processes)."""
    if not scheduler:
        return contextlib.nullcontext(), None
    import joblib
    from distributed import Client
    client = Client(scheduler)
    print(f"Dask cluster {scheduler}; dashboard: {client.dashboard_link}")
    return joblib.parallel_backend("dask"), client


def results_table(search):
    results = search.cv_results_
    order = np.argsort(results["rank_test_score"])
    header = ("| rank | hidden layers | neurons | activation | initializer | learning rate "
              "| CV accuracy (mean ± std) |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for index in order:
        params = results["params"][index]
        lines.append(f"| {results['rank_test_score'][index]} | {params['model__n_hidden']} | "
                     f"{params['model__n_neurons']} | {params['model__activation']} | "
                     f"{params['model__initializer']} | "
                     f"{params['model__learning_rate']:.2e} | "
                     f"{results['mean_test_score'][index]:.4f} ± "
                     f"{results['std_test_score'][index]:.4f} |")
    return "\n".join(lines)


def plot(args, search):
    plt = common.pyplot()
    results = search.cv_results_
    rates = np.array([p["model__learning_rate"] for p in results["params"]])
    depths = np.array([p["model__n_hidden"] for p in results["params"]])
    plt.figure(figsize=(8, 4))
    for depth in sorted(set(depths)):
        chosen = depths == depth
        plt.errorbar(rates[chosen], results["mean_test_score"][chosen],
                     yerr=results["std_test_score"][chosen], fmt="o", capsize=3,
                     label=f"{depth} hidden layer{'s' if depth > 1 else ''}")
    plt.xscale("log")
    plt.xlabel("learning rate")
    plt.ylabel("cross-validated accuracy")
    plt.grid(True)
    plt.legend()
    return common.save_fig(args, "search")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.hyperparameter_search",
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, few candidates")
    parser.add_argument("--n-iter", type=int, help="configurations to try (default: 30, "
                                                   "quick: 6)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    parser.add_argument("--jobs", type=int, default=-1, help="parallel fits (-1: all cores)")
    parser.add_argument("--scheduler", help="Dask scheduler address (default: "
                        "$DASK_SCHEDULER_ADDRESS, else local processes)")
    parser.add_argument("--out", default=os.path.join(common.EXAMPLES_DIR, "results",
                                                      "hyperparameter_search"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    from sklearn.model_selection import RandomizedSearchCV

    from numpy_nn.wrappers import SKLearnClassifier

    (X_train, y_train), (X_valid, y_valid), _ = common.load_fashion_mnist(args)
    X_train = X_train.reshape(len(X_train), -1).astype(np.float32)
    X_valid = X_valid.reshape(len(X_valid), -1).astype(np.float32)
    epochs = 3 if args.quick else 20
    estimator = SKLearnClassifier(model=build_model,
                                  fit_kwargs={"epochs": epochs, "batch_size": 32})
    search = RandomizedSearchCV(estimator, search_space(),
                                n_iter=args.n_iter or (6 if args.quick else 30), cv=args.cv,
                                n_jobs=args.jobs, random_state=42, refit=True)
    backend, client = parallel_backend(args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    try:
        with backend:
            search.fit(X_train, y_train)
    finally:
        if client is not None:
            client.close()
    common.section("Every configuration, best first")
    table = results_table(search)
    print(table)
    valid_accuracy = search.best_estimator_.score(X_valid, y_valid)
    print(f"\nBest: {search.best_params_}\nits cross-validated accuracy "
          f"{search.best_score_:.4f}; on the validation set {valid_accuracy:.4f}")
    with open(os.path.join(args.out, "search.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    plot(args, search)
    return search, valid_accuracy


if __name__ == "__main__":
    main()
