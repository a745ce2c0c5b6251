"""The exchange (dyad) frame and the task frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.data.codebook import Codebook
from ipnstats.data.frames import firm_codes


def firm_traits(scores: pd.DataFrame | None, firms: pd.DataFrame) -> pd.DataFrame:
    """Each firm's mean risk_aversion and loss_aversion score over all its surveys."""
    out = pd.DataFrame(index=pd.Index(firms["firm_id"].astype(str), name="firm_id"))
    for trait in ("risk_aversion", "loss_aversion"):
        if scores is None or trait not in scores:
            out[trait] = np.nan
            continue
        out[trait] = scores.groupby(scores["firm_id"].astype(str))[trait].mean()
    return out


def risk_averse_threshold(traits: pd.DataFrame, cutoff: float | str) -> float:
    """The risk_aversion score above which a firm counts as risk averse."""
    if cutoff == "median":
        return float(traits["risk_aversion"].median())
    return float(cutoff)


def exchange_frame(exchanges: pd.DataFrame, panel: pd.DataFrame, firms: pd.DataFrame,
                   traits: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Each exchange with sender and receiver traits in the exchange year."""
    out = exchanges.copy()
    out["year"] = out["date"].dt.year.astype(np.int64)
    out["loss"] = (out["framing"] == "loss").astype(np.int8)
    by_cell = _yearly_traits(panel, firms)
    for role in ("sender", "receiver"):
        ids = out[f"{role}_id"].astype(str)
        code = firm_codes(out[f"{role}_id"], firms)
        year_traits = by_cell.reindex(code * 10_000 + out["year"].to_numpy())
        out[f"{role}_risk_aversion"] = traits["risk_aversion"].reindex(ids).to_numpy()
        out[f"{role}_loss_aversion"] = traits["loss_aversion"].reindex(ids).to_numpy()
        out[f"{role}_size"] = year_traits["log_employees"].to_numpy()
        out[f"{role}_age"] = out["year"].to_numpy() - firms["founded_year"].to_numpy()[code]
        out[f"{role}_success"] = year_traits["profit_margin"].to_numpy()
        out[f"{role}_status"] = year_traits["benchmark_rank_pct"].to_numpy()
        out[f"{role}_industry"] = firms["industry"].to_numpy()[code]
    out["same_industry"] = (out["sender_industry"] == out["receiver_industry"]).astype(np.int8)
    threshold = risk_averse_threshold(traits, codebook.risk_averse_cutoff)
    ra = out["sender_risk_aversion"]
    out["sender_risk_averse"] = np.where(ra.isna(), np.nan, (ra > threshold).astype(float))
    return out


def _yearly_traits(panel: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    code = firm_codes(panel["firm_id"], firms)
    cols = ["log_employees", "profit_margin"]
    frame = panel[cols].copy()
    frame["benchmark_rank_pct"] = panel["benchmark_rank_pct"] if "benchmark_rank_pct" in panel \
        else np.nan
    frame.index = code * 10_000 + panel["year"].to_numpy()
    return frame


def task_frame(tasks: pd.DataFrame, exchanges: pd.DataFrame | None) -> pd.DataFrame:
    """Tasks with cumulative experience, logs and prior exposure to risk-averse senders."""
    out = tasks.sort_values(["firm_id", "seq"], kind="stable").reset_index(drop=True)
    out["cum_experience"] = out.groupby("firm_id", observed=True).cumcount() + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_cum_experience"] = np.log(out["cum_experience"].astype(float))
        out["log_outcome"] = np.log(out["outcome"].where(out["outcome"] > 0))
        out["log_n_sources"] = np.log(out["n_sources"].where(out["n_sources"] > 0))
    if exchanges is None:
        out["prior_spontaneous"] = np.nan
        out["prior_risk_averse"] = np.nan
        return out
    spont = exchanges[exchanges["initiator"] == "sender"]
    out["prior_spontaneous"] = _count_before(out, spont)
    out["prior_risk_averse"] = _count_before(out, spont[spont["sender_risk_averse"] == 1])
    return out


def _count_before(tasks: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Number of ``events`` received by each task's firm strictly before the task's date
    (all 0 when there are no events)."""
    if not len(events) or not len(tasks):
        return np.zeros(len(tasks))
    # (dates of one resolution on both sides: merge_asof refuses to mix them)
    ev = pd.DataFrame({"firm": events["receiver_id"].astype(str).to_numpy(),
                       "date": events["date"].to_numpy(dtype="datetime64[ns]")}
                      ).sort_values(["firm", "date"], kind="stable")
    ev["n"] = ev.groupby("firm").cumcount() + 1
    left = pd.DataFrame({"firm": tasks["firm_id"].astype(str).to_numpy(),
                         "date": tasks["date"].to_numpy(dtype="datetime64[ns]"),
                         "pos": np.arange(len(tasks))})
    # stable sorts: several exchanges on one date keep their running counts in order
    merged = pd.merge_asof(left.sort_values("date", kind="stable"),
                           ev.sort_values("date", kind="stable"), on="date",
                           by="firm", allow_exact_matches=False, direction="backward")
    counts = np.zeros(len(tasks))
    counts[merged["pos"].to_numpy()] = merged["n"].fillna(0).to_numpy()
    return counts
