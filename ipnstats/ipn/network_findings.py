"""Who learns from whom: the exchange network of the study (the "Network" stage).

- **Social relations** (:func:`srm_findings`): the cognitive shift of an exchange split
  into the receiver's general tendency to learn (actor), the sender's general tendency
  to teach (partner) and the particular pair (relationship), with generalized
  reciprocity (do firms that learn much also teach much?) and dyadic reciprocity (when
  A learns from B, does B learn from A?). The Social Relations Model by REML
  (:func:`ipnstats.estimators.srm.social_relations`) on the mean cognitive shift of each
  receiver-sender pair within a peer group over the study's years; a firm is a person
  per group it was in (TripleR needs ids unique across groups), and exchanges across
  groups are left out.
- **Network position** (:func:`position_findings`): degree, strength, betweenness,
  eigenvector centrality and Burt's constraint of each member firm-year in its group's
  network of the year (:func:`ipnstats.ipn.network.firm_network_position`), their
  distribution, and the exit hazard of H1f with the firm's position added.
- **Dyadic dependence** (:func:`dyadic_findings`): the fixed parts of the H2a and H3a
  primary tests by least squares, with standard errors clustered by sender and receiver
  (two-way) and dyadic-robust ones (Aronow, Samii & Assenova 2015: exchanges sharing a
  firm, in either role, are dependent).

Every piece is JSON-ready; a piece that cannot be fitted is ``{"unavailable": reason}``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ipnstats.estimators.panel import panel_regression
from ipnstats.estimators.peers import peer_effects, peer_randomization_test
from ipnstats.estimators.srm import social_relations
from ipnstats.ipn.hazard import exit_hazard
from ipnstats.ipn.network import firm_network_position
from ipnstats.results.stored import frame_to_json
from ipnstats.results.vcov import Cluster, Dyadic

OUTCOME = "cognitive_shift"
#: the position measures shown and put into the exit hazard
POSITION = ("in_degree", "out_degree", "betweenness", "eigenvector_in", "constraint")
#: H1f's predictors, to which the position measures are added
EXIT_BASE = ("benchmark_rank_pct", "critiques")
SRM_TERMS = ("actor_variance", "partner_variance", "relationship_variance",
             "actor_partner_covariance", "relationship_covariance")


def _unavailable(error: Exception) -> dict:
    return {"unavailable": str(error).rstrip(".") + "."}


# -- the pairs of a group ------------------------------------------------------------------

def group_pairs(exchanges: pd.DataFrame, fy: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The mean ``cognitive_shift`` of each receiver-sender pair within a peer group (both
    members of it in the exchange's year), ids made ``firm@group``; and the number of
    exchanges left out (a party not a member of the receiver's group that year)."""
    groups = fy.loc[fy["group_id"].notna(), ["firm_id", "year", "group_id"]]
    groups = groups.assign(firm_id=groups["firm_id"].astype(str),
                           group_id=groups["group_id"].astype(str))
    ex = exchanges[["receiver_id", "sender_id", "year", OUTCOME]].assign(
        receiver_id=exchanges["receiver_id"].astype(str),
        sender_id=exchanges["sender_id"].astype(str))
    ex = ex.merge(groups.rename(columns={"firm_id": "receiver_id"}), how="left",
                  on=["receiver_id", "year"])
    ex = ex.merge(groups.rename(columns={"firm_id": "sender_id", "group_id": "sender_group"}),
                  how="left", on=["sender_id", "year"])
    same = ex["group_id"].notna() & (ex["group_id"] == ex["sender_group"]) & ex[OUTCOME].notna()
    kept = ex[same]
    pairs = kept.groupby(["group_id", "receiver_id", "sender_id"], as_index=False,
                         observed=True)[OUTCOME].mean()
    pairs["actor"] = pairs["receiver_id"] + "@" + pairs["group_id"]
    pairs["partner"] = pairs["sender_id"] + "@" + pairs["group_id"]
    return pairs, int((~same).sum())


