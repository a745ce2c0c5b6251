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
from ipnstats.inference.equivalence import minimum_detectable_effect, tost
from ipnstats.inference.multiplicity import adjust_pvalues

ALPHA = 0.05
ADJUST_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "by": "Benjamini-Yekutieli",
                "hommel": "Hommel", "bonferroni": "Bonferroni", "none": "unadjusted"}


@dataclass(frozen=True)
class Claim:
    """One claim, its primary test and the verdict.

    ``estimate``, ``std_error``, ``df`` (``None``: normal reference) and ``alternative``
    describe the primary test when it is a test of one estimate; :func:`adjudicate` then
    fills ``mde``, the minimum detectable effect of that test at 80% power in ``units``,
    so that a "Not supported" verdict reads as "no evidence" when the MDE exceeds the
    plausible effect, and as "evidence against" when the test could have detected it. A
    claim decided by several tests, or by a bootstrap interval, sets ``mde`` itself (at
    :data:`ALPHA` and :data:`MDE_POWER`; its builder's docstring gives the definition)
    and :func:`adjudicate` keeps it.
    """

    code: str
    claim: str
    evidence: str
    p_value: float
    supported: bool | None  # None: not testable with these data
    p_adjusted: float = np.nan
    verdict: str = ""  # set by :func:`adjudicate`
    estimate: float = np.nan
    std_error: float = np.nan
    df: float | None = None
    alternative: str = "two-sided"
    units: str = ""
    mde: float = np.nan  # set by :func:`adjudicate`


@dataclass(frozen=True)
class Check:
    """A falsification check: an effect that the theory says is zero, and its tests.

    ``p_value`` is the ordinary (two-sided, joint for several estimates) test of no
    effect; ``p_equivalence`` the two one-sided tests (TOST) against ``-sesoi`` and
    ``+sesoi`` (for several estimates, the largest of their TOST p-values: the
    intersection-union test), ``sesoi`` the smallest effect of interest in ``units``
    (the estimate's units), ``mde`` the smallest effect the ordinary test of the least
    precise estimate detects with 80% power. :func:`adjudicate_checks` sets the verdict.
    """

    code: str
    what: str
    evidence: str
    p_value: float
    p_adjusted: float = np.nan
    verdict: str = ""
    estimate: float = np.nan
    std_error: float = np.nan
    df: float | None = None
    sesoi: float = np.nan
    units: str = ""
    p_equivalence: float = np.nan
    mde: float = np.nan


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


#: The default smallest effect of interest (SESOI) of each family's falsification
#: checks, by claim code: ``(bound, units)`` in the units of the checked estimate. The
#: configuration (a claim's ``sesoi``) overrides it through the ``sesoi`` argument of
#: ``h1_checks``/``h2_checks``/``h3_checks``. Chosen as effects that would matter for the
#: theory, not to make the example pass: H1 in log points of revenue (0.05, about 5%
#: of revenue, about half the ATT the example finds), H2 in points of the cognitive
#: shift scale (0.15, a tenth of its SD on the example), H3a in those points per SD of a
#: sender trait (0.1), H3b and H3c as elasticities of the task outcome (0.1). NaN: the
#: check has no single estimate to bound (a joint test of several coefficients); it can
#: then never read "No effect".
CHECK_SESOI: dict[str, tuple[float, str]] = {
    "H1a": (0.05, "log points"), "H1e": (0.05, "log points"),
    "H2a": (0.15, "cognitive-shift points"),
    "H2c": (0.15, "cognitive-shift points per point of loss aversion"),
    "H2d": (np.nan, ""),
    "H3a": (0.1, "cognitive-shift points per SD of the trait"),
    "H3b": (0.1, "log points per log unit of exposure"),
    "H3c": (0.1, "log points per log unit of experience")}
#: The default bound of an H1 check when the primary outcome is not logged (log points
#: would mean nothing): this fraction of the outcome's standard deviation.
SESOI_SD = 0.05
#: The power at which the minimum detectable effect is stated.
MDE_POWER = 0.8


