"""Claims and their verdicts: what each hypothesis asserts, the primary test's evidence,
the multiplicity adjustment across a family, and the falsification checks.

The verdict rules live here, in the study layer; the report only renders the claims
(:func:`ipnstats.report.claims.claims_table`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from ipnstats.core.errors import IpnstatsError
from ipnstats.inference.multiplicity import adjust_pvalues

ALPHA = 0.05
ADJUST_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "by": "Benjamini-Yekutieli",
                "hommel": "Hommel", "bonferroni": "Bonferroni", "none": "unadjusted"}


@dataclass(frozen=True)
class Claim:
    """One claim, its primary test and the verdict."""

    code: str
    claim: str
    evidence: str
    p_value: float
    supported: bool | None  # None: not testable with these data
    p_adjusted: float = np.nan
    verdict: str = ""  # set by :func:`adjudicate`


@dataclass(frozen=True)
class Check:
    """A falsification check: an effect that the theory says is zero, and its test."""

    code: str
    what: str
    evidence: str
    p_value: float
    p_adjusted: float = np.nan
    verdict: str = ""


@dataclass(frozen=True)
class Unavailable:
    """An analysis the data could not support, and why."""

    reason: str


#: The optional tables of the study folder each claim needs, and what it takes from
#: each (none named: the claim is about that table's rows).
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "H1c": (("surveys", "perceived learning"),),
    "H1d": (("meeting_activity", "attendance, disclosure, critiques and benchmark ranks"),
            ("meetings", "the meeting dates that place the practices in years")),
    "H1f": (("meeting_activity", "the benchmark ranks"),
            ("meetings", "the meeting dates that place the benchmark ranks in years")),
    "H2a": (("exchanges", ""),),
    "H2b": (("exchanges", ""),),
    "H2c": (("exchanges", ""), ("surveys", "the receivers' loss aversion")),
    "H2d": (("exchanges", ""),),
    "H3a": (("exchanges", ""), ("surveys", "the senders' risk aversion"),
            ("meeting_activity", "the senders' status, from their benchmark ranks"),
            ("meetings", "the senders' status, from their benchmark ranks")),
    "H3b": (("tasks", ""), ("exchanges", "the exposure to risk-averse senders"),
            ("surveys", "the senders' risk aversion, for the exposure")),
    "H3c": (("tasks", ""), ("exchanges", "the exposure to risk-averse senders, held constant"),
            ("surveys", "the senders' risk aversion, for the exposure held constant")),
}


def no_table(code: str, absent: Collection[str]) -> Unavailable | None:
    """Why claim ``code`` cannot be tested when the study lacks the tables ``absent``
    (e.g. ``Study.skipped``): the first table of :data:`NEEDS` it lacks, or ``None``.

    Examples
    --------
    >>> no_table("H2a", ("exchanges", "tasks")).reason
    'the study has no exchanges table'
    >>> no_table("H1a", ("exchanges",)) is None
    True
    """
    for table, what in NEEDS.get(code, ()):
        if table in absent:
            return Unavailable(f"the study has no {table} table" + (f" ({what})" if what else ""))
    return None


def untestable(absent: Collection[str]) -> dict[str, str]:
    """``{claim code: reason}`` of every claim the missing tables ``absent`` rule out."""
    reasons = {code: no_table(code, absent) for code in NEEDS}
    return {code: r.reason for code, r in reasons.items() if r is not None}


def untestable_text(absent: Collection[str]) -> str:
    """The claims the missing tables ``absent`` rule out, by table, in one line.

    Examples
    --------
    >>> untestable_text(("exchanges", "tasks"))
    'H2a, H2b, H2c, H2d, H3a, H3b, H3c (no exchanges table); H3b, H3c (no tasks table)'
    """
    parts = []
    for table in absent:
        codes = [c for c, needs in NEEDS.items() if any(t == table for t, _ in needs)]
        if codes:
            parts.append(f"{', '.join(codes)} (no {table} table)")
    return "; ".join(parts)


def check(code: str, what: str, compute) -> Check:
    """A falsification check; ``compute()`` returns ``(evidence, p_value)``. A test the
    data cannot support becomes a check that is not testable, with the reason."""
    result = attempt(compute)
    if isinstance(result, Unavailable):
        return untestable_check(code, what, result.reason)
    evidence, p = result
    return Check(code, what, evidence, float(p))


def untestable_check(code: str, what: str, reason: str) -> Check:
    """A falsification check whose model could not be fitted (``reason``)."""
    return Check(code, what, f"not testable: {reason}", np.nan)


def check_or_untestable(result, code: str, what: str, compute) -> Check:
    """:func:`check` of a fitted ``result``; a check that is not testable, with the
    reason, when ``result`` is :class:`Unavailable`."""
    if isinstance(result, Unavailable):
        return untestable_check(code, what, result.reason)
    return check(code, what, compute)


#: What "the data cannot support this model" raises: ipnstats' own errors, the
#: ValueError that numerical libraries (statsmodels, scipy) still raise for a degenerate
#: design, and numpy's LinAlgError. A KeyError, TypeError or AttributeError is a bug and
#: propagates: it is never reported as "not testable with these data".
UNSUPPORTED = (IpnstatsError, ValueError, np.linalg.LinAlgError)


def attempt(fit, *args, **kwargs):
    """Run one analysis; a model the data cannot support (:data:`UNSUPPORTED`) becomes
    :class:`Unavailable`, with the error's message as its reason."""
    try:
        return fit(*args, **kwargs)
    except UNSUPPORTED as err:
        return Unavailable(str(err) or type(err).__name__)


