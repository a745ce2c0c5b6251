"""The Social Relations Model: TripleR's ANOVA estimator (likingLong, multiGroup) and the
REML version (against lme4's special case with uncorrelated actor and partner effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.srm import social_relations
from ipnstats.estimators.srm_data import check_round_robin, round_robin
from ipnstats.estimators.srm_reml import design, reml_loglik
from tests.reference import load

IDS = {"actor": "perceiver.id", "partner": "target.id"}


@pytest.fixture(scope="module")
def liking(reference_data):
    return pd.read_csv(reference_data / "triple_r" / "likingLong.csv")


@pytest.fixture(scope="module")
def multi(reference_data):
    return pd.read_csv(reference_data / "triple_r" / "multiGroup.csv")


@pytest.fixture(scope="module")
def liking_fit(liking):
    return social_relations(liking, "liking_a", **IDS)


@pytest.fixture(scope="module")
def multi_fit(multi):
    return social_relations(multi, "ex", group="group.id", self_ratings="drop", **IDS)


def test_liking_matches_triple_r(liking_fit):
    ref = load("srm/triple_r_liking")
    c = liking_fit.components
    for term in ("actor_variance", "partner_variance", "relationship_variance",
                 "actor_partner_covariance", "relationship_covariance"):
        assert c.loc[term, "estimate"] == pytest.approx(ref[term]["estimate"], abs=1e-6)
    assert c.loc["actor_variance", "std_error"] == pytest.approx(
        ref["actor_variance"]["se"], abs=1e-6)
    assert c.loc["partner_variance", "std_error"] == pytest.approx(
        ref["partner_variance"]["se"], abs=1e-6)
    ap = c.loc["actor_partner_covariance"]
    assert ap["standardized"] == pytest.approx(ref["actor_partner_covariance"]["standardized"],
                                               abs=1e-6)
    assert ap["p_value"] == pytest.approx(ref["actor_partner_covariance"]["p_value"], abs=1e-6)
    assert c.loc["relationship_covariance", "standardized"] == pytest.approx(
        ref["relationship_covariance"]["standardized"], abs=1e-6)
    assert (c["df"] == 53).all()
    assert liking_fit.nobs == 2862 and liking_fit.glance()["n_persons"].iloc[0] == 54
    assert liking_fit.notes == ()


def test_liking_tidy_and_effects(liking_fit):
    tidy = liking_fit.tidy()
    assert list(tidy.columns[:7]) == ["term", "estimate", "std_error", "statistic", "p_value",
                                      "conf_low", "conf_high"]
    assert (tidy["conf_low"] < tidy["estimate"]).all()
    eff = liking_fit.get_effects()
    assert len(eff) == 54 and list(eff.columns) == ["id", "group", "actor", "partner"]
    # actor and partner effects sum to zero in a complete round robin; the actor-effect
    # sum of squares over n - 1, less the relationship share, is the actor variance
    assert eff["actor"].sum() == pytest.approx(0, abs=1e-10)
    assert eff["partner"].sum() == pytest.approx(0, abs=1e-10)
    n, c = 54, liking_fit.components["estimate"]
    a_var = (eff["actor"] ** 2).sum() / (n - 1) - c["relationship_variance"] * (n - 1) / (
        n * (n - 2)) - c["relationship_covariance"] / (n * (n - 2))
    assert a_var == pytest.approx(c["actor_variance"], abs=1e-12)
    gm = liking_fit.get_effects(group_mean=True)
    assert (gm["actor"] - eff["actor"]).round(12).nunique() == 1


def test_multigroup_exclusions(multi_fit):
    ex = multi_fit.excluded
    # TripleR long2matrix: 28 participants were rated but rated nobody -> excluded
    assert len(ex) == 28 and set(ex["reason"]) == {"only a partner: never an actor"}
    assert ex.groupby("group").size().to_dict() == {2: 4, 5: 3, 6: 4, 8: 1, 9: 1, 12: 1,
                                                   14: 6, 18: 4, 20: 4}
    assert {90202, 90204, 90208, 90217, 91404, 91424} <= set(ex["id"])
    assert multi_fit.group_sizes == (21, 22, 19, 24, 24, 24, 24, 19, 20, 20)
    assert multi_fit.n_missing_dyads == 127
    assert multi_fit.note_codes == ("missing_dropped", "missing_imputed")


PINNED_MULTI = {"actor_variance": 0.23616358237962007, "partner_variance": 0.8453308224222383,
                "relationship_variance": 1.2038550927704719,
                "actor_partner_covariance": -0.010884304022885571,
                "relationship_covariance": 0.10647995758185622}


def test_multigroup_pooled_lashley_bond(multi_fit):
    """Pinned estimates: derived by this implementation from TripleR 1.5.4's source (no
    printed TripleR output for multiGroup is available here), then checked by hand
    against TripleR's pooling rule (getWTest, se = "LashleyBond", its default): the mean
    of the group estimates weighted by n - 1, se = sqrt(sum w^2 se_g^2) / sum w from the
    groups' squared Bond-Lashley standard errors, t on sum(n - 1) df."""
    c = multi_fit.components
    for term, v in PINNED_MULTI.items():
        assert c.loc[term, "estimate"] == pytest.approx(v, abs=1e-10)
    g = multi_fit.group_components
    for term in PINNED_MULTI:
        rows = g[g["term"] == term]
        x, w = rows["estimate"].to_numpy(), rows["n"].to_numpy() - 1.0
        assert c.loc[term, "estimate"] == pytest.approx(np.sum(w * x) / w.sum(), abs=1e-12)
        se = np.sqrt(np.sum(w ** 2 * rows["sevar"].to_numpy())) / w.sum()
        assert c.loc[term, "std_error"] == pytest.approx(se, abs=1e-12)
    assert (c["df"] == 217 - 10).all()
    t = c.loc["actor_partner_covariance", "statistic"]
    assert c.loc["actor_partner_covariance", "p_value"] == pytest.approx(
        2 * stats.t.sf(abs(t), 207))  # covariances two-sided
    t = c.loc["actor_variance", "statistic"]
    assert c.loc["actor_variance", "p_value"] == pytest.approx(stats.t.sf(abs(t), 207))
    assert c.loc["actor_partner_covariance", "standardized"] == pytest.approx(
        PINNED_MULTI["actor_partner_covariance"] / np.sqrt(
            PINNED_MULTI["actor_variance"] * PINNED_MULTI["partner_variance"]))
    # a group's own table: the Bond-Lashley SE is the root of its squared SE
    first = g[g["group"] == 2].set_index("term")
    assert first.loc["actor_variance", "std_error"] == pytest.approx(
        np.sqrt(first.loc["actor_variance", "sevar"]))


