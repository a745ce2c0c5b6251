"""H1's claims, falsification checks and findings, decided from the fitted models.

:func:`h1_findings` turns an :class:`~ipnstats.ipn.h1.H1Results` into what the H1
report section is rendered from (:func:`ipnstats.report.h1_section.render_h1`), in
JSON-ready form: one entry per claim H1a-H1f with the stored models and frames its
tables and figure show, the numbers its reading quotes, and a bool for every condition
that chooses the reading's wording; an analysis that could not be fitted is
``{"unavailable": reason}``. :func:`h1_claims` states each claim's primary test from
the same findings, :func:`h1_checks` the effects the theory says are zero.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ipnstats.inference.equivalence import joint_mde, minimum_detectable_effect
from ipnstats.ipn.claims import (
    ALPHA,
    MDE_POWER,
    Check,
    Claim,
    Unavailable,
    check_or_untestable,
    ci_text,
    contrast,
    num,
    one_sided,
    outcome_sesoi,
    p_text,
    row_test,
)
from ipnstats.ipn.h1 import H1Results
from ipnstats.ipn.models import declared, term_claim
from ipnstats.results.stored import StoredModel, frame_to_json
from ipnstats.tables.disclosure import suppress_counts

CLAIMS = {"H1a": "Joining an IPN raises firm performance (log revenue)",
          "H1b": "The effect grows from novice to expert",
          "H1c": "Perceived learning carries the effect to performance",
          "H1d": "Cooperative and competitive practices each matter",
          "H1e": "IPNs help firms most at an early growth stage (young joiners)",
          "H1f": "Competition pushes low-ranked firms to disengage"}
H1_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided for H1b, H1e, H1f).")
#: the mediation paths the H1c table shows, in order
MEDIATION_PATHS = ("a::perceived_learning", "b::perceived_learning", "direct", "total",
                   "indirect::perceived_learning")
YOUNG_DIFFERENCE = "ATT[young_join=1] -"
SMALL_DIFFERENCE = "ATT[small_join=1] - ATT[small_join=0]"


def h1_findings(res: H1Results) -> dict:
    """What the H1 section shows and quotes, JSON-ready: ``rule`` (the verdict rule),
    ``threshold`` (disclosure), ``covariates``, and one entry per claim H1a-H1f."""
    out = {"rule": H1_RULE, "threshold": int(res.threshold),
           "covariates": list(res.covariates)}
    for code, (needs, findings) in _PARTS.items():
        missing = _unavailable(res, needs)
        out[code] = {"unavailable": missing} if missing else findings(res)
    return out


def h1_claims(res: H1Results, findings: dict | None = None,
              declarations: Sequence[Mapping] | None = None) -> list[Claim]:
    """The declared claims on the H1 analyses with their primary tests (unadjusted; see
    :func:`~ipnstats.ipn.claims.adjudicate`), from :func:`h1_findings`.

    ``declarations`` (the configuration's ``[[claims]]`` of the H1 stage: ``id``,
    ``text``, ``analysis``, ``outcome``, ``term``, ``direction``; None: H1a-H1f as
    shipped) name each claim and its test. A participation claim is decided by the
    ``term`` estimator's ATT on its ``outcome``; the other analyses by their test.
    """
    findings = h1_findings(res) if findings is None else findings
    if declarations is None:
        declarations = [{"id": code, "text": CLAIMS[code], "analysis": analysis,
                         "outcome": res.outcome, "term": "cs", "direction": "greater"}
                        for analysis, code in _ANALYSIS_PART.items()]
    return [_declared_claim(res, findings, d) for d in declarations]


#: the H1 analyses by the findings entry (claim code as shipped) that holds them
_ANALYSIS_PART = {"participation": "H1a", "stages": "H1b", "mediation": "H1c",
                  "practices": "H1d", "heterogeneity": "H1e", "exit_hazard": "H1f"}
_ESTIMATORS = ("twfe", "cs", "cs_covariates", "sunab")


def _declared_claim(res: H1Results, findings: dict, d: Mapping) -> Claim:
    code = _ANALYSIS_PART[d["analysis"]]
    if d["analysis"] == "participation":
        models = res.participation.get(d["outcome"])
        if models is None:
            models = Unavailable(f"the firm-year panel has no {d['outcome']}.")
        model = models if isinstance(models, Unavailable) else \
            models[_ESTIMATORS.index(d["term"])]
        units = "log points" if d["outcome"].startswith("log_") else ""
        return term_claim(model, {**d, "term": "ATT"}, what="ATT", units=units)
    f = findings[code]
    if "unavailable" in f:
        return declared(Claim(code, "", f["unavailable"], np.nan, None), d)
    claim = _CLAIM_OF[code](f)
    if claim.units.startswith("log points") and not res.outcome.startswith("log_"):
        # effects in the outcome's own units
        units = claim.units.replace("log points", "outcome units", 1)
        claim = dataclasses.replace(claim, units="" if units == "outcome units" else units)
    return declared(claim, d)


def h1_checks(res: H1Results, sesoi: dict[str, float] | None = None,
              frame: pd.DataFrame | None = None) -> list[Check]:
    """The H1 effects that the theory says are zero: no effect before joining (parallel
    pre-trends: the joint test of the event-time leads, and an equivalence test of each
    lead) and no extra effect for small joiners. ``sesoi``: the smallest effect of
    interest by claim code, in the primary outcome's units (default
    :data:`~ipnstats.ipn.claims.CHECK_SESOI`, in log points for a logged outcome). For
    an outcome that is not logged the default is
    :data:`~ipnstats.ipn.claims.SESOI_SD` of its SD in ``frame`` (the firm-year frame
    the study was fitted on; without it, no bound, :func:`~ipnstats.ipn.claims.outcome_sesoi`)."""
    sesoi = sesoi or {}
    values = (frame[res.outcome] if frame is not None and res.outcome in frame
              else np.array([]))
    bounds = {code: outcome_sesoi(code, res.outcome, values, sesoi.get(code))
              for code in ("H1a", "H1e")}

    def pre_trends():
        pre = res.event.pretrend_test()
        leads = res.event.estimates()
        leads = leads[leads["event"] < 0]
        return (f"chi2({pre.df_num}) = {pre.statistic:.2f}", pre.p_value,
                leads["estimate"].to_numpy(float), leads["std_error"].to_numpy(float), None)

    def small_joiners():
        d = res.heterogeneity.subgroups.tidy().set_index("term").loc[SMALL_DIFFERENCE]
        return (f"difference {d['estimate']:+.3f} ({ci_text(d)})", d["p_value"],
                *row_test(d))

    return [check_or_untestable(res.event, "H1a", "No effect before joining (pre-trends)",
                                pre_trends, *bounds["H1a"]),
            check_or_untestable(res.heterogeneity, "H1e",
                                "Small joiners gain no more than larger ones", small_joiners,
                                *bounds["H1e"])]


def pretrend_rejected(cs) -> bool:
    """Whether the pre-trend test of a Callaway-Sant'Anna result rejects parallel trends:
    the estimator's ``pretrend_rejected`` note (its code, never its text)."""
    return cs.has_note("pretrend_rejected")


