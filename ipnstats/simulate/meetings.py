"""Peer meetings and workshops, the firms' activity at them, and practice intensities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipnstats.simulate.common import _Config, _jan1, _year_of

if TYPE_CHECKING:
    from ipnstats.simulate.firms import _Firms, _Spells


def _meeting_year(rng, fx: _Firms, spells: _Spells, day_of_month, year: int):
    touching = spells.touching(_jan1(year), _jan1(year + 1) - 1)
    meets = _meeting_dates(rng, np.unique(spells.group[touching]), day_of_month, year)
    act = _activity(rng, fx, _present(spells, touching, meets))
    return meets[meets["key"].isin(act["key"])], act


def _meeting_dates(rng, groups, day_of_month, year: int) -> pd.DataFrame:
    """Monthly peer meetings on the group's usual day, plus 2-4 workshops a year."""
    months = (np.datetime64(f"{year}-01", "M") + np.arange(12)).astype("datetime64[D]")
    peer_g = np.repeat(groups, 12)
    peer_d = (np.tile(months.astype(np.int64), groups.size) + day_of_month[peer_g] - 1
              + rng.integers(-2, 3, peer_g.size))
    work_g = np.repeat(groups, rng.integers(2, 5, groups.size))
    work_d = _jan1(year) + rng.integers(0, 365, work_g.size)
    peer = np.r_[np.ones(peer_g.size, bool), np.zeros(work_g.size, bool)]
    frame = pd.DataFrame({"group": np.r_[peer_g, work_g], "day": np.r_[peer_d, work_d],
                          "peer": peer})
    frame["key"] = year * 100_000 + np.arange(len(frame))
    return frame


def _present(spells: _Spells, touching, meets: pd.DataFrame) -> pd.DataFrame:
    members = pd.DataFrame({"firm": spells.firm[touching], "group": spells.group[touching],
                            "join": spells.join[touching], "exit": spells.exit[touching]})
    rows = meets.merge(members, on="group")
    rows = rows[(rows["join"] <= rows["day"]) & (rows["day"] <= rows["exit"])]
    return rows.sort_values(["key", "firm"]).reset_index(drop=True)


def _activity(rng, fx: _Firms, rows: pd.DataFrame) -> pd.DataFrame:
    """Attendance, disclosure, critiques and benchmark ranks of the firms at each meeting."""
    n, firm, peer = len(rows), rows["firm"].to_numpy(), rows["peer"].to_numpy()
    attended = rng.random(n) < fx.p_att[firm]
    disclosed = attended & peer & (rng.random(n) < fx.p_disc[firm])
    kpi = rng.normal(0.0, 0.5, fx.size.size)  # the firm's performance shock of the year
    score = np.round(fx.quality[firm] + kpi[firm] + rng.normal(0.0, 0.6, n), 1)
    rows = rows.assign(attended=attended, disclosed=disclosed,
                       critiques=np.where(attended & peer, rng.poisson(fx.crit[firm]), 0),
                       score=np.where(disclosed, score, np.nan))
    by = rows.groupby("key")
    rows["rank"] = by["score"].rank(method="min", ascending=False)
    rows["ranked"] = np.where(peer, by["disclosed"].transform("sum"), 0)
    return rows


def _rank_pct(rank, ranked) -> np.ndarray:
    """1 - (rank - 1) / (ranked - 1); 0.5 when one firm is ranked; NaN when unranked."""
    rank, ranked = np.asarray(rank, float), np.asarray(ranked, float)
    pct = np.where(ranked > 1, 1 - (rank - 1) / np.maximum(ranked - 1, 1), 0.5)
    return np.where(np.isnan(rank), np.nan, pct)


def _intensities(act: pd.DataFrame, cfg: _Config) -> dict[str, np.ndarray]:
    """Practice intensities per firm x year (first_year..last_year), as the frame defines."""
    cell = act["firm"].to_numpy() * cfg.n_years + (_year_of(act["day"]) - cfg.first_year)
    size = cfg.n_firms * cfg.n_years
    att = act["attended"].to_numpy(float)
    pct = _rank_pct(act["rank"], act["ranked"])

    def total(w):
        return np.bincount(cell, weights=w, minlength=size).reshape(cfg.n_firms, cfg.n_years)

    rows, attended, ranked = total(np.ones(len(act))), total(att), total(~np.isnan(pct))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"attendance_rate": np.where(rows > 0, attended / rows, np.nan),
                "disclosure_rate": total(att * act["disclosed"]) / attended,
                "critiques": total(att * act["critiques"]) / attended,
                "benchmark_rank_pct": total(np.nan_to_num(pct)) / ranked}
