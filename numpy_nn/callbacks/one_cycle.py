r"""The 1cycle learning-rate schedule (Smith, 2018, "A disciplined approach to neural network
hyper-parameters: Part 1", arXiv:1803.09820), exactly as the chapter writes it.

With :math:`T` = ``iterations``, :math:`L` = ``last_iterations``, :math:`h = \lfloor (T - L)/2
\rfloor`, and the rates :math:`\eta_0` = ``start_rate``, :math:`\eta_\max` = ``max_rate``,
:math:`\eta_\text{end}` = ``last_rate``, batch :math:`i` (counted from 0 over the whole run)
uses

.. math::

    \eta_i = \begin{cases}
      \eta_0 + (\eta_\max - \eta_0)\,\dfrac{i}{h} & i < h \quad\text{(warm-up)}\\[4pt]
      \eta_\max + (\eta_0 - \eta_\max)\,\dfrac{i - h}{h}
        & h \le i < 2h \quad\text{(cool-down)}\\[4pt]
      \max\!\Big(\eta_0 + (\eta_\text{end} - \eta_0)\,\dfrac{i - 2h}{T - 2h},\ \eta_\text{end}\Big)
        & i \ge 2h \quad\text{(annihilation)}
    \end{cases}

(the ``max`` with :math:`\eta_\text{end}` applies to every phase; it only bites in the last).
Defaults, as in the chapter: :math:`\eta_0 = \eta_\max/10`, :math:`L = \lfloor T/10 \rfloor + 1`,
:math:`\eta_\text{end} = \eta_0/1000`.
"""
from __future__ import annotations

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.callbacks.callback import Callback
from numpy_nn.callbacks.schedulers import _require_settable_rate


class OneCycleScheduler(Callback):
    """Set the learning rate before every batch following the 1cycle schedule.

    ``OneCycleScheduler(len(X_train) // batch_size * n_epochs, max_rate=0.05)`` as in the
    chapter. :meth:`rate_at` gives the rate of any batch without training (for plots); the
    callback counts batches in ``self.iteration`` across epochs (and across ``fit`` calls,
    like the chapter's class).
    """

    def __init__(self, iterations, max_rate, start_rate=None, last_iterations=None,
                 last_rate=None):
        super().__init__()
        if not is_int(iterations) or iterations < 1:
            raise ValueError(f"OneCycleScheduler: iterations must be a positive int, got "
                             f"{iterations!r}")
        if not isinstance(max_rate, (int, float, np.number)) or not max_rate > 0:
            raise ValueError(f"OneCycleScheduler: max_rate must be > 0, got {max_rate!r}")
        self.iterations = int(iterations)
        self.max_rate = float(max_rate)
        # The chapter's ``x or default``: None (or 0) means "use the default".
        self.start_rate = start_rate or self.max_rate / 10  # (eq. 2)
        self.last_iterations = last_iterations or self.iterations // 10 + 1  # (eq. 2)
        self.half_iteration = (self.iterations - self.last_iterations) // 2
        self.last_rate = last_rate or self.start_rate / 1000  # (eq. 2)
        self.iteration = 0

    @staticmethod
    def _interpolate(iteration, iter1, iter2, rate1, rate2):
        return (rate2 - rate1) * (iteration - iter1) / (iter2 - iter1) + rate1

    def rate_at(self, iteration):
        """The learning rate of batch ``iteration`` (0-based, counted over the whole run)."""
        half = self.half_iteration
        if iteration < half:
            rate = self._interpolate(iteration, 0, half, self.start_rate, self.max_rate)  # (eq. 1)
        elif iteration < 2 * half:
            rate = self._interpolate(iteration, half, 2 * half,  # (eq. 1)
                                     self.max_rate, self.start_rate)
        else:
            rate = self._interpolate(iteration, 2 * half, self.iterations, self.start_rate,
                                     self.last_rate)
        return max(rate, self.last_rate)  # (eq. 1)

    def on_batch_begin(self, batch, logs=None):
        optimizer = _require_settable_rate(self)
        rate = self.rate_at(self.iteration)
        self.iteration += 1
        optimizer.learning_rate = rate
