"""H3: do receivers learn more from risk-averse senders? What the study fits and decides.

:func:`fit_h3` estimates every H3 model on the study's exchange and task frames and
returns them in one frozen :class:`H3Results`: the sender traits (H3a, crossed random
effects with two-way clustered OLS beside it), the learning curve moderated by the
exposure to risk-averse senders (H3b) and triangulation against reinforcement (H3c).
:func:`h3_claims` and :func:`h3_checks` decide the claims and the falsification
checks; :func:`h3_findings` keeps, JSON-ready, everything the report section
(:func:`ipnstats.report.h3_section.render_h3`) shows and every condition that chooses
its wording, so that the report never refits.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.inference.equivalence import minimum_detectable_effect
from ipnstats.ipn.claims import (
    ALPHA,
    MDE_POWER,
    Check,
    Claim,
    Unavailable,
    attempt,
    check,
    check_or_untestable,
    ci_text,
    no_table,
    num,
    one_sided,
    row_test,
)
from ipnstats.ipn.identification import robustness_value
from ipnstats.results.stored import StoredModel, frame_to_json

OUTWARD = ("sender_size", "sender_age", "sender_success", "sender_status", "same_industry")
FOCAL = "sender_risk_aversion"
EXPOSURE = "exposure"
INTERACTION = "log_cum_experience_x_exposure"
#: the sender traits as the falsification checks name them
TRAITS = {"sender_size": "Size", "sender_age": "Age", "sender_success": "Success (profit margin)",
          "sender_status": "Status (benchmark rank)", "same_industry": "Same industry"}
#: the analyses of H3: (code, the part of :class:`H3Results` it reads, the claim)
PARTS = (("H3a", "senders", "Receivers learn more from risk-averse senders than from outward "
          "traits"),
         ("H3b", "curve", "Exposure to risk-averse senders steepens the learning curve"),
         ("H3c", "triangulation", "More information sources teach more than more experience"))

H3_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided). H3a needs risk aversion's effect to "
           "exceed every outward trait's (Holm-adjusted across the five "
           "comparisons; the largest adjusted p is shown).")


@dataclass(frozen=True)
class H3Results:
    """Every H3 estimate behind the report section."""

    senders: object  # SenderEffectsResult or Unavailable
    curve: object  # LearningCurveResult or Unavailable
    curve_steps: tuple[str, ...]  # how the random-effect structure was simplified
    triangulation: object  # TriangulationResult or Unavailable
    threshold: int


def task_design(tasks: pd.DataFrame) -> pd.DataFrame:
    """The task frame with ``exposure = log(1 + prior_risk_averse)`` and its product with
    log experience (the columns the H3b and H3c models use)."""
    exposure = np.log1p(tasks["prior_risk_averse"].astype(float))
    return tasks.assign(**{EXPOSURE: exposure,
                           INTERACTION: tasks["log_cum_experience"] * exposure})


def fit_h3(ex: pd.DataFrame | None, tasks: pd.DataFrame | None, *, threshold: int,
           absent: Collection[str] = ()) -> H3Results:
    """Fit the H3 models on the exchange and task frames (``Study.exchanges``, ``.tasks``).

    A frame that is ``None`` (the study has no such table) or a table a claim needs
    among ``absent`` (the study's missing tables, ``Study.skipped``; see
    :data:`~ipnstats.ipn.claims.NEEDS`) makes each analysis that needs it
    :class:`~ipnstats.ipn.claims.Unavailable`, with the reason. The exposure to
    risk-averse senders comes from the exchanges and the surveys: without either, H3b
    and H3c are not testable (H3c's experience slope is the one at no exposure; left
    out, exposure would load on experience), and without the meetings and their
    activity the senders' status, one of H3a's outward traits, is unknown.
    """
    from ipnstats.ipn.senders import sender_effects
    from ipnstats.ipn.triangulation import triangulation

    absent = {*absent, *(("exchanges",) if ex is None else ()),
              *(("tasks",) if tasks is None else ())}
    senders = no_table("H3a", absent)
    if senders is None:
        exchanges = ex.assign(neutral=(ex["framing"] == "neutral").astype(float))
        senders = attempt(sender_effects, exchanges, covariates=("loss", "neutral"))
    if tasks is None:
        why = no_table("H3c", absent)
        return H3Results(senders=senders, curve=why, curve_steps=(), triangulation=why,
                         threshold=threshold)
    tk = task_design(tasks)
    curve, steps = (no_table("H3b", absent), ())
    if curve is None:
        curve, steps = _curve(tk)
    return H3Results(senders=senders, curve=curve, curve_steps=steps,
                     triangulation=no_table("H3c", absent) or attempt(
                         triangulation, tk, covariates=(EXPOSURE, INTERACTION)),
                     threshold=threshold)


def _curve(tk: pd.DataFrame) -> tuple[object, tuple[str, ...]]:
    """The maximal random-effect structure the data support (Barr et al. 2013, simplified
    as Matuschek et al. 2017 advise when the fit is singular): correlated intercepts and
    slopes, then uncorrelated, then intercepts only."""
    from ipnstats.estimators.learning import learning_curve

    steps = []
    tries = ((dict(re_cov="unstructured"), "correlated firm random intercepts and slopes"),
             (dict(re_cov="diagonal"), "uncorrelated firm random intercepts and slopes"),
             (dict(random_slopes=False), "firm random intercepts only"))
    for options, label in tries:
        fit = attempt(learning_curve, tk, outcome="outcome", experience="cum_experience",
                      unit="firm_id", moderator=EXPOSURE, covariates=("log_n_sources",),
                      **options)
        if isinstance(fit, Unavailable) or not fit.singular or "random_slopes" in options:
            return fit, tuple(steps)
        steps.append(f"The model with {label} was a singular fit; it was simplified.")
    raise AssertionError("unreachable")


# ------------------------------------------------------------- the primary numbers


def _row(result, term: str) -> dict:
    """``estimate``, ``conf_low``, ``conf_high`` and ``p_value`` of one term."""
    row = result.tidy().set_index("term").loc[term]
    return {k: float(row[k]) for k in ("estimate", "conf_low", "conf_high", "p_value")}


def _senders_numbers(se) -> dict:
    comp, rob = se.comparisons(), se.comparisons("robustness")
    focal = _row(se, FOCAL)
    p_all = float(max(comp["p_holm"].max(), one_sided(focal["estimate"], focal["p_value"])))
    return {"focal": focal, "comp": comp, "rob": rob, "p_all": p_all,
            "beaten": int((comp["p_holm"] < ALPHA).sum())}


def _curve_numbers(curve) -> dict:
    b = {**_row(curve, curve.interaction_term),
         "std_error": float(curve.tidy().set_index("term").loc[curve.interaction_term,
                                                                "std_error"])}
    return {"interaction": b, "p": one_sided(b["estimate"], b["p_value"], positive=False),
            "high": float(np.quantile(curve.moderator_values, 0.9))}


def _triangulation_numbers(tri) -> dict:
    comp = tri.comparison().iloc[0]
    return {"comparison": {k: float(comp[k]) for k in ("estimate", "std_error", "conf_low",
                                                       "conf_high", "p_one_sided")},
            "sources": _row(tri, tri.sources_term),
            "experience": _row(tri, tri.experience_term)}


# ------------------------------------------------------------------ claims, checks


#: the H3 analyses a declared claim names, by the part of :class:`H3Results` they read
ANALYSES = {"senders": "senders", "learning_curve": "curve", "triangulation": "triangulation"}


def h3_claims(res: H3Results, declarations: Sequence[Mapping] | None = None) -> list[Claim]:
    """The claims H3a-H3c with their primary one-sided tests (not yet adjusted); an
    analysis that is :class:`Unavailable` makes its claim not testable, with the reason.
    ``declarations`` (``id``, ``text``, ``analysis``: a key of :data:`ANALYSES`) name
    the claims; None: H3a-H3c as shipped (:data:`PARTS`).

    Minimum detectable effects (power :data:`~ipnstats.ipn.claims.MDE_POWER`, level
    :data:`ALPHA`): H3a, every Holm-adjusted one-sided comparison of risk aversion with an
    outward trait must reject, so the MDE is that of the least precise comparison at the
    Bonferroni level ``alpha / m`` (``m`` comparisons; a per-comparison bound on Holm),
    :func:`senders_mde`, in cognitive-shift points per SD; H3b (the
    experience x exposure interaction, < 0) and H3c (sources minus experience, < 0) the
    one-sided test of that estimate with the model's reference law (normal for the mixed
    model's Wald z, t with its df for the triangulation), in elasticity points."""
    if declarations is None:
        part_of = {v: k for k, v in ANALYSES.items()}
        declarations = [{"id": c, "analysis": part_of[p], "text": t} for c, p, t in PARTS]
    claims = []
    for d in declarations:
        code, part, text = d["id"], ANALYSES[d["analysis"]], d["text"]
        fit = getattr(res, part)
        if isinstance(fit, Unavailable):
            claims.append(Claim(code, text, fit.reason, np.nan, None))
        elif part == "senders":
            n = _senders_numbers(fit)
            claims.append(Claim(code, text, f"risk aversion {num(n['focal']['estimate'])} per SD "
                                f"({ci_text(n['focal'])}); larger than {n['beaten']} of "
                                f"{len(n['comp'])} outward traits", n["p_all"],
                                bool(n["p_all"] < ALPHA), alternative="greater",
                                units="cognitive-shift points per SD",
                                mde=senders_mde(n["comp"], fit.df_inference)))
        elif part == "curve":
            n = _curve_numbers(fit)
            b = n["interaction"]
            claims.append(Claim(code, text, f"experience × exposure {num(b['estimate'])} "
                                f"({ci_text(b)})", n["p"], bool(n["p"] < ALPHA),
                                **_test_of(fit, b, "less")))
        else:
            c = _triangulation_numbers(fit)["comparison"]
            claims.append(Claim(code, text, f"sources – experience {num(c['estimate'])} "
                                f"({ci_text(c)})", c["p_one_sided"],
                                bool(c["p_one_sided"] < ALPHA), **_test_of(fit, c, "less")))
    return claims


