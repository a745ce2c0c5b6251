"""H2, do loss-framed exchanges teach more? What the study fits, and what it decides.

:func:`fit_h2` estimates every H2 model on the exchange frame and returns them in one
frozen :class:`H2Results`. :func:`h2_findings` keeps what the report section shows of
them, JSON-ready (stored models, frames, the numbers a reading quotes and a flag for
every condition that chooses its wording); :func:`h2_claims` and :func:`h2_checks` are
the claims and falsification checks, with :data:`H2_RULE` the verdict rule.
:func:`ipnstats.report.h2_section.render_h2` renders the stored findings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.inference.equivalence import wald_noncentrality
from ipnstats.ipn.claims import (
    ALPHA,
    MDE_POWER,
    Check,
    Claim,
    Unavailable,
    attempt,
    check_or_untestable,
    ci_text,
    no_table,
    num,
    one_sided,
    row_test,
)
from ipnstats.ipn.identification import robustness_value
from ipnstats.results.stored import StoredModel, frame_to_json
from ipnstats.results.vcov import Cluster

RECEIVER, SENDER = "receiver_id", "sender_id"

H2_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided for H2a-H2c); H2d needs both a "
           "significant association and counts equivalent to three.")

#: each H2 claim: its code, the analysis (findings key) it rests on, and what it asserts
CLAIMS = (("H2a", "framing", "Loss-framed exchanges shift cognition more than gain-framed "
           "ones"),
          ("H2b", "behavior", "Cognition turns into behavior mainly under loss framing"),
          ("H2c", "loss_aversion", "Receivers' loss aversion amplifies loss framing"),
          ("H2d", "questions", "Different question types for different senders, about three "
           "questions each"))

_ROW = ("estimate", "std_error", "conf_low", "conf_high", "p_value")


@dataclass(frozen=True)
class H2Results:
    """Every H2 estimate behind the report section."""

    framing: object  # [crossed random effects, receiver FE, GEE logit] or Unavailable
    behavior: object  # moderation: behavior_change ~ cognitive_shift x loss (logit)
    loss_aversion: object  # moderation: cognitive_shift ~ loss x receiver_loss_aversion
    process: object  # PROCESS model 7
    questions: object  # question_patterns
    threshold: int


def fit_h2(ex: pd.DataFrame | None, *, threshold: int, n_boot: int = 999,
           seed: int = 0, absent: Collection[str] = ()) -> H2Results:
    """Fit the H2 models on an exchange frame (``Study.exchanges``).

    ``ex=None`` (a study without exchanges) or a table the claim needs among ``absent``
    (the study's missing tables, ``Study.skipped``; see
    :data:`~ipnstats.ipn.claims.NEEDS`) makes each analysis that needs it
    :class:`~ipnstats.ipn.claims.Unavailable`, with the reason.
    """
    from ipnstats.estimators.moderation import moderation
    from ipnstats.estimators.process import conditional_process
    from ipnstats.ipn.questions import question_patterns

    absent = {*absent, *(("exchanges",) if ex is None else ())}

    def fit(code: str, estimator, /, **options):
        return no_table(code, absent) or attempt(estimator, ex, **options)

    return H2Results(
        framing=fit("H2a", _framing_models),
        behavior=fit("H2b", moderation, y="behavior_change", x="cognitive_shift", w="loss",
                     family="binomial", vcov=Cluster(RECEIVER)),
        loss_aversion=fit("H2c", moderation, y="cognitive_shift", x="loss",
                          w="receiver_loss_aversion", vcov=Cluster(RECEIVER, SENDER)),
        process=fit("H2c", conditional_process, model=7, x="loss", m="cognitive_shift",
                    y="behavior_change", w="receiver_loss_aversion", cluster=RECEIVER,
                    n_boot=n_boot, seed=seed),
        questions=fit("H2d", question_patterns, seed=seed, n_boot=n_boot),
        threshold=threshold)


def _framing_models(ex: pd.DataFrame) -> list:
    from ipnstats.ipn.framing import framing_effect

    return [framing_effect(ex), framing_effect(ex, receiver_effects="fixed"),
            framing_effect(ex, outcome="behavior_change")]


# ---------------------------------------------------------------- findings


def h2_findings(res: H2Results) -> dict:
    """What the H2 section shows, JSON-ready: ``rule`` and one entry per analysis
    (``framing``, ``behavior``, ``loss_aversion`` with the PROCESS model, ``questions``),
    ``{"unavailable": reason}`` for one the data could not support."""
    out: dict = {"rule": H2_RULE}
    for name, parts, build in (("framing", ("framing",), _framing),
                               ("behavior", ("behavior",), _behavior),
                               ("loss_aversion", ("loss_aversion", "process"), _loss_aversion),
                               ("questions", ("questions",), _questions)):
        fitted = [getattr(res, p) for p in parts]
        missing = next((f.reason for f in fitted if isinstance(f, Unavailable)), None)
        out[name] = {"unavailable": missing} if missing is not None else build(*fitted)
    return out


def _row(row: pd.Series) -> dict:
    """The tidy columns a reading quotes, as plain floats."""
    return {k: float(row[k]) for k in _ROW}


def _effect(row: pd.Series) -> dict:
    """A tidy row with its one-sided p-value (claimed sign positive) and whether that
    test rejects at :data:`ALPHA`."""
    p = one_sided(row["estimate"], row["p_value"])
    return {**_row(row), "p_one_sided": p, "significant": bool(p < ALPHA)}


def _framing(models: list) -> dict:
    tidy = models[0].tidy().set_index("term")
    gee = models[2].tidy().set_index("term")
    return {"models": [StoredModel.of(m).to_json() for m in models],
            "loss": _effect(tidy.loc["framing::loss"]),
            "neutral": (_row(tidy.loc["framing::neutral"])
                        if "framing::neutral" in tidy.index else None),
            "gee_loss": _row(gee.loc["framing::loss"]),
            # the robustness value of the receiver-FE (OLS) counterpart
            "sensitivity": robustness_value(models[1], "framing::loss")}


def _behavior(mod) -> dict:
    slopes = mod.simple_slopes()

    def by_framing(scale: str) -> dict:  # the slope of cognitive shift at loss = 0 and 1
        s = slopes[slopes["scale"] == scale].set_index("w")["estimate"]
        return {"gain_or_neutral": float(s[0.0]), "loss": float(s[1.0])}

    return {"model": StoredModel.of(mod).to_json(), "slopes": frame_to_json(slopes),
            "interaction": _effect(mod.tidy().set_index("term").loc["cognitive_shift:loss"]),
            "slope_log_odds": by_framing("log-odds"),
            "slope_probability": by_framing("probability")}


def _loss_aversion(mod, proc) -> dict:
    jn = mod.johnson_neyman()
    slopes = mod.simple_slopes().set_index("label")
    idx = proc.index_of_moderated_mediation().iloc[0]
    return {
        "model": StoredModel.of(mod).to_json(),
        "interaction": _effect(mod.tidy().set_index("term").loc["loss:receiver_loss_aversion"]),
        "slope_p16": float(slopes.loc["16th percentile", "estimate"]),
        "slope_p84": float(slopes.loc["84th percentile", "estimate"]),
        "johnson_neyman": {"effects": frame_to_json(jn.effects),
                           "regions": frame_to_json(jn.regions),
                           "bounds": [float(b) for b in jn.bounds], "alpha": float(jn.alpha),
                           "w": mod.w, "x": mod.x, "significant_where": jn.significant_where},
        "process": {"paths": frame_to_json(proc.paths()),
                    "indirect_effects": frame_to_json(proc.indirect_effects()),
                    "index": _row(idx), "n_boot": int(proc.n_boot),
                    "warnings": list(proc.warnings)},
        "index_excludes_zero": bool(idx["conf_low"] > 0 or idx["conf_high"] < 0)}


def _questions(qp) -> dict:
    g = qp.glance().iloc[0]
    assoc_p, tost_p = float(g["chi2_p_value"]), float(g["tost_p_value"])
    table = qp.association.table.to_numpy(float)
    return {"mde_cramers_v": cramers_v_mde(int(g["chi2_df"]), table.sum(), min(table.shape)),
            "tidy": frame_to_json(qp.tidy()), "glance": frame_to_json(qp.glance()),
            "notes": [str(n) for n in getattr(qp, "notes", ())],
            "cramers_v": float(g["cramers_v"]), "mean_count": float(g["mean_count"]),
            "counts_differ": bool(g["wald_p_value"] < ALPHA),
            "p_value": max(assoc_p, tost_p),
            "supported": bool(assoc_p < ALPHA and tost_p < ALPHA)}


def cramers_v_mde(df: int, n: float, min_dim: int, alpha: float = ALPHA,
                  power: float = MDE_POWER) -> float:
    """The smallest Cramér's V that Pearson's X² test of association (``df`` degrees of
    freedom, ``n`` observations, ``min_dim`` the smaller of the table's row and column
    counts) detects with probability ``power`` at level ``alpha``, under the asymptotic
    noncentral chi-square law of X² (noncentrality ``n w²``, Cohen's ``w`` = ``V
    sqrt(min_dim - 1)``): ``V* = sqrt(lambda* / (n (min_dim - 1)))`` with ``lambda*``
    from :func:`~ipnstats.inference.equivalence.wald_noncentrality`. NaN for a table
    with no association to test.

    Examples
    --------
    >>> round(cramers_v_mde(1, 100, 2), 4)  # a 2 x 2 table: sqrt(7.8489 / 100)
    0.2802
    """
    if df < 1 or n <= 0 or min_dim < 2:
        return np.nan
    return float(np.sqrt(wald_noncentrality(df, None, alpha, power) / (n * (min_dim - 1))))


# ---------------------------------------------------------------- claims and checks


def h2_claims(res: H2Results, declarations: Sequence[Mapping] | None = None) -> list[Claim]:
    """The claims H2a-H2d with their primary tests (before the family's adjustment); an
    analysis the data could not support gives a claim that is not testable, with the
    reason. ``declarations`` (``id``, ``text``, ``analysis``: a key of
    :func:`h2_findings`) name the claims; None: H2a-H2d as shipped (:data:`CLAIMS`)."""
    return claims_of(h2_findings(res), declarations)


def claims_of(findings: dict, declarations: Sequence[Mapping] | None = None) -> list[Claim]:
    """The H2 claims of stored :func:`h2_findings` (``declarations``: see
    :func:`h2_claims`). Each carries the minimum detectable effect of its primary test
    (:func:`_test_of`): H2a-H2c the one-sided test of the quoted estimate, in its units;
    H2d the X² test of association, in Cramér's V (:func:`cramers_v_mde`)."""
    if declarations is None:
        declarations = [{"id": c, "analysis": n, "text": t} for c, n, t in CLAIMS]
    out = []
    for d in declarations:
        code, name, claim = d["id"], d["analysis"], d["text"]
        f = findings[name]
        if "unavailable" in f:
            out.append(Claim(code, claim, f["unavailable"], np.nan, None))
            continue
        evidence, p, supported = _evidence(name, f)
        out.append(Claim(code, claim, evidence, float(p), bool(supported), **_test_of(name, f)))
    return out


#: the estimate each directional claim quotes, and its name in the evidence
_QUOTED = {"framing": ("loss", "loss – gain"), "behavior": ("interaction", "interaction"),
           "loss_aversion": ("interaction", "loss × loss aversion")}


#: the units of the estimate each directional claim quotes: H2a the framing contrast of
#: the cognitive shift; H2b the cognitive shift x loss interaction of the logit of a
#: behavior change; H2c the loss x loss aversion interaction on the cognitive shift
#: (loss aversion in its scale's points, not standardized)
_UNITS = {"framing": "cognitive-shift points",
          "behavior": "log-odds per cognitive-shift point",
          "loss_aversion": "cognitive-shift points per point of loss aversion"}


def _test_of(name: str, f: dict) -> dict:
    """The one-sided test of the quoted estimate (for its minimum detectable effect); for
    H2d (association and about three questions) the MDE of the association test alone,
    in Cramér's V (:func:`cramers_v_mde`): the equivalence part has no MDE. Nothing for
    findings stored without a standard error (or H2d's MDE)."""
    if name == "questions":
        mde = f.get("mde_cramers_v")
        return {} if mde is None else {"mde": float(mde), "units": "Cramér's V"}
    if name not in _QUOTED or "std_error" not in f[_QUOTED[name][0]]:
        return {}
    row = f[_QUOTED[name][0]]
    return {"estimate": row["estimate"], "std_error": row["std_error"],
            "alternative": "greater", "units": _UNITS.get(name, "")}


def _evidence(name: str, f: dict) -> tuple[str, float, bool]:
    """A claim's evidence text, primary p-value and whether it is supported."""
    if name == "questions":
        return (f"Cramér's V {f['cramers_v']:.3f}; {f['mean_count']:.2f} questions per "
                "exchange", f["p_value"],
                f["supported"])
    key, what = _QUOTED[name]
    row = f[key]
    return (f"{what} {num(row['estimate'])} ({ci_text(row)})", row["p_one_sided"],
            row["significant"])


def h2_checks(res: H2Results, sesoi: dict[str, float] | None = None) -> list[Check]:
    """The H2 effects that the theory says are zero: neutral and gain framing teach the
    same, loss aversion does not matter without loss framing, and senders do not change
    how many questions are asked (a joint test: no single estimate to bound, so it can
    find an effect but never show equivalence). ``sesoi``: the smallest effect of
    interest by claim code (default :data:`~ipnstats.ipn.claims.CHECK_SESOI`)."""
    sesoi = sesoi or {}

    def neutral():
        row = res.framing[0].contrasts().set_index("term").loc["neutral - gain"]
        text = f"neutral – gain {num(row['estimate'], sign=True)} ({ci_text(row)})"
        return (text, row["p_value"], *row_test(row))

    def loss_aversion():
        row = res.loss_aversion.tidy().set_index("term").loc["receiver_loss_aversion"]
        text = f"slope {num(row['estimate'], sign=True)} ({ci_text(row)})"
        return text, row["p_value"], *row_test(row)

    def senders():
        test = res.questions.sender_test
        return f"Wald chi2({test.df_num}) = {test.statistic:.2f}", test.p_value

    parts = (("framing", "H2a", "Neutral framing teaches the same as gain framing", neutral),
             ("loss_aversion", "H2c", "Loss aversion does not matter under gain framing",
              loss_aversion),
             ("questions", "H2d", "Senders do not change the number of questions", senders))
    return [check_or_untestable(getattr(res, name), code, what, compute, sesoi.get(code))
            for name, code, what, compute in parts]


__all__ = ["CLAIMS", "H2Results", "H2_RULE", "claims_of", "fit_h2", "h2_checks", "h2_claims",
           "h2_findings"]
