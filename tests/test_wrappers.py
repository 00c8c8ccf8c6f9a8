"""numpy_nn.wrappers: scikit-learn estimators around a build function."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import RandomizedSearchCV

from numpy_nn.wrappers import SKLearnClassifier, SKLearnRegressor
from tests.experiment_tasks import build_classifier, build_regressor, small_fashion

FIT = {"epochs": 2, "batch_size": 32}


def test_get_params_lists_the_build_arguments_and_set_params_routes_them():
    estimator = SKLearnClassifier(model=build_classifier, model_kwargs={"n_neurons": 8},
                                  fit_kwargs=FIT)
    params = estimator.get_params()
    assert params["model"] is build_classifier and params["model__n_neurons"] == 8
    assert params["model__n_hidden"] == 1 and params["model__learning_rate"] == 1e-2
    assert params["fit__epochs"] == 2
    assert set(estimator.get_params(deep=False)) == {"model", "warm_start", "model_kwargs",
                                                     "fit_kwargs"}
    shared = estimator.model_kwargs
    estimator.set_params(model__n_hidden=3, fit__epochs=5, warm_start=True)
    assert estimator.model_kwargs == {"n_neurons": 8, "n_hidden": 3}
    assert shared == {"n_neurons": 8}                       # a new dict, not mutated
    assert estimator.fit_kwargs == {"epochs": 5, "batch_size": 32} and estimator.warm_start


def test_clone_and_round_trip_of_params():
    estimator = SKLearnClassifier(model=build_classifier, model_kwargs={"n_hidden": 2})
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    assert copy.model_kwargs == {"n_hidden": 2} and copy.model_kwargs is not \
        estimator.model_kwargs
    other = clone(estimator).set_params(**{k: v for k, v in estimator.get_params().items()
                                           if k.startswith("model__")})
    deep = other.get_params()
    assert deep.pop("model_kwargs") == {**build_defaults(), "n_hidden": 2}   # spelled out
    assert deep == {k: v for k, v in estimator.get_params().items() if k != "model_kwargs"}


def build_defaults():
    import inspect
    return {name: p.default for name, p in inspect.signature(build_classifier).parameters.items()}


def test_bad_parameters_name_the_parameter():
    estimator = SKLearnClassifier(model=build_classifier)
    with pytest.raises(ValueError, match=r"'model__n_hiden'.*no argument 'n_hiden'.*n_hidden"):
        estimator.set_params(model__n_hiden=2)
    with pytest.raises(ValueError, match=r"'fit__epoch'.*Sequential.fit\(\) has no argument"):
        estimator.set_params(fit__epoch=2)
    with pytest.raises(ValueError, match="learning_rat"):
        estimator.set_params(learning_rat=0.1)
    # the book's spelling of a search key, without the prefix, gets the way to write it
    with pytest.raises(ValueError, match=r"'n_hidden'.*takes it as model__n_hidden"):
        estimator.set_params(n_hidden=2)
    X, y = small_fashion(64)
    with pytest.raises(ValueError, match="'model__width'"):
        SKLearnClassifier(model=build_classifier, model_kwargs={"width": 3}).fit(X, y)
    with pytest.raises(TypeError, match="must return a compiled model"):
        SKLearnClassifier(model=lambda: object()).fit(X, y)


def test_classifier_fits_predicts_and_scores_like_a_scikit_learn_classifier():
    X, y = small_fashion(600)
    labels = np.array(["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                       "Sneaker", "Bag", "Boot"])[y]              # any labels, not just 0..9
    estimator = SKLearnClassifier(model=build_classifier, model_kwargs={"n_neurons": 32},
                                  fit_kwargs=FIT)
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    estimator.fit(X, labels)
    assert estimator.n_features_in_ == 784 and list(estimator.classes_) == sorted(set(labels))
    probabilities = estimator.predict_proba(X[:50])
    assert probabilities.shape == (50, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    predictions = estimator.predict(X[:50])
    assert set(predictions) <= set(labels)
    assert estimator.score(X, labels) == np.mean(estimator.predict(X) == labels) > 0.3
    assert len(estimator.history_["loss"]) == 2
    with pytest.raises(ValueError, match="784 features"):
        estimator.predict(X[:, :100])


def test_regressor_fits_and_scores_r2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1
    estimator = SKLearnRegressor(model=build_regressor, fit_kwargs={"epochs": 20})
    estimator.fit(X, y)
    assert estimator.predict(X).shape == (300,)
    assert estimator.score(X, y) > 0.8


def test_randomized_search_with_two_jobs_uses_the_model_routing():
    from scipy.stats import reciprocal
    X, y = small_fashion(400)
    search = RandomizedSearchCV(
        SKLearnClassifier(model=build_classifier, fit_kwargs={"epochs": 1, "batch_size": 64}),
        {"model__n_hidden": [1, 2], "model__learning_rate": reciprocal(3e-3, 3e-2)},
        n_iter=4, cv=2, n_jobs=2, random_state=0)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert set(search.best_params_) == {"model__n_hidden", "model__learning_rate"}
    best = search.best_estimator_
    assert {f"model__{k}": v for k, v in best.model_kwargs.items()} == search.best_params_
    n_dense = len([layer for layer in best.model_.layers if hasattr(layer, "units")])
    assert n_dense == search.best_params_["model__n_hidden"] + 1    # the routing reached it


def test_the_hyperparameter_search_example_prints_a_table_and_saves_a_plot(tmp_path, capsys):
    from examples import hyperparameter_search
    search, valid_accuracy = hyperparameter_search.main(
        ["--quick", "--n-iter", "2", "--cv", "2", "--jobs", "1", "--out", str(tmp_path)])
    assert 0 <= valid_accuracy <= 1
    table = (tmp_path / "search.md").read_text(encoding="utf-8").splitlines()
    assert len(table) == 2 + 2 and table[2].startswith("| 1 | ")
    assert (tmp_path / "search.png").stat().st_size > 0
    assert "Best: {" in capsys.readouterr().out
    searched = set().union(*search.cv_results_["params"])
    assert searched == {"model__n_hidden", "model__n_neurons", "model__activation",
                        "model__initializer", "model__learning_rate"}
