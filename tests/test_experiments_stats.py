"""numpy_nn.experiments.stats against values worked out by hand on fixed numbers.

The t quantiles and p-values used below come from closed forms (Student's t with 1 degree
of freedom is the Cauchy distribution, quantile tan(pi (q - 1/2)); with 2 degrees of freedom
its CDF is F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so the two-sided p-value is
1 - |t| / sqrt(2 + t^2)) or from printed t tables (t = 2 with 8 degrees
of freedom: two-sided p = 0.0805; 0.975 quantile with 4 degrees of freedom: 2.776445).
"""
import math

import pytest

from numpy_nn.experiments.stats import holm_adjust, summarize, welch_test


def test_mean_sample_std_and_t_interval_of_five_values():
    summary = summarize([1, 2, 3, 4, 5])
    assert summary.n == 5 and summary.mean == 3.0
    assert summary.std == pytest.approx(math.sqrt(2.5), rel=1e-12)          # ddof = 1, not 0
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)                         # t(0.975, 4)
    assert summary.ci_low == pytest.approx(3 - half, abs=1e-6)
    assert summary.ci_high == pytest.approx(3 + half, abs=1e-6)
    assert summary.half_width == pytest.approx(half, abs=1e-6)


def test_interval_of_two_values_uses_t_with_one_degree_of_freedom():
    summary = summarize([0.0, 2.0])          # mean 1, s = sqrt(2), s / sqrt(n) = 1
    t_975_1 = math.tan(math.pi * (0.975 - 0.5))     # t with 1 degree of freedom is Cauchy
    assert (summary.ci_low, summary.ci_high) == pytest.approx((1 - t_975_1, 1 + t_975_1),
                                                              abs=1e-9)
    assert summary.half_width > 1.96 * 1.0               # not the normal approximation


def test_fewer_than_two_values_have_no_spread():
    one = summarize([0.7])
    assert one.mean == 0.7 and math.isnan(one.std) and math.isnan(one.ci_low)
    assert math.isnan(summarize([]).mean)


def test_welch_with_two_degrees_of_freedom_matches_the_closed_form():
    # a = [0, 2], b = [3, 5]: both variances 2, se = sqrt(2/2 + 2/2) = sqrt(2), t = -3/sqrt(2)
    test = welch_test([0, 2], [3, 5])
    t = -3 / math.sqrt(2)
    assert test.difference == -3.0
    assert test.t == pytest.approx(t, rel=1e-12)
    assert test.df == pytest.approx(2.0, rel=1e-12)
    assert test.p_value == pytest.approx(1 - abs(t) / math.sqrt(2 + t * t), rel=1e-9)


def test_welch_equals_the_printed_table_value_for_t_2_with_8_degrees_of_freedom():
    test = welch_test([1, 2, 3, 4, 5], [3, 4, 5, 6, 7])
    assert test.t == pytest.approx(-2.0) and test.df == pytest.approx(8.0)
    assert test.p_value == pytest.approx(0.0805, abs=5e-5)


def test_welch_degrees_of_freedom_with_unequal_variances():
    a, b = [1, 2, 3, 4], [2, 6, 10, 14, 18]
    var_a, var_b = (5 / 3) / 4, 40 / 5                 # s^2 / n on each side, by hand
    test = welch_test(a, b)
    assert test.t == pytest.approx(-7.5 / math.sqrt(var_a + var_b), rel=1e-12)
    df = (var_a + var_b) ** 2 / (var_a ** 2 / 3 + var_b ** 2 / 4)
    assert test.df == pytest.approx(df, rel=1e-12) and 4 < df < 5
    # |t| = 2.585 lies between the tables' p for 4 (0.0611) and 5 (0.0491) degrees of freedom
    assert 0.0491 < test.p_value < 0.0611
    # Student's test (equal variances, 7 degrees of freedom) would give another p
    from scipy import stats
    assert stats.ttest_ind(a, b).pvalue != pytest.approx(test.p_value, rel=1e-3)


def test_welch_without_enough_values_or_spread_says_nan():
    assert math.isnan(welch_test([1.0], [2.0, 3.0]).p_value)
    assert math.isnan(welch_test([1.0, 1.0], [1.0, 1.0]).p_value)


def test_holm_multiplies_the_sorted_p_values_by_m_j_plus_1_and_keeps_them_monotone():
    # sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.5 (x1 = 0.5)
    assert holm_adjust([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    # a later, smaller product is lifted to the running maximum: 0.04 x 3 = 0.12 > 0.045 x 2
    assert holm_adjust([0.04, 0.045, 0.9]) == pytest.approx([0.12, 0.12, 0.9])


def test_holm_caps_at_one_and_skips_rows_without_a_p_value():
    adjusted = holm_adjust([0.7, math.nan, 0.3])           # m = 2, not 3: 0.3 x 2, then 0.7
    assert adjusted[0] == pytest.approx(0.7) and adjusted[2] == pytest.approx(0.6)
    assert math.isnan(adjusted[1])
    assert holm_adjust([0.6, 0.55]) == [1.0, 1.0]           # 0.55 x 2 = 1.1, capped
    with pytest.raises(ValueError, match="p_values"):
        holm_adjust([0.2, 1.5])
