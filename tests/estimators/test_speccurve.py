"""Specification curve of the H1a effect: grid, agreement with the estimators, summaries."""

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import ipnstats
from ipnstats import Cluster
from ipnstats.core.formula import SpecificationError
from ipnstats.estimators import speccurve
from ipnstats.estimators.did import sun_abraham, twfe_did
from ipnstats.estimators.speccurve import specification_curve
from ipnstats.figures import speccurve_plot

GRID = {"outcomes": ("log_revenue", "roa"),
        "estimators": ("twfe", "cs_never", "cs_notyet", "sunab"),
        "covariate_sets": {"none": (), "age + size": ("age", "log_employees")},
        "samples": ("all", "no_exits", "balanced"), "cluster": ("firm", "group")}
COLS = {"unit": "firm_id", "time": "year", "cohort": "cohort", "group": "group_id",
        "exit": "exit"}
NUMBERS = ("estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")
COUNTS = ("nobs", "n_units", "n_clusters")


@pytest.fixture(scope="module")
def fy(study):
    return study.firm_year


@pytest.fixture(scope="module")
def curve(fy):
    return specification_curve(fy, **GRID, **COLS, n_jobs=2)


@pytest.fixture(scope="module")
def tidy(curve):
    return curve.tidy()


def first_groups(fy):
    """Test's own cluster column: group_id of the first member year, else the firm alone."""
    members = fy[fy["member"] == 1].sort_values(["firm_id", "year"])
    first = members.groupby("firm_id", observed=True)["group_id"].first().astype(str)
    labels = fy["firm_id"].map(first).astype(object)
    alone = labels.isna()
    labels[alone] = "firm:" + fy.loc[alone, "firm_id"].astype(str)
    return fy.assign(first_group=pd.factorize(labels)[0])


def sample(fy, name):
    if name == "no_exits":
        return fy[~fy["firm_id"].isin(fy.loc[fy["exit"] == 1, "firm_id"])]
    if name == "balanced":
        years = fy.groupby("firm_id", observed=True)["year"].nunique()
        return fy[fy["firm_id"].isin(years.index[years == 15])]
    return fy


def row(tidy, **choices):
    mask = np.logical_and.reduce([tidy[k] == v for k, v in choices.items()])
    assert mask.sum() == 1
    return tidy[mask].iloc[0]


def test_one_row_per_combination_unavailable_kept(curve, tidy):
    sizes = [len(v) for v in GRID.values()]
    assert len(tidy) == np.prod(sizes) == 96
    combos = set(map(tuple, tidy[list(speccurve.DIMENSIONS)].to_numpy()))
    assert combos == set(itertools.product(*[tuple(v) for v in GRID.values()]))
    missing = tidy[tidy["status"] != "estimated"]
    assert set(missing["estimator"]) == {"sunab"} and set(missing["covariates"]) == {"age + size"}
    assert len(missing) == 2 * 3 * 2
    assert (missing["status"] == "not available: Sun-Abraham takes no covariates").all()
    assert missing[list(NUMBERS)].isna().all().all() and missing["rank"].isna().all()
    estimated = tidy[tidy["status"] == "estimated"]
    assert estimated[list(NUMBERS)].notna().all().all()
    assert estimated["rank"].tolist() == list(range(1, len(estimated) + 1))
    assert estimated["estimate"].is_monotonic_increasing


def test_no_firm_identities_in_output(fy, tidy, curve):
    cells = np.concatenate([tidy.to_numpy().ravel(), curve.glance().to_numpy().ravel()])
    text = set(map(str, cells))
    ids = set(fy["firm_id"].astype(str))
    assert not any(i in s for s in text for i in ids)