def outcome_sesoi(code: str, outcome: str, values, sesoi: float | None = None
                  ) -> tuple[float, str]:
    """``(bound, units)`` of a check of ``code`` on ``outcome``: :data:`CHECK_SESOI` when
    its default is in log points and ``outcome`` is logged (``log_*``), or when the default
    is in other units. For a log-point default and an outcome that is not logged, the
    bound is ``sesoi`` (the configuration's, in the outcome's units) or else
    :data:`SESOI_SD` times the sample SD of ``values`` (the outcome in the firm-year
    frame), and the units say so; NaN (no bound: the check cannot read "No effect")
    when ``values`` has fewer than two finite values.

    >>> bound, units = outcome_sesoi("H1a", "profit_margin", [0.1, 0.3])
    >>> round(bound, 6), units
    (0.007071, 'outcome units (SESOI = 0.05 SD)')
    """
    default, units = CHECK_SESOI.get(code, (np.nan, ""))
    if units != "log points" or outcome.startswith("log_"):
        return (default if sesoi is None else float(sesoi)), units
    if sesoi is not None:
        return float(sesoi), "outcome units"
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    sd = float(np.std(x, ddof=1)) if x.size > 1 else np.nan
    return SESOI_SD * sd, f"outcome units (SESOI = {SESOI_SD:g} SD)"


def check(code: str, what: str, compute, sesoi: float | None = None,
          units: str | None = None) -> Check:
    """A falsification check; ``compute()`` returns ``(evidence, p_value)`` or
    ``(evidence, p_value, estimates, std_errors, df)``: one estimate or several (e.g.
    the event-time leads), their standard errors and the t degrees of freedom (``None``:
    normal). ``sesoi`` (default :data:`CHECK_SESOI` of ``code``) bounds the
    equivalence test of each estimate. A test the data cannot support becomes a check
    that is not testable, with the reason."""
    result = attempt(compute)
    if isinstance(result, Unavailable):
        return untestable_check(code, what, result.reason)
    evidence, p, *rest = result
    default, default_units = CHECK_SESOI.get(code, (np.nan, ""))
    bound = default if sesoi is None else float(sesoi)
    units = default_units if units is None else units
    if not rest:
        return Check(code, what, evidence, float(p), sesoi=bound, units=units)
    est, se = (np.atleast_1d(np.asarray(x, float)) for x in rest[:2])
    df = rest[2]
    widest = int(np.argmax(se)) if se.size else 0
    p_eq = np.nan
    if np.isfinite(bound) and bound > 0 and est.size:
        p_eq = max(tost(e, s, df, -bound, bound).p_value for e, s in zip(est, se, strict=True))
    largest = int(np.argmax(np.abs(est))) if est.size else 0
    return Check(code, what, evidence, float(p), estimate=float(est[largest]),
                 std_error=float(se[widest]), df=None if df is None else float(df),
                 sesoi=bound, units=units, p_equivalence=float(p_eq))


def row_test(row) -> tuple[float, float, float | None]:
    """``(estimate, std_error, df)`` of a tidy row, for a check's equivalence test: ``df``
    from its ``df`` column, ``None`` (normal reference) when it has none or it is NaN."""
    df = row.get("df") if hasattr(row, "get") else None
    df = float(df) if df is not None and np.isfinite(df) else None
    return float(row["estimate"]), float(row["std_error"]), df


def untestable_check(code: str, what: str, reason: str) -> Check:
    """A falsification check whose model could not be fitted (``reason``)."""
    return Check(code, what, f"not testable: {reason}", np.nan)


def check_or_untestable(result, code: str, what: str, compute,
                        sesoi: float | None = None, units: str | None = None) -> Check:
    """:func:`check` of a fitted ``result`` (``sesoi`` and ``units`` as there); a check
    that is not testable, with the reason, when ``result`` is :class:`Unavailable`."""
    if isinstance(result, Unavailable):
        return untestable_check(code, what, result.reason)
    return check(code, what, compute, sesoi, units)


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
    :func:`~ipnstats.adjust_pvalues`), verdicts and, where the claim states its test's
    standard error, the minimum detectable effect of that test (level ``alpha``, its
    sidedness and df, power :data:`MDE_POWER`). Claims that are not testable are left
    out of the family count.
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
        mde = c.mde
        if np.isnan(mde) and np.isfinite(c.std_error):
            mde = minimum_detectable_effect(c.std_error, c.df, alpha, MDE_POWER,
                                            c.alternative)
        out.append(replace(c, p_adjusted=float(q), verdict=verdict, mde=float(mde)))
    return out


def check_verdict(p_value: float, p_equivalence: float, alpha: float = ALPHA) -> str:
    """The reading of a falsification check from its ordinary test (``p_value``) and its
    equivalence test (``p_equivalence``), each at level ``alpha`` (Lakens, Scheel &
    Isager 2018):

    - "No effect": equivalence shown (the ``1 - 2 alpha`` interval lies within
      ``+/-sesoi``), whether or not the ordinary test rejects (an effect smaller than
      the smallest effect of interest does not count against the theory);
    - "Effect found": the ordinary test rejects and equivalence is not shown;
    - "Inconclusive": neither: the data cannot tell no effect from a relevant one;
    - "Not testable": the ordinary test could not be computed.

    Examples
    --------
    >>> check_verdict(0.60, 0.01), check_verdict(0.60, 0.20), check_verdict(0.001, 0.40)
    ('No effect', 'Inconclusive', 'Effect found')
    """
    if np.isnan(p_value):
        return "Not testable"
    if p_equivalence < alpha:
        return "No effect"
    return "Effect found" if p_value < alpha else "Inconclusive"


