"""The analysis frames derived from validated tables: firm-year, exchanges, tasks.

Every function takes clean typed tables (those of :mod:`ipnstats.data.validate`,
minus the rows that broke a rule) and the codebook. Definitions are in
``docs/study_folder.md``; the sample flow of each step is returned with the frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .codebook import Codebook
from .columns import id_codes
from .membership import MemberGrid, member_grid
from .scales import score

PRACTICES = ("attendance_rate", "disclosure_rate", "critiques", "benchmark_rank_pct")


def firm_codes(ids: pd.Series, firms: pd.DataFrame) -> np.ndarray:
    """Position of each firm id in the (clean, unique) firms table; -1 for unknown ids."""
    if ids.dtype == firms["firm_id"].dtype:  # categories shared by the study layer
        return ids.cat.codes.to_numpy().astype(np.int64)
    return id_codes(ids, firms["firm_id"])


def build_grid(tables: dict[str, pd.DataFrame],
               codebook: Codebook) -> tuple[MemberGrid, list[str]]:
    """The member-year grid of all firms, and the group names its codes refer to."""
    firms, spells, fin = tables["firms"], tables["memberships"], tables["financials"]
    years = [fin["year"].min(), fin["year"].max(), spells["join_date"].dt.year.min()]
    first = int(np.nanmin(years))
    last = int(np.nanmax([fin["year"].max(), spells["join_date"].dt.year.max()]))
    groups = pd.Categorical(spells["group_id"].astype(str))
    return member_grid(firm_codes(spells["firm_id"], firms), groups.codes.astype(np.int32),
                       spells["join_date"], spells["exit_date"], n_firms=len(firms),
                       first_year=first, last_year=last,
                       min_days=codebook.member_year_min_days), list(groups.categories)


def firm_year(tables: dict[str, pd.DataFrame], codebook: Codebook,
              scores: pd.DataFrame | None) -> tuple[pd.DataFrame, list[dict]]:
    """One row per financials row, with membership, stage, practices, outcomes, scales."""
    firms, fin = tables["firms"], tables["financials"]
    grid, group_names = build_grid(tables, codebook)
    code = firm_codes(fin["firm_id"], firms)
    sort_key = code * 10_000 + fin["year"].to_numpy(dtype=np.int64)
    if not (np.diff(sort_key) >= 0).all():
        order = np.argsort(sort_key, kind="stable")
        fin, code = fin.iloc[order].reset_index(drop=True), code[order]
    panel = fin.copy(deep=False)
    year = panel["year"].to_numpy(dtype=np.int64)
    panel["year"] = year
    flow = [_step("firm_year", "financials", "one row per firm-year of financials",
                  len(fin), len(panel))]
    flow.append(_step("firm_year", "memberships",
                      f"spell covers fewer than {codebook.member_year_min_days} days of "
                      "every calendar year (no member year)",
                      len(grid.spell_used), int(grid.spell_used.sum())))
    _membership_columns(panel, grid, group_names, code, year, codebook)
    _firm_columns(panel, firms, code)
    _outcomes(panel, code)
    cells = code * 10_000 + year
    if "meeting_activity" in tables and "meetings" in tables:
        flow.append(_practices(panel, cells, tables, firms))
    if scores is not None:
        flow.append(_survey_scores(panel, cells, scores, firms, codebook))
    return panel, flow


def _membership_columns(panel, grid: MemberGrid, group_names, code, year, codebook) -> None:
    # the grid spans every financials year, so each firm-year is a cell of it
    flat = code * grid.n_years + (year - grid.first_year)
    member = grid.member.ravel()[flat]
    cohort = grid.cohort()[code]
    ever = cohort > 0
    counted = grid.tenure_before().ravel()[flat]
    valid = ever & (year >= cohort)
    panel["member"] = member.astype(np.int8)
    panel["ever_member"] = ever.astype(np.int8)
    panel["cohort"] = cohort.astype(np.int64)
    panel["event_time"] = np.where(ever, year - cohort, np.nan)
    panel["tenure"] = np.where(valid, counted, np.nan)
    panel["stage"] = _stage(counted, member & valid, codebook)
    group = np.where(member, grid.group.ravel()[flat], -1)
    panel["group_id"] = pd.Categorical.from_codes(group, categories=group_names)
    has_next = year < grid.first_year + grid.n_years - 1
    stays = grid.member.ravel()[np.where(has_next, flat + 1, flat)]
    panel["exit"] = np.where(member & has_next, (~stays).astype(float), np.nan)


def _stage(tenure: np.ndarray, staged: np.ndarray, codebook: Codebook) -> pd.Categorical:
    """Stage of each row from its (integer) tenure; -1 (missing) where not ``staged``."""
    names = [name for name, _ in codebook.stages]
    bounds = np.array([low for _, low in codebook.stages])
    by_tenure = np.searchsorted(bounds, np.arange(int(tenure.max(initial=0)) + 1),
                                side="right") - 1
    codes = np.where(staged, by_tenure[np.clip(tenure, 0, None)], -1)
    return pd.Categorical.from_codes(codes, categories=names, ordered=True)


def _firm_columns(panel, firms: pd.DataFrame, code) -> None:
    for column in ("industry", "region"):
        values = pd.Categorical(firms[column])
        panel[column] = pd.Categorical.from_codes(values.codes[code], values.categories)
    panel["founded_year"] = firms["founded_year"].to_numpy()[code]
    panel["age"] = panel["year"] - panel["founded_year"]


def _outcomes(panel: pd.DataFrame, code: np.ndarray) -> None:
    revenue = panel["revenue"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        panel["log_revenue"] = np.where(revenue > 0, np.log(np.where(revenue > 0, revenue, 1)),
                                        np.nan)
        panel["profit_margin"] = np.where(revenue != 0, panel["net_income"] / revenue, np.nan)
        assets = panel["total_assets"].to_numpy(dtype=float)
        panel["roa"] = np.where(assets > 0, panel["net_income"] / assets, np.nan)
    panel["log_employees"] = np.log1p(panel["employees"].to_numpy(dtype=float))
    year = panel["year"].to_numpy()
    follows = np.r_[False, (code[1:] == code[:-1]) & (year[1:] == year[:-1] + 1)]
    for level, growth in (("log_revenue", "revenue_growth"),
                          ("log_employees", "employment_growth")):
        x = panel[level].to_numpy()
        panel[growth] = np.where(follows, x - np.r_[np.nan, x[:-1]], np.nan)


def _practices(panel, cells, tables, firms) -> dict:
    act = tables["meeting_activity"]
    meet = tables["meetings"].set_index(tables["meetings"]["meeting_id"].astype(str))
    year = meet["date"].dt.year.reindex(act["meeting_id"].astype(str)).fillna(-1).to_numpy(int)
    key = firm_codes(act["firm_id"], firms) * 10_000 + year
    att = act["attended"].to_numpy(float) == 1
    n_ranked = act["ranked_firms"].to_numpy(float)
    pct = np.where(n_ranked > 1, 1 - (act["benchmark_rank"].to_numpy(float) - 1) /
                   np.maximum(n_ranked - 1, 1), 0.5)
    pct = np.where(np.isnan(act["benchmark_rank"].to_numpy(float)), np.nan, pct)
    per = pd.DataFrame({
        "key": key, "rows": 1.0, "att": att.astype(float),
        "disc": np.where(att, act["disclosed_financials"].to_numpy(float), 0.0),
        "crit": np.where(att, act["critiques_received"].to_numpy(float), 0.0),
        "pct": pct, "ranked": (~np.isnan(pct)).astype(float),
    }).assign(pct=lambda d: d["pct"].fillna(0.0)).groupby("key").sum()
    at = per.reindex(cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        panel["attendance_rate"] = (at["att"] / at["rows"]).to_numpy()
        panel["disclosure_rate"] = (at["disc"] / at["att"]).to_numpy()
        panel["critiques"] = (at["crit"] / at["att"]).to_numpy()
        panel["benchmark_rank_pct"] = (at["pct"] / at["ranked"]).to_numpy()
    used = int(np.isin(key, cells).sum())
    return _step("firm_year", "meeting_activity",
                 "no financials row for the firm in the meeting's year", len(act), used)


def _survey_scores(panel, cells, scores: pd.DataFrame, firms, codebook) -> dict:
    key = firm_codes(scores["firm_id"], firms) * 10_000 + scores["date"].dt.year.to_numpy()
    names = [s.name for s in codebook.scales]
    means = scores[names].groupby(key).mean()
    panel[names] = means.reindex(cells).to_numpy()
    return _step("firm_year", "surveys", "no financials row for the firm in the survey's year",
                 len(scores), int(np.isin(key, cells).sum()))


def survey_scores(surveys: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, list[dict]]:
    """Scale scores of each survey row, with a flow step per scale for missing scores."""
    out = surveys[["firm_id", "date"]].copy()
    flow = []
    for scale in codebook.scales:
        out[scale.name] = score(surveys, scale).to_numpy()
        flow.append(_step(f"scale {scale.name}", "surveys",
                          "fewer than two thirds of the scale's items answered",
                          len(out), int(out[scale.name].notna().sum())))
    return out, flow


def _step(step: str, table: str, reason: str, rows_in: int, rows_out: int) -> dict:
    return {"step": step, "table": table, "reason": reason, "rows_in": int(rows_in),
            "rows_out": int(rows_out)}
