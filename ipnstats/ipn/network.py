"""The firms' positions in the IPN exchange networks, as a firm-year frame.

An exchange (one row of the study's exchange frame) is a tie ``sender_id ->
receiver_id``: knowledge flows from the sender, who answers, to the receiver, who
asks. A tie's weight is the number of exchanges of the pair in the year (or the sum of
a ``weight`` column). :func:`firm_network_position` builds one network per peer group
and year (the default) or one per year across groups, and returns the measures of
:func:`ipnstats.estimators.network.network_measures` for every member firm-year:

- ``by=("group_id", "year")``: the network of group g in year y holds the firms that
  are members of g in y (the firm-year panel's ``group_id``; members without exchanges
  are isolated nodes) and the exchanges of y between two of them. Brokerage is
  computed with every firm in one group, so only ``brokerage_coordinator`` (= the
  total) can be non-zero.
- ``by=("year",)``: the network of year y holds every member firm of y and the
  exchanges of y between two members, whatever their groups; brokerage roles are
  counted on the firms' peer groups of that year (an itinerant, a representative, a
  gatekeeper or a liaison brokers across groups). Groups that no exchange links are
  separate components of the year's network: its eigenvector centrality is then zero
  outside one of them (a ``disconnected_network`` note).

Exchanges with a party who is not a member that year (and, per group, between members
of two groups) are not in the network; ``attrs["n_exchanges_left_out"]`` counts them
and a ``subsample`` note says so.

>>> import pandas as pd
>>> exchanges = pd.DataFrame({"sender_id": ["F1", "F2", "F2", "F3"],
...                           "receiver_id": ["F2", "F3", "F3", "F1"],
...                           "year": [2020, 2020, 2020, 2020]})
>>> firm_year = pd.DataFrame({"firm_id": ["F1", "F2", "F3", "F4"], "year": 2020,
...                           "group_id": ["G1", "G1", "G1", "G1"]})
>>> pos = firm_network_position(exchanges, firm_year)
>>> pos[["firm_id", "in_degree", "in_strength", "out_strength", "betweenness"]]
  firm_id  in_degree  in_strength  out_strength  betweenness
0      F1          1          1.0           1.0          1.0
1      F2          1          1.0           2.0          1.0
2      F3          1          2.0           1.0          1.0
3      F4          0          0.0           0.0          0.0

On a study: ``firm_network_position(study.exchanges, study.firm_year)``, merged into
the panel on ``firm_id``, ``year`` and ``group_id`` (non-members get no row).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators.network import network_measures

__all__ = ["firm_network_position"]

FIRM, GROUP, YEAR = "firm_id", "group_id", "year"
RECEIVER, SENDER = "receiver_id", "sender_id"
_BYS = {(GROUP, YEAR), (YEAR,)}


def firm_network_position(data: pd.DataFrame, firm_year: pd.DataFrame, *,
                          by: Sequence[str] = (GROUP, YEAR),
                          weight: str | None = None) -> pd.DataFrame:
    """The network measures of every member firm-year, ready to merge into the panel.

    Parameters
    ----------
    data
        The study's exchange frame (``sender_id``, ``receiver_id``, ``year``).
    firm_year
        The firm-year panel (``firm_id``, ``year``, ``group_id``: the firm's peer group
        in the year, missing when it is not a member).
    by
        ``("group_id", "year")``: a network per peer group and year; ``("year",)``: one
        per year across groups.
    weight
        A numeric column of ``data`` to weight ties with (e.g. ``n_questions``);
        None counts exchanges.

    Returns
    -------
    pandas.DataFrame
        One row per member firm-year: ``firm_id``, ``year``, ``group_id``, then the
        measures and brokerage columns of
        :func:`~ipnstats.estimators.network.network_measures`. ``attrs["notes"]`` and
        ``attrs["n_exchanges_left_out"]`` as described in the module.
    """
    key = tuple([by] if isinstance(by, str) else by)
    if key not in _BYS:
        raise SpecificationError(f"by must be ('group_id', 'year') or ('year',), not {by!r}")
    _require(data, "data", [SENDER, RECEIVER, YEAR] + ([weight] if weight else []))
    _require(firm_year, "firm_year", [FIRM, YEAR, GROUP])
    for name, frame, cols in (("data", data, [SENDER, RECEIVER, YEAR]),
                              ("firm_year", firm_year, [FIRM, YEAR])):
        bad = [c for c in cols if frame[c].isna().any()]
        if bad:
            raise DataError(f"{name} has missing values in {', '.join(map(repr, bad))}")
    members = _members(firm_year)
    ties, left_out = _member_ties(data, members, within_group=key == (GROUP, YEAR),
                                  weight=weight)
    nodes = pd.MultiIndex.from_frame(members[list(key) + [FIRM]])
    groups = members.set_index(list(key) + [FIRM], drop=False)[GROUP]
    out = network_measures(ties, source=SENDER, target=RECEIVER, by=list(key),
                           weight=weight, groups=groups, nodes=nodes)
    out = out.rename(columns={"node": FIRM})
    if key == (YEAR,):
        out = out.rename(columns={"group": GROUP})
    else:
        out = out.drop(columns="group")
    front = [FIRM, YEAR, GROUP]
    out = out[front + [c for c in out.columns if c not in front]]
    out = out.sort_values([FIRM, YEAR], kind="stable").reset_index(drop=True)
    notes = out.attrs.get("notes", ())
    if left_out:
        notes = (*notes, Note("subsample", f"{left_out:,} of {len(data):,} exchanges are "
                              "not in the networks: a party was not a member that year"
                              + (", or the two were in different groups"
                                 if key == (GROUP, YEAR) else "") + "."))
    out.attrs = {"notes": notes, "n_exchanges_left_out": left_out}
    return out


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecificationError(f"{name} has no column {', '.join(map(repr, missing))}")


def _members(firm_year: pd.DataFrame) -> pd.DataFrame:
    """The member firm-years: firm_id, year, group_id as strings and ints."""
    rows = firm_year.loc[firm_year[GROUP].notna(), [FIRM, YEAR, GROUP]]
    return pd.DataFrame({FIRM: rows[FIRM].astype(str).to_numpy(dtype=object),
                         YEAR: rows[YEAR].to_numpy(dtype=np.int64),
                         GROUP: rows[GROUP].astype(str).to_numpy(dtype=object)})


def _member_ties(exchanges: pd.DataFrame, members: pd.DataFrame, *, within_group: bool,
                 weight: str | None) -> tuple[pd.DataFrame, int]:
    """The exchanges between two members of the year (of one group when
    ``within_group``), with the group; and how many were left out."""
    group = members.set_index([FIRM, YEAR])[GROUP]
    year = exchanges[YEAR].to_numpy(dtype=np.int64)
    ties = pd.DataFrame({SENDER: exchanges[SENDER].astype(str).to_numpy(dtype=object),
                         RECEIVER: exchanges[RECEIVER].astype(str).to_numpy(dtype=object),
                         YEAR: year})
    if weight:
        ties[weight] = exchanges[weight].to_numpy()
    sg = group.reindex(pd.MultiIndex.from_arrays([ties[SENDER], year])).to_numpy()
    rg = group.reindex(pd.MultiIndex.from_arrays([ties[RECEIVER], year])).to_numpy()
    keep = pd.notna(sg) & pd.notna(rg) & (ties[SENDER] != ties[RECEIVER]).to_numpy()
    if within_group:
        keep &= sg == rg
    ties[GROUP] = rg
    return ties[keep].reset_index(drop=True), int((~keep).sum())
