r"""Keras 2's Adam and AMSGrad
(``tf_keras/src/optimizers/legacy/adam.py::Adam._resource_apply_dense``, TensorFlow's
``ResourceApplyAdam`` and ``ResourceApplyAdamWithAmsgrad``): the same "epsilon-hat" update as
Keras 3,

.. math::
    m \leftarrow m + (g - m)(1-\beta_1), \qquad v \leftarrow v + (g^2 - v)(1-\beta_2), \qquad
    w \leftarrow w - \frac{\eta_t \sqrt{1-\beta_2^t}/(1-\beta_1^t)\; m}{\sqrt{v} + \hat\epsilon}

(AMSGrad: :math:`\hat v = \max(\hat v, v)` in place of :math:`v`), see
:class:`numpy_nn.optimizers.Adam`. The differences are around it (:mod:`.base`): ``decay=``,
clipping, and :math:`1-\beta` computed from float32 :math:`\beta` — Keras 2's kernel evaluates
``1 - beta_1`` in float32 (:math:`1 - \mathrm{f32}(0.9) = 0.10000002`), Keras 3 rounds the double
difference (``f32(0.1) = 0.10000000``).

``epsilon=0`` (or None) means 1e-7, as in Keras 2.
"""
from __future__ import annotations

from numpy_nn.optimizers import adam
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class Adam(Keras2Optimizer, adam.Adam):
    """``legacy.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, decay=0.0)``."""

    float32_hyper_parameters = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon or 1e-7, amsgrad=amsgrad, **kwargs)
