"""Typed term keys (ipnstats.results.terms): the one parser of keyed term names, and the
key columns that tidy() of keyed results appends after the unchanged broom columns."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats import SpecificationError
from ipnstats.results.inference import TIDY_COLUMNS, coef_table
from ipnstats.results.result import Result
from ipnstats.results.stored import StoredModel
from ipnstats.results.terms import KEY_COLUMNS, add_term_keys, parse_term, term_keys

COLS = dict(outcome="y", unit="firm_id", time="year", cohort="cohort")


@pytest.mark.parametrize(("term", "keys"), [
    ("event::-2", {"event": "-2"}),
    ("event::0", {"event": "0"}),
    ("cohort::2015", {"cohort": "2015"}),
    ("cohort::2015:event::-3", {"cohort": "2015", "event": "-3"}),
    ("stage::novice", {"stage": "novice"}),
    ("a::m", {"path": "a", "mediator": "m", "equation": "m"}),
    ("b::m", {"path": "b", "mediator": "m", "equation": "outcome"}),
    ("direct", {"path": "direct", "equation": "outcome"}),
    ("total", {"path": "total"}),
    ("indirect::m", {"path": "indirect", "mediator": "m"}),
    ("indirect::total", {"path": "indirect"}),
    ("indirect::m::+1 SD", {"path": "indirect", "mediator": "m", "w": "+1 SD"}),
    ("index::m2", {"path": "index", "mediator": "m2"}),
    ("ATT", {}),
    ("Intercept", {}),
    ("industry::retail", {}),
    ("x:w", {}),
])
def test_every_term_family_parses(term, keys):
    assert parse_term(term) == keys


def test_equation_terms_parse_only_for_named_equations():
    assert parse_term("m::x", equations=("m", "y")) == {"equation": "m"}
    assert parse_term("y::x:w", equations=("m", "y")) == {"equation": "y"}
    assert parse_term("m::x") == {}


def test_term_keys_are_typed_and_missing_where_unkeyed():
    keys = term_keys(["event::-2", "cohort::2015:event::1", "stage::expert", "a::m", "ATT"])
    assert list(keys.columns) == list(KEY_COLUMNS)
    assert str(keys["event"].dtype) == "Int64" and str(keys["cohort"].dtype) == "Int64"
    assert keys["event"].tolist()[:2] == [-2, 1] and keys["event"].isna().tolist()[2:] == [
        True, True, True]
    assert keys["cohort"].tolist()[1] == 2015
    for col in ("stage", "path", "mediator", "equation", "w"):
        assert pd.api.types.is_string_dtype(keys[col]), col
    assert keys["stage"].tolist()[2] == "expert" and keys["stage"].isna().sum() == 4
    assert (keys["stage"] == "expert").dtype == bool  # masks need no fillna
    # fractional periods keep their value; a non-numeric cohort stays a string
    assert term_keys(["event::0.5"])["event"].tolist() == [0.5]
    assert term_keys(["cohort::early"])["cohort"].tolist() == ["early"]


def test_add_term_keys_appends_only_the_chosen_columns():
    table = pd.DataFrame({"term": ["stage::novice", "ATT"], "estimate": [1.0, 2.0]})
    out = add_term_keys(table, ["stage"])
    assert list(out.columns) == ["term", "estimate", "stage"]
    assert add_term_keys(table, ()) is table
    with pytest.raises(SpecificationError, match="unknown term keys"):
        add_term_keys(table, ["tenure"])


# -- tidy() of keyed results ---------------------------------------------------------------

def _panel(n_units=300, periods=range(2008, 2018), seed=3):
    rng = np.random.default_rng(seed)
    cohorts = rng.choice([0, 0, 2011, 2013, 2015], size=n_units)
    frame = pd.DataFrame([(i, t, c) for i, c in enumerate(cohorts) for t in periods],
                         columns=["firm_id", "year", "cohort"])
    e = np.where(frame["cohort"] > 0, frame["year"] - frame["cohort"], -1)
    frame["y"] = (rng.normal(size=n_units)[frame["firm_id"]] + 0.2 * (e >= 0)
                  + rng.normal(scale=0.2, size=len(frame)))
    frame["member"] = (e >= 0).astype(int)
    frame["stage"] = pd.cut(np.where(e >= 0, e, np.nan), [-0.5, 1.5, 3.5, np.inf],
                            labels=["novice", "developing", "expert"])
    return frame


@pytest.fixture(scope="module")
def panel():
    return _panel()


def _broom_unchanged(res, tidy):
    """The broom columns come first and hold what coef_table gives for the params."""
    assert tuple(tidy.columns[:len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    plain = coef_table(res.params, res.std_errors, res.df_inference)
    pd.testing.assert_frame_equal(tidy[list(TIDY_COLUMNS)], plain)


@pytest.mark.parametrize("estimator", ["cs", "sunab", "twfe"])
def test_event_study_tidy_has_a_typed_event_column(panel, estimator):
    es = ipnstats.event_study(panel, **COLS, window=(-3, 3), estimator=estimator, n_boot=0)
    tidy = es.tidy()
    assert list(tidy.columns) == [*TIDY_COLUMNS, "event"]
    assert str(tidy["event"].dtype) == "Int64"
    events = [int(t.split("::")[1]) if t != "ATT" else None for t in tidy["term"]]
    assert [None if pd.isna(e) else int(e) for e in tidy["event"]] == events
    _broom_unchanged(es, tidy)
    assert es.estimates()["event"].tolist() == sorted(e for e in events if e is not None)


def test_sun_abraham_cells_carry_cohort_and_event(panel):
    sa = ipnstats.sun_abraham(panel, **COLS)
    cells = sa.regression.tidy()
    assert list(cells.columns) == [*TIDY_COLUMNS, "cohort", "event"]
    effects = sa.cohort_effects
    merged = cells.merge(effects, left_on=["cohort", "event"], right_on=["group", "event"])
    assert len(merged) == len(effects) == len(cells)
    np.testing.assert_array_equal(merged["estimate_x"], merged["estimate_y"])
    assert list(sa.tidy().columns) == [*TIDY_COLUMNS, "event"]


def test_did_aggregations_carry_their_key(panel):
    cs = ipnstats.participation_effect(panel, **COLS, n_boot=0)
    event, group = cs.aggregate("event").tidy(), cs.aggregate("group").tidy()
    assert event.columns[-1] == "event" and group.columns[-1] == "cohort"
    assert group["cohort"].dropna().tolist() == [2011, 2013, 2015]
    assert list(cs.aggregate("simple").tidy().columns) == list(TIDY_COLUMNS)
    assert list(cs.tidy().columns) == list(TIDY_COLUMNS)


def test_stage_effects_tidy_has_a_stage_column(panel):
    st = ipnstats.stage_effects(panel, outcome="y", n_boot=20, seed=1)
    tidy = st.tidy()
    assert list(tidy.columns) == [*TIDY_COLUMNS, "stage"]
    assert pd.api.types.is_string_dtype(tidy["stage"])
    assert tidy["stage"].tolist()[:3] == ["novice", "developing", "expert"]
    assert tidy["stage"].isna().tolist() == [False, False, False, True]
    _broom_unchanged(st, tidy)


def _cross_section(n=400, seed=5):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=n), rng.normal(size=n)
    m = 0.5 * x + 0.3 * x * w + rng.normal(size=n)
    m2 = -0.4 * x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "w": w, "m": m, "m2": m2,
                         "y": 0.4 * m + 0.2 * m2 + 0.1 * x + rng.normal(size=n)})


def test_mediation_tidy_has_path_mediator_and_equation():
    res = ipnstats.mediation(_cross_section(), x="x", m=["m", "m2"], y="y", n_boot=99, seed=1)
    tidy = res.tidy()
    assert list(tidy.columns) == [*TIDY_COLUMNS, "path", "mediator", "equation"]
    keys = tidy.set_index("term")[["path", "mediator", "equation"]].astype(object)
    keys = keys.where(keys.notna(), None)
    assert keys.to_dict("index") == {
        "a::m": {"path": "a", "mediator": "m", "equation": "m"},
        "a::m2": {"path": "a", "mediator": "m2", "equation": "m2"},
        "b::m": {"path": "b", "mediator": "m", "equation": "outcome"},
        "b::m2": {"path": "b", "mediator": "m2", "equation": "outcome"},
        "direct": {"path": "direct", "mediator": None, "equation": "outcome"},
        "total": {"path": "total", "mediator": None, "equation": None},
        "indirect::m": {"path": "indirect", "mediator": "m", "equation": None},
        "indirect::m2": {"path": "indirect", "mediator": "m2", "equation": None},
        "indirect::total": {"path": "indirect", "mediator": None, "equation": None}}


def test_process_tidy_has_path_mediator_equation_and_w():
    res = ipnstats.conditional_process(_cross_section(), model=7, x="x", m="m", w="w", y="y",
                                       n_boot=99, seed=1)
    tidy = res.tidy()
    assert list(tidy.columns) == [*TIDY_COLUMNS, "path", "mediator", "equation", "w"]
    coef = tidy[tidy["path"].isna()]
    assert (coef["equation"] + "::" == coef["term"].str.slice(0, 3)).all()
    assert set(coef["equation"]) == {"m", "y"}
    effects = tidy[tidy["path"].notna()]
    assert effects["equation"].isna().all() and set(effects["mediator"]) == {"m"}
    indirect = effects[effects["path"] == "indirect"]
    assert indirect["w"].tolist() == list(res.w_labels)
    assert (effects["path"] == "index").sum() == 1
    # the accessors read the same keys: mediator and the probed w values
    ie = res.indirect_effects()
    assert ie["label"].tolist() == list(res.w_labels)
    np.testing.assert_array_equal(ie["w"], res.w_probe)
    np.testing.assert_array_equal(ie["estimate"], indirect["estimate"])
    assert res.index_of_moderated_mediation()["mediator"].tolist() == ["m"]
    assert res.paths()["equation"].tolist() == coef["equation"].tolist()


def test_keyed_tidy_survives_the_json_round_trip(panel):
    es = ipnstats.event_study(panel, **COLS, window=(-2, 2), n_boot=0)
    stored = StoredModel.of(es).to_json()
    text = json.dumps(stored, allow_nan=False)  # a missing event is null, not <NA>
    back = StoredModel.from_json(json.loads(text)).tidy()
    assert back["event"].isna().tolist() == es.tidy()["event"].isna().tolist()
    np.testing.assert_array_equal(back["estimate"], es.tidy()["estimate"])


def test_an_unkeyed_result_keeps_the_broom_columns_only():
    """A general model whose regressors happen to look keyed (a factor ``event``, a
    column ``total``) gains no key columns: only results with keyed terms declare them."""
    names = pd.Index(["Intercept", "total", "event::3"])
    res = Result(params=pd.Series([1.0, 0.5, 0.2], index=names),
                 cov=pd.DataFrame(np.eye(3) * 0.01, index=names, columns=names), vcov="iid",
                 df_inference=None, estimator="OLS", outcome="y", nobs=10)
    assert list(res.tidy().columns) == list(TIDY_COLUMNS)
    keyed = dataclasses.replace(res, key_columns=("event", "path"))
    assert keyed.tidy()["event"].tolist()[2] == 3 and keyed.tidy()["path"].tolist()[1] == "total"
