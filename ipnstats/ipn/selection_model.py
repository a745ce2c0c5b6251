"""Self-selection into membership, modelled: the endogenous-treatment model (Maddala
1983; Stata ``etregress``) of the firm's revenue growth after its reference year, beside
least squares on the same firms and the TWFE DiD estimate.

The firms and reference years are those of the balance check
(:func:`ipnstats.ipn.balance.firm_reference_rows`): joiners in their last observed year
before joining, never-members in the year nearest to the joiners' median one. The outcome
is the change in the outcome from the reference year to ``HORIZON`` years later (for a
joiner: into its third member year when it joined the year after its reference year);
firms without that year are left out and counted. Joining is a probit on the covariates
and the ``instruments`` in the reference year; growth is linear in joining and the
covariates. An instrument (``[H1] selection_instruments``) is a variable that moves
joining but not growth otherwise (say, the distance to the nearest group's meeting
place); without one, the correlation of the two equations' errors (``rho``, the
selection on unobservables) is identified by the normality of the errors alone, and the
model is a check of how far such selection could move the estimate, not an
instrument-based estimate. ``rho > 0`` means firms that join would have grown faster
anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from ipnstats.estimators.treatment_effects import treatment_effects
from ipnstats.ipn.balance import JOINER, firm_reference_rows

#: years from the reference year to the year whose outcome is compared
HORIZON = 3
GROWTH = "growth"


def _unavailable(error: Exception) -> dict:
    return {"unavailable": str(error).rstrip(".") + "."}


def growth_rows(fy: pd.DataFrame, covariates: Sequence[str], outcome: str,
                horizon: int = HORIZON) -> pd.DataFrame:
    # covariates: every reference-year column the models use (instruments included)
    """One row per firm with a reference year and the outcome ``horizon`` years later:
    ``joiner``, the covariates in the reference year and ``growth`` (the change of
    ``outcome``); ``.attrs`` counts the firms left out for want of the later year."""
    ref = firm_reference_rows(fy, covariates)
    level = fy.set_index(["firm_id", "year"])[outcome]
    start = level.reindex(pd.MultiIndex.from_arrays([ref["firm_id"], ref["reference_year"]]))
    end = level.reindex(pd.MultiIndex.from_arrays([ref["firm_id"],
                                                   ref["reference_year"] + horizon]))
    rows = ref.assign(**{GROWTH: end.to_numpy(float) - start.to_numpy(float)})
    kept = rows[np.isfinite(rows[GROWTH]) & rows[list(covariates)].notna().all(axis=1)]
    kept = kept.reset_index(drop=True)
    kept.attrs = {**ref.attrs, "n_without_later_year": int(len(rows) - len(kept))}
    return kept


def selection_findings(fy: pd.DataFrame, covariates: Sequence[str], *, outcome: str,
                       instruments: Sequence[str] = (),
                       twfe: dict | None = None) -> tuple[dict, dict]:
    """Findings (JSON-ready) and fitted result of the selection model: ``ols`` (least
    squares, HC1 SEs) and ``endogenous`` (the endogenous-treatment model by maximum
    likelihood, ``instruments`` in the joining equation only): the membership effect on
    growth (estimate, std_error, conf_low, conf_high, p_value); ``rho``, ``sigma``, the
    likelihood-ratio test of ``rho = 0``, the firms per group, and ``twfe`` (the event
    study's effect at the same horizon, passed in, for the reading). A model that cannot
    be fitted is ``{"model": {"unavailable": reason}}``."""
    covs = [c for c in covariates if c in fy.columns]
    excluded = [c for c in instruments if c not in covs]
    base = {"outcome": outcome, "horizon": HORIZON, "covariates": covs,
            "instruments": excluded, "twfe": twfe}
    try:
        absent = [c for c in excluded if c not in fy.columns]
        if absent:
            raise ValueError(f"[H1] selection_instruments names {', '.join(absent)}, not a "
                             "column of the firm-year panel")
        rows = growth_rows(fy, [*covs, *excluded], outcome)
        rhs = " + ".join([JOINER, *covs])
        least = smf.ols(f"{GROWTH} ~ {rhs}", data=rows).fit(cov_type="HC1")
        model = treatment_effects(rows, f"{GROWTH} ~ {rhs}",
                                  f"{JOINER} ~ {' + '.join([*covs, *excluded]) or '1'}",
                                  method="ml")
    except ValueError as error:
        return base | {"model": _unavailable(error)}, {}
    g = model.glance().iloc[0]
    findings = base | {
        "n_joiners": int(rows[JOINER].sum()), "n_never": int((rows[JOINER] == 0).sum()),
        "n_without_later_year": rows.attrs["n_without_later_year"],
        "n_always_member": rows.attrs["n_always_member"],
        "ols": _ols_effect(least), "endogenous": _effect(model),
        "rho": float(g["rho"]), "sigma": float(model.params["sigma"]),
        "rho_test": {"statistic": float(g["rho_test_stat"]), "p_value": float(g["rho_test_p"]),
                     "kind": str(g["rho_test"])},
        "notes": [str(n) for n in model.notes]}
    return findings, {"selection.endogenous": model}


def _ols_effect(res) -> dict:
    """The joining coefficient of a statsmodels least-squares fit (HC1 SEs)."""
    low, high = res.conf_int().loc[JOINER]
    return {"estimate": float(res.params[JOINER]), "std_error": float(res.bse[JOINER]),
            "conf_low": float(low), "conf_high": float(high),
            "p_value": float(res.pvalues[JOINER])}


def _effect(res) -> dict:
    t = res.tidy().set_index("term").loc[JOINER]
    return {"estimate": float(t["estimate"]), "std_error": float(t["std_error"]),
            "conf_low": float(t["conf_low"]), "conf_high": float(t["conf_high"]),
            "p_value": float(t["p_value"])}


__all__ = ["HORIZON", "growth_rows", "selection_findings"]
