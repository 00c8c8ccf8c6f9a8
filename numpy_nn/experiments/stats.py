r"""Statistics over seeds: mean, sample standard deviation, 95% confidence interval, and
Welch's t-test for the difference of two means (SciPy's ``scipy.stats``).

For :math:`n` values :math:`x_1..x_n`:

.. math::
    \bar x = \frac1n \sum_i x_i, \qquad
    s = \sqrt{\frac{1}{n-1} \sum_i (x_i - \bar x)^2}, \qquad
    \mathrm{CI}_{95} = \bar x \pm t_{0.975,\,n-1} \frac{s}{\sqrt n}

(Student's t quantile with :math:`n-1` degrees of freedom: the seeds are few, so not 1.96).

Welch's test compares two means without assuming equal variances:

.. math::
    t = \frac{\bar a - \bar b}{\sqrt{s_a^2/n_a + s_b^2/n_b}}, \qquad
    \nu = \frac{(s_a^2/n_a + s_b^2/n_b)^2}
               {\frac{(s_a^2/n_a)^2}{n_a - 1} + \frac{(s_b^2/n_b)^2}{n_b - 1}},

and the two-sided p-value is :math:`2\,P(T_\nu > |t|)`, computed by
``scipy.stats.ttest_ind(a, b, equal_var=False)``.

A table tests many rows at once: at :math:`\alpha = 0.05`, about one row in twenty differs by
chance alone. Holm's step-down correction keeps the chance of *any* false difference at
:math:`\alpha`: sort the :math:`m` p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`, and

.. math::
    \tilde p_{(i)} = \min\Bigl(1,\ \max_{j \le i}\, (m - j + 1)\, p_{(j)}\Bigr);

a row differs at family-wise level :math:`\alpha` when :math:`\tilde p < \alpha`.

Holm's correction asks of each row alone; the rows can also agree with each other. If two
engines were equivalent, a row's difference would be as likely positive as negative, so among
:math:`n` rows with a sign the number :math:`k` of positive ones is Binomial(:math:`n`, 1/2),
and the sign test's two-sided p-value is the probability of a split at least as uneven
(``scipy.stats.binomtest(k, n)``):

.. math::
    p = \min\Bigl(1,\ 2 \sum_{i \le \min(k,\, n-k)} \binom{n}{i} 2^{-n}\Bigr).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIDENCE", "Summary", "WelchTest", "holm_adjust", "summarize", "welch_test"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float            # sample standard deviation (ddof=1); NaN for n < 2
    ci_low: float         # 95% t interval; NaN for n < 2
    ci_high: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def _scipy_stats():
    """scipy.stats, or an ImportError that says which extra brings it."""
    try:
        from scipy import stats
    except ImportError as error:
        raise ImportError("numpy_nn.experiments.stats needs SciPy: "
                          "pip install numpy_nn[experiments]") from error
    return stats


def summarize(values, confidence=CONFIDENCE) -> Summary:
    """Mean, sample standard deviation and the ``confidence`` t interval of ``values``."""
    stats = _scipy_stats()

    values = _finite_array(values, "values")
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(np.mean(values))
    if n < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class WelchTest:
    difference: float     # mean(a) - mean(b)
    t: float
    df: float             # Welch-Satterthwaite degrees of freedom
    p_value: float        # two-sided; NaN when it cannot be computed


def welch_test(a, b) -> WelchTest:
    """Welch's two-sided t-test of mean(a) = mean(b) (``scipy.stats.ttest_ind``,
    ``equal_var=False``). Needs at least two values on each side; otherwise, or when both
    sides have no spread at all, the p-value is NaN."""
    stats = _scipy_stats()

    a, b = _finite_array(a, "a"), _finite_array(b, "b")
    if len(a) < 2 or len(b) < 2:
        difference = float(np.mean(a) - np.mean(b)) if len(a) and len(b) else math.nan
        return WelchTest(difference, math.nan, math.nan, math.nan)
    difference = float(np.mean(a) - np.mean(b))
    var_a, var_b = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    if var_a + var_b == 0:
        return WelchTest(difference, math.nan, math.nan, math.nan)
    result = stats.ttest_ind(a, b, equal_var=False)
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
    return WelchTest(difference, float(result.statistic), float(df), float(result.pvalue))


def sign_test(differences) -> tuple[int, int, float]:
    """``(positive, negative, p)``: how many ``differences`` are above and below zero (zeros
    and NaN are not counted) and the two-sided sign test's p-value of that split
    (``scipy.stats.binomtest``; NaN with no signed difference)."""
    d = _finite_array(differences, "differences")
    positive, negative = int(np.sum(d > 0)), int(np.sum(d < 0))
    if positive + negative == 0:
        return positive, negative, math.nan
    return positive, negative, float(
        _scipy_stats().binomtest(positive, positive + negative).pvalue)


def holm_adjust(p_values) -> list[float]:
    """Holm-adjusted p-values, in the order given (NaN stays NaN and is not counted in m)."""
    p = _finite_array(p_values, "p_values")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_values: expected values in [0, 1], got {p.tolist()}")
    adjusted = np.full(len(p), math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    running = 0.0
    for rank, index in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        running = max(running, (m - rank) * p[index])       # (m - j + 1) p_(j), j = rank + 1
        adjusted[index] = min(1.0, running)
    return adjusted.tolist()


def _finite_array(values, name):
    array = np.asarray(list(values), dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a flat sequence of numbers, got shape {array.shape}")
    return array