def _test_of(fit, row: dict, alternative: str) -> dict:
    """The one-sided test of the estimate ``row`` quotes (with its ``std_error``) on the
    reference law of ``fit`` (t with its ``df_inference``, normal when it has none), in
    elasticity points, for the claim's minimum detectable effect."""
    df = fit.df_inference
    return {"estimate": row["estimate"], "std_error": row["std_error"],
            "df": None if df is None or not np.isfinite(df) else float(df),
            "alternative": alternative, "units": "elasticity points"}


def senders_mde(comparisons: pd.DataFrame, df: float | None = None, alpha: float = ALPHA,
                power: float = MDE_POWER) -> float:
    """The MDE of H3a's test that risk aversion's effect exceeds every outward trait's
    (``comparisons``: the ``std_error`` of each one-sided comparison, as
    ``SenderEffectsResult.comparisons``): the one-sided MDE of the largest SE at the
    Bonferroni level ``alpha / m`` (``(z_{1-alpha/m} + z_power) se`` with the normal,
    ``df=None``). Holm tests no comparison at a level below ``alpha / m``, so at this
    common advantage every comparison rejects with at least that power on its own (a
    Bonferroni bound on Holm); the power of all ``m`` rejecting together, which the claim
    needs, is lower unless the comparisons are strongly correlated. In the comparisons'
    units."""
    se = comparisons["std_error"].to_numpy(float)
    if not se.size:
        return np.nan
    return minimum_detectable_effect(float(np.max(se)), df, alpha / se.size, power, "greater")