@pytest.mark.parametrize(("choices", "kwargs"), [
    ({"outcome": "log_revenue", "estimator": "cs_never", "covariates": "none",
      "sample": "balanced", "cluster": "group"},
     {"estimator": "cs", "control_group": "never_treated"}),
    ({"outcome": "log_revenue", "estimator": "cs_notyet", "covariates": "age + size",
      "sample": "no_exits", "cluster": "firm"},
     {"estimator": "cs", "control_group": "not_yet_treated",
      "covariates": ("age", "log_employees")}),
    ({"outcome": "roa", "estimator": "sunab", "covariates": "none", "sample": "all",
      "cluster": "group"}, {"estimator": "sunab", "control_group": "never_treated"}),
    ({"outcome": "log_revenue", "estimator": "twfe", "covariates": "none",
      "sample": "balanced", "cluster": "group"}, {"estimator": "twfe"}),
])
def test_equals_direct_estimator_call(fy, tidy, choices, kwargs):
    data = sample(first_groups(fy), choices["sample"])
    vcov = Cluster("firm_id" if choices["cluster"] == "firm" else "first_group")
    cols = {"outcome": choices["outcome"], "unit": "firm_id", "time": "year",
            "cohort": "cohort", "vcov": vcov}
    if kwargs["estimator"] == "twfe":
        res = twfe_did(data, **cols)
    elif kwargs["estimator"] == "sunab":
        res = sun_abraham(data, **cols)
    else:
        res = ipnstats.participation_effect(data, **cols, n_boot=0, **kwargs)
    direct = res.tidy().set_index("term").loc["ATT"]
    got = row(tidy, **choices)
    for name in NUMBERS:
        assert got[name] == pytest.approx(direct[name], rel=1e-10, abs=1e-12), name
    assert got["nobs"] == res.nobs and got["n_units"] == res.n_units
    assert got["n_clusters"] == (res.n_clusters or res.n_units)


def test_twfe_with_covariates_equals_panel_regression(fy, tidy):
    data = fy.assign(d=((fy["cohort"] > 0) & (fy["year"] >= fy["cohort"])).astype(float))
    res = ipnstats.panel_regression(data, "log_revenue ~ d + age + log_employees",
                                    unit="firm_id", time="year", vcov=Cluster("firm_id"))
    direct = res.tidy().set_index("term").loc["d"]
    got = row(tidy, outcome="log_revenue", estimator="twfe", covariates="age + size",
              sample="all", cluster="firm")
    for name in NUMBERS:
        assert got[name] == pytest.approx(direct[name], rel=1e-10, abs=1e-12), name
    assert (got["nobs"], got["n_clusters"]) == (res.nobs, 600)
    assert "age" in res.collinear and got["note"].startswith("age dropped: collinear")


def test_group_clusters_are_first_groups_plus_never_members(fy, tidy):
    members = fy[fy["member"] == 1].sort_values(["firm_id", "year"])
    first = members.groupby("firm_id", observed=True)["group_id"].first()
    never = fy["firm_id"].nunique() - first.size
    assert never >= (fy.groupby("firm_id", observed=True)["cohort"].first() == 0).sum()
    got = row(tidy, outcome="log_revenue", estimator="twfe", covariates="none", sample="all",
              cluster="group")
    assert got["n_clusters"] == first.nunique() + never == 256
    balanced = sample(fy, "balanced")
    firms = balanced["firm_id"].unique()
    in_bal = first[first.index.isin(firms)]
    got = row(tidy, outcome="log_revenue", estimator="twfe", covariates="none",
              sample="balanced", cluster="group")
    assert got["n_clusters"] == in_bal.nunique() + (len(firms) - in_bal.size)



def test_result_does_not_depend_on_n_jobs(fy):
    grid = GRID | {"outcomes": ("log_revenue",), "samples": ("all", "no_exits"),
                   "estimators": ("twfe", "cs_never", "sunab")}
    one = specification_curve(fy, **grid, **COLS, n_jobs=1).tidy()
    two = specification_curve(fy, **grid, **COLS, n_jobs=2).tidy()
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_result_on_a_dask_cluster_equals_the_local_one(fy, dask_cluster):
    _, client = dask_cluster
    grid = GRID | {"outcomes": ("log_revenue",), "samples": ("all",),
                   "estimators": ("twfe", "cs_notyet")}
    local = specification_curve(fy, **grid, **COLS, n_jobs=1).tidy()
    seen = []
    on_dask = specification_curve(fy, **grid, **COLS, backend="dask", scheduler=client,
                                  progress=lambda done, total: seen.append((done, total)))
    pd.testing.assert_frame_equal(local, on_dask.tidy(), check_exact=True)
    assert seen[-1] == (len(local), len(local))


