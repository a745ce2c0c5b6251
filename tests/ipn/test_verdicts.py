"""Honest verdicts (issue 20): falsification checks as equivalence tests with the 4-way
reading of TOST and the ordinary test, no adjustment that makes a check pass, and the
minimum detectable effect beside every "Not supported" claim."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ipnstats.inference.equivalence import minimum_detectable_effect, tost
from ipnstats.ipn.claims import (
    CHECK_SESOI,
    Check,
    Claim,
    adjudicate,
    adjudicate_checks,
    check,
    check_verdict,
    claims_from_json,
    claims_to_json,
)
from ipnstats.report.claims import checks_table, verdict_table


def _p(est: float, se: float) -> float:
    return float(2 * stats.norm.sf(abs(est / se)))


def _check(est, se, sesoi=0.1, df=None, what="x") -> Check:
    """A check of one estimate with normal inference."""
    return check("H9", what, lambda: (f"{est:+.3f}", _p(est, se), est, se, df), sesoi, "units")


def _verdict(*args, **kwargs) -> str:
    return adjudicate_checks([_check(*args, **kwargs)])[0].verdict


def test_four_way_reading():
    # equivalent, not different from zero: the 90% CI (-0.023, 0.043) is inside +/-0.1
    assert _verdict(0.01, 0.02) == "No effect"
    # equivalent and different from zero: a negligible effect passes (Lakens 2018)
    assert _p(0.05, 0.01) < 0.05 and _verdict(0.05, 0.01) == "No effect"
    # different from zero and not equivalent: an effect
    assert _verdict(0.5, 0.05) == "Effect found"
    # neither: the data cannot tell (a non-rejection is not "No effect")
    assert _p(0.0, 0.2) > 0.05 and _verdict(0.0, 0.2) == "Inconclusive"


def test_reading_follows_tost_and_the_ordinary_test():
    rng = np.random.default_rng(5)
    for _ in range(100):
        est, se = rng.normal(0, 0.1), rng.uniform(0.005, 0.15)
        c = adjudicate_checks([_check(est, se)])[0]
        eq = tost(est, se, None, -0.1, 0.1).p_value
        assert c.p_equivalence == pytest.approx(eq)
        expected = ("No effect" if eq < 0.05 else
                    "Effect found" if _p(est, se) < 0.05 else "Inconclusive")
        assert c.verdict == expected == check_verdict(c.p_value, eq)


def test_without_a_sesoi_a_non_rejection_is_inconclusive():
    # a joint test with no single estimate to bound (H2d's Wald test): never "No effect"
    joint = check("H2d", "senders", lambda: ("Wald chi2(5) = 1.78", 0.88))
    assert np.isnan(joint.sesoi) and np.isnan(joint.p_equivalence)
    assert adjudicate_checks([joint])[0].verdict == "Inconclusive"
    rejected = check("H2d", "senders", lambda: ("Wald chi2(5) = 30", 1e-5))
    assert adjudicate_checks([rejected])[0].verdict == "Effect found"
    untestable = check("H2d", "senders", lambda: (_ for _ in ()).throw(ValueError("no data")))
    assert adjudicate_checks([untestable])[0].verdict == "Not testable"


def test_several_estimates_intersection_union():
    # pre-trend leads: equivalence only if every lead is within the bounds
    est, se = np.array([0.0, 0.01, -0.09]), np.array([0.01, 0.01, 0.02])
    c = check("H1a", "leads", lambda: ("chi2(3)", 0.5, est, se, None))
    assert c.p_equivalence == pytest.approx(max(tost(e, s, None, -0.05, 0.05).p_value
                                                 for e, s in zip(est, se, strict=True)))
    assert c.sesoi == CHECK_SESOI["H1a"][0] and c.units == "log points"
    assert c.estimate == -0.09 and c.std_error == 0.02  # largest |estimate|, widest SE
    assert adjudicate_checks([c])[0].verdict == "Inconclusive"
    inside = check("H1a", "leads", lambda: ("chi2(3)", 0.5, est[:2], se[:2], None))
    assert adjudicate_checks([inside])[0].verdict == "No effect"


def test_no_adjustment_makes_a_check_pass():
    # the ordinary test is never adjusted: p = .03 among null checks still finds an effect
    # (Holm on the ordinary p-values, as before issue 20, would have passed it)
    family = [_check(0.11, 0.05, what="suspicious")] + [
        _check(0.0, 0.01, what=f"null {i}") for i in range(5)]
    assert family[0].p_value < 0.05
    for method in ("none", "holm", "bonferroni"):
        out = adjudicate_checks(family, method)
        assert out[0].verdict == "Effect found"
    # adjusting the equivalence p-values only makes "No effect" harder to reach
    borderline = [_check(0.0, 0.1 / stats.norm.ppf(0.96), what=f"b{i}") for i in range(3)]
    assert [c.verdict for c in adjudicate_checks(borderline)] == ["No effect"] * 3
    holm = adjudicate_checks(borderline, "holm")
    assert [c.verdict for c in holm] == ["Inconclusive"] * 3
    assert all(h.p_adjusted >= c.p_equivalence for h, c in zip(holm, borderline, strict=True))


def test_check_mde_is_that_of_its_ordinary_test():
    c = adjudicate_checks([_check(0.0, 0.03, df=20)], alpha=0.05)[0]
    assert c.mde == pytest.approx(minimum_detectable_effect(0.03, 20, 0.05, 0.8))


def _claims() -> list[Claim]:
    return [Claim("H9a", "X raises Y", "b 0.20 (95% CI ...)", 1e-4, True, estimate=0.2,
                  std_error=0.05, alternative="greater", units="log points"),
            Claim("H9b", "Z raises Y", "b 0.03 (95% CI ...)", 0.27, False, estimate=0.03,
                  std_error=0.05, df=30, alternative="greater", units="log points"),
            Claim("H9c", "W matters", "chi2(3) = 2.1", 0.55, False),
            Claim("H9d", "V matters", "not testable", np.nan, None)]


def test_not_supported_claims_carry_the_mde():
    out = adjudicate(_claims(), "holm")
    assert [c.verdict for c in out] == ["Supported", "Not supported", "Not supported",
                                        "Not testable with these data"]
    assert out[1].mde == pytest.approx(minimum_detectable_effect(0.05, 30, 0.05, 0.8,
                                                                 "greater"))
    assert out[0].mde == pytest.approx(minimum_detectable_effect(0.05, None, 0.05, 0.8,
                                                                 "greater"))
    assert np.isnan(out[2].mde)  # a joint test: no single effect to state
    back = claims_from_json(claims_to_json(out))  # into and out of results/*.json
    assert back[1].mde == out[1].mde and back[1].units == "log points"
    assert np.isnan(back[2].mde)


def test_verdict_table_shows_the_mde_beside_not_supported():
    frame = verdict_table(adjudicate(_claims(), "holm"), "holm").frame.set_index("code")
    assert frame.loc["H9b", "mde"] == f"{out_mde():.3f} log points"
    assert frame.loc["H9a", "mde"] == ""  # supported: no MDE needed
    assert frame.loc["H9c", "mde"] == ""  # no single estimate


def out_mde() -> float:
    return minimum_detectable_effect(0.05, 30, 0.05, 0.8, "greater")


def test_falsification_table_is_an_equivalence_table():
    checks = adjudicate_checks([_check(0.01, 0.02, what="a"), _check(-0.2, 0.05, what="b")],
                               "holm")
    table = checks_table(checks, "holm")
    frame = table.frame
    assert list(frame["verdict"]) == ["No effect", "Effect found"]
    assert list(frame["sesoi"]) == ["0.100"] * 2
    assert list(frame["what"]) == ["a (units)", "b (units)"]  # units beside each check
    assert frame["mde"].iloc[1] == f"{minimum_detectable_effect(0.05):.3f}"
    assert table.labels["p_eq"] == "p equiv. (Holm)"
    assert "Holm" not in table.labels["p"]  # the ordinary tests are not adjusted
    assert "two one-sided tests" in table.notes[0]


def test_a_check_on_an_outcome_that_is_not_logged_is_bounded_in_its_sd():
    from ipnstats.ipn.claims import SESOI_SD, outcome_sesoi

    values = np.array([0.02, 0.10, 0.05, np.nan, 0.20, 0.08])
    assert outcome_sesoi("H1a", "log_revenue", values) == CHECK_SESOI["H1a"]
    bound, units = outcome_sesoi("H1a", "profit_margin", values)
    assert bound == pytest.approx(SESOI_SD * np.nanstd(values, ddof=1))
    assert units == "outcome units (SESOI = 0.05 SD)" and "log" not in units
    # a declared bound is in the outcome's units, never log points
    assert outcome_sesoi("H1e", "profit_margin", values, 0.01) == (0.01, "outcome units")
    assert outcome_sesoi("H1a", "log_revenue", values, 0.02) == (0.02, "log points")
    # other families keep their units; no data, no bound (never "No effect")
    assert outcome_sesoi("H3b", "profit_margin", values) == CHECK_SESOI["H3b"]
    assert np.isnan(outcome_sesoi("H1a", "profit_margin", [])[0])
    c = check("H1a", "leads", lambda: ("chi2(2)", 0.5, [0.001, -0.002], [0.0002, 0.0002], None),
              bound, units)
    assert c.sesoi == bound and c.units == units
    assert adjudicate_checks([c])[0].verdict == "No effect"
