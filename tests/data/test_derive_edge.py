"""Valid studies at the edges load and derive (issue 17): empty optional columns, no
sender-initiated exchange, no risk-averse sender, constant or empty survey items, and
derived frames built from tables that are empty or nearly so."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.data.codebook import Scale
from ipnstats.data.dyads import task_frame
from ipnstats.data.frames import build_grid, firm_year
from ipnstats.data.membership import member_grid
from ipnstats.data.scales import cronbach_alpha, mcdonald_omega, reliability


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return ipnstats.simulate_study(tmp_path_factory.mktemp("edge") / "s", n_firms=60,
                                   n_groups=4, seed=1)


@pytest.fixture(scope="module")
def base_study(base):
    return ipnstats.load_study(base)


@pytest.fixture
def study_copy(base, tmp_path):
    """A fresh copy of the simulated study, to edit."""
    folder = tmp_path / "s"
    shutil.copytree(base, folder)
    return folder


def edit(folder: Path, table: str, change) -> None:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def load(folder: Path) -> ipnstats.Study:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy noise either
        return ipnstats.load_study(folder)


def test_all_empty_meeting_id_loads(study_copy):
    edit(study_copy, "exchanges", lambda f: f.assign(meeting_id=""))
    study = load(study_copy)
    assert len(study.exchanges) > 0
    assert study.exchanges["meeting_id"].isna().all()


def test_no_sender_initiated_exchange_loads_with_zero_counts(study_copy):
    edit(study_copy, "exchanges", lambda f: f.assign(initiator="receiver"))
    tasks = load(study_copy).tasks
    assert len(tasks) > 0
    assert (tasks["prior_spontaneous"] == 0).all() and (tasks["prior_risk_averse"] == 0).all()


def test_no_risk_averse_sender_loads_with_zero_counts(study_copy, base_study):
    path = study_copy / "codebook.toml"
    path.write_text(path.read_text().replace('risk_averse_cutoff = "median"',
                                             "risk_averse_cutoff = 7"))
    study = load(study_copy)
    assert study.codebook.risk_averse_cutoff == 7
    assert (study.exchanges["sender_risk_averse"].dropna() == 0).all()
    assert (study.tasks["prior_risk_averse"] == 0).all()
    # the other count does not depend on the cutoff
    np.testing.assert_array_equal(study.tasks["prior_spontaneous"],
                                  base_study.tasks["prior_spontaneous"])
    assert base_study.tasks["prior_risk_averse"].sum() > 0


def test_constant_survey_item_gives_missing_reliability_with_a_note(study_copy, base_study):
    edit(study_copy, "surveys", lambda f: f.assign(pl_1="4"))
    rel = load(study_copy).reliability.set_index("scale")
    assert np.isnan(rel.loc["perceived_learning", "alpha"])
    assert np.isnan(rel.loc["perceived_learning", "omega"])
    assert rel.loc["perceived_learning", "note"] == (
        "item pl_1 (4) has the same answer in every complete case: alpha and omega undefined")
    others = rel.drop(index="perceived_learning")
    assert (others["note"] == "").all() and others["alpha"].notna().all()
    pd.testing.assert_series_equal(others["alpha"],
                                   base_study.reliability.set_index("scale")["alpha"]
                                   .drop(index="perceived_learning"))


def test_all_missing_survey_item_gives_missing_reliability_with_a_note(study_copy):
    edit(study_copy, "surveys", lambda f: f.assign(tr_2=""))
    study = load(study_copy)
    rel = study.reliability.set_index("scale")
    assert rel.loc["trust", "n"] == 0 and np.isnan(rel.loc["trust", "alpha"])
    assert rel.loc["trust", "note"].startswith("item tr_2 has no answers")
    assert study.firm_year["trust"].notna().any()  # 4 of 5 items still make a score


def test_surveys_with_one_respondent(study_copy):
    edit(study_copy, "surveys", lambda f: f.head(1))
    study = load(study_copy)
    rel = study.reliability
    assert len(rel) == 4 and rel["alpha"].isna().all() and rel["omega"].isna().all()
    assert rel["note"].str.startswith("1 complete case(s)").all()
    assert (rel["n"] == 1).all()
    firm = pd.read_csv(study_copy / "surveys.csv", dtype=str)["firm_id"].iloc[0]
    scored = study.exchanges.loc[study.exchanges["sender_risk_aversion"].notna(), "sender_id"]
    assert set(scored.astype(str)) <= {firm}  # only the firm with a survey has a score


def test_firm_without_financials(study_copy, base_study):
    edit(study_copy, "financials", lambda f: f[f["firm_id"] != "F0001"])
    study = load(study_copy)
    assert "F0001" not in set(study.firm_year["firm_id"].astype(str))
    flow = study.sample_flow.set_index(["step", "table"])
    assert flow.loc[("firm_year", "firms"), "rows_out"] == 59
    f1 = study.exchanges["sender_id"].astype(str) == "F0001"
    assert study.exchanges.loc[f1, "sender_size"].isna().all()


def test_group_with_one_firm(study_copy):
    def solo(f):
        f.loc[f.index[0], "group_id"] = "GSOLO"
        return f
    edit(study_copy, "memberships", solo)
    panel = load(study_copy).firm_year
    in_solo = panel["group_id"] == "GSOLO"
    assert in_solo.any() and panel.loc[in_solo, "firm_id"].nunique() == 1


def test_no_firm_is_ever_a_member(study_copy):
    def short(f):
        joined = pd.to_datetime(f["join_date"])
        return f.assign(exit_date=(joined + pd.Timedelta(days=10)).dt.strftime("%Y-%m-%d"))
    edit(study_copy, "memberships", short)
    study = load(study_copy)
    panel = study.firm_year
    assert (panel["member"] == 0).all() and (panel["ever_member"] == 0).all()
    assert (panel["cohort"] == 0).all() and panel["tenure"].isna().all()
    assert panel["stage"].isna().all() and panel["group_id"].isna().all()
    flow = study.sample_flow.set_index(["step", "table"])
    assert flow.loc[("firm_year", "memberships"), "rows_out"] == 0


def test_every_member_joins_in_the_first_year(study_copy):
    def first(f):
        return f.drop_duplicates("firm_id").assign(join_date="2008-01-01", exit_date="")
    edit(study_copy, "memberships", first)
    panel = load(study_copy).firm_year
    members = panel[panel["ever_member"] == 1]
    assert len(members) and (members["cohort"] == 2008).all() and (members["member"] == 1).all()
    assert (members["event_time"] == members["year"] - 2008).all()


def test_tasks_with_one_row_per_firm(study_copy):
    edit(study_copy, "tasks", lambda f: f.drop_duplicates("firm_id"))
    tasks = load(study_copy).tasks
    assert tasks["firm_id"].is_unique and (tasks["cum_experience"] == 1).all()
    assert (tasks["log_cum_experience"] == 0).all()


def test_exchanges_whose_firms_have_no_survey(study_copy):
    ex = pd.read_csv(study_copy / "exchanges.csv", dtype=str)
    firms = set(ex["sender_id"]) | set(ex["receiver_id"])
    edit(study_copy, "surveys", lambda f: f[~f["firm_id"].isin(firms)])
    exchanges = load(study_copy).exchanges
    assert exchanges["sender_risk_aversion"].isna().all()
    assert exchanges["sender_risk_averse"].isna().all()
    assert exchanges["receiver_loss_aversion"].isna().all()


def test_a_loss_framed_exchange_is_coded_after_a_recode_of_its_labels():
    # (the parsers the lead calls for values = { framing = {...} })
    from ipnstats.data.columns import parse_choice, recode
    raw = pd.Series(["Verlust", "Gewinn", "neutral"])
    values, bad = parse_choice(recode(raw, {"Verlust": "loss", "Gewinn": "gain"}),
                               ("loss", "gain", "neutral"))
    assert values.tolist() == ["loss", "gain", "neutral"] and not bad.any()


# -- derived frames from empty tables (what errors="drop" can leave) -----------------

def test_member_grid_without_spells():
    grid = member_grid(np.array([], np.int64), np.array([], np.int16),
                       pd.Series([], dtype="datetime64[s]"), pd.Series([], dtype="datetime64[s]"),
                       n_firms=3, first_year=2010, last_year=2012, min_days=183)
    assert grid.member.shape == (3, 3) and not grid.member.any()
    assert (grid.group == -1).all() and (grid.cohort() == 0).all()
    assert len(grid.spell_used) == 0


def test_firm_year_without_memberships(base_study):
    tables = dict(base_study.tables)
    tables["memberships"] = tables["memberships"].head(0)
    panel, flow = firm_year(tables, base_study.codebook, None)
    assert len(panel) == len(tables["financials"])
    assert (panel["member"] == 0).all() and panel["group_id"].isna().all()
    assert flow[1]["rows_in"] == 0


def test_firm_year_of_empty_tables(base_study):
    tables = {name: df.head(0) for name, df in base_study.tables.items()}
    grid, groups = build_grid(tables, base_study.codebook)
    assert grid.member.shape[0] == 0 and groups == []
    panel, _ = firm_year(tables, base_study.codebook, None)
    assert len(panel) == 0 and "member" in panel and "revenue_growth" in panel


def test_task_frame_with_no_tasks_or_no_exchanges(base_study):
    tasks = base_study.tables["tasks"]
    empty = task_frame(tasks.head(0), base_study.exchanges)
    assert len(empty) == 0 and "prior_risk_averse" in empty
    none = task_frame(tasks, base_study.exchanges.head(0))
    assert (none["prior_spontaneous"] == 0).all() and len(none) == len(tasks)


# -- reliability at its edges ----------------------------------------------------------

SCALE = (Scale("s", ("a", "b", "c")),)


def _answers(n=40, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    return pd.DataFrame({c: np.clip(np.round(4 + common + rng.normal(size=n)), 1, 7)
                         for c in "abc"})


@pytest.mark.parametrize(("change", "note"), [
    (lambda d: d.assign(a=4.0), "item a (4) has the same answer in every complete case"),
    (lambda d: d.assign(a=4.0, c=2.0), "items a (4), c (2) have the same answer"),
    (lambda d: d.assign(b=np.nan), "item b has no answers"),
    (lambda d: d.head(1), "1 complete case(s)"),
    (lambda d: d.head(0), "no survey rows"),
])
def test_undefined_reliability_is_missing_with_a_note(change, note):
    data = change(_answers())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = reliability(data, SCALE).iloc[0]
    assert np.isnan(row["alpha"]) and np.isnan(row["omega"])
    assert row["note"].startswith(note)


def test_total_that_does_not_vary():
    a = _answers()["a"]
    two = pd.DataFrame({"a": a, "b": 8 - a})  # b mirrors a: their sum is always 8
    row = reliability(two, (Scale("s", ("a", "b")),)).iloc[0]
    assert np.isnan(row["alpha"]) and np.isnan(row["omega"])
    assert row["note"].startswith("the total score is the same")


def test_two_complete_cases_give_alpha_but_no_omega():
    row = reliability(_answers().iloc[[0, 5]].assign(c=[1.0, 2.0]), SCALE).iloc[0]
    assert np.isfinite(row["alpha"]) and np.isnan(row["omega"])
    assert row["note"] == "2 complete cases: omega needs at least 3"


def test_defined_reliability_has_an_empty_note():
    data = _answers()
    row = reliability(data, SCALE).iloc[0]
    assert row["note"] == "" and row["alpha"] == pytest.approx(cronbach_alpha(data))
    assert row["omega"] == pytest.approx(mcdonald_omega(data))


def test_omega_with_two_identical_items():
    data = _answers().assign(b=lambda d: d["a"])
    assert 0 < mcdonald_omega(data) <= 1


def test_task_counts_do_not_depend_on_the_date_resolution(base_study):
    tasks, exchanges = base_study.tables["tasks"], base_study.exchanges
    mixed = task_frame(tasks.assign(date=tasks["date"].astype("datetime64[ms]")),
                       exchanges.assign(date=exchanges["date"].astype("datetime64[ns]")))
    same = task_frame(tasks, exchanges)
    np.testing.assert_array_equal(mixed["prior_risk_averse"], same["prior_risk_averse"])
    assert same["prior_spontaneous"].sum() > 0
