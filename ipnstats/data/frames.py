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
    year = fin["year"].to_numpy(dtype=np.int64)
    cols: dict = {}  # new columns, joined to the financials without copying at the end
    flow = [_step("firm_year", "financials", "one row per firm-year of financials",
                  len(fin), len(fin))]
    flow.append(_step("firm_year", "memberships",
                      f"spell covers fewer than {codebook.member_year_min_days} days of "
                      "every calendar year (no member year)",
                      len(grid.spell_used), int(grid.spell_used.sum())))
    _membership_columns(cols, grid, group_names, code, year, codebook)
    _firm_columns(cols, firms, code, year)
    _outcomes(cols, fin, code, year)
    cells = code * 10_000 + year
    if "meeting_activity" in tables and "meetings" in tables:
        flow.append(_practices(cols, cells, tables, firms))
    if scores is not None:
        flow.append(_survey_scores(cols, cells, scores, firms, codebook))
    fin = fin.reset_index(drop=True)
    panel = pd.concat([fin[["firm_id"]], pd.DataFrame({"year": year}),
                       fin.drop(columns=["firm_id", "year"]), pd.DataFrame(cols, copy=False)],
                      axis=1)
    return panel, flow


def _membership_columns(cols: dict, grid: MemberGrid, group_names, code, year, codebook) -> None:
    # the grid spans every financials year, so each firm-year is a cell of it
    flat = code * grid.n_years + (year - grid.first_year)
    member = grid.member.ravel()[flat]
    cohort = grid.cohort()[code]
    ever = cohort > 0
    counted = grid.tenure_before().ravel()[flat]
    valid = ever & (year >= cohort)
    cols["member"] = member.astype(np.int8)
    cols["ever_member"] = ever.astype(np.int8)
    cols["cohort"] = cohort.astype(np.int64)
    cols["event_time"] = np.where(ever, year - cohort, np.nan)
    cols["tenure"] = np.where(valid, counted, np.nan)
    cols["stage"] = _stage(counted, member & valid, codebook)
    group = np.where(member, grid.group.ravel()[flat], -1)
    cols["group_id"] = pd.Categorical.from_codes(group, categories=group_names)
    has_next = year < grid.first_year + grid.n_years - 1
    stays = grid.member.ravel()[np.where(has_next, flat + 1, flat)]
    cols["exit"] = np.where(member & has_next, (~stays).astype(float), np.nan)


def _stage(tenure: np.ndarray, staged: np.ndarray, codebook: Codebook) -> pd.Categorical:
    """Stage of each row from its (integer) tenure; -1 (missing) where not ``staged``."""
    names = [name for name, _ in codebook.stages]
    bounds = np.array([low for _, low in codebook.stages])
    by_tenure = np.searchsorted(bounds, np.arange(int(tenure.max(initial=0)) + 1),
                                side="right") - 1
    codes = np.where(staged, by_tenure[np.clip(tenure, 0, None)], -1)
    return pd.Categorical.from_codes(codes, categories=names, ordered=True)


def _firm_columns(cols: dict, firms: pd.DataFrame, code, year) -> None:
    for column in ("industry", "region"):
        values = pd.Categorical(firms[column])
        cols[column] = pd.Categorical.from_codes(values.codes[code], values.categories)
    cols["founded_year"] = firms["founded_year"].to_numpy()[code]
    cols["age"] = year - cols["founded_year"]


def _outcomes(cols: dict, fin: pd.DataFrame, code: np.ndarray, year: np.ndarray) -> None:
    revenue = fin["revenue"].to_numpy(dtype=float)
    income = fin["net_income"].to_numpy(dtype=float)
    assets = fin["total_assets"].to_numpy(dtype=float)
    cols["log_revenue"] = _ufunc(np.log, revenue, where=revenue > 0)
    cols["profit_margin"] = _ufunc(np.divide, income, revenue, where=revenue != 0)
    cols["roa"] = _ufunc(np.divide, income, assets, where=assets > 0)
    cols["log_employees"] = np.log1p(fin["employees"].to_numpy(dtype=float))
    follows = (code[1:] == code[:-1]) & (year[1:] == year[:-1] + 1)
    for level, growth in (("log_revenue", "revenue_growth"),
                          ("log_employees", "employment_growth")):
        x = cols[level]
        out = np.full(len(x), np.nan)
        np.subtract(x[1:], x[:-1], out=out[1:], where=follows)
        cols[growth] = out


def _ufunc(func, *args, where: np.ndarray) -> np.ndarray:
    """``func(*args)`` where ``where`` holds, NaN elsewhere, in one new array."""
    out = np.full(len(args[0]), np.nan)
    return func(*args, out=out, where=where)


def _practices(cols: dict, cells, tables, firms) -> dict:
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
        cols["attendance_rate"] = (at["att"] / at["rows"]).to_numpy()
        cols["disclosure_rate"] = (at["disc"] / at["att"]).to_numpy()
        cols["critiques"] = (at["crit"] / at["att"]).to_numpy()
        cols["benchmark_rank_pct"] = (at["pct"] / at["ranked"]).to_numpy()
    used = int(np.isin(key, cells).sum())
    return _step("firm_year", "meeting_activity",
                 "no financials row for the firm in the meeting's year", len(act), used)


def _survey_scores(cols: dict, cells, scores: pd.DataFrame, firms, codebook) -> dict:
    key = firm_codes(scores["firm_id"], firms) * 10_000 + scores["date"].dt.year.to_numpy()
    names = [s.name for s in codebook.scales]
    means = scores[names].groupby(key).mean()
    values = means.reindex(cells).to_numpy()
    cols.update({name: values[:, i] for i, name in enumerate(names)})
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
