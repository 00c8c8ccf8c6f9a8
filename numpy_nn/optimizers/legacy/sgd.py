r"""Keras 2's SGD (``tf_keras/src/optimizers/legacy/gradient_descent.py::SGD``): the same update
as Keras 3.

.. math:: w \leftarrow w - \eta_t g \quad\text{or}\quad
          m \leftarrow \mu m - \eta_t g,\; w \leftarrow w + m
          \quad\text{(Nesterov: } w \leftarrow w + \mu m - \eta_t g\text{)}

TensorFlow's ``ResourceApplyGradientDescent`` and ``ResourceApplyKerasMomentum`` kernels compute
exactly :class:`numpy_nn.optimizers.SGD`'s expressions, so this class only adds Keras 2's
surroundings (:mod:`.base`): ``decay=`` (:math:`\eta_t = \eta/(1 + d\,t)`, the book's
``SGD(lr=0.01, decay=1e-4)``), clipping that combines options, float32 ``momentum``.

Keras 2 also accepted ``momentum=1`` (a velocity that never decays); this class keeps
Keras 3's check and refuses it.
"""
from __future__ import annotations

from numpy_nn.optimizers import sgd
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class SGD(Keras2Optimizer, sgd.SGD):
    """``legacy.SGD(learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0)``."""

    float32_hyper_parameters = ("momentum",)