def h3_checks(res: H3Results, sesoi: dict[str, float] | None = None) -> list[Check]:
    """The H3 effects that the theory says are zero: the outward sender traits, exposure
    without experience, and experience without more sources. ``sesoi``: the smallest
    effect of interest by claim code (default :data:`~ipnstats.ipn.claims.CHECK_SESOI`)."""
    sesoi = sesoi or {}

    def term(result, name: str, unit: str = ""):
        def compute():
            row = result.tidy().set_index("term").loc[name]
            return (f"{row['estimate']:+.3f}{unit} ({ci_text(row)})", float(row["p_value"]),
                    *row_test(row))
        return compute

    if isinstance(res.senders, Unavailable):
        checks = [check_or_untestable(res.senders, "H3a", "The outward traits of the sender "
                                      "do not matter", None)]
    else:
        checks = [check("H3a", f"{TRAITS[t]} of the sender does not matter",
                        term(res.senders, t, " per SD"), sesoi.get("H3a")) for t in OUTWARD]
    checks.append(check_or_untestable(res.curve, "H3b", "Exposure alone does not shift the "
                                      "curve", term(res.curve, EXPOSURE), sesoi.get("H3b")))
    checks.append(check_or_untestable(res.triangulation, "H3c", "More experience alone does "
                                      "not teach more (reinforcement)",
                                      term(res.triangulation, "log(cum_experience)"),
                                      sesoi.get("H3c")))
    return checks


