"""The peer effect of the simulator: a member's log revenue rises with the mean size of its
group's other members in that year (``simulate_study(peer_effect=...)``, ``truth.toml``'s
``[peers]``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.simulate.common import _Config, _jan1
from ipnstats.simulate.firms import _Grid


def _peer_size(spells: pd.DataFrame, grid: _Grid, size: np.ndarray, cfg: _Config) -> np.ndarray:
    """Firms x panel years: the leave-one-out mean latent ``size`` of the other members of
    the firm's group in a member year (its group that year: the spell open on day 183 of
    the year, which every member year of one spell covers); 0 in other years and for a
    member alone in its group."""
    out = np.zeros((cfg.n_firms, cfg.n_years))
    firm, group = spells["firm"].to_numpy(), spells["group"].to_numpy()
    for col, year in enumerate(range(cfg.first_year, cfg.last_year + 1)):
        mid = _jan1(year) + 182
        on = (spells["join"].to_numpy() <= mid) & (spells["exit"].to_numpy() >= mid)
        on &= grid.member[firm, col + 1]
        f, g = firm[on], group[on]
        n = np.bincount(g, minlength=cfg.n_groups)
        s = np.bincount(g, weights=size[f], minlength=cfg.n_groups)
        out[f, col] = np.where(n[g] > 1, (s[g] - size[f]) / np.maximum(n[g] - 1, 1), 0.0)
    return out


def _truth_peers(eff, peer: np.ndarray, grid: _Grid) -> dict:
    """``[peers]`` of truth.toml (written only when the peer effect or formation is set)."""
    member = grid.member[:, 1:]
    return {
        "coefficient": {"value": round(eff.peer_effect, 6), "description": (
            "log points of revenue in a member year per unit of the leave-one-out mean latent "
            "size of the other members of the firm's group that year (size ~ N(0, 1); "
            "log(1 + employees) at baseline is about log(8) + 0.85 size); not part of the "
            "membership effect of H1a-H1e")},
        "characteristic": {"value": "size", "description": "the latent firm size (firms "
                           "table: employees_baseline is its observable proxy)"},
        "formation": {"value": eff.formation, "description": (
            "how joiners were placed in groups: 'random' = a random free slot among open "
            "groups (re-joiners back to their old group half the time), the simulator's "
            "rule before peer effects; 'chair' = the chair sorts each year's other joiners "
            "by size, largest first, into the free slots in group order")},
        "mean_peer_size": {"value": round(float(peer[member].mean()) if member.any() else 0.0,
                                          6), "description": "mean of the regressor over "
                           "member years"},
    }