# -- one entry per claim -------------------------------------------------------------------

def _unavailable(res: H1Results, needs: tuple[str, ...]) -> str:
    """The reason an analysis cannot be shown, or "" when all its models were fitted."""
    for name in needs:
        value = getattr(res, name)
        if name == "participation":  # the primary outcome decides
            if res.outcome not in value:
                return f"the firm-year panel has no {res.outcome.replace('_', ' ')}."
            value = value[res.outcome]
        if isinstance(value, Unavailable):
            return value.reason
    return ""


def _numbers(row: pd.Series, *names: str) -> dict:
    return {n: float(row[n]) for n in names}


def _interval(row: pd.Series) -> dict:
    return _numbers(row, "estimate", "std_error", "conf_low", "conf_high", "p_value")


def _participation(res: H1Results) -> dict:
    """H1a: each outcome's four models; the primary (CS on log revenue) quoted."""
    outcomes = []
    for outcome, models in res.participation.items():
        if isinstance(models, Unavailable):
            outcomes.append({"outcome": outcome, "unavailable": models.reason})
        else:
            outcomes.append({"outcome": outcome,
                             "models": [StoredModel.of(m).to_json() for m in models]})
    twfe, primary = res.participation[res.outcome][:2]
    row = primary.tidy().iloc[0]
    return {"outcomes": outcomes, "primary": _interval(row),
            "excludes_zero": bool(row["p_value"] < ALPHA),
            "pretrend_rejected": pretrend_rejected(primary),
            "twfe": float(twfe.params["ATT"])}