def test_multigroup_soremo(multi):
    """se = "soremo": TripleR's between-group weighted t-test (weighted.t.test, var.wt)."""
    fit = social_relations(multi, "ex", group="group.id", self_ratings="drop", se="soremo",
                           **IDS)
    c, g = fit.components, fit.group_components
    for term, v in PINNED_MULTI.items():
        assert c.loc[term, "estimate"] == pytest.approx(v, abs=1e-10)
        rows = g[g["term"] == term]
        x, w = rows["estimate"].to_numpy(), rows["n"].to_numpy() - 1.0
        var = (np.sum(w * x ** 2) * w.sum() - np.sum(w * x) ** 2) / (w.sum() ** 2
                                                                      - np.sum(w ** 2))
        assert c.loc[term, "std_error"] == pytest.approx(np.sqrt(var / 10), abs=1e-12)
    assert (c["df"] == 9).all()
    t = c.loc["relationship_variance", "statistic"]
    assert c.loc["relationship_variance", "p_value"] == pytest.approx(stats.t.sf(abs(t), 9))
    assert fit.method == "anova (soremo)"


def test_exclusion_is_iterative():
    """A person who rates only someone who is then excluded loses every rating too."""
    rows = [{"i": i, "j": j, "y": float(i + 2 * j)} for i in range(5) for j in range(5)
            if i != j]
    data = pd.DataFrame(rows)
    data.loc[data["j"] == 4, "y"] = np.nan  # nobody rates 4: 4 is excluded
    data.loc[(data["i"] == 3) & (data["j"] != 4), "y"] = np.nan  # 3 rated only 4
    rr = round_robin(check_round_robin(data, "y", "i", "j", None), "y", "i", "j")
    assert rr.ids == (0, 1, 2)
    assert {i for i, _ in rr.excluded} == {3, 4}
    with pytest.raises(DataError, match="at least 4"):
        social_relations(data, "y", actor="i", partner="j")


def _simulated(n=6, seed=1, groups=1):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        a, b = rng.normal(size=n), rng.normal(size=n)
        rows += [{"g": g, "i": f"{g}-{i}", "j": f"{g}-{j}", "y": a[i] + b[j] + rng.normal()}
                 for i in range(n) for j in range(n) if i != j]
    return pd.DataFrame(rows)


def test_negative_variance_blanks_effects():
    rng = np.random.default_rng(1)
    b = rng.normal(size=6)
    rows = [{"i": i, "j": j, "y": b[j] + rng.normal()} for i in range(6) for j in range(6)
            if i != j]
    fit = social_relations(pd.DataFrame(rows), "y", actor="i", partner="j")
    c = fit.components
    assert c.loc["actor_variance", "estimate"] < 0
    assert c.loc[["actor_variance", "actor_partner_covariance"], "std_error"].isna().all()
    assert fit.effects["actor"].isna().all() and fit.effects["partner"].notna().all()
    assert fit.has_note("heywood_case")


