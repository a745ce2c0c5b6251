"""The study's measurement model (ipnstats/ipn/measurement.py) and its report section:
what it fits from a study folder, what it stores, how it reads, and that it recovers the
simulator's measurement truth (loadings; a method factor when there is one, none when
there is none)."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats.data.survey_frame import survey_items
from ipnstats.ipn.claims import Unavailable
from ipnstats.ipn.measurement import first_per_firm, fit_measurement, measurement_findings
from ipnstats.report.document import Report
from ipnstats.report.measurement_section import render_measurement
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.render import to_text


def measure(study):
    """The study's measurement model, as the data stage fits it."""
    return fit_measurement(survey_items(study), study.codebook.scales,
                           threshold=study.codebook.disclosure_threshold)


@pytest.fixture(scope="module")
def example_measurement(study):
    return measure(study)


def test_one_complete_survey_per_firm_scored_in_the_scales_direction(study):
    items = survey_items(study)
    columns = [i for s in study.codebook.scales for i in s.items]
    first = first_per_firm(items, columns)
    assert first["firm_id"].is_unique and first[columns].notna().all().all()
    assert len(first) <= study.tables["surveys"]["firm_id"].nunique()
    # a reverse-coded item is turned around: it correlates positively with its scale
    for scale in study.codebook.scales:
        for item in scale.reverse:
            rest = first[[i for i in scale.items if i != item]].mean(axis=1)
            assert np.corrcoef(first[item], rest)[0, 1] > 0.2, item
    # a member's survey carries its peer group of that year; a non-member's none
    fy = study.firm_year.astype({"firm_id": str})
    member = fy.loc[fy["member"] == 1, ["firm_id", "year"]].apply(tuple, axis=1)
    has_group = items.dropna(subset=["group_id"])[["firm_id", "year"]].apply(tuple, axis=1)
    assert set(has_group) <= set(member)


def test_findings_are_json_and_complete(example_measurement):
    f = measurement_findings(example_measurement)
    back = json.loads(json.dumps(f, allow_nan=False))
    assert set(back["labels"]) == {"perceived_learning", "trust", "risk_aversion",
                                   "loss_aversion"}
    fits = frame_from_json(back["fits"]).set_index("model")
    assert list(fits.index) == ["traits", "single", "method"]
    assert fits.loc["traits", "df"] == 164 and fits.loc["single", "df"] == 170
    assert fits.loc["single", "cfi"] < fits.loc["traits", "cfi"]  # one factor fits worse
    assert len(frame_from_json(back["loadings"])) == 20
    rel = frame_from_json(back["reliability"])
    assert rel["omega"].between(0.7, 0.95).all() and rel["ave"].between(0.3, 0.7).all()
    inv = frame_from_json(back["invariance"]["table"])
    assert list(inv["level"]) == ["configural", "metric", "scalar", "strict"]
    assert (np.diff(inv["df"]) > 0).all()
    assert back["aggregation"]["n_groups"] > 0 and -1 < back["aggregation"]["icc1"] < 1


def test_section_reads_in_words_and_labels(example_measurement):
    report = render_measurement(Report("t"), measurement_findings(example_measurement))
    text = _text(report)
    for needed in ("Measurement: are the survey scales valid?", "Perceived learning",
                   "Fit of the measurement models", "Reliability and discriminant validity",
                   "Measurement invariance across survey waves", "Harman",
                   "Agreement on perceived learning within peer groups"):
        assert needed in text, needed
    for raw in ("perceived_learning", "loss_aversion", "rmsea_robust", "group_year"):
        assert raw not in text, raw


def _text(report: Report) -> str:
    """Every heading, paragraph and table (as plain text) of ``report``."""
    out = []
    for b in report.blocks:
        kind = type(b).__name__
        if kind in ("Heading", "Text"):
            out.append(b.text)
        elif kind == "TableBlock":
            out.append(to_text(b.table))
    return "\n".join(out)


def test_a_study_without_surveys_says_why(study):
    no_surveys = type("S", (), {"skipped": ("surveys",), "tables": {}})()
    assert survey_items(no_surveys) is None
    res = fit_measurement(None, study.codebook.scales)
    assert isinstance(res, Unavailable) and "surveys" in res.reason
    report = render_measurement(Report("t"), measurement_findings(res))
    assert any("Not estimable" in getattr(b, "text", "") for b in report.blocks)


def _truth_loadings(truth: dict) -> dict[str, float]:
    return truth["measurement"]["standardized_loadings"]


@pytest.mark.parametrize("method", [0.0, 0.35])
def test_recovers_the_simulated_measurement_model(tmp_path, method):
    """A simulated study with and without a common method factor: the CFA's standardized
    loadings are near the truth (rounding to whole answers and clipping to 1..7 shrink
    them a little), the weak trust item is the weakest, and the unmeasured method factor
    is flagged (by the co-movement of the scales within a firm from one survey to the next)
    only when the truth has one."""
    folder = tmp_path / f"m{method}"
    ipnstats.simulate_study(folder, n_firms=500, n_groups=20, seed=77, method_factor=method)
    truth = tomllib.loads((folder / "truth.toml").read_text())
    assert truth["measurement"]["method_factor"] == method
    res = measure(ipnstats.load_study(folder))
    # the truth's loadings exclude the method factor: with one, the trait-only model
    # would credit the shared method covariance to the traits (most for the weak item),
    # so the traits' loadings are read from the model with the method factor
    fit = res.cfa if method == 0 else res.ulmc.method_fit
    ld = fit.loadings().query("factor != 'method'").set_index("item")["std_all"]
    want = _truth_loadings(truth)
    gap = np.array([ld[i] - want[i] for i in ld.index])
    shown = dict(zip(ld.index, gap.round(3), strict=True))
    assert np.abs(gap).max() < 0.12 and abs(gap.mean()) < 0.06, shown
    trust = ld[[i for i in ld.index if i.startswith("tr_")]]
    assert trust.idxmin() == min((i for i in want if i.startswith("tr_")), key=want.get)
    # the occasion check flags the method factor exactly when the truth has one; its
    # size is what the truth implies for the within-firm correlation of two scale scores
    occasion = res.occasion
    assert occasion["flag"] == (method > 0), occasion
    m = truth["measurement"]
    noise = m["item_noise_sd"] ** 2 / 5  # a five-item mean's item noise
    implied = method**2 / (method**2 + noise)  # within a firm a stable trait drops out
    assert abs(occasion["mean_r"] - implied) < 0.1, (occasion["mean_r"], implied)


def test_example_truth_has_the_measurement_keys(truth):
    m = truth["measurement"]
    assert {"method_factor", "loadings", "standardized_loadings"} <= set(m)
    assert (EXAMPLE / "truth.toml").exists()
