"""The analysis frames derived from validated tables: firm-year, exchanges, tasks.

Every function takes clean typed tables (those of :mod:`ipnstats.data.validate`,
minus the rows that broke a rule) and the codebook. Definitions are in
``docs/study_folder.md``; the sample flow of each step is returned with the frame.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ipnstats.data.codebook import Codebook
from ipnstats.data.columns import empty, full, id_codes, take, used_codes
from ipnstats.data.membership import MemberGrid, member_grid
from ipnstats.data.scales import score


def firm_codes(ids: pd.Series, firms: pd.DataFrame) -> np.ndarray:
    """Position of each firm id in the (clean, unique) firms table; -1 for unknown ids."""
    return firm_positions(ids, firms).astype(np.int64, copy=False)


def firm_positions(ids: pd.Series, firms: pd.DataFrame) -> np.ndarray:
    """:func:`firm_codes` as the narrowest integers at hand (categorical codes as they are)."""
    if ids.dtype == firms["firm_id"].dtype:  # categories shared by the study layer
        return ids.cat.codes.to_numpy()
    return id_codes(ids, firms["firm_id"])


def build_grid(tables: dict[str, pd.DataFrame],
               codebook: Codebook) -> tuple[MemberGrid, list[str]]:
    """The member-year grid of all firms, and the group names its codes refer to."""
    firms, spells, fin = tables["firms"], tables["memberships"], tables["financials"]
    first, last = _grid_years(fin["year"], spells["join_date"].dt.year)
    group_codes, group_names = _sorted_groups(spells["group_id"])
    return member_grid(firm_codes(spells["firm_id"], firms), group_codes,
                       spells["join_date"], spells["exit_date"], n_firms=len(firms),
                       first_year=first, last_year=last,
                       min_days=codebook.member_year_min_days), group_names


def _grid_years(fin_years: pd.Series, join_years: pd.Series) -> tuple[int, int]:
    """First and last year of the member grid: from the earliest financials year or
    join, to the latest; one year (that of whichever has any) when both are empty."""
    lows = [y.min() for y in (fin_years, join_years) if len(y) and y.notna().any()]
    highs = [y.max() for y in (fin_years, join_years) if len(y) and y.notna().any()]
    if not lows:
        return 2000, 2000  # no financials and no spells: an empty panel
    return int(min(lows)), int(max(highs))


def _sorted_groups(groups: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Group codes into the sorted group names: ``pd.Categorical(groups.astype(str))``,
    from the distinct values when the column is categorical; int16 codes when there
    are fewer than 32,767 groups (int32 otherwise), as a categorical column keeps them."""
    if isinstance(groups.dtype, pd.CategoricalDtype):
        codes = groups.cat.codes.to_numpy()
        if not (codes < 0).any():
            categories = groups.cat.categories.astype("str")
            used = np.flatnonzero(used_codes(codes, len(categories)))
            present = categories[used]
            order = present.argsort(kind="stable")
            new_code = np.full(len(categories), -1, _code_type(len(used)))
            new_code[used[order]] = np.arange(len(used))
            return take(new_code, codes), list(present[order])
    values = pd.Categorical(groups.astype(str))
    return values.codes.astype(_code_type(len(values.categories))), list(values.categories)


def _code_type(n: int) -> type:
    return np.int16 if n < 2**15 - 1 else np.int32


