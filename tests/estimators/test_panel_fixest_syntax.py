"""Fixed effects in the formula, as R fixest and pyfixest read them (issue 20, item 6):
``panel_regression(data, "y ~ x | firm_id + industry^year", unit=, time=)`` against
pyfixest's ``feols`` on the example panel and on random designs (estimates, iid, HC1 and
CRV1 standard errors, nobs, degrees of freedom), CR2 and HC3 against the regression with
the fixed effects as dummies, the degrees-of-freedom rule for three or more effects, and
every construct refused with a message that says what to write."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import ipnstats
from ipnstats import SSC, Cluster, SpecificationError, panel_regression
from ipnstats.core.demean import absorbed_dof
from ipnstats.inference.sandwich import clip_to_psd

pf = pytest.importorskip("pyfixest")

FORMULA = "log_revenue ~ member + log_employees + profit_margin"
TOL = {"rtol": 1e-8, "atol": 0}
#: the example's fixed-effects parts whose first two sets are connected (pyfixest's
#: count of redundant levels, one per set after the first, is then exact too)
CONNECTED = {"two_way": " | firm_id + year", "three": " | firm_id + year + industry^year",
             "region_year": " | firm_id + year + region^year"}
VCOVS = {"iid": "iid", "hc1": "hetero", Cluster("firm_id"): {"CRV1": "firm_id"},
         Cluster("industry"): {"CRV1": "industry"},
         Cluster("firm_id", "year"): {"CRV1": "firm_id+year"}}


@pytest.fixture(scope="module")
def firm_year():
    fy = ipnstats.load_study(EXAMPLE).firm_year
    return fy.assign(w=fy["employees"].astype(float))


def _feols(formula: str, data: pd.DataFrame, vcov="iid", **kw):
    """pyfixest with converged demeaning and no singleton removal (ours keeps them)."""
    kw = {"fixef_rm": "none"} | kw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov=vcov, fixef_tol=1e-13, **kw)


def _ours(data, formula, **kw):
    return panel_regression(data, formula, unit="firm_id", time="year", **kw)


def _same(ours, theirs, what: str = "") -> None:
    """Estimates and standard errors agree (a two-way clustered covariance that ours
    repaired is compared with pyfixest's after the same repair)."""
    tidy = theirs.tidy()
    names = list(ours.params.index)
    np.testing.assert_allclose(ours.params, tidy.loc[names, "Estimate"], **TOL,
                               err_msg=f"estimates {what}")
    expected = tidy.loc[names, "Std. Error"].to_numpy()
    if ours.has_note("covariance_repaired"):
        order = [list(tidy.index).index(n) for n in names]
        expected = np.sqrt(np.diag(clip_to_psd(theirs._vcov[np.ix_(order, order)])[0]))
    np.testing.assert_allclose(ours.std_errors, expected, **TOL,
                               err_msg=f"standard errors {what}")


def _check_all(ours, theirs, vcovs: dict, what: str) -> None:
    for spec, their_spec in vcovs.items():
        mine = ours.with_vcov(spec)
        _same(mine, theirs.vcov(their_spec), f"{what} {spec}")
        assert mine.df_inference == pytest.approx(theirs._df_t, rel=1e-12), (what, spec)
    assert ours.nobs == theirs._N


# --- pyfixest on the example panel -------------------------------------------------------

@pytest.mark.parametrize("model", list(CONNECTED))
def test_example_panel_matches_pyfixest(firm_year, model):
    fe = CONNECTED[model]
    ours = _ours(firm_year, FORMULA + fe)
    theirs = _feols(FORMULA + fe, firm_year)
    _check_all(ours, theirs, VCOVS, model)
    assert ours.fit["r2"] == pytest.approx(theirs._r2, rel=1e-10)
    assert ours.fixed_effects == tuple(fe.replace("|", "").replace(" ", "").split("+"))


def test_weighted_extra_effects_match_pyfixest(firm_year):
    formula = FORMULA + " | firm_id + year + industry^year"
    ours = _ours(firm_year, formula, weights="w")
    theirs = _feols(formula, firm_year, weights="w")
    _check_all(ours, theirs, {"iid": "iid", "hc1": "hetero",
                              Cluster("firm_id"): {"CRV1": "firm_id"}}, "aweights")


def _exact_rank(effects: list[pd.Series]) -> int:
    """Rank of the fixed effects' dummies (an oracle independent of either package)."""
    D = np.column_stack([pd.get_dummies(e.astype(str)).to_numpy(float) for e in effects])
    return int(np.linalg.matrix_rank(D.T @ D))


def test_combined_effect_with_nested_firms_counts_redundancies_exactly(firm_year):
    """Firms sit in one industry each, so firm and industry^year effects share one
    redundant level per industry: K is exact here (one per connected component),
    pyfixest counts one for all; its standard errors differ by exactly that count,
    and agree with ours once fixed effects leave K (fixef_k="none")."""
    fy = firm_year
    assert fy.groupby("firm_id", observed=True)["industry"].nunique().max() == 1
    formula = FORMULA + " | firm_id + industry^year"
    ours = _ours(fy, formula)
    theirs = _feols(formula, fy)
    n, k = ours.nobs, 3
    industry_year = fy["industry"].astype(str) + "/" + fy["year"].astype(str)
    rank = _exact_rank([fy["firm_id"], industry_year])
    assert rank == 600 + 90 - 6
    assert ours.df_inference == n - k - rank
    assert theirs._df_t == n - k - (600 + 90 - 1)
    for spec, their_spec in {"iid": "iid", "hc1": "hetero"}.items():
        factor = np.sqrt(theirs._df_t / ours.df_inference)  # (n - K_pyfixest) / (n - K)
        np.testing.assert_allclose(ours.with_vcov(spec).std_errors,
                                   theirs.vcov(their_spec).tidy()["Std. Error"] * factor, **TOL)
    # firm clusters: the firm effects are nested, K = k + 90 on both sides
    _check_all(ours, theirs, {Cluster("firm_id"): {"CRV1": "firm_id"},
                              Cluster("industry"): {"CRV1": "industry"}}, "nested")
    none = _ours(fy, formula, ssc=SSC(fixef_k="none"))
    _check_all(none, _feols(formula, fy, ssc=pf.ssc(k_fixef="none")), VCOVS, "fixef_k none")


def test_the_formula_and_panel_effects_give_the_same_model(firm_year):
    fy = firm_year
    default = _ours(fy, FORMULA)
    assert _ours(fy, FORMULA + " | firm_id + year").tidy().equals(default.tidy())
    swapped = _ours(fy, FORMULA + " | year + firm_id")
    np.testing.assert_allclose(swapped.std_errors, default.std_errors, rtol=1e-10)
    assert swapped.fixed_effects == ("year", "firm_id")
    for fe, effects in ((" | firm_id", ("unit",)), (" | year", ("time",))):
        one = _ours(fy, FORMULA + fe)
        assert one.tidy().equals(_ours(fy, FORMULA, panel_effects=effects).tidy())
        assert _ours(fy, FORMULA + fe, panel_effects=effects).tidy().equals(one.tidy())
    pooled = _ours(fy, FORMULA + " | firm_id + industry^year", estimator="pooled")
    within = _ours(fy, FORMULA + " | firm_id + industry^year")
    assert pooled.tidy().equals(within.tidy()) and pooled.estimator == within.estimator
    only_extra = _ours(fy, FORMULA + " | industry^year")
    assert only_extra.fixed_effects == ("industry^year",)
    _check_all(only_extra, _feols(FORMULA + " | industry^year", fy),
               {"iid": "iid", "hc1": "hetero"}, "industry^year only")


def test_missing_values_in_an_extra_effect_are_left_out_and_counted(firm_year):
    fy = firm_year.copy()
    fy["region"] = fy["region"].astype(object)
    fy.loc[fy.index[::17], "region"] = None
    formula = FORMULA + " | firm_id + region^year"
    ours = _ours(fy, formula, vcov=Cluster("firm_id"))
    dropped = int(fy["region"].isna().sum())
    assert ours.nobs == len(fy) - dropped and ours.has_note("missing_dropped")
    assert f"{dropped:,} rows" in " ".join(ours.notes)
    complete = _ours(fy.dropna(subset=["region"]), formula, vcov=Cluster("firm_id"))
    np.testing.assert_allclose(ours.std_errors, complete.std_errors, rtol=1e-12)
    _check_all(ours, _feols(formula, fy), {Cluster("firm_id"): {"CRV1": "firm_id"}}, "na")


# --- CR2 and HC3: the regression with the fixed effects as dummies ------------------------

def _small_panel(seed: int, firms: int = 24, years: int = 6, industries: int = 3,
                 nested: bool = True, drop: float = 0.15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(firms), years)
    year = np.tile(np.arange(2000, 2000 + years), firms)
    industry = (rng.integers(0, industries, firms)[firm] if nested
                else rng.integers(0, industries, firm.size))
    x1, x2 = rng.normal(size=(2, firm.size))
    y = (0.5 * x1 - 0.3 * x2 + rng.normal(size=firms)[firm]
         + rng.normal(size=(industries, years))[industry, year - 2000] + rng.normal(size=firm.size))
    frame = pd.DataFrame({"firm_id": [f"F{f:02d}" for f in firm], "year": year,
                          "industry": [f"I{i}" for i in industry], "x1": x1, "x2": x2, "y": y})
    keep = rng.random(firm.size) > drop
    return frame[keep].reset_index(drop=True)


def test_cr2_with_an_extra_effect_equals_the_dummy_regression():
    data = _small_panel(3)
    data["iy"] = data["industry"] + "/" + data["year"].astype(str)
    spec = Cluster("firm_id", type="cr2")
    ours = _ours(data, "y ~ x1 + x2 | firm_id + year + industry^year", vcov=spec)
    dummies = _ours(data, "y ~ x1 + x2 + C(firm_id) + C(year) + C(iy)", estimator="pooled",
                    vcov=spec)
    np.testing.assert_allclose(ours.params, dummies.params[["x1", "x2"]], rtol=1e-9)
    np.testing.assert_allclose(ours.std_errors, dummies.std_errors[["x1", "x2"]], rtol=1e-8)
    np.testing.assert_allclose(ours.df_terms, dummies.df_terms[["x1", "x2"]], rtol=1e-8)


def test_hc3_with_one_combined_effect_equals_the_dummy_regression():
    data = _small_panel(4)
    data["iy"] = data["industry"] + "/" + data["year"].astype(str)
    ours = _ours(data, "y ~ x1 + x2 | industry^year", vcov="hc3")
    dummies = _ours(data, "y ~ x1 + x2 + C(iy)", estimator="pooled", vcov="hc3")
    np.testing.assert_allclose(ours.std_errors, dummies.std_errors[["x1", "x2"]], rtol=1e-8)


# --- random designs against pyfixest ------------------------------------------------------

def _components(a: pd.Series, b: pd.Series) -> int:
    ca, la = pd.factorize(a)
    cb, lb = pd.factorize(b)
    graph = coo_matrix((np.ones(ca.size), (ca, cb + len(la))),
                       shape=(len(la) + len(lb),) * 2)
    return connected_components(graph, directed=False)[0]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nested=st.booleans(),
       fe=st.sampled_from([" | firm_id + industry^year", " | firm_id + year + industry^year",
                           " | industry^year + firm_id"]))
