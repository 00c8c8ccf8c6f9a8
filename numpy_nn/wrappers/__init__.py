"""scikit-learn wrappers for numpy_nn models (needs scikit-learn: ``pip install
'numpy_nn[sklearn]'``); see :mod:`numpy_nn.wrappers.sklearn`. The engine never imports this
package."""
from numpy_nn.wrappers.sklearn import SKLearnClassifier, SKLearnRegressor

__all__ = ["SKLearnClassifier", "SKLearnRegressor"]