def firm_year(tables: dict[str, pd.DataFrame], codebook: Codebook,
              scores: pd.DataFrame | None) -> tuple[pd.DataFrame, list[dict]]:
    """One row per financials row, with membership, stage, practices, outcomes, scales."""
    firms, fin = tables["firms"], tables["financials"]
    code = firm_positions(fin["firm_id"], firms)
    year = fin["year"].to_numpy(dtype=np.int64)
    if not _sorted_by(code, year):
        sort_key = code.astype(np.int64) * 10_000 + year
        order = np.argsort(sort_key, kind="stable")
        fin, code = fin.iloc[order].reset_index(drop=True), code[order]
        year = fin["year"].to_numpy(dtype=np.int64)
    money = {name: fin[name].to_numpy(dtype=float)
             for name in ("revenue", "net_income", "total_assets")}
    employees = fin["employees"].to_numpy()
    traits = {name: pd.Categorical(firms[name]) for name in ("industry", "region")}
    founded = firms["founded_year"].to_numpy()
    # the firm columns and the outcomes (numpy only, which lets go of the interpreter
    # lock) are worked out in a second thread, alongside the grid and membership columns
    with ThreadPoolExecutor(max_workers=1) as worker:
        later = worker.submit(_firm_and_outcome_columns,
                              {name: values.codes for name, values in traits.items()},
                              founded, money, employees, code, year)
        grid, group_names = build_grid(tables, codebook)
        cols: dict = {}  # new columns, joined to the financials without copying at the end
        _membership_columns(cols, grid, group_names, code, year, codebook)
        by_row = later.result()
    for name, values in traits.items():
        by_row[name] = pd.Categorical.from_codes(by_row[name], values.categories)
    cols.update(by_row)
    flow = [_step("firm_year", "financials", "one row per firm-year of financials",
                  len(fin), len(fin))]
    flow.append(_step("firm_year", "memberships",
                      f"spell covers fewer than {codebook.member_year_min_days} days of "
                      "every calendar year (no member year)",
                      len(grid.spell_used), int(grid.spell_used.sum())))
    practices = "meeting_activity" in tables and "meetings" in tables
    cells = _cells(code, year) if practices or scores is not None else None
    if practices:
        flow.append(_practices(cols, cells, tables, firms))
    if scores is not None:
        flow.append(_survey_scores(cols, cells, scores, firms, codebook))
    fin = fin.reset_index(drop=True)
    if fin["year"].dtype != np.int64:
        fin = fin.assign(year=year)
    panel = pd.concat([fin, pd.DataFrame(cols, copy=False)], axis=1)
    return panel, flow


def _cells(code: np.ndarray, year: np.ndarray) -> np.ndarray:
    """A firm-year key: firm code * 10,000 + year."""
    return code.astype(np.int64) * 10_000 + year


def _sorted_by(code: np.ndarray, year: np.ndarray, block: int = 1 << 20) -> bool:
    """Whether rows are sorted by firm code, then year (ties allowed), in blocks."""
    for start in range(0, len(code) - 1, block):
        stop = min(start + block, len(code) - 1)
        c0, c1 = code[start:stop], code[start + 1:stop + 1]
        y0, y1 = year[start:stop], year[start + 1:stop + 1]
        if not ((c1 > c0) | ((c1 == c0) & (y1 >= y0))).all():
            return False
    return True


BLOCK = 1 << 18  # rows per block where columns are derived block by block


def _membership_columns(cols: dict, grid: MemberGrid, group_names, code, year,
                        codebook) -> None:
    """Membership, cohort, event time, tenure, stage, group and exit of each firm-year.

    Worked out block by block into the output arrays: no full-length temporaries. (Not
    shared with the second thread: two threads each making many short numpy calls
    queue for the interpreter lock, which made this twice as slow.)
    """
    n = len(code)
    names = [name for name, _ in codebook.stages]
    bounds = np.array([low for _, low in codebook.stages])
    tenure_grid = grid.tenure_before().ravel()
    n_tenure = int(tenure_grid.max(initial=0)) + 1
    lookups = {
        "member": grid.member.ravel().view(np.int8),
        "member_next": grid.member_next.ravel().view(np.int8),
        "tenure": tenure_grid, "group": grid.group.ravel(), "cohort": grid.cohort(),
        "stage": (np.searchsorted(bounds, np.arange(n_tenure), side="right") - 1
                  ).astype(np.int8),
    }
    out = {"member": empty(n, np.int8), "ever_member": empty(n, np.int8),
           "cohort": empty(n, np.int64), "event_time": empty(n, float),
           "tenure": empty(n, float), "stage": empty(n, np.int8),
           "group_id": empty(n, grid.group.dtype), "exit": empty(n, float)}
    for start in range(0, n, BLOCK):
        _membership_block(out, lookups, grid, code, year, slice(start, start + BLOCK))
    out["stage"] = pd.Categorical.from_codes(out["stage"], categories=names, ordered=True)
    out["group_id"] = pd.Categorical.from_codes(out["group_id"], categories=group_names)
    cols.update(out)


