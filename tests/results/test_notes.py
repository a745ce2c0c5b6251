"""Notes carry stable codes: code tests ``result.has_note(code)``, never a note's text."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.core.errors import SpecificationError
from ipnstats.results.notes import NOTE_CODES, Note, code_of, note_codes, prefixed
from ipnstats.results.stored import StoredModel
from ipnstats.simulate.staggered import staggered_panel

PACKAGE = Path(ipnstats.__file__).parent


def _panel(n_firms=40, n_years=6, n_clusters=8, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(2010, 2010 + n_years), n_firms)
    x = rng.normal(size=firm.size)
    return pd.DataFrame({"firm_id": firm, "year": year, "group_id": firm % n_clusters,
                         "x": x, "x2": 2 * x, "z": rng.normal(size=firm.size),
                         "y": 0.5 * x + rng.normal(size=firm.size)})


# --- the type ---------------------------------------------------------------------------

def test_a_note_is_its_text_with_a_code():
    note = Note("few_clusters", "Only 8 clusters: cluster-robust standard errors can be too "
                "small.")
    assert isinstance(note, str) and note.code == "few_clusters"
    assert note == "Only 8 clusters: cluster-robust standard errors can be too small."
    assert note.startswith("Only 8") and "clusters" in note and f"{note}" == str(note)
    assert json.loads(json.dumps([note])) == [str(note)]
    back = pickle.loads(pickle.dumps(note))
    assert back == note and back.code == "few_clusters"
    assert repr(note).startswith("Note('few_clusters', ")


def test_an_unknown_code_is_refused():
    with pytest.raises(SpecificationError, match="unknown note code 'few_cluster'"):
        Note("few_cluster", "text")


def test_codes_of_plain_strings_are_other_and_prefixing_keeps_the_code():
    note = Note("not_converged", "The optimiser did not converge.")
    assert note_codes([note, "plain"]) == ("not_converged", "other")
    assert code_of(prefixed(note, "ATT[young]: ")) == "not_converged"
    assert prefixed(note, "ATT[young]: ") == "ATT[young]: The optimiser did not converge."
    assert prefixed("plain", "a: ") == "a: plain"


def test_every_code_the_package_emits_is_registered():
    emitted = set()
    for path in PACKAGE.rglob("*.py"):
        emitted |= set(re.findall(r'Note\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert emitted, "no Note(...) found in the package"
    assert emitted <= set(NOTE_CODES), emitted - set(NOTE_CODES)


# --- results carry them ------------------------------------------------------------------

def test_a_few_cluster_panel_regression_has_few_clusters():
    data = _panel(n_clusters=8)
    res = ipnstats.panel_regression(data, "y ~ x", unit="firm_id", time="year",
                                    vcov=ipnstats.Cluster("group_id"))
    assert res.has_note("few_clusters") and "few_clusters" in res.note_codes
    assert not res.has_note("collinear_dropped")
    iid = res.with_vcov("hc1")  # the inference notes follow the vcov choice
    assert not iid.has_note("few_clusters")
    assert iid.with_vcov(ipnstats.Cluster("group_id")).has_note("few_clusters")


def test_has_note_refuses_a_misspelt_code():
    res = ipnstats.panel_regression(_panel(), "y ~ x", unit="firm_id", time="year")
    with pytest.raises(SpecificationError, match="unknown note code"):
        res.has_note("few-clusters")


def test_collinear_missing_and_singleton_notes_have_codes():
    data = _panel()
    data.loc[3, "z"] = np.nan
    data = pd.concat([data, pd.DataFrame({"firm_id": [99], "year": [2010], "group_id": [0],
                                          "x": [0.1], "x2": [0.2], "z": [0.0], "y": [1.0]})])
    kept = ipnstats.panel_regression(data, "y ~ x + x2 + z", unit="firm_id", time="year")
    assert {"collinear_dropped", "missing_dropped", "singletons_kept"} <= set(kept.note_codes)
    dropped = ipnstats.panel_regression(data, "y ~ x + z", unit="firm_id", time="year",
                                        drop_singletons=True)
    assert dropped.has_note("singleton_dropped") and not dropped.has_note("singletons_kept")


def test_a_pre_trend_is_flagged_by_its_code():
    panel = staggered_panel(n_firms=200, seed=3)
    treated = panel["cohort"] > 0
    # a trend of the joiners before they join: parallel trends fail
    panel["y"] += np.where(treated & (panel["event_time"] < 0), 0.15 * panel["event_time"], 0)
    res = ipnstats.participation_effect(panel, outcome="y", unit="firm_id", time="year",
                                        cohort="cohort", n_boot=0)
    assert res.has_note("pretrend_rejected")
    clean = ipnstats.participation_effect(staggered_panel(n_firms=200, seed=3), outcome="y",
                                          unit="firm_id", time="year", cohort="cohort",
                                          n_boot=0)
    assert not clean.has_note("pretrend_rejected")


def test_a_zero_variance_mixed_model_has_boundary_fit():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"g": np.repeat(np.arange(20), 5), "x": rng.normal(size=100)})
    data["y"] = data["x"] + rng.normal(size=100)  # no group effect at all
    res = ipnstats.mixed_model(data, "y ~ x", groups="g")
    assert res.note_codes == ("boundary_fit",)
    data["y"] += np.repeat(rng.normal(scale=2.0, size=20), 5)  # a strong group effect
    assert not ipnstats.mixed_model(data, "y ~ x", groups="g").has_note("boundary_fit")


def test_wild_bootstrap_notes_have_codes():
    res = ipnstats.panel_regression(_panel(n_clusters=8), "y ~ x", unit="firm_id",
                                    time="year", vcov=ipnstats.Cluster("group_id"))
    wild = ipnstats.wild_bootstrap(res, "x", cluster="group_id", reps=999, seed=1)
    assert wild.has_note("few_clusters") and wild.has_note("enumerated")


def test_stored_models_keep_codes_beside_the_text():
    res = ipnstats.panel_regression(_panel(n_clusters=8), "y ~ x", unit="firm_id",
                                    time="year", vcov=ipnstats.Cluster("group_id"))
    stored = StoredModel.of(res)
    doc = json.loads(json.dumps(stored.to_json()))
    assert doc["notes"] == [str(n) for n in res.warnings]
    assert doc["note_codes"] == list(res.note_codes)
    back = StoredModel.from_json(doc)
    assert back.has_note("few_clusters") and back.notes == stored.notes
    old = StoredModel.from_json({k: v for k, v in doc.items() if k != "note_codes"})
    assert old.notes == stored.notes and old.note_codes == ("other",) * len(old.notes)