def verdict_rule(method: str = "holm", alpha: float = ALPHA) -> str:
    """The verdict rule in words, as the verdict table states it."""
    name = ADJUST_NAMES[method]
    adjusted = ("" if method == "none" else
                f" after the {name} adjustment across the hypotheses of the family")
    return (f"Supported: the primary test rejects at the {alpha:.0%} level in the claimed "
            f"direction{adjusted}. Inconclusive: it rejects only before the adjustment. "
            "Not supported: it does not reject, or the estimate has the wrong sign. Not "
            "testable with these data: the study lacks a table the claim needs, or the model "
            "could not be estimated (reason given).")


def adjudicate(claims: list[Claim], method: str = "holm", alpha: float = ALPHA) -> list[Claim]:
    """The claims of one family with adjusted p-values (``method`` of
    :func:`~ipnstats.adjust_pvalues`) and verdicts. Claims that are not testable are
    left out of the family count.
    """
    p = np.array([c.p_value if c.supported is not None else np.nan for c in claims], float)
    adjusted = adjust_pvalues(p, method=method)
    out = []
    for c, q in zip(claims, np.asarray(adjusted, float), strict=True):
        if c.supported is None:
            verdict = "Not testable with these data"
        elif not c.supported:
            verdict = "Not supported"
        else:
            verdict = "Supported" if q < alpha else "Inconclusive"
        out.append(replace(c, p_adjusted=float(q), verdict=verdict))
    return out


def adjudicate_checks(checks: list[Check], method: str = "holm",
                      alpha: float = ALPHA) -> list[Check]:
    """Falsification checks with adjusted p-values: "No effect" unless the adjusted test
    rejects."""
    q = adjust_pvalues(np.array([c.p_value for c in checks], float), method=method)
    return [replace(c, p_adjusted=float(v), verdict=(
        "Not testable" if np.isnan(c.p_value) else "Effect found" if v < alpha
        else "No effect")) for c, v in zip(checks, q, strict=True)]


def ci_text(row) -> str:
    """``95% CI low to high`` of a tidy row (anything with ``conf_low`` and ``conf_high``).

    Examples
    --------
    >>> ci_text({"conf_low": -0.0123, "conf_high": 0.25})
    '95% CI -0.012 to 0.250'
    """
    return f"95% CI {row['conf_low']:.3f} to {row['conf_high']:.3f}"


def p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.012``.

    Examples
    --------
    >>> p_text(0.0004), p_text(0.0123)
    ('p < 0.001', 'p = 0.012')
    """
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def one_sided(estimate: float, p_two: float, positive: bool = True) -> float:
    """One-sided p-value of a two-sided test for the claimed sign."""
    right = estimate > 0 if positive else estimate < 0
    return float(p_two / 2 if right else 1 - p_two / 2)


def claims_to_json(items: list[Claim] | list[Check]) -> list[dict]:
    """Claims or checks as JSON-ready dicts."""
    return [dataclasses.asdict(c) for c in items]


def claims_from_json(items: list[dict], kind: type = Claim) -> list:
    """Claims (or checks, ``kind=Check``) read back from :func:`claims_to_json`."""
    return [kind(**{k: (np.nan if v is None and k.startswith("p_") else v)
                    for k, v in c.items()}) for c in items]