# ------------------------------------------------------------------------ findings


def h3_findings(res: H3Results) -> dict:
    """What the H3 section shows, JSON-ready: per analysis its stored models, the frames
    its tables and figure are drawn from, the numbers its reading quotes and a flag for
    each condition that chooses the reading's wording; ``{"unavailable": reason}`` for an
    analysis the data could not support. ``rule`` is the verdict rule of the claims."""
    parts = (("senders", _senders_findings), ("curve", _curve_findings),
             ("triangulation", _triangulation_findings))
    out: dict = {"rule": H3_RULE}
    for part, findings in parts:
        fit = getattr(res, part)
        out[part] = ({"unavailable": fit.reason} if isinstance(fit, Unavailable)
                     else findings(fit, res))
    return out


def _senders_findings(se, res: H3Results) -> dict:
    n = _senders_numbers(se)
    comp, rob = n["comp"], n["rob"].set_index("term")
    comparisons = pd.DataFrame({
        "trait": [t.split(" - ")[1] for t in comp["term"]],
        **{k: comp[k].to_numpy(float) for k in ("estimate", "conf_low", "conf_high",
                                                "p_one_sided", "p_holm")},
        "ols": rob.loc[comp["term"], "estimate"].to_numpy(float),
        "ols_p_holm": rob.loc[comp["term"], "p_holm"].to_numpy(float)})
    outward = se.params.reindex(OUTWARD).dropna()
    ols_significant = int((rob["p_holm"] < ALPHA).sum())
    return {"mixed": StoredModel.of(se).to_json(),
            "ols": StoredModel.of(se.robustness).to_json(),
            "random_effects": frame_to_json(se.variance_components()[["group", "std_dev"]]),
            "traits": [FOCAL, *OUTWARD], "comparisons": frame_to_json(comparisons),
            "outward": frame_to_json(pd.DataFrame({"trait": outward.index,
                                                   "estimate": outward.to_numpy(float)})),
            "focal": n["focal"], "beaten": n["beaten"], "n_outward": len(OUTWARD),
            "p_all": n["p_all"], "supported": bool(n["p_all"] < ALPHA),
            "ols_significant": ols_significant,
            "ols_all_significant": bool((rob["p_holm"] < ALPHA).all()),
            # the robustness value of the focal trait in the OLS robustness model
            "sensitivity": robustness_value(se.robustness, se.focal)}


def _curve_findings(curve, res: H3Results) -> dict:
    n = _curve_numbers(curve)
    at = [0.0, n["high"]]
    rates = curve.learning_rate(at=at)
    vc = curve.variance_components()
    return {"model": StoredModel.of(curve).to_json(), "formula": curve.formula,
            "steps": list(res.curve_steps), "notes": [str(n) for n in curve.notes],
            "variance_components": frame_to_json(vc[["group", "term", "std_dev"]]),
            "high_exposure": n["high"],
            "rates": frame_to_json(rates[["at", "slope", "std_error", "learning_rate",
                                          "conf_low", "conf_high", "p_value"]]),
            "predictions": frame_to_json(curve.predictions(at)),
            "experience": curve.experience, "interaction": n["interaction"],
            "p_one_sided": n["p"], "steepens": bool(n["p"] < ALPHA)}


def _triangulation_findings(tri, res: H3Results) -> dict:
    n = _triangulation_numbers(tri)
    p = n["comparison"]["p_one_sided"]
    return {"model": StoredModel.of(tri).to_json(), **n,
            "sources_change": float(2 ** n["sources"]["estimate"] - 1),
            "experience_change": float(2 ** n["experience"]["estimate"] - 1),
            "sources_teach_more": bool(p < ALPHA)}


__all__ = ["EXPOSURE", "FOCAL", "H3Results", "H3_RULE", "INTERACTION", "OUTWARD", "fit_h3",
           "h3_checks", "h3_claims", "h3_findings", "task_design"]
