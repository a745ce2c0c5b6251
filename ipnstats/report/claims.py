"""What every hypothesis section shares: claims with verdicts, analyses the data could
not support, and the plain-language number formats of the readings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.ipn.claims import Claim, Unavailable, ci_text, p_text
from ipnstats.report.document import Report
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table


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


def claims_table(report: Report, claims: list[Claim], hypothesis: str,
                 rule: str) -> Report:
    """The closing table of a hypothesis section: each claim, its evidence and verdict."""
    adjusted = any(c.verdict for c in claims)
    frame = pd.DataFrame([{
        "code": c.code, "claim": c.claim, "evidence": c.evidence, "p_value": fmt_p(c.p_value),
        **({"p_adjusted": fmt_p(c.p_adjusted)} if adjusted else {}),
        "verdict": c.verdict or {True: "Supported", False: "Not supported",
                                 None: "Not testable"}[c.supported]}
        for c in claims])
    note = (" The adjusted p-values and verdicts are those of the verdict table at the start "
            "of the report." if adjusted else " p-values are not adjusted for multiplicity here.")
    table = frame_table(frame, labels={"code": "", "claim": "Claim", "evidence": "Evidence",
                                       "p_value": "p", "p_adjusted": "p adj.",
                                       "verdict": "Verdict"}, digits=3,
                        title=f"{hypothesis} claims and what the data say",
                        label=f"{hypothesis.lower()}-claims", notes=(rule + note,))
    return report.add_heading(f"What the data say about {hypothesis}", 2).add_table(table)


__all__ = ["ci_text", "claims_table", "not_testable_text", "p_text", "render_parts"]
