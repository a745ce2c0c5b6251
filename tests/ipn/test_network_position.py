"""firm_network_position: which exchanges and firms make each network, the firm-year
frame it returns, and its run on the example study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import note_codes
from ipnstats.estimators.network import network_measures
from ipnstats.ipn.network import firm_network_position


@pytest.fixture
def small():
    """Two groups in 2020: A = {a1, a2, a3}, B = {b1, b2}; x is not a member; a3 has no
    exchange. a1 -> b1 crosses groups; x -> a1 involves a non-member."""
    firm_year = pd.DataFrame({
        "firm_id": ["a1", "a2", "a3", "b1", "b2", "x", "a1"],
        "year": [2020] * 6 + [2021],
        "group_id": ["A", "A", "A", "B", "B", None, "A"],
    })
    exchanges = pd.DataFrame({
        "sender_id": ["a1", "a2", "a1", "b1", "x", "a2", "a2"],
        "receiver_id": ["a2", "a1", "b1", "b2", "a1", "a1", "a1"],
        "year": [2020] * 5 + [2022, 2022],
        "n_questions": [2, 1, 1, 3, 1, 1, 1],
    })
    return exchanges, firm_year


def test_group_networks_hold_the_members_and_their_exchanges(small):
    exchanges, firm_year = small
    pos = firm_network_position(exchanges, firm_year)
    assert list(pos.columns[:3]) == ["firm_id", "year", "group_id"]
    members = firm_year.dropna(subset=["group_id"])
    got = pos[["firm_id", "year"]].sort_values(["firm_id", "year"], ignore_index=True)
    want = members[["firm_id", "year"]].sort_values(["firm_id", "year"], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    row = pos.set_index(["firm_id", "year"])
    assert row.loc[("a1", 2020), "in_strength"] == 1 and row.loc[("a1", 2020), "out_degree"] == 1
    assert row.loc[("b1", 2020), "in_degree"] == 0  # a1 -> b1 crosses groups: left out
    assert row.loc[("a3", 2020), ["in_degree", "out_degree", "betweenness"]].tolist() == [0, 0, 0]
    assert np.isnan(row.loc[("a3", 2020), "constraint"])
    # a1 -> b1 (two groups), x -> a1 (x no member), a2 -> a1 twice in 2022 (not members)
    assert pos.attrs["n_exchanges_left_out"] == 4
    assert "subsample" in note_codes(pos.attrs["notes"])
    assert (pos[["brokerage_itinerant", "brokerage_liaison"]] == 0).all().all()


def test_the_year_network_crosses_groups_and_counts_roles_by_peer_group(small):
    exchanges, firm_year = small
    pos = firm_network_position(exchanges, firm_year, by=("year",)).set_index("firm_id")
    pos = pos[pos["year"] == 2020]
    assert pos.loc["b1", "in_degree"] == 1
    # a2 -> a1 -> b1: a1 represents its group to B; a1 -> b1 -> b2: b1 is B's gatekeeper
    assert pos.loc["a1", "brokerage_representative"] == 1
    assert pos.loc["b1", "brokerage_gatekeeper"] == 1
    assert pos.loc["b1", "group_id"] == "B"
    assert pos.attrs["n_exchanges_left_out"] == 3


def test_weight_column_sums(small):
    exchanges, firm_year = small
    pos = firm_network_position(exchanges, firm_year, weight="n_questions")
    row = pos.set_index(["firm_id", "year"])
    assert row.loc[("a2", 2020), "in_strength"] == 2


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"by": ("group_id",)}, SpecificationError, "by must be"),
    ({"weight": "nope"}, SpecificationError, "no column 'nope'"),
])
def test_bad_options_are_clear_errors(small, kwargs, error, match):
    exchanges, firm_year = small
    with pytest.raises(error, match=match):
        firm_network_position(exchanges, firm_year, **kwargs)


def test_missing_year_is_a_clear_error(small):
    exchanges, firm_year = small
    with pytest.raises(DataError, match="missing values in 'year'"):
        firm_network_position(exchanges.assign(year=[None] + [2020.0] * 6), firm_year)


def test_example_study(study):
    ex, fy = study.exchanges, study.firm_year
    pos = firm_network_position(ex, fy)
    members = fy[fy["group_id"].notna()]
    assert len(pos) == len(members) and not pos.duplicated(["firm_id", "year"]).any()
    # the exchanges kept: both parties members of one group that year
    group = members.set_index([members["firm_id"].astype(str), "year"])["group_id"].astype(str)
    keys = [pd.MultiIndex.from_arrays([ex[c].astype(str), ex["year"]])
            for c in ("sender_id", "receiver_id")]
    sg, rg = (group.reindex(k).to_numpy() for k in keys)
    kept = pd.notna(sg) & pd.notna(rg) & (sg == rg)
    assert pos.attrs["n_exchanges_left_out"] == int((~kept).sum())
    assert pos["in_strength"].sum() == pos["out_strength"].sum() == kept.sum()
    # one group-year by hand
    g, y = pos.loc[pos["in_degree"].idxmax(), ["group_id", "year"]]
    one = ex[kept & (rg == g) & (ex["year"].to_numpy() == y)]
    alone = network_measures(one.assign(s=one["sender_id"].astype(str),
                                        r=one["receiver_id"].astype(str)),
                             source="s", target="r",
                             groups=dict.fromkeys(set(group.index.get_level_values(0)), g)
                             ).set_index("node")
    got = pos[(pos["group_id"] == g) & (pos["year"] == y)].set_index("firm_id")
    cols = ["in_degree", "out_strength", "betweenness", "constraint", "brokerage_total"]
    pd.testing.assert_frame_equal(got.loc[alone.index, cols], alone[cols], check_names=False,
                                  check_dtype=False)
