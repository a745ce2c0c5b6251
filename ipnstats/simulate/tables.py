"""The public tables and the codebook of a study folder, and writing them to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from ipnstats.core.csvsafe import write_csv
from ipnstats.simulate.common import (
    FRAMINGS,
    INDUSTRIES,
    LABELS,
    OPEN,
    QUESTION_TYPES,
    REGIONS,
    SCALES,
    _Config,
    _ids,
    _iso,
)
from ipnstats.simulate.firms import _Firms

# --- public tables ------------------------------------------------------------------------

def _public_tables(cfg, fx, fin, spells, meetings, activity, surveys, ex, tasks) -> dict:
    fid = _ids("F", np.arange(cfg.n_firms), max(4, len(str(cfg.n_firms))))
    gid = _ids("G", np.arange(cfg.n_groups), max(2, len(str(cfg.n_groups))))
    meetings = meetings.assign(kind=np.where(meetings["peer"], "peer_meeting", "workshop"))
    meetings = meetings.sort_values(["day", "group", "kind", "key"], kind="stable")
    mid = pd.Series(_ids("M", np.arange(len(meetings)), max(5, len(str(len(meetings))))),
                    index=meetings["key"].to_numpy())
    return {
        "firms": _firms_table(fid, fx),
        "memberships": _memberships_table(fid, gid, spells),
        "financials": fin.assign(firm_id=fid[fin["firm"]])[
            ["firm_id", "year", "revenue", "net_income", "employees", "total_assets"]],
        "meetings": pd.DataFrame({"meeting_id": mid.to_numpy(),
                                  "group_id": gid[meetings["group"].to_numpy()],
                                  "date": _iso(meetings["day"]), "kind": meetings["kind"]}),
        "meeting_activity": _activity_table(fid, mid, activity),
        "surveys": _surveys_public(fid, surveys),
        "exchanges": _exchanges_table(fid, mid, ex),
        "tasks": pd.DataFrame({"firm_id": fid[tasks["firm"]], "seq": tasks["seq"],
                               "date": _iso(tasks["day"]), "outcome": tasks["outcome"],
                               "n_sources": tasks["sources"]}),
    }


def _firms_table(fid, fx: _Firms) -> pd.DataFrame:
    return pd.DataFrame({
        "firm_id": fid, "industry": np.asarray(INDUSTRIES)[fx.industry],
        "region": np.asarray(REGIONS)[fx.region], "founded_year": fx.founded,
        "employees_baseline": np.maximum(np.rint(np.exp(fx.emp_fe)), 1).astype(np.int64)})


def _memberships_table(fid, gid, spells: pd.DataFrame) -> pd.DataFrame:
    spells = spells.sort_values(["firm", "join"], kind="stable")
    exit_ = spells["exit"].to_numpy()
    return pd.DataFrame({
        "firm_id": fid[spells["firm"]], "group_id": gid[spells["group"]],
        "join_date": _iso(spells["join"]),
        "exit_date": np.where(exit_ == OPEN, "", _iso(np.where(exit_ == OPEN, 0, exit_)))})


def _activity_table(fid, mid: pd.Series, act: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "meeting_id": mid.reindex(act["key"]).to_numpy(), "firm_id": fid[act["firm"]],
        "attended": act["attended"].astype(np.int64).to_numpy(),
        "disclosed_financials": act["disclosed"].astype(np.int64).to_numpy(),
        "critiques_received": act["critiques"].to_numpy(),
        "benchmark_rank": pd.array(act["rank"].to_numpy(), dtype="Int64"),
        "ranked_firms": act["ranked"].to_numpy().astype(np.int64)})
    return out.sort_values(["meeting_id", "firm_id"], kind="stable", ignore_index=True)


def _surveys_public(fid, surveys: pd.DataFrame) -> pd.DataFrame:
    out = surveys.assign(firm_id=fid[surveys["firm"]], date=_iso(surveys["day"]))
    items = [c for c in surveys.columns if c not in ("firm", "day")]
    return out[["firm_id", "date", *items]].sort_values(["firm_id", "date"], ignore_index=True)


def _exchanges_table(fid, mid: pd.Series, ex: pd.DataFrame) -> pd.DataFrame:
    key = ex["key"].to_numpy()
    return pd.DataFrame({
        "exchange_id": _ids("X", np.arange(len(ex)), max(6, len(str(len(ex))))),
        "date": _iso(ex["day"]),
        "meeting_id": np.where(key < 0, "", mid.reindex(np.where(key < 0, mid.index[0], key))
                               .to_numpy()),
        "receiver_id": fid[ex["receiver"]], "sender_id": fid[ex["sender"]],
        "initiator": np.where(ex["spontaneous"], "sender", "receiver"),
        "question_type": np.asarray(QUESTION_TYPES)[ex["question"]],
        "n_questions": ex["n_questions"].to_numpy(),
        "framing": np.asarray(FRAMINGS)[ex["framing"]],
        "cognitive_shift": ex["shift"].to_numpy(),
        "behavior_change": ex["change"].astype(np.int64).to_numpy()})


# --- codebook -----------------------------------------------------------------------------

def _codebook(cfg: _Config) -> dict:
    scales = {name: {"label": label, "items": [f"{prefix}_{j}" for j in range(1, 6)],
                     "reverse": [f"{prefix}_{rev}"], "range": [1, 7]}
              for name, label, prefix, rev in SCALES}
    return {
        "study": {"name": f"Simulated IPN study (ipnstats.simulate, seed {cfg.seed})",
                  "member_year_min_days": cfg.min_days, "disclosure_threshold": 3,
                  "risk_averse_cutoff": "median"},
        "stages": {"novice": 0, "developing": 2, "expert": 4},
        "scales": scales,
        "labels": dict(LABELS),
    }


# --- writing ------------------------------------------------------------------------------

def _write(folder: Path, tables: dict[str, pd.DataFrame], codebook: dict, truth: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_csv(frame, folder / f"{name}.csv", lineterminator="\n")
    (folder / "codebook.toml").write_text(tomli_w.dumps(codebook), encoding="utf-8")
    (folder / "truth.toml").write_text(tomli_w.dumps(truth), encoding="utf-8")
    return folder