def srm_findings(exchanges: pd.DataFrame, fy: pd.DataFrame) -> tuple[dict, dict]:
    """The Social Relations Model of the cognitive shift (REML), JSON-ready: the five
    components with SEs and intervals, each variance's share of their sum, the
    reciprocity correlations, and the data it rests on."""
    try:
        pairs, left_out = group_pairs(exchanges, fy)
        res = social_relations(pairs, OUTCOME, actor="actor", partner="partner",
                               group="group_id", method="reml")
    except ValueError as error:
        return _unavailable(error), {}
    tidy = res.tidy().set_index("term")
    variances = tidy.loc[["actor_variance", "partner_variance", "relationship_variance"],
                         "estimate"]
    g = res.glance().iloc[0]
    findings = {
        "components": frame_to_json(tidy.reset_index()),
        "shares": {k: float(v / variances.sum()) for k, v in variances.items()},
        "generalized_reciprocity": float(tidy.loc["actor_partner_covariance",
                                                  "standardized"]),
        "dyadic_reciprocity": float(tidy.loc["relationship_covariance", "standardized"]),
        "n_pairs": int(g["nobs"]), "n_persons": int(g["n_persons"]),
        "n_groups": int(g["n_groups"]), "n_missing_pairs": int(g["n_missing_dyads"]),
        "n_excluded": int(g["n_excluded"]), "n_exchanges_left_out": left_out,
        "converged": bool(g["converged"]), "notes": [str(n) for n in res.notes]}
    return findings, {"network.srm": res}


# -- network position ------------------------------------------------------------------------

def position_findings(pos: pd.DataFrame, fy: pd.DataFrame, *,
                      threshold: int) -> tuple[dict, dict]:
    """From the firm-year positions ``pos`` (:func:`ipnstats.ipn.network.firm_network_position`):
    the distribution of the measures over member firm-years (quartiles, no
    firm named; withheld below ``threshold`` firm-years), and the exit hazard of H1f with
    the measures added (logit with group and year effects, SEs clustered by firm)."""
    measures = [m for m in POSITION if m in pos.columns]
    rows = []
    for m in measures:
        x = pos[m].dropna()
        rows.append({"measure": m, "n": int(x.size), "mean": float(x.mean()),
                     "sd": float(x.std(ddof=1)), "p25": float(x.quantile(0.25)),
                     "median": float(x.median()), "p75": float(x.quantile(0.75))})
    findings = {"distribution": frame_to_json(pd.DataFrame(rows)),
                "n_firm_years": int(len(pos)),
                "n_exchanges_left_out": int(pos.attrs.get("n_exchanges_left_out", 0)),
                "notes": [_readable(str(n)) for n in pos.attrs.get("notes", ())],
                "threshold": int(threshold)}
    keys = ["firm_id", "year", "group_id"]
    merged = fy.merge(pos[keys + measures].assign(
        firm_id=pos["firm_id"].astype(fy["firm_id"].dtype),
        group_id=pos["group_id"].astype(fy["group_id"].dtype)), how="left", on=keys)
    scaled = merged.assign(**{m: _standardized(merged[m]) for m in measures})
    try:
        hazard = exit_hazard(scaled, predictors=(*EXIT_BASE, *measures))
    except ValueError as error:
        return findings | {"exit": _unavailable(error)}, {}
    terms = hazard.tidy()
    terms = terms[terms["term"].isin([*EXIT_BASE, *measures])]
    findings["exit"] = {"terms": frame_to_json(terms), "nobs": int(hazard.nobs),
                        "notes": [str(n) for n in hazard.notes]}
    return findings, {"network.exit": hazard}


def _readable(note: str) -> str:
    """A measure's note for readers: ``group_id=G09, year=2008`` -> ``group G09 in 2008``."""
    return re.sub(r"group_id=([^,)]+), year=(\d+)", r"group \1 in \2", note)


