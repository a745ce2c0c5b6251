"""simulate_study's peer effect and group-formation rule (truth.toml's [peers])."""

from __future__ import annotations

import filecmp
import tomllib

import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import SpecificationError
from ipnstats.simulate import simulate_study

SMALL = {"n_firms": 150, "n_groups": 8, "seed": 3}


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_defaults_write_the_same_study(tmp_path):
    a = simulate_study(tmp_path / "a", **SMALL)
    b = simulate_study(tmp_path / "b", **SMALL, peer_effect=0.0, formation="random")
    match, mismatch, errors = filecmp.cmpfiles(a, b, _names(a), shallow=False)
    assert not mismatch and not errors and len(match) == 10
    assert "peers" not in tomllib.loads((a / "truth.toml").read_text())


def test_peer_effect_moves_revenue_only_and_is_recorded(tmp_path):
    a = simulate_study(tmp_path / "a", **SMALL)
    b = simulate_study(tmp_path / "b", **SMALL, peer_effect=0.3)
    same = [n for n in _names(a) if n not in ("financials.csv", "truth.toml")]
    match, mismatch, _ = filecmp.cmpfiles(a, b, same, shallow=False)
    assert not mismatch and len(match) == 8  # groups and everything but revenue unchanged
    fa, fb = pd.read_csv(a / "financials.csv"), pd.read_csv(b / "financials.csv")
    assert (fa.revenue != fb.revenue).any()
    peers = tomllib.loads((b / "truth.toml").read_text())["peers"]
    assert peers["coefficient"]["value"] == 0.3
    assert peers["characteristic"]["value"] == "size"
    assert peers["formation"]["value"] == "random"


def _between_share(folder):
    """Share of the variance of joiners' log employees_baseline between their groups."""
    m = pd.read_csv(folder / "memberships.csv").drop_duplicates("firm_id")
    f = pd.read_csv(folder / "firms.csv").merge(m, on="firm_id")
    x = np.log1p(f.employees_baseline)
    return f.assign(x=x).groupby("group_id").x.transform("mean").var() / x.var()


def test_chair_formation_sorts_firms_by_size(tmp_path):
    rand = simulate_study(tmp_path / "r", n_firms=400, n_groups=12, seed=5)
    chair = simulate_study(tmp_path / "c", n_firms=400, n_groups=12, seed=5,
                           formation="chair")
    assert tomllib.loads((chair / "truth.toml").read_text())["peers"]["formation"][
        "value"] == "chair"
    assert _between_share(chair) > _between_share(rand) + 0.05


@pytest.mark.parametrize("kw", [{"peer_effect": 2.0}, {"peer_effect": True},
                                {"formation": "sorted"}])
def test_bad_peer_options(tmp_path, kw):
    with pytest.raises(SpecificationError):
        simulate_study(tmp_path, **SMALL, **kw)