def _event_and_stages(res: H1Results) -> dict:
    """H1b: the event-study path and its pre-trend test; the tenure stages and steps."""
    es, st = res.event, res.stages
    pre = es.pretrend_test()
    est = es.estimates()
    by_event = est.set_index("event")
    last = int(by_event.index.max())
    tidy = st.tidy()
    tidy = tidy[tidy["stage"].notna()].set_index("stage")
    stages = pd.DataFrame([{"stage": s, **tidy.loc[s, ["estimate", "std_error", "conf_low",
                                                       "conf_high"]],
                            "n": int(st.extra[f"n_{s}"])} for s in st.stages])
    rise = st.rise_test().set_index("contrast")
    p_all = float(rise.loc["all steps", "p_value"])
    steps = rise.drop(index="all steps").reset_index()[["contrast", "estimate", "std_error",
                                                         "p_value"]]
    return {"event": frame_to_json(est),
            "effect_at_joining": float(by_event.loc[0, "estimate"]),
            "last_event": last, "effect_at_last": float(by_event.loc[last, "estimate"]),
            "pretrend": {"df": int(pre.df_num), "statistic": float(pre.statistic),
                         "p_value": float(pre.p_value),
                         "rejected": bool(pre.p_value < ALPHA)},
            "stages": frame_to_json(stages), "n_boot": int(st.n_boot),
            "notes": [str(n) for n in st.warnings], "steps": frame_to_json(steps), "p_all": p_all,
            "every_step": bool(p_all < ALPHA)}


def _mediation(res: H1Results) -> dict:
    """H1c: the paths, the indirect effect and the share of the total it carries."""
    med = res.mediation
    tidy = med.tidy().set_index("term")
    paths = tidy.loc[list(MEDIATION_PATHS), ["estimate", "std_error", "conf_low",
                                            "conf_high", "p_value"]].reset_index()
    ind = tidy.loc["indirect::perceived_learning"]
    return {"paths": frame_to_json(paths), "n_boot": int(med.n_boot),
            "notes": [str(n) for n in med.warnings],
            "a": float(tidy.loc["a::perceived_learning", "estimate"]),
            "b": float(tidy.loc["b::perceived_learning", "estimate"]),
            "indirect": _interval(ind),
            "proportion_mediated": float(med.proportion_mediated),
            "excludes_zero": bool(ind["conf_low"] > 0 or ind["conf_high"] < 0)}


def _practices(res: H1Results) -> dict:
    """H1d: the practices model and the joint tests of its two blocks, with each block's
    minimum detectable effect (:func:`block_mde`, on the standardized model)."""
    tests = res.practices.block_tests()
    coop, comp = float(tests.iloc[0].p_value), float(tests.iloc[1].p_value)
    std = res.practices_std
    equal = float(std.block_tests().iloc[2].p_value)
    return {"model": StoredModel.of(res.practices).to_json(),
            "p_cooperative": coop, "p_competitive": comp, "p_equal": equal,
            "cooperative_significant": bool(coop < ALPHA),
            "competitive_significant": bool(comp < ALPHA),
            "blocks_differ": bool(equal < ALPHA),
            "mde_cooperative": block_mde(std, std.cooperative),
            "mde_competitive": block_mde(std, std.competitive)}