def _standardized(x: pd.Series) -> pd.Series:
    """Per SD over the member firm-years that have it (so odds ratios are per SD)."""
    sd = x.std(ddof=1)
    return (x - x.mean()) / sd if sd > 0 else x * np.nan


# -- dyadic dependence of the H2a and H3a tests ----------------------------------------------

def dyadic_findings(exchanges: pd.DataFrame) -> dict:
    """The H2a contrast (loss against gain framing) and the H3a slope (sender risk
    aversion per SD, with the loss frame as covariate) by least squares, with two-way
    (sender, receiver) clustered and dyadic-robust standard errors."""
    ex = exchanges.assign(receiver_id=exchanges["receiver_id"].astype(str),
                          sender_id=exchanges["sender_id"].astype(str))
    ra = ex["sender_risk_aversion"]
    designs = {
        "H2a": (ex[ex["framing"].astype(str).isin(["loss", "gain"])],
                f"{OUTCOME} ~ loss", "loss"),
        "H3a": (ex.assign(sender_risk_aversion=(ra - ra.mean()) / ra.std(ddof=1)),
                f"{OUTCOME} ~ sender_risk_aversion + loss", "sender_risk_aversion")}
    out = {}
    for claim, (data, formula, term) in designs.items():
        try:
            rows = []
            for label, vcov in (("two-way", Cluster("sender_id", "receiver_id")),
                                ("dyadic", Dyadic("sender_id", "receiver_id"))):
                t = panel_regression(data, formula, unit="receiver_id", time="year",
                                     estimator="pooled", vcov=vcov).tidy().set_index("term")
                rows.append({"vcov": label, "estimate": float(t.loc[term, "estimate"]),
                             "std_error": float(t.loc[term, "std_error"]),
                             "conf_low": float(t.loc[term, "conf_low"]),
                             "conf_high": float(t.loc[term, "conf_high"]),
                             "p_value": float(t.loc[term, "p_value"])})
            out[claim] = {"term": term, "formula": formula, "nobs": int(len(data)),
                          "fits": rows}
        except ValueError as error:
            out[claim] = _unavailable(error)
    return out


# -- peer composition -------------------------------------------------------------------------

#: the peers' characteristic: size before the panel (log of 1 + baseline employees)
PEER_SIZE = "baseline_size"
PEER_DRAWS = 499


def peer_findings(fy: pd.DataFrame, firms: pd.DataFrame | None, *, outcome: str,
                  seed: int) -> tuple[dict, dict]:
    """Do firms do better when the other members of their group are larger? Member
    firm-years, groups = peer group x year, pools = years (GKN's urn), the firm's own and
    its peers' baseline size (linear in means), the GKN correction, SEs clustered by peer
    group (CR2); the naive estimate beside it, and the randomization p-value re-drawing the
    groups of each year at random (``PEER_DRAWS`` draws)."""
    if firms is None or "employees_baseline" not in firms.columns:
        return {"unavailable": "the firms table has no employees_baseline column."}, {}
    size = np.log1p(firms.set_index(firms["firm_id"].astype(str))["employees_baseline"]
                    .astype(float))
    rows = fy[(fy["member"] == 1) & fy["group_id"].notna() & fy[outcome].notna()]
    rows = rows.assign(**{PEER_SIZE: rows["firm_id"].astype(str).map(size).to_numpy(),
                          "group_year": rows["group_id"].astype(str) + ":"
                          + rows["year"].astype(str)})
    rows = rows[rows[PEER_SIZE].notna()]
    alone = rows.groupby("group_year")["firm_id"].transform("size") < 2
    rows = rows[~alone]
    common = {"group": "group_year", "pool": "year", "unit": "firm_id",
              "method": "linear_in_means"}
    try:
        corrected = peer_effects(rows, outcome, PEER_SIZE, **common, correction="gkn",
                                 vcov=Cluster("group_id", type="cr2"))
        naive = peer_effects(rows, outcome, PEER_SIZE, **common, correction=None,
                             vcov=Cluster("group_id", type="cr2"))
        perm = peer_randomization_test(rows, outcome, PEER_SIZE, **common, correction="gkn",
                                       n_perm=PEER_DRAWS, seed=seed)
    except ValueError as error:
        return _unavailable(error), {}
    fits = {}
    for name, res in (("corrected", corrected), ("naive", naive)):
        t = res.tidy().set_index("term")
        fits[name] = {k: float(t.loc["peer_mean", k]) for k in
                      ("estimate", "std_error", "conf_low", "conf_high", "p_value")}
    return ({"outcome": outcome, "characteristic": PEER_SIZE, "fits": fits,
             "randomization_p": float(perm.p_value), "n_perm": int(perm.n_perm),
             "seed": seed, "nobs": int(corrected.nobs),
             "n_groups": int(rows["group_id"].nunique()),
             "n_group_years": int(rows["group_year"].nunique()),
             "n_alone": int(alone.sum()),
             "notes": [str(n) for n in corrected.notes]},
            {"network.peers": corrected})


