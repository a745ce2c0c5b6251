"""aggregation: ICC(1), ICC(2), rwg, rwg(j), AD(M) against R multilevel 2.7 on bh1996,
lq2002 and cohesion (tests/reference/multilevel), the edge cases, and a property test
that bad input gets an ipnstats error, never a traceback."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import load

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.measurement.aggregation import (
    LEBRETON_SENTER_2008,
    aggregation,
    null_variance,
)

HERE = Path(__file__).resolve().parents[1] / "reference" / "multilevel"
REF = load("multilevel/bh1996")
LEAD = [f"LEAD{i:02d}" for i in range(1, 12)]


@pytest.fixture(scope="module")
def bh1996():
    data = pd.read_csv(HERE / "bh1996.csv.gz")
    assert len(data) == 7382
    return data


@pytest.fixture(scope="module")
def lq2002():
    data = pd.read_csv(HERE / "lq2002.csv.gz")
    assert len(data) == 2042
    return data


@pytest.fixture(scope="module")
def lead(lq2002):
    return aggregation(lq2002, LEAD, group="COMPID", scale_points=5)


@pytest.mark.parametrize("scale", ["WBEING", "HRS", "LEAD", "COHES"])
def test_icc_matches_multilevel_on_bh1996(bh1996, scale):
    ref = REF["icc"][scale]
    row = aggregation(bh1996, [scale], group="GRP").icc.set_index("term").loc[scale]
    for name in ("icc1", "icc2", "F", "k0", "icc1_low", "icc1_high", "icc2_low", "icc2_high"):
        assert row[name] == pytest.approx(ref[name], rel=1e-10), name
    assert (row["df1"], row["df2"]) == (ref["df1"], ref["df2"])


def test_wbeing_done_when(bh1996):
    g = aggregation(bh1996, ["WBEING"], group="GRP").glance().iloc[0]
    assert round(g["icc1"], 5) == 0.04337 and round(g["icc2"], 4) == 0.7717


def test_icc_of_items_on_lq2002(lead):
    icc = lead.icc.set_index("term")
    for item, ref in REF["icc_lq"].items():
        assert icc.loc[item, "icc1"] == pytest.approx(ref["icc1"], rel=1e-10)
        assert icc.loc[item, "icc2"] == pytest.approx(ref["icc2"], rel=1e-10)


def test_rwg_j_and_summaries_match_multilevel(lead):
    ref = REF["rwgj_lead"]
    groups = lead.groups
    assert groups["group"].astype(str).tolist() == ref["grpid"]
    np.testing.assert_allclose(groups["rwg_j"], ref["rwg_j"], rtol=1e-12)
    assert groups["size"].tolist() == ref["gsize"]
    g = lead.glance().iloc[0]
    assert g["rwg_j_mean"] == pytest.approx(ref["mean"], rel=1e-12)
    assert g["rwg_j_median"] == pytest.approx(ref["median"], rel=1e-12)
    assert g["rwg_j_share_70"] == pytest.approx(ref["share_70"])


def test_ad_m_mean_and_median_match_multilevel(lead):
    np.testing.assert_allclose(lead.groups["ad_m_mean"], REF["adm_lead"]["mean"], rtol=1e-12)
    np.testing.assert_allclose(lead.groups["ad_m_median"], REF["adm_lead"]["median"], rtol=1e-12)


def test_single_item_rwg_and_ad_m(lq2002):
    res = aggregation(lq2002, ["LEAD01"], group="COMPID", scale_points=5)
    np.testing.assert_allclose(res.rwg["rwg"], REF["rwg_lead01"]["rwg"], rtol=1e-12)
    # rwg(j) of one item is rwg
    np.testing.assert_allclose(res.groups["rwg_j"], REF["rwg_lead01"]["rwg"], rtol=1e-12)
    np.testing.assert_allclose(res.groups["ad_m_mean"], REF["adm_lead01"]["mean"], rtol=1e-12)


def test_skewed_null_and_explicit_variance(lq2002):
    slight = aggregation(lq2002, LEAD, group="COMPID", scale_points=5, null="slight_skew")
    assert slight.null_variance == 1.34
    np.testing.assert_allclose(slight.groups["rwg_j"], REF["rwgj_lead_slight"]["rwg_j"],
                               rtol=1e-12)
    tsig = aggregation(lq2002, ["TSIG01", "TSIG02", "TSIG03"], group="COMPID", null=2.0)
    np.testing.assert_allclose(tsig.groups["rwg_j"], REF["rwgj_tsig"]["rwg_j"], rtol=1e-12)


def test_bh1996_scores(bh1996):
    res = aggregation(bh1996, ["LEAD", "COHES", "WBEING"], group="GRP", null=2.0)
    np.testing.assert_allclose(res.groups["rwg_j"], REF["rwgj_bh"]["rwg_j"], rtol=1e-12)
    np.testing.assert_allclose(res.groups["ad_m_mean"], REF["adm_bh"]["mean"], rtol=1e-12)
    lead = aggregation(bh1996, ["LEAD"], group="GRP", null=2.0)
    np.testing.assert_allclose(lead.rwg["rwg"], REF["rwg_bh_lead"]["rwg"], rtol=1e-12)


def test_missing_values_drop_the_row_as_multilevel():
    coh = pd.read_csv(HERE / "cohesion.csv")
    items = [f"COH0{i}" for i in range(1, 6)]
    ref = REF["cohesion"]
    res = aggregation(coh, items, group="UNIT", scale_points=5)
    assert res.has_note("missing_dropped") and res.n_obs == 10
    np.testing.assert_allclose(res.groups["rwg_j"], ref["rwg_j"], rtol=1e-12)
    assert res.groups["size"].tolist() == ref["gsize"]
    np.testing.assert_allclose(res.groups["ad_m_mean"], ref["adm"], rtol=1e-12)
    one = aggregation(coh, ["COH02"], group="UNIT", scale_points=5)
    np.testing.assert_allclose(one.rwg["rwg"], ref["rwg_coh02"], rtol=1e-12)
    coh["platoon"] = coh["UNIT"] + " " + coh["PLATOON"]
    plat = aggregation(coh, items, group="platoon", scale_points=5)
    np.testing.assert_allclose(plat.groups["rwg_j"], ref["rwgj_platoon"], rtol=1e-12, atol=0)
    assert plat.groups["rwg_j"].iloc[0] == 0  # truncated: variance above the null's


def test_null_variances_follow_lebreton_senter():
    assert null_variance("uniform", 7) == 4.0 and null_variance("uniform", 5) == 2.0
    assert LEBRETON_SENTER_2008["heavy_skew"] == {5: 0.44, 7: 1.39}
    assert null_variance("normal", 7) == 1.40 and null_variance("triangular", 5) == 1.32
    with pytest.raises(SpecificationError, match="5- and 7-point"):
        null_variance("normal", 6)
    with pytest.raises(SpecificationError, match="unknown null"):
        null_variance("bimodal", 5)


def _frame():
    return pd.DataFrame({"g": [1, 1, 1, 2, 2, 2, 3], "a": [3, 4, 3, 1, 2, 1, 5],
                         "b": [3, 3, 3, 2, 2, 1, 4]})


def test_group_of_one_gets_nan_and_a_note():
    res = aggregation(_frame(), ["a", "b"], group="g", scale_points=5)
    assert res.has_note("group_of_one")
    last = res.groups.iloc[-1]
    assert last["size"] == 1 and np.isnan(last["rwg_j"]) and np.isnan(last["ad_m_mean"])
    assert res.glance().loc[0, "n_groups"] == 3


def test_constant_items():
    d = _frame().assign(c=3)
    res = aggregation(d, ["a", "c"], group="g", scale_points=5)
    assert res.has_note("constant_item")
    icc = res.icc.set_index("term")
    assert np.isnan(icc.loc["c", "icc1"]) and np.isfinite(icc.loc["a", "icc1"])
    assert (res.rwg.loc[res.rwg["item"] == "c", "rwg"].dropna() == 1).all()


def test_without_scale_points_rwg_is_nan_with_a_note():
    res = aggregation(_frame(), ["a", "b"], group="g")
    assert res.has_note("agreement_not_computed") and res.groups["rwg_j"].isna().all()
    assert res.groups["ad_m_mean"].notna().sum() == 2


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"items": ["a", "bb"]}, SpecificationError, "did you mean 'b'"),
    ({"group": "G"}, SpecificationError, "did you mean 'g'"),
    ({"items": ["a", "g"]}, SpecificationError, "both an item and the group"),
    ({"scale_points": 3}, DataError, "wider than a 3-point"),
    ({"scale_points": 5, "null": "bimodal"}, SpecificationError, "unknown null"),
    ({"scale_points": 0}, SpecificationError, "scale_points"),
    ({"conf_level": 95}, SpecificationError, "conf_level"),
])
def test_bad_arguments(kwargs, error, match):
    args = {"items": ["a", "b"], "group": "g"} | kwargs
    with pytest.raises(error, match=match):
        aggregation(_frame(), **args)


def test_one_group_and_all_singletons_are_data_errors():
    d = _frame()
    with pytest.raises(DataError, match="at least two groups"):
        aggregation(d.assign(g=1), ["a"], group="g")
    with pytest.raises(DataError, match="one member"):
        aggregation(d.assign(g=range(7)), ["a"], group="g")
    with pytest.raises(DataError, match="'a' holds 'x'"):
        aggregation(d.assign(a=["x"] + [1] * 6), ["a"], group="g")


_cell = st.one_of(st.integers(-3, 9), st.floats(allow_nan=True, allow_infinity=True),
                  st.none(), st.sampled_from(["", "x", "3", True]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.one_of(st.integers(0, 3), st.none(), st.just("k")),
                               _cell, _cell), min_size=0, max_size=12),
       scale_points=st.one_of(st.none(), st.integers(-1, 8), st.just("5")),
       null=st.one_of(st.sampled_from(["uniform", "normal", "heavy_skew", "nope"]),
                      st.floats(allow_nan=True, allow_infinity=True)))
def test_bad_input_gets_an_ipnstats_error(rows, scale_points, null):
    data = pd.DataFrame(rows, columns=["g", "a", "b"])
    try:
        res = aggregation(data, ["a", "b"], group="g", scale_points=scale_points, null=null)
    except (DataError, SpecificationError):
        return
    assert len(res.groups) >= 2 and res.glance().shape[0] == 1