def block_mde(fit, terms: Sequence[str], alpha: float = ALPHA,
              power: float = MDE_POWER) -> float:
    """The minimum detectable effect of the joint Wald test that the coefficients
    ``terms`` of ``fit`` (a practices model) are all zero: the common effect ``delta`` of
    every one of them that the test (F with the model's t degrees of freedom, chi-square
    when it has none, as ``block_tests``) detects with probability ``power`` at level
    ``alpha``, ``delta = sqrt(lambda* / (1' V^-1 1))`` with ``V`` their covariance
    (:func:`~ipnstats.inference.equivalence.joint_mde`). On a ``standardize=True`` fit,
    in outcome units per SD of each practice."""
    names = list(terms)
    return joint_mde(fit.cov.loc[names, names].to_numpy(float), fit.df_inference, alpha, power)


def subgroup_rows(tidy: pd.DataFrame, n_treated: Mapping[str, int], threshold: int) -> pd.DataFrame:
    """The H1e subgroup table with complementary disclosure suppression.

    ``tidy`` is the subgroup model's tidy frame indexed by term (``ATT[m=1]``,
    ``ATT[m=0]`` and their difference), ``n_treated`` the joiners of each subgroup. The
    joiner counts form one column per moderator (rows ``m = 1`` and ``m = 0``, whose total
    is the number of joiners published elsewhere) and go through
    :func:`~ipnstats.tables.disclosure.suppress_counts`: a count below ``threshold`` is
    hidden (``suppressed``) and so is its partner (``withheld``), so neither follows from
    the total. The estimate, SE and p-value of every row whose count is hidden are hidden
    too, and so is the difference of that split (:func:`hidden_moderators`): no statistic
    from fewer firms than the threshold, and none that contrasts such a group with the
    rest. Returns ``term, estimate, std_error, p_value, n,
    suppressed, withheld``.
    """
    cells = {t: re.fullmatch(r"ATT\[(\w+)=(\d)\]", t) for t in tidy.index}
    cells = {t: (m.group(1), m.group(2)) for t, m in cells.items()
             if m and n_treated.get(t) is not None}
    counts = pd.DataFrame(0, index=["1", "0"],
                          columns=list(dict.fromkeys(c for c, _ in cells.values())))
    for t, (col, row) in cells.items():
        counts.loc[row, col] = int(n_treated[t])
    s = suppress_counts(counts, threshold) if len(counts.columns) else None
    rows = []
    for term, row in tidy.iterrows():
        n = n_treated.get(term)
        small = bool(s is not None and term in cells and s.primary.loc[cells[term][1],
                                                                     cells[term][0]])
        hide = bool(s is not None and term in cells and s.suppressed.loc[cells[term][1],
                                                                        cells[term][0]])
        rows.append({"term": term, "estimate": np.nan if hide else row["estimate"],
                     "std_error": np.nan if hide else row["std_error"],
                     "p_value": np.nan if hide else row["p_value"],
                     "n": None if n is None or hide else int(n), "suppressed": small,
                     "withheld": hide and not small})
    rows = pd.DataFrame(rows)
    return _hide_differences(rows, hidden_moderators(rows))


def hidden_moderators(rows: pd.DataFrame) -> list[str]:
    """The moderators of the subgroup table (``rows`` of :func:`subgroup_rows`) with a
    hidden subgroup: their difference and their interaction with membership contrast a
    group of fewer joiners than the threshold with the rest, so they are withheld too."""
    found = rows.loc[rows["suppressed"] | rows["withheld"], "term"].str.extract(
        r"ATT\[(\w+)=\d\]")[0]
    return list(dict.fromkeys(found.dropna()))


def _hide_differences(rows: pd.DataFrame, hidden: list[str]) -> pd.DataFrame:
    """``rows`` with the difference rows of the ``hidden`` moderators blanked."""
    out = rows.copy()
    diff = out["term"].map(lambda t: any(t.startswith(f"ATT[{m}=1] -") for m in hidden))
    out.loc[diff, ["estimate", "std_error", "p_value"]] = np.nan
    out.loc[diff, "withheld"] = True
    return out