def test_random_designs_match_pyfixest(seed, nested, fe):
    data = _small_panel(seed, nested=nested, drop=0.25)
    formula = "y ~ x1 + x2" + fe
    first, second = (s.strip() for s in fe.replace("|", "").split("+")[:2])

    def column(name):
        return (data["industry"] + "/" + data["year"].astype(str)) if "^" in name else data[name]

    connected = _components(column(first), column(second)) == 1
    ssc = {} if connected else {"ssc": SSC(fixef_k="none")}
    theirs = _feols(formula, data, **({} if connected else {"ssc": pf.ssc(k_fixef="none")}))
    ours = _ours(data, formula, **ssc)
    _check_all(ours, theirs, {"iid": "iid", "hc1": "hetero",
                              Cluster("firm_id"): {"CRV1": "firm_id"},
                              Cluster("industry"): {"CRV1": "industry"}}, f"{seed} {fe}")


def test_singletons_dropped_with_extra_effects_match_pyfixest():
    data = _small_panel(11, drop=0.6)
    formula = "y ~ x1 + x2 | firm_id + industry^year"
    ours = _ours(data, formula, drop_singletons=True, ssc=SSC(fixef_k="none"))
    theirs = _feols(formula, data, fixef_rm="singleton", ssc=pf.ssc(k_fixef="none"))
    assert ours.n_singletons > 0
    _check_all(ours, theirs, {"iid": "iid", Cluster("firm_id"): {"CRV1": "firm_id"}}, "single")


