"""scikit-learn estimators around a function that builds a compiled numpy_nn model, in the
spirit of Keras 3's ``keras.wrappers.SKLearnClassifier`` / ``SKLearnRegressor``
(``keras/src/wrappers/sklearn_wrapper.py``) with SciKeras's routing of the build function's
arguments::

    def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3):
        model = numpy_nn.models.Sequential([...])
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=numpy_nn.optimizers.SGD(learning_rate=learning_rate))
        return model

    search = RandomizedSearchCV(SKLearnClassifier(model=build_model, fit_kwargs={"epochs": 10}),
                                {"model__n_hidden": [0, 1, 2, 3],
                                 "model__learning_rate": scipy.stats.reciprocal(3e-4, 3e-2)},
                                n_iter=10, cv=3)

``model__<name>`` sets the build function's argument ``<name>`` (kept in ``model_kwargs``),
``fit__<name>`` an argument of ``model.fit`` (kept in ``fit_kwargs``). ``get_params()`` lists
the build function's arguments that have defaults as ``model__<name>``, so a search space can
be checked against it. Every ``fit`` builds a fresh model (unless ``warm_start=True``), so
clones never share weights.

The classifier encodes the labels as ``0 .. n_classes - 1`` (``classes_`` keeps the
originals), so the build function compiles with ``sparse_categorical_crossentropy`` (or
``binary_crossentropy`` with one sigmoid output for two classes). ``X`` is the 2-D array
scikit-learn passes around; a build function for images starts with ``Input(shape=[784])``
(or reshapes).
"""
from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from numpy_nn.models import Sequential

__all__ = ["SKLearnClassifier", "SKLearnRegressor"]

_ROUTES = {"model__": "model_kwargs", "fit__": "fit_kwargs"}


class _Wrapper(BaseEstimator):
    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    # ------------------------------------------------------------------ parameters
    def _build_arguments(self):
        """(names the build function accepts, whether it takes **kwargs, defaults)."""
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: model must be a function returning a "
                            f"compiled numpy_nn model, got {type(self.model).__name__}")
        parameters = inspect.signature(self.model).parameters.values()
        names = [p.name for p in parameters
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
        defaults = {p.name: p.default for p in parameters
                    if p.name in names and p.default is not p.empty}
        return names, takes_any, defaults

    def _check_route(self, key, name):
        if key.startswith("model__"):
            names, takes_any, _ = self._build_arguments()
            if not takes_any and name not in names:
                raise ValueError(
                    f"{type(self).__name__}: invalid parameter {key!r}: "
                    f"{getattr(self.model, '__name__', 'model')}() has no argument {name!r}; "
                    f"its arguments are {names}")
        else:
            names = [n for n in inspect.signature(Sequential.fit).parameters
                     if n not in ("self", "x", "y")]
            if name not in names:
                raise ValueError(f"{type(self).__name__}: invalid parameter {key!r}: "
                                 f"Sequential.fit() has no argument {name!r}; its arguments "
                                 f"are {names}")

    def _hint_the_model_prefix(self, plain):
        """The book writes a search space as ``{"n_hidden": [...]}``; here the build function's
        arguments are ``model__n_hidden``: say so rather than only list the valid names."""
        own = set(self._get_param_names())
        if not callable(self.model):
            return
        names, _, _ = self._build_arguments()
        for key in plain:
            if key not in own and key in names:
                raise ValueError(
                    f"{type(self).__name__}: invalid parameter {key!r}: the build function "
                    f"{getattr(self.model, '__name__', 'model')}() takes it as model__{key} "
                    f"(write {{'model__{key}': ...}} in the search space, as sklearn routes "
                    f"parameters to nested objects with a prefix)")

    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        if deep and callable(self.model):
            _, _, defaults = self._build_arguments()
            merged = {**defaults, **(self.model_kwargs or {})}
            params.update({f"model__{name}": value for name, value in merged.items()})
            params.update({f"fit__{name}": value
                           for name, value in (self.fit_kwargs or {}).items()})
        return params

    def set_params(self, **params):
        routed = {attribute: {} for attribute in _ROUTES.values()}
        plain = {}
        for key, value in params.items():
            prefix = next((p for p in _ROUTES if key.startswith(p)), None)
            if prefix is None:
                plain[key] = value
                continue
            name = key[len(prefix):]
            self._check_route(key, name)
            routed[_ROUTES[prefix]][name] = value
        if plain:
            self._hint_the_model_prefix(plain)
            super().set_params(**plain)      # names an invalid parameter itself
        for attribute, updates in routed.items():
            if updates:                       # a new dict: clones never share one
                setattr(self, attribute, {**(getattr(self, attribute) or {}), **updates})
        return self

    # ------------------------------------------------------------------ fitting
    def _build_model(self):
        kwargs = dict(self.model_kwargs or {})
        for name in kwargs:
            self._check_route(f"model__{name}", name)
        model = self.model(**kwargs)
        if getattr(model, "optimizer", None) is None or not hasattr(model, "fit"):
            raise TypeError(f"{type(self).__name__}: {getattr(self.model, '__name__', 'model')}"
                            f"() must return a compiled model (call model.compile(...) in it), "
                            f"got {model!r}")
        return model

    def _fit(self, X, y, fit_params):
        for name in {**(self.fit_kwargs or {}), **fit_params}:
            self._check_route(f"fit__{name}", name)
        if not (self.warm_start and hasattr(self, "model_")):
            self.model_ = self._build_model()
        kwargs = {"verbose": 0, **(self.fit_kwargs or {}), **fit_params}
        self.history_ = dict(self.model_.fit(X, y, **kwargs).history)
        return self

    def _predict_raw(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return np.asarray(self.model_.predict(X, verbose=0))


class SKLearnClassifier(ClassifierMixin, _Wrapper):
    """A scikit-learn classifier: ``fit``, ``predict``, ``predict_proba``, ``score``
    (accuracy), ``classes_``, ``n_features_in_``."""

    def fit(self, X, y, **fit_params):
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        return self._fit(X, self._encoder.transform(y), fit_params)

    def predict_proba(self, X):
        probabilities = self._predict_raw(X)
        if probabilities.ndim == 1 or probabilities.shape[1] == 1:    # one sigmoid unit
            positive = probabilities.reshape(-1, 1)
            probabilities = np.hstack([1 - positive, positive])
        return probabilities

    def predict(self, X):
        probabilities = self.predict_proba(X)       # checks that the estimator is fitted
        return self.classes_[np.argmax(probabilities, axis=1)]


class SKLearnRegressor(RegressorMixin, _Wrapper):
    """A scikit-learn regressor: ``fit``, ``predict``, ``score`` (R²), ``n_features_in_``."""

    def fit(self, X, y, **fit_params):
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64], multi_output=True,
                             y_numeric=True)
        self._target_ndim = np.ndim(y)
        return self._fit(X, y, fit_params)

    def predict(self, X):
        predictions = self._predict_raw(X)
        if self._target_ndim == 1 and predictions.ndim == 2 and predictions.shape[1] == 1:
            predictions = predictions[:, 0]
        return predictions