def _heterogeneity(res: H1Results) -> dict:
    """H1e: subgroup ATTs (complementary suppression of the subgroups of fewer joiners
    than the disclosure threshold, :func:`subgroup_rows`), the interaction model, and the
    young-minus-old difference."""
    het, k = res.heterogeneity, res.threshold
    tidy = het.subgroups.tidy().set_index("term")
    table = subgroup_rows(tidy, het.n_treated, k)
    hidden = hidden_moderators(table)
    rows = table.to_dict("records")
    interaction = StoredModel.of(het.interaction)
    interaction = dataclasses.replace(interaction, coefficients=interaction.coefficients[
        ~interaction.coefficients["term"].isin([f"member:{m}" for m in hidden])])
    diff = [t for t in tidy.index if t.startswith(YOUNG_DIFFERENCE)]
    young, why = None, "no young joiners"
    if "young_join" in hidden:
        why = (f"a subgroup of the young/older split has fewer than {k} joiners, so its "
               "estimates are withheld (disclosure control)")
    elif diff and not np.isfinite(tidy.loc[diff[0], "estimate"]):
        why = "the difference between young and older joiners could not be estimated"
    elif diff:
        d = tidy.loc[diff[0]]
        p_one = one_sided(d["estimate"], d["p_value"])
        young = {**_numbers(d, "estimate", "std_error", "conf_low", "conf_high"),
                 "p_one_sided": p_one,
                 "significant": bool(p_one < ALPHA)}
    return {"subgroups": frame_to_json(pd.DataFrame(rows)),
            "definitions": list(het.definitions.values()), "notes": [str(n) for n in het.notes],
            "interaction": interaction.to_json(), "young": young,
            "young_missing": why}


def _hazard(res: H1Results) -> dict:
    """H1f: the logit and Cox models of exit; the benchmark rank's logit coefficient."""
    row = res.hazard.tidy().set_index("term").loc["benchmark_rank_pct"]
    p_one = one_sided(row["estimate"], row["p_value"], positive=False)
    return {"logit": StoredModel.of(res.hazard).to_json(),
            "cox": StoredModel.of(res.hazard_cox).to_json(),
            "rank": {**_numbers(row, "estimate", "std_error", "conf_low", "conf_high"),
                     "p_one_sided": p_one}, "significant": bool(p_one < ALPHA)}


_PARTS = {"H1a": (("participation",), _participation),
          "H1b": (("event", "stages"), _event_and_stages),
          "H1c": (("mediation",), _mediation),
          "H1d": (("practices", "practices_std"), _practices),
          "H1e": (("heterogeneity",), _heterogeneity),
          "H1f": (("hazard", "hazard_cox"), _hazard)}


# -- the claims, from the findings -----------------------------------------------------------

def _claim_h1a(f: dict) -> Claim:
    row = f["primary"]
    return Claim("H1a", CLAIMS["H1a"], f"ATT {num(row['estimate'])} ({ci_text(row)})",
                 row["p_value"], bool(row["p_value"] < ALPHA and row["estimate"] > 0),
                 **_test_of(row, "two-sided", "log points"))


def _test_of(row: dict, alternative: str, units: str) -> dict:
    """The single-estimate test a claim states, for its minimum detectable effect (normal
    reference: the H1 estimators' inference is asymptotic); nothing for findings stored
    before the standard error was kept."""
    if "std_error" not in row:
        return {}
    return {"estimate": row["estimate"], "std_error": row["std_error"],
            "alternative": alternative, "units": units}


def _claim_h1b(f: dict) -> Claim:
    """H1b: every tenure step is positive, the intersection-union of the one-sided step
    tests (``p_all``: the largest step p). MDE: the largest of the steps' one-sided MDEs
    (normal reference, from each step contrast's SE), the step effect the least precise
    step test detects with 80% power; in the primary outcome's units. Findings stored
    before the steps kept their SE give no MDE."""
    return Claim("H1b", CLAIMS["H1b"], _step_text(f["steps"]), f["p_all"], f["every_step"],
                 alternative="greater", units="log points", mde=steps_mde(f["steps"]))


