"""The minimum detectable effect of every claim (issue 20: "Not supported" rows show the
MDE): the claims decided by several tests or a bootstrap interval (H1b-H1d, H2d, H3a)
and those whose units were missing (H2b, H2c) carry a finite MDE in stated units on the
example; the joint-test MDE against Monte Carlo; JSON round trips."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

from ipnstats.inference.equivalence import (
    joint_mde,
    minimum_detectable_effect,
    wald_noncentrality,
)
from ipnstats.ipn.claims import (
    ALPHA,
    MDE_POWER,
    adjudicate,
    claims_from_json,
    claims_to_json,
)
from ipnstats.ipn.h1 import fit_h1
from ipnstats.ipn.h1_findings import h1_claims, h1_findings, steps_mde
from ipnstats.ipn.h2 import cramers_v_mde, fit_h2, h2_claims
from ipnstats.ipn.h3 import fit_h3, h3_claims, senders_mde
from ipnstats.ipn.questions import chi2_statistic
from ipnstats.pipeline.store import dumps
from ipnstats.report.claims import verdict_table

#: the claims that had no MDE (or no units) before, and the units each now states
UNITS = {"H1b": "log points", "H1c": "log points",
         "H1d": "log points per SD of each practice",
         "H2b": "log-odds per cognitive-shift point",
         "H2c": "cognitive-shift points per point of loss aversion",
         "H2d": "Cramér's V", "H3a": "cognitive-shift points per SD",
         "H3b": "elasticity points", "H3c": "elasticity points"}


def _json(obj):
    """``obj`` as the pipeline stores it, read back."""
    return json.loads(dumps(obj))


@pytest.fixture(scope="module")
def h1(study):
    return fit_h1(study.firm_year, threshold=study.codebook.disclosure_threshold, n_boot=9,
                  mediation_draws=9, firms=study.tables.get("firms"))


@pytest.fixture(scope="module")
def h1_stored(h1):
    """The H1 findings as the pipeline stores them (JSON)."""
    return _json(h1_findings(h1))


@pytest.fixture(scope="module")
def claims(study, h1, h1_stored):
    """Every claim of the example with its verdict and MDE, by code."""
    h2 = fit_h2(study.exchanges, threshold=study.codebook.disclosure_threshold, n_boot=9)
    h3 = fit_h3(study.exchanges, study.tasks, threshold=study.codebook.disclosure_threshold)
    out = [*adjudicate(h1_claims(h1, h1_stored)), *adjudicate(h2_claims(h2)),
           *adjudicate(h3_claims(h3))]
    return {c.code: c for c in out}, h2, h3


def test_every_claim_has_a_finite_mde_in_stated_units(claims):
    by_code = claims[0]
    assert len(by_code) == 13
    for code, c in by_code.items():
        assert np.isfinite(c.mde) and c.mde > 0, code
        assert c.units, code
    for code, units in UNITS.items():
        assert by_code[code].units == units, code


def test_h1b_mde_is_the_least_precise_steps(claims, h1):
    rise = h1.stages.rise_test()
    se = rise.loc[rise["contrast"] != "all steps", "std_error"].to_numpy(float)
    expected = minimum_detectable_effect(se.max(), None, ALPHA, MDE_POWER, "greater")
    assert claims[0]["H1b"].mde == pytest.approx(expected, rel=1e-12)
    z = stats.norm.ppf(1 - ALPHA) + stats.norm.ppf(MDE_POWER)
    assert claims[0]["H1b"].mde == pytest.approx(z * se.max(), rel=1e-9)


def test_steps_rule_with_two_steps_is_the_larger_single_step_mde():
    steps = {"columns": ["contrast", "estimate", "std_error", "p_value"],
             "data": [["b - a", "c - b"], [0.1, 0.2], [0.03, 0.05], [0.01, 0.02]]}
    single = [minimum_detectable_effect(s, None, ALPHA, MDE_POWER, "greater")
              for s in (0.03, 0.05)]
    assert steps_mde(steps) == pytest.approx(max(single), rel=1e-12)
    steps["data"][2] = [0.05, 0.03]  # order does not matter
    assert steps_mde(steps) == pytest.approx(max(single), rel=1e-12)


def test_findings_stored_before_the_mde_still_read(h1, h1_stored):
    old = json.loads(json.dumps(h1_stored))
    steps = old["H1b"]["steps"]
    keep = [i for i, c in enumerate(steps["columns"]) if c != "std_error"]
    old["H1b"]["steps"] = {"columns": [steps["columns"][i] for i in keep],
                           "data": [steps["data"][i] for i in keep]}
    for key in ("mde_cooperative", "mde_competitive"):
        del old["H1d"][key]
    new, before = ({c.code: c for c in adjudicate(h1_claims(h1, f))} for f in (h1_stored, old))
    for code in ("H1b", "H1d"):
        assert np.isnan(before[code].mde), code
        assert before[code].evidence == new[code].evidence
        assert before[code].verdict == new[code].verdict


def test_h1d_mde_is_the_larger_blocks_joint_test_mde(claims, h1, h1_stored):
    std = h1.practices_std
    blocks = [joint_mde(std.cov.loc[list(b), list(b)].to_numpy(), std.df_inference)
              for b in (std.cooperative, std.competitive)]
    assert claims[0]["H1d"].mde == pytest.approx(max(blocks), rel=1e-12)
    assert h1_stored["H1d"]["mde_cooperative"] == pytest.approx(blocks[0], rel=1e-12)


def test_h1c_mde_is_the_normal_two_sided_mde_of_the_bootstrap_se(claims, h1):
    se = h1.mediation.tidy().set_index("term").loc["indirect::perceived_learning",
                                                   "std_error"]
    assert claims[0]["H1c"].mde == pytest.approx(
        minimum_detectable_effect(se, None, ALPHA, MDE_POWER), rel=1e-12)


def test_h2d_mde_in_cramers_v(claims):
    _, h2, _ = claims
    a = h2.questions.association
    n, r = a.table.to_numpy().sum(), min(a.table.shape)
    lam = stats.ncx2  # the closed form: V* = sqrt(lambda* / (n (r - 1)))
    crit = stats.chi2.ppf(1 - ALPHA, a.df)
    v = claims[0]["H2d"].mde
    assert lam.sf(crit, a.df, v ** 2 * n * (r - 1)) == pytest.approx(MDE_POWER, abs=1e-8)
    assert v < a.cramers_v  # the example's association is far above the MDE


def test_h3_mdes(claims):
    _, _, h3 = claims
    comp = h3.senders.comparisons()
    m = len(comp)
    z = stats.norm.ppf(1 - ALPHA / m) + stats.norm.ppf(MDE_POWER)
    assert h3.senders.df_inference is None
    assert claims[0]["H3a"].mde == pytest.approx(z * comp["std_error"].max(), rel=1e-9)
    assert np.isnan(senders_mde(comp.iloc[:0]))  # no comparison: no MDE
    tri = h3.triangulation
    se = float(tri.comparison().iloc[0]["std_error"])
    assert claims[0]["H3c"].df == tri.df_inference
    assert claims[0]["H3c"].mde == pytest.approx(
        minimum_detectable_effect(se, tri.df_inference, ALPHA, MDE_POWER, "less"), rel=1e-12)
    assert claims[0]["H3b"].df is None and claims[0]["H3b"].alternative == "less"


def test_joint_mde_against_monte_carlo():
    """Chi-square statistics of normal draws with mean delta 1 and covariance V reject at
    the MDE in 80% of draws (no fitting)."""
    rng = np.random.default_rng(20)
    draws = 20000
    for v in (np.array([[0.04, 0.01], [0.01, 0.09]]),
              np.array([[1.0, -0.3, 0.2], [-0.3, 2.0, 0.5], [0.2, 0.5, 0.5]])):
        k = v.shape[0]
        delta = joint_mde(v)
        theta = rng.multivariate_normal(np.full(k, delta), v, size=draws)
        w = np.einsum("ij,jk,ik->i", theta, np.linalg.inv(v), theta)
        rate = float(np.mean(w > stats.chi2.ppf(1 - ALPHA, k)))
        assert abs(rate - MDE_POWER) < 4 * np.sqrt(MDE_POWER * (1 - MDE_POWER) / draws), k


def test_wald_noncentrality_closed_forms():
    # one restriction: the square of the two-sided MDE in SEs, normal and t
    assert wald_noncentrality(1) == pytest.approx(minimum_detectable_effect(1.0) ** 2,
                                                  rel=1e-8)
    assert wald_noncentrality(1, 12) == pytest.approx(
        minimum_detectable_effect(1.0, 12) ** 2, rel=1e-7)
    # the F needs more than the chi-square, and tends to it
    assert wald_noncentrality(3, 20) > wald_noncentrality(3, 200) > wald_noncentrality(3)
    assert wald_noncentrality(3, 1e7) == pytest.approx(wald_noncentrality(3), rel=1e-4)
    assert np.isnan(joint_mde([[1.0, 1.0], [1.0, 1.0]]))  # singular: no MDE


def test_cramers_v_mde_against_monte_carlo():
    """Pearson X² of 2 x 2 tables drawn with phi = V*: rejects in about 80% of tables (the
    asymptotic noncentral law, n = 400)."""
    n, draws = 400, 20000
    v = cramers_v_mde(1, n, 2)
    d = v / 4  # cells 1/4 +- d: phi = 4 d
    p = np.array([0.25 + d, 0.25 - d, 0.25 - d, 0.25 + d])
    tables = np.random.default_rng(21).multinomial(n, p, size=draws).reshape(draws, 2, 2)
    rate = float(np.mean(chi2_statistic(tables) > stats.chi2.ppf(1 - ALPHA, 1)))
    assert abs(rate - MDE_POWER) < 0.015


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a)
                      and np.isnan(b))


def test_claims_with_an_mde_survive_json(claims):
    items = list(claims[0].values())
    back = claims_from_json(_json(claims_to_json(items)))
    assert len(back) == len(items)
    for a, b in zip(items, back, strict=True):
        assert np.isfinite(b.mde) and b.mde == a.mde and b.units == a.units, a.code
        for name, value in dataclasses.asdict(a).items():
            assert _same(value, getattr(b, name)), (a.code, name)


def test_verdict_table_explains_the_mde_of_several_tests(claims):
    held = [dataclasses.replace(c, verdict="Supported") for c in claims[0].values()]
    supported = verdict_table(held, "holm")
    assert "MDE" not in " ".join(supported.notes)  # no MDE column, no note on it
    # beside a "Not supported" verdict, each of them shows its MDE with its units
    missed = [dataclasses.replace(c, verdict="Not supported") for c in claims[0].values()]
    table = verdict_table(missed, "holm")
    note = " ".join(table.notes)
    assert "least powerful" in note and "bound on Holm" in note and "Cramér's V" in note
    shown = table.frame.set_index("code")["mde"]
    for code, units in UNITS.items():
        assert shown[code].endswith(units) and shown[code][0].isdigit(), code
