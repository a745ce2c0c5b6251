"""Tests of the synthetic study generator: determinism, structure, truth, recovery."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipnstats.simulate import simulate_study

TABLES = ("firms", "memberships", "financials", "meetings", "meeting_activity", "surveys",
          "exchanges", "tasks")
FILES = sorted([f"{t}.csv" for t in TABLES] + ["codebook.toml", "truth.toml"])
HYPOTHESES = ("H1a", "H1b", "H1c", "H1d", "H1e", "H1f", "H2a", "H2b", "H2c", "H2d", "H3a",
              "H3b", "H3c")
ID_COLUMNS = {"firm_id": str, "group_id": str, "meeting_id": str, "exchange_id": str,
              "sender_id": str, "receiver_id": str}
SCALES = {"pl": "pl_4", "tr": "tr_2", "ra": "ra_3", "la": "la_5"}


def read(folder: Path, table: str) -> pd.DataFrame:
    frame = pd.read_csv(folder / f"{table}.csv", dtype=ID_COLUMNS)
    for column in ("date", "join_date", "exit_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


def truth_of(folder: Path) -> dict:
    return tomllib.loads((folder / "truth.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return simulate_study(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return simulate_study(tmp_path_factory.mktemp("big"), n_firms=2000, seed=7)


@pytest.fixture(scope="module")
def member_years(study) -> pd.DataFrame:
    return _member_years(read(study, "memberships"), last_year=2022)


def _member_years(spells: pd.DataFrame, last_year: int) -> pd.DataFrame:
    """(firm_id, year) of member years: spells cover >= 183 days of the year (own code)."""
    days: dict[tuple[str, int], int] = {}
    end_of_data = dt.date(last_year, 12, 31)
    for firm, join, exit_ in spells[["firm_id", "join_date", "exit_date"]].itertuples(
            index=False):
        stop = end_of_data if pd.isna(exit_) else min(exit_.date(), end_of_data)
        for year in range(join.year, stop.year + 1):
            lo, hi = max(join.date(), dt.date(year, 1, 1)), min(stop, dt.date(year, 12, 31))
            days[firm, year] = days.get((firm, year), 0) + (hi - lo).days + 1
    rows = [key for key, n in days.items() if n >= 183]
    return pd.DataFrame(rows, columns=["firm_id", "year"])


def _scores(surveys: pd.DataFrame, prefix: str) -> pd.Series:
    items = surveys[[f"{prefix}_{j}" for j in range(1, 6)]].astype(float)
    reverse = SCALES[prefix]
    items[reverse] = 8 - items[reverse]
    return items.mean(axis=1).where(items.notna().sum(axis=1) >= 4)


def _cluster_ols(y: np.ndarray, x: np.ndarray, groups: np.ndarray):
    """OLS with an intercept; estimates and cluster-robust standard errors."""
    X = np.column_stack([np.ones(len(y)), x])
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    scores = pd.DataFrame(X * (y - X @ beta)[:, None]).groupby(groups).sum().to_numpy()
    se = np.sqrt(np.diag(bread @ scores.T @ scores @ bread))
    return beta[1:], se[1:]


# --- determinism --------------------------------------------------------------------------

def test_same_seed_writes_identical_bytes(study, tmp_path):
    again = simulate_study(tmp_path / "again")
    assert sorted(p.name for p in again.iterdir()) == FILES
    for name in FILES:
        assert (again / name).read_bytes() == (study / name).read_bytes(), name


def test_different_seed_writes_different_tables(study, tmp_path):
    other = simulate_study(tmp_path / "other", seed=1)
    for table in TABLES:
        assert (other / f"{table}.csv").read_bytes() != (study / f"{table}.csv").read_bytes()


def test_generator_seed_is_the_same_stream_as_its_int_seed(study, tmp_path):
    folder = simulate_study(tmp_path / "gen", seed=np.random.default_rng(0))
    for table in TABLES:
        assert (folder / f"{table}.csv").read_bytes() == (study / f"{table}.csv").read_bytes()
    assert "Generator" in truth_of(folder)["simulation"]["seed"]


def test_returns_the_folder_and_creates_it(tmp_path):
    target = tmp_path / "a" / "b"
    assert simulate_study(target, n_firms=60, n_groups=4, seed=3) == target
    assert (target / "truth.toml").exists()


@pytest.mark.parametrize("kwargs", [{"n_firms": 5}, {"n_groups": 0}, {"seed": 1.5},
                                    {"first_year": 2020, "last_year": 2021}])
def test_bad_arguments_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        simulate_study(tmp_path, **kwargs)


# --- structure ----------------------------------------------------------------------------

def test_ids_keys_and_references(study):
    t = {name: read(study, name) for name in TABLES}
    patterns = {("firms", "firm_id"): r"F\d{4}", ("memberships", "group_id"): r"G\d{2}",
                ("meetings", "meeting_id"): r"M\d{5}", ("exchanges", "exchange_id"): r"X\d{6}"}
    for (table, column), pattern in patterns.items():
        assert t[table][column].str.fullmatch(pattern).all(), (table, column)
    keys = {"firms": ["firm_id"], "memberships": ["firm_id", "join_date"],
            "financials": ["firm_id", "year"], "meetings": ["meeting_id"],
            "meeting_activity": ["meeting_id", "firm_id"], "surveys": ["firm_id", "date"],
            "exchanges": ["exchange_id"], "tasks": ["firm_id", "seq"]}
    for table, key in keys.items():
        assert not t[table].duplicated(key).any(), table
    firms = set(t["firms"]["firm_id"])
    for table, column in [("memberships", "firm_id"), ("financials", "firm_id"),
                          ("meeting_activity", "firm_id"), ("surveys", "firm_id"),
                          ("exchanges", "sender_id"), ("exchanges", "receiver_id"),
                          ("tasks", "firm_id")]:
        assert set(t[table][column]) <= firms, (table, column)
    meetings = set(t["meetings"]["meeting_id"])
    assert set(t["meeting_activity"]["meeting_id"]) == meetings
    assert set(t["exchanges"]["meeting_id"].dropna()) <= meetings
    assert set(t["meetings"]["group_id"]) <= set(t["memberships"]["group_id"])


def test_spells_are_ordered_dated_and_never_overlap(study):
    spells = read(study, "memberships").sort_values(["firm_id", "join_date"])
    firms = read(study, "firms").set_index("firm_id")
    assert (spells["exit_date"].isna() | (spells["exit_date"] >= spells["join_date"])).all()
    prev_exit = spells.groupby("firm_id")["exit_date"].shift()
    later = spells["firm_id"].duplicated()
    assert prev_exit[later].notna().all()  # only a firm's last spell may be open
    assert (spells["join_date"][later] > prev_exit[later]).all()
    early = spells["join_date"].dt.year < firms.loc[spells["firm_id"], "founded_year"].to_numpy()
    assert early.mean() <= 0.01
    n_spells = spells.groupby("firm_id").size()
    assert (n_spells > 1).sum() >= 10  # re-joins
    rejoin = spells[later].merge(spells[~later], on="firm_id", suffixes=("", "_first"))
    assert (rejoin["group_id"] == rejoin["group_id_first"]).any()
    assert (rejoin["group_id"] != rejoin["group_id_first"]).any()
    assert spells["exit_date"].notna().mean() > 0.2
    assert (spells["join_date"].dt.month >= 8).mean() > 0.1  # joins late in a year


def test_cohorts_are_staggered_and_a_third_never_joins(study, member_years):
    truth = truth_of(study)["simulation"]
    cohort = member_years.groupby("firm_id")["year"].min()
    fin = read(study, "financials")[["firm_id", "year"]]
    assert len(member_years.merge(fin)) == truth["n_member_years"]
    assert len(cohort) == truth["n_ever_members"]
    assert 0.30 <= 1 - len(cohort) / 600 <= 0.40
    in_panel = cohort[(cohort >= 2008)]
    assert in_panel.nunique() >= 12 and (cohort == 2008).sum() > 10
    assert (cohort < 2008).sum() > 0  # members from before the panel
    spells = read(study, "memberships")
    joiners = spells.loc[spells["join_date"].dt.year == 2022, "firm_id"]
    assert (~joiners.isin(cohort.index)).any()  # joined too late in 2022 to be a member


def _max_simultaneous(spells: pd.DataFrame) -> pd.Series:
    stop = spells["exit_date"].fillna(pd.Timestamp("2200-01-01")) + pd.Timedelta(days=1)
    events = pd.concat([pd.DataFrame({"g": spells["group_id"], "d": spells["join_date"], "c": 1}),
                        pd.DataFrame({"g": spells["group_id"], "d": stop, "c": -1})])
    events = events.sort_values(["g", "d", "c"])  # leaving before joining on the same day
    return events.groupby("g")["c"].cumsum().groupby(events["g"]).max()


def test_groups_never_exceed_twenty_members(study, tmp_path):
    assert _max_simultaneous(read(study, "memberships")).max() <= 20
    crowded = simulate_study(tmp_path, n_firms=1500, n_groups=4, seed=5)
    peak = _max_simultaneous(read(crowded, "memberships"))
    assert peak.max() == 20  # the cap binds and holds


def test_financials_panel(study):
    fin, firms = read(study, "financials"), read(study, "firms")
    start = np.maximum(firms["founded_year"], 2008)
    expected = int((2022 - start + 1).sum())
    assert 0.005 <= 1 - len(fin) / expected <= 0.05  # a few firm-years missing
    founded = firms.set_index("firm_id").loc[fin["firm_id"], "founded_year"].to_numpy()
    assert (fin["year"] >= np.maximum(founded, 2008)).all()
    assert (fin["revenue"] > 0).all() and (fin["total_assets"] > 0).all()
    assert (fin["employees"] >= 1).all() and 7 <= fin["employees"].median() <= 14
    assert 0.05 < (fin["net_income"] < 0).mean() < 0.35
    assert fin["revenue"].mean() > 1.2 * fin["revenue"].median()  # right-skewed


def test_meetings_and_activity(study):
    meetings, act = read(study, "meetings"), read(study, "meeting_activity")
    assert set(meetings["kind"]) == {"peer_meeting", "workshop"}
    peer = meetings[meetings["kind"] == "peer_meeting"]
    per_year = peer.groupby(["group_id", peer["date"].dt.year]).size()
    assert per_year.max() == 12 and per_year.median() == 12
    assert ((act["attended"] == 1) | (act["disclosed_financials"] == 0)).all()
    assert ((act["attended"] == 1) | (act["critiques_received"] == 0)).all()
    ranked = act["benchmark_rank"].notna()
    assert (act.loc[ranked, "disclosed_financials"] == 1).all()
    assert (act["disclosed_financials"].eq(1) == ranked).all()
    assert (act.loc[ranked, "benchmark_rank"] <= act.loc[ranked, "ranked_firms"]).all()
    n_ranked = ranked.groupby(act["meeting_id"]).transform("sum")
    assert (n_ranked == act["ranked_firms"]).all()
    ties = act[ranked].duplicated(["meeting_id", "benchmark_rank"])
    assert ties.any()
    rate = act.groupby("firm_id")["attended"].mean()
    assert 0.6 < act["attended"].mean() < 0.9 and rate.std() > 0.08  # firm-specific


def test_surveys(study, member_years):
    surveys = read(study, "surveys")
    items = surveys.drop(columns=["firm_id", "date"])
    assert items.columns.tolist() == [f"{p}_{j}" for p in SCALES for j in range(1, 6)]
    values = items.stack().dropna()
    assert values.between(1, 7).all() and (values == values.round()).all()
    assert 0.01 < items.isna().to_numpy().mean() < 0.06
    firms = read(study, "firms")
    waves = int((2022 - np.maximum(firms["founded_year"], 2008) + 1).sum())
    assert 0.20 <= 1 - len(surveys) / waves <= 0.30
    assert not surveys.assign(year=surveys["date"].dt.year).duplicated(["firm_id", "year"]).any()
    for prefix, reverse in SCALES.items():
        raw = items[[f"{prefix}_{j}" for j in range(1, 6)]].dropna().astype(float)
        assert raw.corr()[reverse].drop(reverse).lt(0).all()  # reverse coded in the raw answer
        raw[reverse] = 8 - raw[reverse]
        alpha = 5 / 4 * (1 - raw.var().sum() / raw.sum(axis=1).var())
        assert 0.7 <= alpha <= 0.9, prefix
    scored = surveys.assign(year=surveys["date"].dt.year, pl=_scores(surveys, "pl"),
                            ra=_scores(surveys, "ra"))
    member = scored.merge(member_years.assign(member=1), on=["firm_id", "year"], how="left")
    gap = member.groupby(member["member"].fillna(0).astype(int))["pl"].mean()
    assert 0.2 < gap.loc[1] - gap.loc[0] < 1.5  # perceived learning higher in member years
    within = scored.groupby("firm_id")["ra"].std().mean()
    assert within < 0.6 * scored.groupby("firm_id")["ra"].mean().std()  # a stable trait


def test_exchanges(study):
    ex, act = read(study, "exchanges"), read(study, "meeting_activity")
    assert (ex["sender_id"] != ex["receiver_id"]).all()
    assert set(ex["initiator"]) == {"receiver", "sender"}
    assert set(ex["framing"]) == {"loss", "gain", "neutral"}
    assert set(ex["behavior_change"]) == {0, 1}
    assert 0.02 < ex["meeting_id"].isna().mean() < 0.15
    assert ex["n_questions"].between(2, 4).mean() > 0.8 and abs(ex["n_questions"].mean() - 3) < 0.1
    assert ex["cognitive_shift"].between(0, 10).mean() > 0.99
    at = ex.dropna(subset=["meeting_id"])
    present = act[act["attended"] == 1].set_index(["meeting_id", "firm_id"]).index
    for role in ("sender_id", "receiver_id"):
        assert at.set_index(["meeting_id", role]).index.isin(present).all()
    assert ex["exchange_id"].is_monotonic_increasing and ex["date"].is_monotonic_increasing


def test_tasks(study):
    tasks = read(study, "tasks")
    per_firm = tasks.groupby("firm_id")
    assert per_firm.size().between(3, 12).all()
    assert (tasks["seq"] == per_firm.cumcount() + 1).all()
    assert (per_firm["date"].diff().dropna() > pd.Timedelta(0)).all()
    assert (tasks["outcome"] > 0).all() and tasks["outcome"].mean() > tasks["outcome"].median()
    assert (tasks["n_sources"] >= 1).all()
    by_seq = tasks.groupby("seq")["n_sources"].mean()
    assert by_seq.loc[10:].mean() > by_seq.loc[:2].mean() + 1


def test_codebook(study):
    codebook = tomllib.loads((study / "codebook.toml").read_text(encoding="utf-8"))
    assert codebook["stages"] == {"novice": 0, "developing": 2, "expert": 4}
    assert codebook["study"]["member_year_min_days"] == 183
    for name in ("perceived_learning", "trust", "risk_aversion", "loss_aversion"):
        scale = codebook["scales"][name]
        assert len(scale["items"]) == 5 and scale["range"] == [1, 7]
        assert set(scale["reverse"]) <= set(scale["items"]) and scale["reverse"]
    assert {"log_revenue", "member", "cognitive_shift", "loss"} <= set(codebook["labels"])


# --- truth --------------------------------------------------------------------------------

def test_truth_covers_every_hypothesis(study):
    truth = truth_of(study)
    assert truth["simulation"]["seed"] == 0 and truth["simulation"]["n_firms"] == 600
    zeros = 0
    for h in HYPOTHESES:
        params = {k: v for k, v in truth[h].items() if isinstance(v, dict) and "value" in v}
        assert truth[h]["claim"] and len(params) >= 2, h
        for name, p in params.items():
            assert len(p["description"]) > 20, (h, name)
            zeros += p["value"] == 0.0
    assert zeros >= 8
    assert truth["H1b"]["stage_novice"]["value"] < truth["H1b"]["stage_developing"]["value"] \
        < truth["H1b"]["stage_expert"]["value"]
    h1c = truth["H1c"]
    assert h1c["indirect"]["value"] == pytest.approx(h1c["a_path"]["value"]
                                                      * h1c["b_path"]["value"], abs=1e-6)
    assert truth["H1a"]["att_member_years"]["value"] > 0.05
    assert truth["H1f"]["benchmark_rank_pct"]["value"] < 0


# --- recovery of the truth ----------------------------------------------------------------

def test_loss_framing_effect_is_recovered(big):
    ex, truth = read(big, "exchanges"), truth_of(big)
    by = ex.groupby("framing")["cognitive_shift"]
    mean, var, n = by.mean(), by.var(), by.size()
    for framing, key in (("loss", "loss"), ("neutral", "neutral")):
        se = np.sqrt(var[framing] / n[framing] + var["gain"] / n["gain"])
        diff = mean[framing] - mean["gain"]
        assert abs(diff - truth["H2a"][key]["value"]) < 4 * se + 0.01, framing
        assert se < 0.05


def test_outward_sender_traits_do_not_shift_cognition(big):
    ex, fin, firms = read(big, "exchanges"), read(big, "financials"), read(big, "firms")
    ex["year"] = ex["date"].dt.year
    fin = fin.assign(size=np.log1p(fin["employees"]),
                     success=fin["net_income"] / fin["revenue"])
    ex = ex.merge(fin.rename(columns={"firm_id": "sender_id"}), on=["sender_id", "year"])
    founded = firms.set_index("firm_id")["founded_year"]
    ex["age"] = ex["year"] - founded.loc[ex["sender_id"]].to_numpy()
    surveys = read(big, "surveys")
    risk = surveys.assign(ra=_scores(surveys, "ra")).groupby("firm_id")["ra"].mean()
    ex["risk_aversion"] = risk.reindex(ex["sender_id"]).to_numpy()
    corr = ex[["size", "age", "success", "risk_aversion"]].corrwith(ex["cognitive_shift"])
    assert corr[["size", "age", "success"]].abs().max() < 0.05
    assert corr["risk_aversion"] > 0.08  # the one sender trait that matters


def test_question_counts_equal_but_types_differ_by_sender(big):
    ex, firms = read(big, "exchanges"), read(big, "firms")
    industry = firms.set_index("firm_id").loc[ex["sender_id"], "industry"].to_numpy()
    counts = ex["n_questions"].groupby(industry).mean()
    assert (counts - 3).abs().max() < 0.1
    shares = pd.crosstab(industry, ex["question_type"], normalize="index")
    assert shares.max(axis=1).min() > 0.35 and shares.min(axis=1).max() < 0.2


def _risk_averse_exposure(big: Path, tasks: pd.DataFrame) -> np.ndarray:
    """prior_risk_averse of docs/study_folder.md, computed here from the raw tables."""
    surveys, ex = read(big, "surveys"), read(big, "exchanges")
    risk = surveys.assign(ra=_scores(surveys, "ra")).groupby("firm_id")["ra"].mean()
    averse = risk[risk > risk.median()].index
    ev = ex[(ex["initiator"] == "sender") & ex["sender_id"].isin(averse)]
    dates = {firm: np.sort(d["date"].to_numpy()) for firm, d in ev.groupby("receiver_id")}
    empty = np.array([], dtype="datetime64[ns]")
    return np.array([np.searchsorted(dates.get(firm, empty), date.to_datetime64(), "left")
                     for firm, date in zip(tasks["firm_id"], tasks["date"], strict=True)])


def test_triangulation_and_exposure_slopes_are_recovered(big):
    tasks, truth = read(big, "tasks").sort_values(["firm_id", "seq"]), truth_of(big)
    tasks = tasks.reset_index(drop=True)
    log_cum = np.log(tasks["seq"].to_numpy(float))
    exposure = np.log1p(_risk_averse_exposure(big, tasks))
    x = np.column_stack([np.log(tasks["n_sources"]), log_cum, log_cum * exposure, exposure])
    beta, se = _cluster_ols(np.log(tasks["outcome"].to_numpy()), x, tasks["firm_id"].to_numpy())
    expected = [truth["H3c"]["log_n_sources"]["value"], truth["H3c"]["log_cum_experience"]["value"],
                truth["H3b"]["log_cum_experience_x_exposure"]["value"],
                truth["H3b"]["exposure"]["value"]]
    assert (se[:3] < 0.05).all()
    assert (np.abs(beta - expected) < 4 * se).all(), (beta, se, expected)