def _step_columns(steps: dict) -> dict:
    """The columns of a stored steps frame by name."""
    return dict(zip(steps["columns"], steps["data"], strict=True))


def steps_mde(steps: dict, alpha: float = ALPHA, power: float = MDE_POWER) -> float:
    """The MDE of "every step is positive" from a stored steps frame (``contrast``,
    ``estimate``, ``std_error``, ``p_value``): the largest one-sided MDE of the steps; NaN
    when the frame has no ``std_error`` (stored before it was kept)."""
    se = _step_columns(steps).get("std_error")
    if not se:
        return np.nan
    mdes = [minimum_detectable_effect(np.nan if s is None else s, None, alpha, power, "greater")
            for s in se]
    return float(np.max(mdes))  # NaN when a step has no SE


def _step_text(steps: dict) -> str:
    """The tenure steps (a stored frame of contrast, estimate, p_value) in words."""
    cols = _step_columns(steps)
    rows = zip(cols["contrast"], cols["estimate"], cols["p_value"], strict=True)
    return "; ".join(f"{contrast(c)} {num(e, sign=True)} ({p_text(p)})"
                     for c, e, p in rows)


def _claim_h1c(f: dict) -> Claim:
    """H1c: supported when the bootstrap CI of the indirect effect excludes 0 (and it is
    positive). MDE: approximate (normal): the two-sided level-alpha MDE of a normal test
    with the bootstrap SE, the CI rule read as a Wald test; in the outcome's units."""
    ind = f["indirect"]
    return Claim("H1c", CLAIMS["H1c"], f"indirect {num(ind['estimate'])} ({ci_text(ind)})",
                 ind["p_value"], bool(ind["conf_low"] > 0),
                 **_test_of(ind, "two-sided", "log points"))


def _claim_h1d(f: dict) -> Claim:
    """H1d: the cooperative and the competitive block are each jointly significant (p: the
    larger of the two joint tests). MDE: for each block, the common per-SD effect of every
    practice in it that the block's joint Wald test detects with 80% power
    (:func:`block_mde`, standardized model); the larger of the two blocks'. Findings
    stored without it give no MDE."""
    coop, comp = f["p_cooperative"], f["p_competitive"]
    mdes = [f.get("mde_cooperative"), f.get("mde_competitive")]
    mde = np.nan if None in mdes else float(np.max(mdes))
    return Claim("H1d", CLAIMS["H1d"], f"cooperative {p_text(coop)}, competitive {p_text(comp)}",
                 max(coop, comp), f["cooperative_significant"] and f["competitive_significant"],
                 units="log points per SD of each practice", mde=mde)


def _claim_h1e(f: dict) -> Claim:
    d = f["young"]
    if d is None:
        return Claim("H1e", CLAIMS["H1e"], f.get("young_missing", "no young joiners"), np.nan,
                     None)
    young = f"young – old {num(d['estimate'], sign=True)} ({ci_text(d)})"
    return Claim("H1e", CLAIMS["H1e"], young,
                 d["p_one_sided"], d["significant"], **_test_of(d, "greater", "log points"))


def _claim_h1f(f: dict) -> Claim:
    row = f["rank"]
    return Claim("H1f", CLAIMS["H1f"], f"logit {num(row['estimate'], sign=True)} ({ci_text(row)})",
                 row["p_one_sided"], f["significant"],
                 **_test_of(row, "less", "log-odds"))


_CLAIM_OF = {"H1a": _claim_h1a, "H1b": _claim_h1b, "H1c": _claim_h1c, "H1d": _claim_h1d,
             "H1e": _claim_h1e, "H1f": _claim_h1f}

__all__ = ["CLAIMS", "H1_RULE", "h1_checks", "h1_claims", "h1_findings", "pretrend_rejected"]
