"""Measurement invariance by school on Holzinger & Swineford (1939) against lavaan's
``lavTestLRT`` and semTools' ``compareFit`` (tests/reference/lavaan/hs_invariance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.invariance import measurement_invariance
from tests.reference import load

holzinger39 = pytest.importorskip("semopy.examples.holzinger39")
HS = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def mi():
    return measurement_invariance(holzinger39.get_data(), HS, group="school")


def test_table_matches_lavaan(mi):
    ref = load("lavaan/hs_invariance")
    t = mi.table()
    assert list(t["level"]) == ref["levels"]
    cf = ref["compare_fit"]
    for col in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        np.testing.assert_allclose(t[col], cf[col], rtol=1e-6, atol=1e-6, err_msg=col)
    lrt = ref["lrt"]
    for col in ("chisq_diff", "df_diff", "p_diff"):
        np.testing.assert_allclose(t[col].iloc[1:], lrt[col][1:], rtol=1e-5, err_msg=col)
    np.testing.assert_allclose(t["delta_cfi"].iloc[1:], np.diff(cf["cfi"]), atol=1e-7)
    np.testing.assert_allclose(t["delta_rmsea"].iloc[1:], np.diff(cf["rmsea"]), atol=1e-7)
    assert t[["chisq_diff", "delta_cfi"]].iloc[0].isna().all()


def test_group_parameters_match_lavaan(mi):
    ref = load("lavaan/hs_invariance")
    assert list(mi.fit("scalar").groups) == ref["groups"]
    for level in ref["levels"]:
        ours = mi.fit(level).parameters()
        theirs = pd.DataFrame(ref["par"][level]).fillna({"rhs": ""})
        both = ours.merge(theirs, on=["lhs", "op", "rhs", "group"], validate="one_to_one")
        assert len(both) == len(ours) == len(theirs)
        np.testing.assert_allclose(both["estimate"], both["est"], atol=5e-5)
        np.testing.assert_allclose(both["std_error"], both["se"], atol=5e-5)


def test_bad_levels_and_group(mi):
    data = holzinger39.get_data()
    with pytest.raises(SpecificationError, match="unknown invariance level"):
        measurement_invariance(data, HS, group="school", levels=("weak",))
    with pytest.raises(SpecificationError, match="group column"):
        measurement_invariance(data, HS, group="schools")
    with pytest.raises(SpecificationError, match="unknown level"):
        mi.fit("partial")


def test_mlr_invariance_matches_lavaan():
    ref = load("lavaan/hs_invariance_mlr")
    mi = measurement_invariance(holzinger39.get_data(), HS, group="school", estimator="mlr")
    t = mi.table()
    lrt = ref["lrt"]
    np.testing.assert_allclose(t["chisq_diff"].iloc[1:], lrt["chisq_diff"][1:], rtol=1e-5)
    np.testing.assert_allclose(t["p_diff"].iloc[1:], lrt["p_diff"][1:], rtol=1e-4)
    for level, fit in zip(mi.levels, mi.fits, strict=True):
        m, r = fit.fit_measures(), ref["fit"][level]
        for key in ("chisq", "chisq_scaled", "chisq_scaling_factor", "cfi_robust",
                    "rmsea_robust", "srmr"):
            ref_value = r[key.replace("_", ".")]
            assert m[key] == pytest.approx(ref_value, rel=2e-6, abs=1e-5), (level, key)
