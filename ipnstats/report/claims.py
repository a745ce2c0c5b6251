"""What every hypothesis section shares: claims with verdicts, analyses the data could
not support, and the plain-language number formats of the readings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ipnstats.ipn.claims import (
    ADJUST_NAMES,
    MDE_POWER,
    Check,
    Claim,
    Unavailable,
    check_rule,
    ci_text,
    p_text,
)
from ipnstats.report.document import Report
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import FrameTable, frame_table


def not_testable_text(reason: str) -> str:
    """The sentence that stands in a report section for an analysis that is not testable."""
    return f"Not testable with these data: {reason.rstrip()}" + (
        "" if reason.rstrip().endswith((".", "!", "?")) else ".")


def render_parts(report: Report, results, parts) -> tuple[Report, list[Claim]]:
    """Render each analysis of a hypothesis section, or say why it is not testable.

    ``parts``: ``(render, code, title, needs, claim)``; ``render(report, results)``
    returns the report and its :class:`Claim`; when one of the ``needs`` attributes of
    ``results`` is :class:`Unavailable`, the analysis is replaced by its reason.
    """
    claims = []
    for render, code, title, needs, claim in parts:
        missing = next((getattr(results, n).reason for n in needs
                        if isinstance(getattr(results, n), Unavailable)), "")
        if missing:
            report = report.add_heading(f"{code}: {title}", 2).add_text(
                not_testable_text(missing))
            claims.append(Claim(code, claim, missing, np.nan, None))
            continue
        report, made = render(report, results)
        claims.append(made)
    return report, claims


#: the verdicts next to which the tables show the minimum detectable effect
SHOW_MDE = ("Not supported", "Inconclusive")


def effect_text(value: float, units: str = "") -> str:
    """A size with its units, true minus sign, three decimals; "" when NaN.

    Examples
    --------
    >>> effect_text(0.0567, "log points"), effect_text(float("nan"))
    ('0.057 log points', '')
    """
    if value is None or not np.isfinite(value):
        return ""
    return (f"{value:.3f}".replace("-", "\u2212") + (f" {units}" if units else ""))


def mde_text(item: Claim | Check) -> str:
    """The minimum detectable effect of a claim's or check's test, shown beside the
    verdicts of :data:`SHOW_MDE` (a claim) or every tested check; "" otherwise."""
    if isinstance(item, Claim) and item.verdict not in SHOW_MDE:
        return ""
    return effect_text(item.mde, item.units)


def _drop_empty(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` without those of ``columns`` that are empty in every row."""
    return frame.drop(columns=[c for c in columns if c in frame and not frame[c].any()])


def _verdict(c: Claim) -> str:
    return c.verdict or {True: "Supported", False: "Not supported",
                         None: "Not testable"}[c.supported]


ROBUSTNESS_NOTE = (
    " Robustness: for H1a the breakdown value M̄ of Honest DiD (relative magnitudes, average of "
    "the years after joining), the smallest post-joining violation of parallel trends, as a "
    "multiple of the largest before joining, at which the effect loses significance; for "
    "H2a and H3a the robustness value RV of the OLS counterpart of the primary model "
    "(sensemakr), the share of residual variance of treatment and outcome an omitted "
    "confounder would need to explain to erase the effect.")


def verdict_table(claims: list[Claim], method: str,
                  robustness: Mapping[str, str] | None = None) -> FrameTable:
    """The verdict table: each claim, its primary estimate, p, adjusted p, verdict and,
    beside a "Not supported" or "Inconclusive" verdict, the minimum detectable effect of
    its test (so that "no evidence" and "evidence against" read differently); the
    Robustness column shows ``robustness[code]`` (e.g. "RV 0.14") where it is given."""
    name = ADJUST_NAMES[method]
    robustness = robustness or {}
    frame = pd.DataFrame([{"code": c.code, "claim": c.claim, "evidence": c.evidence,
                           "p": fmt_p(c.p_value), "q": fmt_p(c.p_adjusted),
                           "verdict": _verdict(c), "mde": mde_text(c),
                           "robustness": robustness.get(c.code, "")} for c in claims])
    frame = _drop_empty(frame, "mde", "robustness")
    note = ("One-sided p-values where the claim has a direction (see each section's claims "
            "table for the test)." + (MDE_NOTE if "mde" in frame else "")
            + (ROBUSTNESS_NOTE if "robustness" in frame else ""))
    return frame_table(frame, labels={
        "code": "", "claim": "Claim", "evidence": "Primary estimate", "p": "p",
        "q": f"p adj. ({name})", "verdict": "Verdict", "mde": "MDE",
        "robustness": "Robustness"}, title="Verdict table", label="verdicts", notes=(note,))