def test_degrees_of_freedom_of_three_or_more_effects():
    """The first two sets exactly (one redundancy per connected component), each further
    set its levels less one (fixest's and pyfixest's rule)."""
    a = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # two components with b
    b = np.array([0, 1, 0, 1, 2, 3, 2, 3])
    c = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    assert absorbed_dof([(a, 4), (b, 4)]) == 8 - 2
    assert absorbed_dof([(a, 4), (b, 4), (c, 3)]) == 11 - 2 - 1
    assert absorbed_dof([(a, 4), (b, 4), (c, 3), (c, 3)]) == 14 - 2 - 2


# --- what fixest users type that ipnstats does not offer ---------------------------------

@pytest.mark.parametrize("formula, options, parts", [
    ("y ~ x1 | firm_id[x1]", {}, ["varying slopes 'firm_id[x1]'", "C(firm_id):x1 | firm_id"]),
    ("y ~ x1[year] | firm_id", {}, ["varying slopes 'x1[year]'", "C(x1):year"]),
    ("y ~ x1 | firm_id[[x1]]", {}, ["varying slopes", "C(firm_id):x1"]),
    ("y ~ 1 | firm_id | x1 ~ x2", {}, ["instrumental", "'y ~ x | fe'", "feols"]),
    ("y ~ x1 | x2 ~ industry", {}, ["instrumental"]),
    ("y ~ i(year, ref=2000) | firm_id", {}, ["i()", "C(year, contr.treatment(base=2010))",
                                             "event_study"]),
    ("y ~ sw(x1, x2) | firm_id", {}, ["stepwise sw()", "one model per formula"]),
    ("y ~ csw(x1, x2) | firm_id", {}, ["stepwise csw()", "specification_curve"]),
    ("y ~ csw0(x1, x2)", {}, ["stepwise csw0()"]),
    ("y ~ sunab(cohort, year)", {}, ["sunab()", "ipnstats.sun_abraham"]),
    ("y ~ x1 | C(industry)", {}, ["'C(industry)' after '|' is not a fixed effect",
                                  "'a^b' combines"]),
    ("y ~ x1 |", {}, ["nothing after '|'"]),
    ("y ~ x1 | firm_id + firm_id", {}, ["'firm_id' twice"]),
    ("y ~ x1 | industry^industry", {}, ["combines a column with itself"]),
    ("y ~ x1 | firm_id + industri^year", {}, ["'industri'", "did you mean 'industry'"]),
    ("y ~ x1 | firm_id", {"estimator": "random"}, ["random-effects", "panel_effects=('unit',)",
                                                   "estimator='within'"]),
    ("y ~ x1 | firm_id + year", {"estimator": "first_difference"},
     ["first differences", "('unit', 'time')"]),
    ("y ~ x1 | industry", {"estimator": "between"}, ["between", "drop the '| ...' part"]),
    ("y ~ x1 | firm_id + year", {"panel_effects": ("unit",)},
     ["panel_effects=('unit',) disagrees", "absorb time and unit", "in one place"]),
    ("y ~ x1 | industry^year", {"panel_effects": ("unit", "time")},
     ["neither the unit nor the time effect"]),
])
def test_fixest_constructs_are_refused_with_what_to_write(formula, options, parts):
    data = _small_panel(1)
    with pytest.raises(SpecificationError) as err:
        _ours(data, formula, **options)
    for part in parts:
        assert part in str(err.value), (part, str(err.value))


