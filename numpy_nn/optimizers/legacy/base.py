r"""What every Keras 2 optimizer did around its update rule (tf.keras <= 2.10, ``optimizer_v2``;
today ``tf_keras.optimizers.legacy.OptimizerV2``), as a mixin placed before a Keras 3 class::

    class Adam(Keras2Optimizer, numpy_nn.optimizers.Adam): ...

One ``apply`` call still reads the learning rate, updates each variable, applies the
constraints and counts the step (:mod:`numpy_nn.optimizers.base`). What Keras 2 did
differently from Keras 3 around that:

* **Time decay** ``decay=d`` (Keras 2's ``_decayed_lr``), with :math:`t` the iteration count
  *before* this step and the arithmetic in the variables' float type:

  .. math:: \eta_t = \frac{\eta}{1 + d\,t}

  (Keras 3 accepts ``decay=`` and ignores it.) It also divides a schedule's value.
* **Clipping** (``_transform_gradients``): every option that is set is applied, in the order
  ``clipvalue`` (:math:`\operatorname{clip}(g, -c, c)`), then ``clipnorm`` per variable
  (:math:`g\,c / \max(\lVert g\rVert_2, c)`), then ``global_clipnorm`` (``tf.clip_by_global_norm``,
  :math:`g\,c \min(1/\lVert G\rVert, 1/c)` with :math:`1/c` computed in the variables' float
  type). ``clipvalue`` may be combined with either norm; ``clipnorm`` with ``global_clipnorm``
  may not. A value of 0 is not "off": it clips everything to 0 (Keras 3 ignores 0).
* **No** ``weight_decay`` argument (decoupled weight decay arrived with Keras 3 / AdamW).
* **Hyper-parameters in float32.** Keras 2 stored ``learning_rate``, ``momentum``, ``rho``,
  ``beta_1`` and ``beta_2`` in float32 variables and cast them to the variables' type at each
  step, so ``1 - beta_1`` is :math:`1 - \mathrm{f32}(\beta_1)`, where Keras 3's Adam rounds the
  double :math:`1 - \beta_1` instead (they differ by 2.4e-7 relative for 0.9, which moves an
  Adam step by 3e-6). ``decay`` reached the arithmetic through ``tf.cast(decay, dtype)``, which
  also makes a float32 tensor first. The classes here keep all of these as float32-rounded
  numbers, which reproduces both the float32 arithmetic and, for float64 models, Keras 2's
  float32-rounded constants. ``epsilon``, ``initial_accumulator_value`` and the clipping
  thresholds were converted to the variables' type directly, so they stay exact.
* ``lr=`` is the same as ``learning_rate=`` (Keras 2 warned it was deprecated).

Learning-rate schedules are numpy_nn's (:mod:`numpy_nn.optimizers.schedules`, Keras 3
semantics), called with the iteration count before the step, as Keras 2 did (it passed the
count as a float: the same values for the integer boundaries and step counts used here).
"""
from __future__ import annotations

import numpy as np

from numpy_nn._checks import check_number
from numpy_nn.optimizers import schedules
from numpy_nn.optimizers.base import Optimizer, clip_by_norm, global_norm_scale
from numpy_nn.variables import Variable


def float32_hyper(value):
    """``value`` rounded to float32, as Keras 2's hyper-parameter variables held it."""
    return float(np.float32(value))


def clip_by_global_norm(grads, clipnorm):
    r"""``tf.clip_by_global_norm``: every gradient times
    :math:`c \min(1/\lVert G\rVert, 1/c)`, with :math:`1/c` in the gradients' float type
    (Keras 3 rounds the double :math:`1/c`); NaN when the norm is not finite."""
    dtype = grads[0].dtype
    with np.errstate(divide="ignore"):               # clipnorm=0 clips everything to 0
        inverse_clipnorm = np.asarray(1, dtype) / np.asarray(clipnorm, dtype)
    scale = global_norm_scale(grads, clipnorm, inverse_clipnorm)
    return [g * scale for g in grads]


class Keras2Optimizer:
    """Keras 2's rules around the update (see the module docstring). Subclasses list the
    hyper-parameters Keras 2 kept in float32 variables in :attr:`float32_hyper_parameters`."""

    float32_hyper_parameters: tuple = ()

    def __init__(self, *args, clipnorm=None, clipvalue=None, global_clipnorm=None, decay=0.0,
                 **kwargs):
        owner = f"legacy.{type(self).__name__}"
        if "weight_decay" in kwargs:
            raise TypeError(f"{owner}: Keras 2 optimizers have no weight_decay argument; use a "
                            f"kernel_regularizer, or numpy_nn.optimizers.{type(self).__name__}"
                            f"(weight_decay=...) for Keras 3's decoupled weight decay")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                 "global_clipnorm": global_clipnorm}
        for key, value in clips.items():
            if value is not None:
                check_number(owner, key, value, low=0)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{owner}: cannot accept both clipnorm and global_clipnorm, got "
                             f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}")
        super().__init__(*args, decay=decay, **kwargs)   # the Keras 3 class, no clipping
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        for name in ("decay",) + self.float32_hyper_parameters:
            setattr(self, name, float32_hyper(getattr(self, name)))

    @property
    def registered_name(self):
        """The ``class_name`` a saved model stores (``"legacy.Nadam"``)."""
        return f"legacy.{type(self).__name__}"

    @Optimizer.learning_rate.setter
    def learning_rate(self, value):
        """A number is stored rounded to float32, as Keras 2's ``learning_rate`` variable."""
        if not isinstance(value, (schedules.LearningRateSchedule, Variable)) \
                and np.ndim(value) == 0 and np.asarray(value).dtype.kind in "fiu":
            value = float32_hyper(value)
        Optimizer.learning_rate.fset(self, value)

    lr = learning_rate

    def clip_gradients(self, grads):
        if self.clipvalue is not None:
            grads = [np.clip(g, np.asarray(-self.clipvalue, g.dtype),
                             np.asarray(self.clipvalue, g.dtype)) for g in grads]
        if self.clipnorm is not None:
            grads = [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            grads = clip_by_global_norm(grads, self.global_clipnorm)
        return grads

    def __repr__(self):
        return f"<{self.registered_name} {self.get_config()}>"
