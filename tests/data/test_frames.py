"""Derived columns of the hand-made study against values worked out by hand.

The membership spells (tests/studies.py) are built around the edges of the rule
"a member year has at least 183 days of membership":
F1 joins 2015-03-01 (306 days: member), leaves 2016-06-30 (182 days of leap year 2016:
not a member), re-joins 2018-01-01 with an open spell (member to the end of the data);
F2 joins 2016-07-01 (184 days: member), leaves 2019-07-02 (183 days: member), has no
financials row for 2017 (still a member year, counted in tenure);
F3 has spells in 2014 and two in 2015 (90 + 122 = 212 days: member, main group G2);
F4 never joins; F5 has one spell too short to make any member year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ipnstats

NAN = np.nan
# firm, year: member, ever_member, cohort, event_time, tenure, stage, group_id, exit
EXPECTED = {
    ("F1", 2015): (1, 1, 2015, 0, 0, "novice", "G1", 1),
    ("F1", 2016): (0, 1, 2015, 1, 1, None, None, NAN),
    ("F1", 2017): (0, 1, 2015, 2, 1, None, None, NAN),
    ("F1", 2018): (1, 1, 2015, 3, 1, "novice", "G2", 0),
    ("F1", 2019): (1, 1, 2015, 4, 2, "developing", "G2", 0),
    ("F1", 2020): (1, 1, 2015, 5, 3, "developing", "G2", NAN),
    ("F2", 2015): (0, 1, 2016, -1, NAN, None, None, NAN),
    ("F2", 2016): (1, 1, 2016, 0, 0, "novice", "G1", 0),
    ("F2", 2018): (1, 1, 2016, 2, 2, "developing", "G1", 0),
    ("F2", 2019): (1, 1, 2016, 3, 3, "developing", "G1", 1),
    ("F2", 2020): (0, 1, 2016, 4, 4, None, None, NAN),
    ("F3", 2015): (1, 1, 2014, 1, 1, "novice", "G2", 1),
    ("F3", 2016): (0, 1, 2014, 2, 2, None, None, NAN),
    ("F4", 2015): (0, 0, 0, NAN, NAN, None, None, NAN),
    ("F5", 2018): (0, 0, 0, NAN, NAN, None, None, NAN),
}
COLUMNS = ["member", "ever_member", "cohort", "event_time", "tenure", "stage", "group_id",
           "exit"]


@pytest.fixture
def panel(hand_study):
    fy = ipnstats.load_study(hand_study).firm_year
    return fy.assign(firm_id=fy["firm_id"].astype(str)).set_index(["firm_id", "year"])


@pytest.mark.parametrize("cell", list(EXPECTED), ids=[f"{f}-{y}" for f, y in EXPECTED])
def test_membership_columns(panel, cell):
    row = panel.loc[cell]
    for column, expected in zip(COLUMNS, EXPECTED[cell], strict=True):
        got = row[column]
        if expected is None or (isinstance(expected, float) and np.isnan(expected)):
            assert pd.isna(got), (column, got)
        else:
            assert got == expected, (column, got, expected)


def test_one_row_per_financials_row_sorted(panel):
    assert len(panel) == 29
    assert panel.index.is_monotonic_increasing
    assert ("F2", 2017) not in panel.index


def test_outcomes(panel):
    f1 = panel.loc["F1"]
    assert f1.loc[2015, "log_revenue"] == pytest.approx(np.log(100))
    assert f1.loc[2016, "revenue_growth"] == pytest.approx(np.log(1.1))
    assert f1.loc[2017, "profit_margin"] == pytest.approx(-5 / 121)
    assert f1.loc[2017, "roa"] == pytest.approx(-5 / 220)
    assert f1.loc[2017, "log_employees"] == pytest.approx(np.log(11))
    assert f1.loc[2017, "employment_growth"] == pytest.approx(np.log(11) - np.log(10))
    assert np.isnan(f1.loc[2015, "revenue_growth"])
    # F2 has no 2017 row: no growth for 2018 (not a two-year difference)
    assert np.isnan(panel.loc[("F2", 2018), "revenue_growth"])
    assert panel.loc[("F2", 2019), "revenue_growth"] == pytest.approx(np.log(66 / 60))
    assert panel.loc[("F3", 2016), "age"] == 16


def test_practices(panel):
    f1_2015 = panel.loc[("F1", 2015)]
    # M1 attended (disclosed, 2 critiques, rank 1 of 3), M2 missed
    assert f1_2015["attendance_rate"] == 0.5
    assert f1_2015["disclosure_rate"] == 1.0
    assert f1_2015["critiques"] == 2.0
    assert f1_2015["benchmark_rank_pct"] == 1.0
    f1_2018 = panel.loc[("F1", 2018)]  # M3 (rank 2 of 2, disclosed, 1 critique), M4 (3 critiques)
    assert (f1_2018["attendance_rate"], f1_2018["disclosure_rate"]) == (1.0, 0.5)
    assert (f1_2018["critiques"], f1_2018["benchmark_rank_pct"]) == (2.0, 0.0)
    assert panel.loc[("F3", 2015), "benchmark_rank_pct"] == 0.0
    assert np.isnan(panel.loc[("F1", 2016), "attendance_rate"])


def test_survey_scores(panel):
    f1 = panel.loc[("F1", 2015)]
    # two surveys in 2015: pl (5, 4, rev 2 -> 4) = 13/3 and (3, 3, 3) = 3
    assert f1["perceived_learning"] == pytest.approx((13 / 3 + 3) / 2)
    # ra (4, 5, missing) keeps 2 of 3 items: 4.5; then 4
    assert f1["risk_aversion"] == pytest.approx(4.25)
    # la (2, missing, missing) has 1 of 3 items: missing; then 2
    assert f1["loss_aversion"] == pytest.approx(2.0)
    assert panel.loc[("F4", 2016), "perceived_learning"] == 1.0  # 1, 1, rev 5 -> 1


def test_exchange_frame(hand_study):
    ex = ipnstats.load_study(hand_study).exchanges.set_index("exchange_id")
    x1 = ex.loc["X1"]  # receiver F1, sender F3 in 2015
    assert x1["sender_risk_aversion"] == 5.0  # F3's only survey
    assert x1["receiver_risk_aversion"] == pytest.approx((4.5 + 4) / 2)
    assert x1["sender_size"] == pytest.approx(np.log(21))
    assert x1["sender_age"] == 15
    assert x1["sender_success"] == pytest.approx(0.1)
    assert x1["sender_status"] == 0.0
    assert x1["same_industry"] == 1
    assert x1["loss"] == 1
    # risk-aversion traits: F1 4.25, F2 1, F3 5, F4 2 -> median 3.125
    assert (x1["sender_risk_averse"], ex.loc["X2", "sender_risk_averse"]) == (1.0, 0.0)
    assert ex.loc["X2", "same_industry"] == 0


def test_task_frame(hand_study):
    tasks = ipnstats.load_study(hand_study).tasks
    f1 = tasks[tasks["firm_id"] == "F1"]
    assert list(f1["cum_experience"]) == [1, 2, 3]
    assert list(f1["log_outcome"]) == pytest.approx(np.log([12, 10, 6]))
    # X1 (2015-05-10, sender-initiated, risk-averse sender F3) precedes tasks 2 and 3;
    # X2 is receiver-initiated and does not count
    assert list(f1["prior_spontaneous"]) == [0, 1, 1]
    assert list(f1["prior_risk_averse"]) == [0, 1, 1]
    f3 = tasks[tasks["firm_id"] == "F3"].iloc[0]
    assert f3["prior_spontaneous"] == 0  # X3 (to F3) is dated after the task


def test_sample_flow_of_hand_study(hand_study):
    flow = ipnstats.load_study(hand_study).sample_flow.set_index(["step", "table"])
    assert flow.loc[("firm_year", "memberships"), "rows_out"] == 5  # F5's spell
    assert flow.loc[("firm_year", "surveys"), "rows_out"] == 4  # F2 2017: no financials
    assert flow.loc[("scale loss_aversion", "surveys"), "rows_out"] == 4


def test_custom_member_rule_and_stages(tmp_path):
    from studies import CODEBOOK, write_study

    codebook = CODEBOOK.replace('name = "Hand-made study"',
                                'name = "x"\nmember_year_min_days = 90')
    codebook += "\n[stages]\nnewcomer = 0\nveteran = 1\n"
    fy = ipnstats.load_study(write_study(tmp_path / "s", codebook=codebook)).firm_year
    fy = fy.assign(firm_id=fy["firm_id"].astype(str)).set_index(["firm_id", "year"])
    assert fy.loc[("F1", 2016), "member"] == 1  # 182 days now enough
    assert fy.loc[("F1", 2016), "stage"] == "veteran"
    assert fy.loc[("F5", 2017), "member"] == 1  # 92 days
    assert list(fy["stage"].cat.categories) == ["newcomer", "veteran"]


def test_survey_items_scored_and_placed_in_groups(hand_study):
    study = ipnstats.load_study(hand_study)
    items = study.survey_items
    assert len(items) == len(study.tables["surveys"])
    scale = next(s for s in study.codebook.scales if s.name == "perceived_learning")
    raw = study.tables["surveys"]
    for item in scale.items:
        given = raw[item].to_numpy(float)
        expected = scale.low + scale.high - given if item in scale.reverse else given
        np.testing.assert_array_equal(items[item].to_numpy(float), expected)
    # F1 was a member of G1 in 2015, F4 never joins
    assert set(items.loc[(items.firm_id == "F1") & (items.year == 2015), "group_id"]) == {"G1"}
    assert items.loc[items.firm_id == "F4", "group_id"].isna().all()
