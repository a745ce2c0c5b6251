"""What every hypothesis section shares: claims with verdicts, analyses the data could
not support, and the plain-language number formats of the readings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..tables.format import fmt_p
from ..tables.frame import frame_table
from .document import Report

ALPHA = 0.05


@dataclass(frozen=True)
class Claim:
    """One claim, its primary test and the verdict."""

    code: str
    claim: str
    evidence: str
    p_value: float
    supported: bool | None  # None: not testable with these data


@dataclass(frozen=True)
class Unavailable:
    """An analysis the data could not support, and why."""

    reason: str


def attempt(fit, *args, **kwargs):
    """Run one analysis; a model the data cannot support becomes :class:`Unavailable`."""
    try:
        return fit(*args, **kwargs)
    except (ValueError, KeyError, np.linalg.LinAlgError) as err:  # SpecificationError too
        return Unavailable(str(err) or type(err).__name__)


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
                f"Not testable with these data: {missing}")
            claims.append(Claim(code, claim, missing, np.nan, None))
            continue
        report, made = render(report, results)
        claims.append(made)
    return report, claims


def ci_text(row: pd.Series) -> str:
    """``95% CI low to high`` of a tidy row."""
    return f"95% CI {row['conf_low']:.3f} to {row['conf_high']:.3f}"


def p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.012``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def one_sided(estimate: float, p_two: float, positive: bool = True) -> float:
    """One-sided p-value of a two-sided test for the claimed sign."""
    right = estimate > 0 if positive else estimate < 0
    return float(p_two / 2 if right else 1 - p_two / 2)


def claims_table(report: Report, claims: list[Claim], hypothesis: str,
                 rule: str) -> Report:
    """The closing table of a hypothesis section: each claim, its evidence and verdict."""
    frame = pd.DataFrame([{
        "code": c.code, "claim": c.claim, "evidence": c.evidence, "p_value": fmt_p(c.p_value),
        "verdict": {True: "Supported", False: "Not supported", None: "Not testable"}[c.supported]}
        for c in claims])
    table = frame_table(frame, labels={"code": "", "claim": "Claim", "evidence": "Evidence",
                                       "p_value": "p", "verdict": "Verdict"}, digits=3,
                        title=f"{hypothesis} claims and what the data say",
                        label=f"{hypothesis.lower()}-claims",
                        notes=(rule + " p-values are not adjusted for multiplicity here.",))
    return report.add_heading(f"What the data say about {hypothesis}", 2).add_table(table)