def _membership_block(out: dict, lookups: dict, grid: MemberGrid, code: np.ndarray,
                      year: np.ndarray, part: slice) -> None:
    c, y = code[part], year[part]
    # the grid spans every financials year, so each firm-year is a cell of it
    flat = np.multiply(c, grid.n_years, dtype=np.intp)
    flat += y
    flat -= grid.first_year
    is_member = np.take(lookups["member"], flat, out=out["member"][part], mode="wrap").view(bool)
    coh = np.take(lookups["cohort"], c, out=out["cohort"][part], mode="wrap")
    is_ever = np.greater(coh, 0, out=out["ever_member"][part].view(bool))
    ev = np.subtract(y, coh, out=out["event_time"][part], dtype=np.float64)
    np.copyto(ev, np.nan, where=~is_ever)
    counted = np.take(lookups["tenure"], flat, mode="wrap")
    valid = y >= coh
    valid &= is_ever
    ten = out["tenure"][part]
    ten[:] = counted
    np.copyto(ten, np.nan, where=~valid)
    st = np.take(lookups["stage"], counted, out=out["stage"][part], mode="wrap")
    valid &= is_member
    np.copyto(st, -1, where=~valid)
    grp = np.take(lookups["group"], flat, out=out["group_id"][part], mode="wrap")
    np.copyto(grp, -1, where=~is_member)
    ex = np.subtract(1.0, np.take(lookups["member_next"], flat, mode="wrap"),
                     out=out["exit"][part])
    leaves = y < grid.first_year + grid.n_years - 1  # has a next year, and is a member:
    leaves &= is_member  # exit is defined
    np.copyto(ex, np.nan, where=~leaves)


def _firm_and_outcome_columns(trait_codes: dict[str, np.ndarray], founded: np.ndarray,
                              money: dict[str, np.ndarray], employees: np.ndarray,
                              code: np.ndarray, year: np.ndarray) -> dict[str, np.ndarray]:
    """The firms' industry and region (their categorical codes), founding year and age
    in each row, then the outcomes; numpy only (run in a second thread)."""
    cols = {name: take(codes, code) for name, codes in trait_codes.items()}
    cols["founded_year"] = take(founded, code)
    cols["age"] = np.subtract(year, cols["founded_year"],
                              out=empty(len(year), np.result_type(year, founded)))
    cols.update(_outcomes(money, employees, code, year))
    return cols


def _outcomes(money: dict[str, np.ndarray], employees: np.ndarray, code: np.ndarray,
              year: np.ndarray) -> dict[str, np.ndarray]:
    """Logs, ratios and growth rates of the financials (rows sorted by firm and year)."""
    cols = {}
    revenue, income, assets = money["revenue"], money["net_income"], money["total_assets"]
    cols["log_revenue"] = _ufunc(np.log, revenue, where=revenue > 0)
    cols["profit_margin"] = _ufunc(np.divide, income, revenue, where=revenue != 0)
    cols["roa"] = _ufunc(np.divide, income, assets, where=assets > 0)
    if employees.dtype.kind not in "iuf":
        employees = employees.astype(float)
    cols["log_employees"] = np.log1p(employees, dtype=np.float64,
                                     out=empty(len(employees), float))
    follows = _follows(code, year)
    for level, growth in (("log_revenue", "revenue_growth"),
                          ("log_employees", "employment_growth")):
        x = cols[level]
        out = full(len(x), np.nan, float)
        np.subtract(x[1:], x[:-1], out=out[1:], where=follows)
        cols[growth] = out
    return cols


def _follows(code: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Whether each row after the first is the next year of the previous row's firm."""
    out = empty(max(len(code) - 1, 0), bool)
    for start in range(0, len(out), BLOCK):
        stop = min(start + BLOCK, len(out))
        same = code[start + 1:stop + 1] == code[start:stop]
        same &= (year[start + 1:stop + 1] - year[start:stop]) == 1
        out[start:stop] = same
    return out


def _ufunc(func, *args, where: np.ndarray) -> np.ndarray:
    """``func(*args)`` where ``where`` holds, NaN elsewhere, in one new array."""
    out = full(len(args[0]), np.nan, float)
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
