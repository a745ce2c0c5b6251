"""Covariate balance of joiners and never-members before the H1 DiD, and the TWFE
membership effect refitted with entropy-balancing weights.

Each firm is described by its covariates (the H1 covariates, ``[H1] covariates``) in one
reference year:

- a joiner (``cohort > 0``): its last observed year before it joined (usually
  ``cohort - 1``); a firm observed only from its joining year on (always a member in
  the panel) has no pre-join year and is left out;
- a never-member (``cohort == 0``): its observed year nearest to the reference year of
  the never-members, the lower median of the joiners' pre-join years (ties: the earlier
  year), so that both groups are described at about the same calendar time.

The never-members are entropy balanced (:func:`~ipnstats.estimators.balance.entropy_balance`)
to the joiners' means of these covariates; joiners (which are the not-yet-treated
controls of the staggered design too) keep weight 1. Each firm's weight is carried to
all its years, and the TWFE regression of the outcome on membership (firm and year
effects, SEs clustered by firm) is fitted with these analytic weights and without them,
on the same firms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.estimators.balance import entropy_balance
from ipnstats.estimators.balance_table import balance_table
from ipnstats.estimators.panel import panel_regression
from ipnstats.results.stored import frame_to_json
from ipnstats.results.vcov import Cluster

JOINER = "joiner"
WEIGHT = "balance_weight"
TREATED = "treated"


def _unavailable(error: Exception) -> dict:
    return {"unavailable": str(error).rstrip(".") + "."}


def firm_reference_rows(fy: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """One row per firm: ``firm_id``, ``cohort``, ``joiner`` (1/0), ``reference_year``
    and ``covariates`` in that year (see the module notes); firms without a pre-join year
    are left out. ``.attrs`` holds ``never_reference_year`` and ``n_always_member``."""
    cols = ["firm_id", "year", "cohort", *covariates]
    missing = [c for c in cols if c not in fy.columns]
    if missing:
        raise ValueError(f"the firm-year frame lacks the column(s) {', '.join(missing)}")
    frame = fy[cols]
    joiners = frame[(frame["cohort"] > 0) & (frame["year"] < frame["cohort"])]
    last = joiners.sort_values("year").groupby("firm_id", sort=False).tail(1)
    n_joining = frame.loc[frame["cohort"] > 0, "firm_id"].nunique()
    if last.empty:
        raise ValueError("no joining firm is observed before it joined: nothing to balance")
    years = np.sort(last["year"].to_numpy())
    reference = int(years[(years.size - 1) // 2])
    never = frame[frame["cohort"] == 0].assign(
        _gap=lambda d: (d["year"] - reference).abs())
    never = never.sort_values(["_gap", "year"]).groupby("firm_id", sort=False).head(1)
    if never.empty:
        raise ValueError("no never-member firm (cohort 0) to compare the joiners with")
    out = pd.concat([last.assign(**{JOINER: 1}), never.drop(columns="_gap")
                     .assign(**{JOINER: 0})], ignore_index=True)
    out = out.rename(columns={"year": "reference_year"}).sort_values("firm_id",
                                                                      ignore_index=True)
    out.attrs = {"never_reference_year": reference,
                 "n_always_member": int(n_joining - last["firm_id"].nunique())}
    return out


def balance_findings(fy: pd.DataFrame, covariates: Sequence[str], *,
                     outcome: str = "log_revenue", moments: int = 1) -> tuple[dict, dict]:
    """Findings (JSON-ready) and fitted results of the balance check of the H1 TWFE.

    ``findings``: ``covariates``, ``moments``, the reference years, the firms per group
    (and how many joiners had no pre-join year, and how many firms miss a covariate in
    their reference year: left out), ``balance`` (the balance table before
    and after weighting, cobalt's ATT conventions), the largest ``|SMD|`` before and
    after, the never-members' Kish effective sample size, and ``weighted`` and
    ``unweighted`` (the TWFE membership effect: estimate, std_error, conf_low,
    conf_high, p_value, nobs, n_firms). A part that cannot be fitted is
    ``{"unavailable": reason}`` (e.g. balance is infeasible). ``results``:
    ``"balance.twfe_weighted"`` and ``"balance.twfe_unweighted"``.
    """
    covs = [c for c in covariates if c in fy.columns]
    base = {"outcome": outcome, "covariates": covs, "moments": int(moments)}
    try:
        if not covs:
            raise ValueError("none of the covariates is a column of the firm-year frame")
        firms = firm_reference_rows(fy, covs)
        eb = entropy_balance(firms, JOINER, covs, moments=moments)
    except ValueError as error:
        return base | {"balance": _unavailable(error)}, {}
    table = balance_table(firms, JOINER, covs, eb)
    weights = pd.Series(eb.weights.to_numpy(), index=firms["firm_id"])
    g = table.glance().iloc[0]
    findings = base | {
        "reference": {"joiners": "last observed year before joining",
                      "never_members": "observed year nearest to the joiners' median "
                                       "pre-join year",
                      "never_reference_year": firms.attrs["never_reference_year"]},
        "n_joiners": eb.n_treated, "n_never": eb.n_control,
        "n_always_member": firms.attrs["n_always_member"],
        "n_firms_missing_covariates": int(weights.isna().sum()),
        "balance": frame_to_json(table.tidy()),
        "max_abs_smd_before": float(g["max_abs_diff_unweighted"]),
        "max_abs_smd_after": float(g["max_abs_diff_weighted"]),
        "ess_never": eb.ess_control, "notes": [str(n) for n in eb.notes + table.notes]}
    data = _weighted_panel(fy, weights.dropna())
    results = {}
    for key, w in (("weighted", WEIGHT), ("unweighted", None)):
        try:
            res = _twfe(data, outcome, w)
            results[f"balance.twfe_{key}"] = res
            findings[key] = _effect(res, data)
        except ValueError as error:
            findings[key] = _unavailable(error)
    return findings, results


def _weighted_panel(fy: pd.DataFrame, weights: pd.Series) -> pd.DataFrame:
    """The firm-years of the balanced firms, with membership and the firm's weight."""
    data = fy[fy["firm_id"].isin(weights.index)]
    return data.assign(**{
        TREATED: ((data["cohort"] > 0) & (data["year"] >= data["cohort"])).astype(float),
        WEIGHT: data["firm_id"].map(weights).to_numpy(float)})


def _twfe(data: pd.DataFrame, outcome: str, weights: str | None):
    return panel_regression(data, f"{outcome} ~ {TREATED}", unit="firm_id", time="year",
                            vcov=Cluster("firm_id"), weights=weights)


def _effect(res, data: pd.DataFrame) -> dict:
    row = res.tidy().set_index("term").loc[TREATED]
    return {"estimate": float(row["estimate"]), "std_error": float(row["std_error"]),
            "conf_low": float(row["conf_low"]), "conf_high": float(row["conf_high"]),
            "p_value": float(row["p_value"]), "nobs": int(res.nobs),
            "n_firms": int(data["firm_id"].nunique())}


__all__ = ["balance_findings", "firm_reference_rows"]