def test_glance_shares_from_tidy(curve, tidy):
    g = curve.glance().iloc[0]
    est = tidy[tidy["status"] == "estimated"]
    sig = est["p_value"] < 0.05
    assert (g["n_specs"], g["n_estimated"]) == (96, len(est)) == (96, 84)
    assert g["median_estimate"] == pytest.approx(est["estimate"].median())
    assert g["share_positive"] == pytest.approx((est["estimate"] > 0).mean())
    assert g["share_significant_same_direction"] == pytest.approx(
        (sig & (est["estimate"] > 0)).mean())
    assert g["share_significant_opposite"] == pytest.approx((sig & (est["estimate"] < 0)).mean())
    flipped = speccurve.SpecificationCurveResult(curve.estimates, curve.choices,
                                           curve.covariate_sets, direction=-1).glance().iloc[0]
    assert flipped["share_significant_same_direction"] == g["share_significant_opposite"]


def test_primary_effect_positive_and_robust(curve, tidy):
    primary = row(tidy, outcome="log_revenue", estimator="cs_notyet", covariates="none",
                  sample="all", cluster="firm")
    assert 0.06 < primary["estimate"] < 0.11 and primary["p_value"] < 0.001
    g = curve.select(outcome="log_revenue").glance().iloc[0]
    assert g["n_specs"] == 48 and g["n_estimated"] == 42
    assert g["share_significant_same_direction"] > 0.9
    assert g["share_significant_opposite"] == 0


def test_unestimable_specifications_are_kept_not_raised(fy):
    treated_only = fy[fy["cohort"] > 0]
    curve = specification_curve(treated_only, outcomes=("log_revenue",),
                                covariate_sets={"none": ()}, samples=("all",),
                                cluster=("firm",), **COLS, n_jobs=1)
    out = curve.tidy().set_index("estimator")
    assert out.loc["cs_never", "status"].startswith("not available: no ATT(g,t)")
    assert out.loc["cs_notyet", "status"] == "estimated"
    none_treated = specification_curve(fy[fy["cohort"] == 0], outcomes=("roa",),
                                       covariate_sets=speccurve.COVARIATE_SETS, **COLS,
                                       estimators=("twfe",), samples=("all",), n_jobs=1)
    assert (none_treated.tidy()["status"] == "not available: the 'all' sample has no "
            "treated units").all()
    assert none_treated.glance()["n_estimated"].item() == 0


def test_bad_choices_raise_at_the_boundary(fy):
    base = {"outcomes": ("log_revenue",), "covariate_sets": {"none": ()}, **COLS}
    with pytest.raises(SpecificationError, match="unknown estimator choice"):
        specification_curve(fy, **base, estimators=("ols",))
    with pytest.raises(SpecificationError, match="direction"):
        specification_curve(fy, **base, direction=2)
    with pytest.raises(SpecificationError, match="outcome"):
        specification_curve(fy, **base | {"outcomes": ("sales",)})
    with pytest.raises(SpecificationError, match="needs the group= column"):
        specification_curve(fy, **base | {"group": None})


def test_plot_has_curve_and_matrix(curve):
    fig = speccurve_plot(curve.select(outcome="log_revenue"),
                         labels={"log_revenue": "Log revenue"})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    top, bottom = fig.axes
    points = sum(len(line.get_xdata()) for line in top.lines if line.get_linestyle() == "None")
    assert points == 42
    ticks = [t.get_text() for t in bottom.get_yticklabels()]
    assert ticks[:2] == ["Outcome", "  Log revenue"] and "Clustering" in ticks
    assert len(ticks) == 5 + 1 + 4 + 2 + 3 + 2