@pytest.mark.parametrize("missing", [{"unit": "firm_id"}, {"time": "year"}, {}])
def test_unit_and_time_stay_required_and_the_error_shows_how(missing):
    data = _small_panel(2)
    with pytest.raises(SpecificationError) as err:
        panel_regression(data, "y ~ x1 | firm_id + year", **missing)
    message = str(err.value)
    assert "unit='firm_id', time='year'" in message
    assert ("unit=" in message.split(":")[0]) == ("unit" not in missing)


# --- the configuration's [[models]] ------------------------------------------------------

@pytest.mark.parametrize("formula, names", [
    ("y ~ x | firm_id + year", ("y", "x", "firm_id", "year")),
    ("y ~ x + C(region) | firm_id + industry^year", ("y", "x", "region", "firm_id",
                                                      "industry", "year")),
    ("y ~ x | a^b^c", ("y", "x", "a", "b", "c")),
])
def test_the_configuration_grammar_takes_fixed_effects(formula, names):
    from ipnstats.pipeline import check_formula

    assert check_formula(formula, two_sided=True) == names


@pytest.mark.parametrize("formula, rule, position", [
    ("y ~ x | C(industry)", "after '|' come fixed effects", 9),
    ("y ~ x |", "after '|' come fixed effects", 8),
    ("y ~ x | a + ", "after '|' come fixed effects", 13),
    ("y ~ x | a | z ~ w", "no second '|', no instrumental variables", 11),
    ("y ~ x | __import__", "names may not start with '_'", 9),
    ("y ~ a^b", "'^' combines fixed effects after '|'", 6),
    ("x | a", "needs an outcome", 0),
    ("y ~ x | " + " + ".join(f"f{i}" for i in range(201)), "at most 200 fixed effects", 0),
])
def test_the_configuration_grammar_refuses_bad_fixed_effects(formula, rule, position):
    from ipnstats.pipeline import ExpressionError, check_formula

    with pytest.raises(ExpressionError) as err:
        check_formula(formula, where="cfg", two_sided=True)
    assert rule in str(err.value)
    if position:
        assert f"position {position}" in str(err.value)


