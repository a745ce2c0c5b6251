"""Complementary disclosure suppression: no hidden count can be recovered.

The attack is written here independently of the routine: every cell of the table is a
variable; a shown cell is fixed to its value, a ``<k`` cell lies in ``[1, k-1]``, any
other hidden cell is at least ``k``; published column totals hold, and firm-years lie
between the firms and ``years`` times the firms of their row. For each small cell the
LP's minimum and maximum must leave at least two integers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from ipnstats.core.errors import SpecificationError
from ipnstats.data.findings import panel_overview
from ipnstats.tables.disclosure import suppress_counts


def attack(shown: pd.DataFrame, counts: pd.DataFrame, k: int, years: int,
           totals: dict[str, int]) -> dict[tuple[int, str], tuple[float, float]]:
    """The range of each ``<k`` cell that a reader of ``shown`` and ``totals`` can derive."""
    n, cols = len(counts), list(counts.columns)
    var = {(r, c): r * len(cols) + j for r in range(n) for j, c in enumerate(cols)}
    bounds, a_ub, b_ub, a_eq, b_eq = [], [], [], [], []
    for r in range(n):
        for c in cols:
            text = shown[c].iloc[r]
            if text.startswith("<"):
                bounds.append((1, int(text[1:]) - 1))
            elif text == "—":  # a hidden firm count is >= k; hidden firm-years only >= 0
                bounds.append((k, None) if c == "firms" else (0, None))
            else:
                value = float(text.replace(",", ""))
                bounds.append((value, value))
    for c, total in totals.items():
        a_eq.append([1.0 if key[1] == c else 0.0 for key in var])
        b_eq.append(total)
    for r in range(n):  # firms <= firm_years <= years * firms
        row = [0.0] * len(var)
        row[var[(r, "firms")]], row[var[(r, "firm_years")]] = 1.0, -1.0
        a_ub.append(row), b_ub.append(0.0)
        row = [0.0] * len(var)
        row[var[(r, "firm_years")]], row[var[(r, "firms")]] = 1.0, -float(years)
        a_ub.append(row), b_ub.append(0.0)
    out = {}
    for (r, c), i in var.items():
        if shown[c].iloc[r].startswith("<"):
            goal = np.zeros(len(var))
            goal[i] = 1.0
            kw = {"A_ub": a_ub, "b_ub": b_ub, "A_eq": a_eq or None, "b_eq": b_eq or None,
                  "bounds": bounds, "method": "highs"}
            lo, hi = linprog(goal, **kw), linprog(-goal, **kw)
            assert lo.status == 0 and hi.status == 0, "the truth must be feasible"
            out[(r, c)] = (lo.fun, -hi.fun)
    return out


def protected(ranges) -> bool:
    return all(math.floor(hi + 1e-7) - math.ceil(lo - 1e-7) >= 1 for lo, hi in ranges.values())


@st.composite
def cohort_tables(draw):
    years = draw(st.integers(2, 15))
    n = draw(st.integers(2, 8))
    firms = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    per_firm = [draw(st.lists(st.integers(1, years), min_size=f, max_size=f)) for f in firms]
    counts = pd.DataFrame({"firms": firms, "firm_years": [sum(p) for p in per_firm]})
    return counts, years, draw(st.integers(3, 6))


@settings(max_examples=60, deadline=None)
@given(cohort_tables())
def test_no_small_count_can_be_recovered(case):
    counts, years, k = case
    result = suppress_counts(counts, k, links={"firm_years": ("firms", years)},
                             sensitive=("firms",))
    shown = result.text(small=f"<{k}")
    totals = {c: int(counts[c].sum()) for c in counts.columns if c not in result.hidden_totals}
    ranges = attack(shown, counts, k, years, totals)
    assert set(ranges) == {(r, "firms") for r in range(len(counts)) if 0 < counts["firms"][r] < k}
    assert protected(ranges), (counts, shown, ranges)
    for (r, c), (lo, hi) in ranges.items():  # the truth lies in the derived range
        assert lo - 1e-7 <= counts[c].iloc[r] <= hi + 1e-7


def cohort_panel() -> pd.DataFrame:
    """The issue's case: a cohort of 2 firms with 15 years each (30 firm-years)."""
    rows = []
    for firm, cohort, n_years in [(1, 2012, 15), (2, 2012, 15), *[(10 + i, 0, 15) for i in
                                  range(40)], *[(100 + i, 2014, 10) for i in range(25)]]:
        rows += [{"firm_id": firm, "cohort": cohort, "year": 2006 + y} for y in range(n_years)]
    return pd.DataFrame(rows)


def test_cohort_table_leaks_nothing():
    panel = cohort_panel()
    table = panel_overview(panel, 3)
    small = table.index[table["firms"] == "<3"].tolist()
    assert len(small) == 1 and table.loc[small[0], "firm_years"] == "—"  # not 30
    assert (table["firms"] == "—").sum() >= 1  # a complementary cell against the total
    counts = pd.DataFrame({"firms": panel.groupby("cohort")["firm_id"].nunique(),
                           "firm_years": panel.groupby("cohort").size()}).reset_index(drop=True)
    shown = table[["firms", "firm_years"]].reset_index(drop=True)
    ranges = attack(shown, counts, 3, panel["year"].nunique(),
                    {"firms": panel["firm_id"].nunique(), "firm_years": len(panel)})
    assert protected(ranges)


def test_the_former_table_was_recoverable():
    """The check itself catches the issue's leak: ``<3`` beside 30 firm-years is 2 firms."""
    counts = pd.DataFrame({"firms": [2, 40], "firm_years": [30, 600]})
    shown = pd.DataFrame({"firms": ["<3", "40"], "firm_years": ["30", "600"]})
    assert not protected(attack(shown, counts, 3, 15, {}))


def test_without_totals_only_links_are_hidden():
    counts = pd.DataFrame({"firms": [2, 40], "firm_years": [30, 600]})
    result = suppress_counts(counts, 3, totals=False, links={"firm_years": ("firms", 15)})
    assert result.text()["firms"].tolist() == ["<3", "40"]
    assert result.text()["firm_years"].tolist() == ["—", "600"]


def test_threshold_two_never_prints_less_than_two():
    result = suppress_counts(pd.DataFrame({"firms": [1, 30, 40]}), 2)
    assert result.text()["firms"].tolist()[0] == "—" and "<2" not in result.text().to_numpy()


def test_single_row_hides_the_total():
    result = suppress_counts(pd.DataFrame({"firms": [2]}), 3)
    assert result.hidden_totals == ("firms",)


@pytest.mark.parametrize("bad", [pd.DataFrame({"firms": [-1]}), pd.DataFrame({"firms": ["a"]})])
def test_bad_counts_are_refused(bad):
    with pytest.raises(SpecificationError):
        suppress_counts(bad, 3)
