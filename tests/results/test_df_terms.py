"""Per-term (Satterthwaite) degrees of freedom in a Result: tidy's df column, Wald tests."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.results.result import Result


def _result(**kw) -> Result:
    names = ["a", "b"]
    return Result(params=pd.Series([1.0, 2.0], index=names),
                  cov=pd.DataFrame(np.diag([0.25, 0.25]), index=names, columns=names),
                  vcov="iid", df_inference=10.0, estimator="test", outcome="y", nobs=12, **kw)


def test_tidy_has_no_df_column_with_one_law():
    assert "df" not in _result().tidy().columns


def test_tidy_reports_and_uses_per_term_df():
    tidy = _result(df_terms=pd.Series([3.0, 40.0], index=["a", "b"])).tidy()
    assert tidy.df.tolist() == [3.0, 40.0]
    assert tidy.p_value.tolist() == pytest.approx([2 * stats.t.sf(2.0, 3), 2 * stats.t.sf(4.0, 40)])
    half = stats.t.ppf(0.975, 3) * 0.5
    assert tidy.conf_low[0] == pytest.approx(1 - half)


def test_a_non_positive_df_gives_no_test():
    tidy = _result(df_terms=pd.Series([0.0, 5.0], index=["a", "b"])).tidy()
    assert np.isnan(tidy.p_value[0]) and np.isnan(tidy.conf_low[0])
    assert np.isfinite(tidy.p_value[1])


def test_wald_test_takes_the_contrast_df():
    seen = []

    def contrast_df(R):
        seen.append(R.copy())
        return 7.0

    res = _result(df_terms=pd.Series([3.0, 40.0], index=["a", "b"]), contrast_df=contrast_df)
    w = res.wald_test(["b"])
    assert w.df_denom == 7.0 and seen[0].tolist() == [[0.0, 1.0]]
    assert w.p_value == pytest.approx(stats.f.sf(16.0, 1, 7))


def test_wald_test_without_a_contrast_rule_says_so():
    res = _result(df_terms=pd.Series([3.0, 40.0], index=["a", "b"]))
    with pytest.raises(SpecificationError, match="Satterthwaite"):
        res.wald_test(["a", "b"])