def test_a_configuration_model_with_fixed_effects_is_fitted(firm_year, tmp_path):
    from ipnstats.ipn.models import fit_model
    from ipnstats.pipeline import load_config

    path = tmp_path / "analyses" / "study.toml"
    path.parent.mkdir()
    formula = FORMULA + " | firm_id + industry^year"
    path.write_text(f'[study]\nfolder = "../data"\n[[models]]\nformula = "{formula}"\n',
                    encoding="utf-8")
    model = load_config(path).models[0]
    res = fit_model(firm_year, model)
    assert res.fixed_effects == ("firm_id", "industry^year")
    _check_all(res, _feols(formula, firm_year), {Cluster("firm_id"): {"CRV1": "firm_id"}},
               "config")


def test_rows_of_zero_or_missing_weight_leave_the_extra_effects_aligned(firm_year):
    fy = firm_year.copy()
    fy.loc[fy.index[::13], "w"] = 0.0
    fy.loc[fy.index[5::29], "w"] = np.nan
    formula = FORMULA + " | firm_id + industry^year"
    ours = _ours(fy, formula, weights="w", vcov=Cluster("firm_id"))
    kept = fy[fy["w"] > 0]
    oracle = _ours(kept, formula, weights="w", vcov=Cluster("firm_id"))
    assert ours.nobs == oracle.nobs == len(kept)
    np.testing.assert_allclose(ours.params, oracle.params, rtol=1e-10)
    np.testing.assert_allclose(ours.std_errors, oracle.std_errors, rtol=1e-10)
    _check_all(oracle, _feols(formula, kept, weights="w"),
               {Cluster("firm_id"): {"CRV1": "firm_id"}}, "positive weights")


def test_formula_variables_include_the_fixed_effects_and_other_models_refuse_them():
    from ipnstats.core.formula import build_design, formula_variables

    assert formula_variables("y ~ x + C(region) | firm_id + industry^year") == [
        "firm_id", "industry", "region", "x", "y", "year"]
    data = _small_panel(5)
    with pytest.raises(SpecificationError, match="absorbed by panel_regression"):
        build_design(data, "y ~ x1 | firm_id")
    with pytest.raises(SpecificationError, match="absorbed by panel_regression"):
        ipnstats.mixed_model(data, "y ~ x1 | industry", groups="firm_id")


def test_an_effect_spanned_by_another_is_named_with_the_exact_count(firm_year):
    """year is spanned by industry^year: K counts its levels (fixest's and pyfixest's
    rule for three or more sets), a note says so, and leaving it out gives the exact
    count with the same estimates."""
    three = _ours(firm_year, FORMULA + " | firm_id + year + industry^year")
    assert three.has_note("fixed_effects_redundant")
    note = next(n for n in three.notes if n.code == "fixed_effects_redundant")
    assert "'year' is spanned by 'industry^year'" in note and "leave 'year' out" in note
    two = _ours(firm_year, FORMULA + " | firm_id + industry^year")
    assert not two.has_note("fixed_effects_redundant")
    np.testing.assert_allclose(three.params, two.params, rtol=1e-9)
    industry_year = firm_year["industry"].astype(str) + "/" + firm_year["year"].astype(str)
    assert two.df_inference == two.nobs - 3 - _exact_rank([firm_year["firm_id"], industry_year])
    # K of three: 600 + 15 + 90 less 2; exact: 600 + 90 less one per industry (6)
    assert three.df_inference == two.df_inference - (15 - 1) - (6 - 1)