def adjudicate_checks(checks: list[Check], method: str = "none",
                      alpha: float = ALPHA) -> list[Check]:
    """Falsification checks with verdicts (:func:`check_verdict`) and the minimum
    detectable effect of each ordinary test.

    Nothing is adjusted in the direction that makes a check pass: the ordinary tests
    (whose rejection fails a check) are never adjusted; ``method`` (e.g. ``"holm"``)
    adjusts only the equivalence p-values across the checks, which makes "No effect"
    harder to reach. ``p_adjusted`` holds the adjusted equivalence p-value. With
    ``"none"`` each equivalence test is at level ``alpha``; "every check shows no
    effect" is then an intersection-union test at level ``alpha`` (Berger 1982).
    """
    p_eq = np.array([c.p_equivalence for c in checks], float)
    q = np.asarray(adjust_pvalues(p_eq, method=method), float) if len(checks) else p_eq
    out = []
    for c, v in zip(checks, q, strict=True):
        mde = (minimum_detectable_effect(c.std_error, c.df, alpha, MDE_POWER)
               if np.isfinite(c.std_error) else np.nan)
        out.append(replace(c, p_adjusted=float(v), mde=float(mde),
                           verdict=check_verdict(c.p_value, v if np.isfinite(v) else 1.0,
                                                 alpha)))
    return out


def check_rule(method: str = "none", alpha: float = ALPHA) -> str:
    """The falsification checks' rule in words, as the falsification table states it."""
    adjusted = ("each equivalence test is at that level" if method == "none" else
                f"the equivalence p-values are {ADJUST_NAMES[method]}-adjusted across the "
                "checks of a family, which only makes No effect harder to reach")
    return (f"No effect: the two one-sided tests (TOST) at the {alpha:.0%} level show the "
            "effect lies within plus or minus the smallest effect of interest (SESOI), that "
            f"is, the {1 - 2 * alpha:.0%} confidence interval lies inside those bounds. "
            "Effect found: the ordinary test rejects no effect and equivalence is not "
            "shown. Inconclusive: neither; the data cannot tell no effect from one that "
            f"matters. The ordinary tests are not adjusted for multiplicity; {adjusted}. "
            f"MDE: the smallest effect the ordinary test detects with {MDE_POWER:.0%} power.")


#: The true minus sign of the evidence texts (U+2212), and the en dash of a contrast.
MINUS = "\u2212"
EN_DASH = "\u2013"


def num(x: float, digits: int = 3, sign: bool = False) -> str:
    """``x`` with ``digits`` decimals and a true minus sign; ``sign``: ``+`` when positive.

    Examples
    --------
    >>> num(-0.0123), num(0.5, sign=True), num(-2.0, 2, sign=True)
    ('−0.012', '+0.500', '−2.00')
    """
    return f"{x:{'+' if sign else ''}.{digits}f}".replace("-", MINUS)


def contrast(label: str) -> str:
    """A contrast label ``a - b`` (or ``a − b``) written with an en dash: ``a – b``.

    Examples
    --------
    >>> contrast("developing - novice")
    'developing – novice'
    """
    return label.replace(" - ", f" {EN_DASH} ").replace(f" {MINUS} ", f" {EN_DASH} ")


def ci_text(row) -> str:
    """``95% CI low to high`` of a tidy row (anything with ``conf_low`` and ``conf_high``),
    three decimals and true minus signs.

    Examples
    --------
    >>> ci_text({"conf_low": -0.0123, "conf_high": 0.25})
    '95% CI −0.012 to 0.250'
    """
    return f"95% CI {num(row['conf_low'])} to {num(row['conf_high'])}"


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


#: the float fields of a claim or check that JSON stores as null when NaN
_FLOATS = frozenset({"estimate", "std_error", "sesoi", "mde"})


def claims_from_json(items: list[dict], kind: type = Claim) -> list:
    """Claims (or checks, ``kind=Check``) read back from :func:`claims_to_json`."""
    return [kind(**{k: (np.nan if v is None and (k.startswith("p_") or k in _FLOATS)
                        else v) for k, v in c.items()}) for c in items]