#: The verdict table's note on its MDE column (only when the column is shown).
MDE_NOTE = (
    f" MDE: the smallest true effect that the primary test detects with {MDE_POWER:.0%} "
    "power at its level, sidedness and df, beside Not supported and Inconclusive verdicts: "
    "when it exceeds the effect one expects, the data could not have supported the claim "
    "(no evidence), which is not evidence against it. A claim resting on several tests "
    "states the least powerful one's: the largest tenure-step MDE; the common per-SD "
    "practice effect a block's joint Wald test detects (the larger block's); the Cramér's V "
    "the X² test detects; the least precise sender comparison at alpha over the number of "
    "comparisons (a bound on Holm); the indirect effect's from its bootstrap SE (normal).")


def _check_text(c: Check) -> str:
    """What a check says is zero, with the units of its estimate, SESOI and MDE."""
    return f"{c.what} ({c.units})" if c.units and np.isfinite(c.sesoi) else c.what


def checks_table(checks: list[Check], method: str = "none", alpha: float = 0.05) -> FrameTable:
    """The falsification table: each check's estimate, ordinary p, its equivalence test
    against the smallest effect of interest (SESOI), the MDE and the result."""
    frame = pd.DataFrame([{"code": c.code, "what": _check_text(c), "evidence": c.evidence,
                           "p": fmt_p(c.p_value), "sesoi": effect_text(c.sesoi),
                           "p_eq": fmt_p(c.p_adjusted), "mde": effect_text(c.mde),
                           "verdict": c.verdict} for c in checks])
    eq = "p equiv." if method == "none" else f"p equiv. ({ADJUST_NAMES[method]})"
    return frame_table(frame, labels={
        "code": "", "what": "Check (units of the estimate)", "evidence": "Estimate",
        "p": "p", "sesoi": "SESOI", "p_eq": eq, "mde": "MDE", "verdict": "Result"},
        title="Falsification checks: effects that should be zero", label="checks",
        notes=(check_rule(method, alpha) + " A check without a SESOI (a joint test of "
               "several estimates) cannot show equivalence: it reads Inconclusive unless it "
               "finds an effect.",))


def claims_table(report: Report, claims: list[Claim], hypothesis: str,
                 rule: str) -> Report:
    """The closing table of a hypothesis section: each claim, its evidence and verdict,
    and the minimum detectable effect beside a "Not supported" or "Inconclusive" one."""
    adjusted = any(c.verdict for c in claims)
    frame = pd.DataFrame([{
        "code": c.code, "claim": c.claim, "evidence": c.evidence, "p_value": fmt_p(c.p_value),
        **({"p_adjusted": fmt_p(c.p_adjusted)} if adjusted else {}),
        "verdict": _verdict(c), "mde": mde_text(c) if adjusted else ""}
        for c in claims])
    frame = _drop_empty(frame, "mde")
    note = (" The adjusted p-values and verdicts are those of the verdict table at the start "
            "of the report." if adjusted else " p-values are not adjusted for multiplicity here.")
    table = frame_table(frame, labels={"code": "", "claim": "Claim", "evidence": "Evidence",
                                       "p_value": "p", "p_adjusted": "p adj.",
                                       "verdict": "Verdict", "mde": "MDE"}, digits=3,
                        title=f"{hypothesis} claims and what the data say",
                        label=f"{hypothesis.lower()}-claims", notes=(rule + note,))
    return report.add_heading(f"What the data say about {hypothesis}", 2).add_table(table)


__all__ = ["SHOW_MDE", "checks_table", "ci_text", "claims_table", "effect_text", "mde_text",
           "not_testable_text", "p_text", "render_parts", "verdict_table"]