def test_errors():
    data = _simulated()
    with pytest.raises(DataError, match="rating itself"):
        social_relations(pd.concat([data, pd.DataFrame([{"i": "0-1", "j": "0-1", "y": 1.0}])]),
                         "y", actor="i", partner="j")
    ok = social_relations(pd.concat([data, pd.DataFrame([{"i": "0-1", "j": "0-1",
                                                          "y": np.nan}])]),
                          "y", actor="i", partner="j")
    assert ok.nobs == 30
    with pytest.raises(DataError, match="repeat a dyad"):
        social_relations(pd.concat([data, data.head(1)]), "y", actor="i", partner="j")
    with pytest.raises(DataError, match="at least 4"):
        small = data[data["i"].isin(["0-0", "0-1", "0-2"]) & data["j"].isin(["0-0", "0-1",
                                                                           "0-2"])]
        social_relations(small, "y", actor="i", partner="j")
    holes = data.copy()
    holes.loc[0, "y"] = np.nan
    with pytest.raises(DataError, match="1 dyad rating"):
        social_relations(holes, "y", actor="i", partner="j", na_rm=False)
    assert social_relations(holes, "y", actor="i", partner="j").has_note("missing_imputed")
    with pytest.raises(SpecificationError, match="not in the data"):
        social_relations(data, "z", actor="i", partner="j")
    two = pd.concat([data, data.assign(g=1)])
    with pytest.raises(DataError, match="more than one group"):
        social_relations(two, "y", actor="i", partner="j", group="g")
    with pytest.raises(SpecificationError, match="method"):
        social_relations(data, "y", actor="i", partner="j", method="ml")


def test_small_group_left_out_of_many():
    data = _simulated(n=5, groups=4)
    small = data[(data["g"] == 3) & data["i"].isin(["3-0", "3-1", "3-2"])
                 & data["j"].isin(["3-0", "3-1", "3-2"])]
    fit = social_relations(pd.concat([data[data["g"] < 3], small]), "y", actor="i",
                           partner="j", group="g")
    assert fit.groups == (0, 1, 2) and fit.excluded_groups == (3,)
    assert fit.has_note("subgroup_not_estimable")


def test_reml_loglik_matches_lme4(liking):
    """lme4 fits the special case s_ab = 0 with s_g = dyad + residual, s_gg = dyad."""
    ref = load("srm/liking_lmer")
    rows = check_round_robin(liking, "liking_a", "perceiver.id", "target.id", None)
    d = design([round_robin(rows, "liking_a", "perceiver.id", "target.id")])
    assert len(d.y) == ref["nobs"]
    theta = [ref["actor_variance"], ref["partner_variance"], 0.0,
             ref["dyad_variance"] + ref["residual_variance"], ref["dyad_variance"]]
    assert reml_loglik(d, theta) == pytest.approx(ref["reml_loglik"], abs=1e-6)


def test_reml_fit_close_to_anova(liking, liking_fit):
    ref = load("srm/liking_lmer")
    fit = social_relations(liking, "liking_a", method="reml", **IDS)
    assert fit.converged and fit.loglik >= ref["reml_loglik"] - 1e-8
    est, anova = fit.components["estimate"], liking_fit.components["estimate"]
    assert np.allclose(est, anova, rtol=0.02, atol=1e-3)
    assert (fit.components["std_error"] > 0).all()
    assert fit.get_effects()["actor"].corr(liking_fit.get_effects()["actor"]) > 0.99


def test_reml_many_groups_with_missing_dyads():
    data = _simulated(n=6, groups=5, seed=3)
    data.loc[[3, 40, 77], "y"] = np.nan
    anova = social_relations(data, "y", actor="i", partner="j", group="g")
    reml = social_relations(data, "y", actor="i", partner="j", group="g", method="reml")
    assert reml.nobs == anova.nobs == 147
    assert not reml.has_note("missing_imputed")
    assert np.isfinite(reml.components["std_error"]).all()
    assert reml.components.loc["relationship_variance", "estimate"] == pytest.approx(
        anova.components.loc["relationship_variance", "estimate"], rel=0.3)


def test_missing_dyads_imputed_and_flagged():
    """TripleR's rules: imputed ratings feed the effects, not the relationship sums; a
    group of 5 with more than 2 missing dyads is above TripleR's recommended maximum."""
    data = _simulated(n=5, seed=4)
    drop = (data["i"] == "0-0") & data["j"].isin(["0-1", "0-2", "0-3"])
    data.loc[drop, "y"] = np.nan
    fit = social_relations(data, "y", actor="i", partner="j")
    rel = fit.relationship_effects.set_index(["actor", "partner"])["relationship"]
    assert rel.loc[("0-0", "0-1")] != rel.loc[("0-0", "0-1")]  # NaN
    assert rel.notna().sum() == fit.nobs == 17
    assert fit.n_missing_dyads == 3
    assert fit.note_codes.count("missing_imputed") == 2  # imputed, and above the maximum
    # the effects are those of the filled matrix: actor effects still sum to zero
    assert fit.effects["actor"].sum() == pytest.approx(0, abs=1e-10)
