r"""The book's optimizers: Keras 2 (tf.keras <= 2.10, ``optimizer_v2``) arithmetic, checked
against ``tf_keras.optimizers.legacy`` by the parity suite.

numpy_nn follows Keras 3 (:mod:`numpy_nn.optimizers`). The book (HOML 2e) ran Keras 2, whose
optimizers computed some things differently; to reproduce its numbers use these classes, with
the book's own spelling::

    from numpy_nn.optimizers import legacy
    optimizer = legacy.SGD(lr=0.01, decay=1e-4)          # eta / (1 + 1e-4 t)
    optimizer = legacy.Nadam(lr=1e-3)                    # Keras 2's momentum schedule

Each class subclasses its Keras 3 counterpart and overrides only what Keras 2 did differently
(the equation and the difference are in each module's docstring):

==========  ====================================================================================
SGD         same update; Keras 2 surroundings only (below)
Adagrad     :math:`\sqrt{a} + \epsilon` instead of :math:`\sqrt{a + \epsilon}`
RMSprop     without momentum :math:`\sqrt{v} + \epsilon` (:math:`\epsilon` outside the root);
            with momentum :math:`\epsilon` inside, as in Keras 3
Adam        same update (the "epsilon-hat" form, AMSGrad); :math:`1-\beta` from float32 β
Adamax      same equation, grouped as :math:`\frac{\eta}{1-\beta_1^t}\cdot\frac{m}{u+\epsilon}`
Nadam       momentum schedule :math:`\beta_1(1 - \tfrac12 0.96^{0.004 t})` (``schedule_decay``);
            ``decay=`` ignored, schedule objects rejected
==========  ====================================================================================

Around the update, for all of them (:mod:`.base`): ``decay=`` time decay
:math:`\eta/(1 + d\,t)`; ``lr=``; clipping options that combine (``clipvalue`` then ``clipnorm``
or ``global_clipnorm``) and are active even at 0; no ``weight_decay``; hyper-parameters rounded
to float32. A model compiled with one saves and loads it (``class_name`` ``"legacy.Nadam"``,
optimizer state included); :func:`numpy_nn.optimizers.get` also takes those names.
``tf_backend.to_keras`` refuses them: Keras 3 has no Keras 2 optimizers.
"""
from numpy_nn.optimizers.legacy.adagrad import Adagrad
from numpy_nn.optimizers.legacy.adam import Adam
from numpy_nn.optimizers.legacy.adamax import Adamax
from numpy_nn.optimizers.legacy.base import Keras2Optimizer
from numpy_nn.optimizers.legacy.nadam import Nadam
from numpy_nn.optimizers.legacy.rmsprop import RMSprop
from numpy_nn.optimizers.legacy.sgd import SGD

#: ``{"legacy.SGD": SGD, ...}``: the names saved model files use.
LEGACY_CLASSES = {f"legacy.{cls.__name__}": cls
                  for cls in (SGD, Adagrad, RMSprop, Adam, Adamax, Nadam)}

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam", "Keras2Optimizer",
           "LEGACY_CLASSES"]