def fit_network(exchanges: pd.DataFrame | None, fy: pd.DataFrame, *, threshold: int,
                firms: pd.DataFrame | None = None, outcome: str = "log_revenue",
                seed: int = 0) -> tuple[dict, dict]:
    """Findings (JSON-ready) and fitted results of the Network stage: ``srm``,
    ``position``, ``dyadic`` and ``peers``; the first three are ``{"unavailable": ...}``
    without exchanges."""
    peers, peer_fit = peer_findings(fy, firms, outcome=outcome, seed=seed)
    if exchanges is None or exchanges.empty:
        return {"exchanges": {"unavailable": "the study has no exchanges table."},
                "peers": peers}, peer_fit
    srm, fitted = srm_findings(exchanges, fy)
    try:
        pos = firm_network_position(exchanges, fy)
    except ValueError as error:
        position, hazard = _unavailable(error), {}
        joining, joined = _unavailable(error), {}
    else:
        position, hazard = position_findings(pos, fy, threshold=threshold)
        joining, joined = joining_findings(fy, pos, outcome=outcome)
    return ({"srm": srm, "position": position, "joining": joining,
             "dyadic": dyadic_findings(exchanges), "peers": peers},
            {**fitted, **hazard, **joined, **peer_fit})


__all__ = ["dyadic_findings", "fit_network", "group_pairs", "joining_findings",
           "peer_findings", "position_findings", "srm_findings"]


# -- network position and the effect of joining --------------------------------------------------

def joining_findings(fy: pd.DataFrame, pos: pd.DataFrame, *, outcome: str,
                     measure: str = "in_degree") -> tuple[dict, dict]:
    """Does the effect of membership differ with the firm's network position? The firm's
    mean ``measure`` over its member years (standardized over ever-members) interacted
    with membership in the TWFE regression of ``outcome`` (firm and year effects, SEs
    clustered by firm). The position is measured after joining, so the interaction
    describes who gains, not what causes the gain."""
    mean_pos = pos.groupby(pos["firm_id"].astype(str), observed=True)[measure].mean()
    z = (mean_pos - mean_pos.mean()) / mean_pos.std(ddof=1)
    data = fy.assign(central=fy["firm_id"].astype(str).map(z).fillna(0.0).to_numpy())
    data = data.assign(member_x_central=data["member"] * data["central"])
    try:
        res = panel_regression(data, f"{outcome} ~ member + member_x_central",
                               unit="firm_id", time="year", vcov=Cluster("firm_id"))
    except ValueError as error:
        return _unavailable(error), {}
    t = res.tidy().set_index("term")
    rows = {term: {k: float(t.loc[term, k]) for k in
                   ("estimate", "std_error", "conf_low", "conf_high", "p_value")}
            for term in ("member", "member_x_central")}
    return ({"outcome": outcome, "measure": measure, "terms": rows, "nobs": int(res.nobs),
             "n_firms_with_position": int(z.notna().sum())},
            {"network.joining": res})
