"""The H3 analyses on the bundled example study against its truth.toml (ipnstats.ipn.h3),
and the H3 report section rendered from the stored document (ipnstats.report.h3_section):
readings, the learning-curve figure, claims, singular and non-converged fits, and models
the data cannot support."""

import ast
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import covers_truth

import ipnstats
from ipnstats.ipn.claims import Unavailable, adjudicate, adjudicate_checks, claims_to_json
from ipnstats.ipn.h3 import OUTWARD, fit_h3, h3_checks, h3_claims, h3_findings
from ipnstats.pipeline.store import dumps
from ipnstats.report import Report
from ipnstats.report.h3_section import render_h3
from ipnstats.report.sections import RENDERERS


@pytest.fixture(scope="module")
def h3(study):
    return fit_h3(study.exchanges, study.tasks, threshold=study.codebook.disclosure_threshold)


def stored(res) -> dict:
    """The h3 stage document of ``res`` as ``ipnstats report`` reads it back from JSON."""
    doc = {"stage": "h3", "title": "H3", "findings": h3_findings(res),
           "claims": claims_to_json(adjudicate(h3_claims(res))),
           "checks": claims_to_json(adjudicate_checks(h3_checks(res)))}
    return json.loads(dumps(doc))


def _covers(row, value):
    return covers_truth(row, value)  # 99.9%: one draw (see conftest.covers_truth)


# ------------------------------------------------------------------ the analyses (ipn)


@pytest.mark.parametrize("model", ["main", "robustness"])
@pytest.mark.parametrize("trait", ["sender_risk_aversion", *OUTWARD])
def test_sender_traits_cover_the_truth(h3, truth, model, trait):
    fit = h3.senders if model == "main" else h3.senders.robustness
    t = truth["H3a"]
    value = t["sender_risk_aversion_per_sd" if trait == "sender_risk_aversion" else trait]
    assert _covers(fit.tidy().set_index("term").loc[trait], value["value"])


def test_sender_traits_per_point_and_variances(h3, truth, study):
    t = truth["H3a"]
    # unstandardized: per scale point
    ex = study.exchanges.assign(neutral=(study.exchanges["framing"] == "neutral").astype(float))
    raw = ipnstats.sender_effects(ex, covariates=("loss", "neutral"),
                                  standardize=False).tidy().set_index("term")
    assert _covers(raw.loc["sender_risk_aversion"], t["sender_risk_aversion"]["value"])
    vc = h3.senders.variance_components().set_index("group")["std_dev"]
    assert vc["sender_id"] == pytest.approx(t["sd_sender"]["value"], abs=0.1)
    assert vc["receiver_id"] == pytest.approx(t["sd_receiver"]["value"], abs=0.1)
    assert vc["Residual"] == pytest.approx(t["sd_residual"]["value"], abs=0.05)


def test_learning_curve_covers_the_truth(h3, truth):
    tidy = h3.curve.tidy().set_index("term")
    assert _covers(tidy.loc["log(cum_experience):exposure"],
                   truth["H3b"]["log_cum_experience_x_exposure"]["value"])
    assert _covers(tidy.loc["exposure"], truth["H3b"]["exposure"]["value"])
    assert _covers(tidy.loc["log_n_sources"], truth["H3c"]["log_n_sources"]["value"])
    assert _covers(tidy.loc["log(cum_experience)"], truth["H3c"]["log_cum_experience"]["value"])
    assert _covers(tidy.loc["Intercept"], truth["H3c"]["intercept"]["value"])
    vc = h3.curve.variance_components().set_index(["group", "term"])["std_dev"]
    assert vc[("firm_id", "(Intercept)")] == pytest.approx(truth["H3c"]["sd_firm"]["value"],
                                                           abs=0.05)
    assert vc[("Residual", "")] == pytest.approx(truth["H3c"]["sd_residual"]["value"], abs=0.03)
    assert h3.curve.converged
    # the progress ratio at no exposure covers 2^0; the ratio at exposure 1 covers 2^-0.06
    rates = h3.curve.learning_rate(at=[0.0, 1.0]).set_index("at")
    assert _covers(rates.loc[0.0], 1.0)
    assert _covers(rates.loc[1.0], 2 ** truth["H3b"]["log_cum_experience_x_exposure"]["value"])


def test_triangulation_covers_the_truth(h3, truth):
    tri = h3.triangulation
    tidy = tri.tidy().set_index("term")
    assert _covers(tidy.loc[tri.sources_term], truth["H3c"]["log_n_sources"]["value"])
    assert _covers(tidy.loc[tri.experience_term], truth["H3c"]["log_cum_experience"]["value"])
    assert _covers(tidy.loc["exposure"], truth["H3b"]["exposure"]["value"])
    assert _covers(tidy.loc["log_cum_experience_x_exposure"],
                   truth["H3b"]["log_cum_experience_x_exposure"]["value"])
    comp = tri.comparison().iloc[0]
    gap = (truth["H3c"]["log_n_sources"]["value"]
           - truth["H3c"]["log_cum_experience"]["value"])
    assert covers_truth(comp, gap)


def test_claims_and_checks_are_decided_in_the_study_layer(h3):
    claims = {c.code: c for c in h3_claims(h3)}
    assert list(claims) == ["H3a", "H3b", "H3c"] and all(c.supported for c in claims.values())
    assert claims["H3a"].evidence.startswith("risk aversion ")
    assert "larger than 5 of 5 outward traits" in claims["H3a"].evidence
    assert claims["H3b"].evidence.startswith("experience × exposure \u2212")
    assert claims["H3c"].p_value == h3.triangulation.comparison()["p_one_sided"].iloc[0]
    checks = h3_checks(h3)
    assert [c.code for c in checks] == ["H3a"] * 5 + ["H3b", "H3c"]
    assert checks[0].what == "Size of the sender does not matter"
    assert all(np.isfinite(c.p_value) for c in checks)


def _json_types(value, path="findings"):
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), path
            _json_types(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _json_types(v, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), (path, type(value))


def test_findings_are_json_ready_and_flag_every_wording(h3):
    findings = h3_findings(h3)
    _json_types(findings)
    assert set(findings) == {"rule", "senders", "curve", "triangulation"}
    assert findings["senders"]["supported"] is True
    assert findings["senders"]["ols_all_significant"] is True
    assert findings["curve"]["steepens"] is True
    assert findings["triangulation"]["sources_teach_more"] is True
    unfit = replace(h3, curve=Unavailable("no curve"))
    assert h3_findings(unfit)["curve"] == {"unavailable": "no curve"}


# ------------------------------------------------------ the section, from the stored doc


@pytest.fixture(scope="module")
def doc(h3):
    return stored(h3)


@pytest.fixture(scope="module")
def section(doc):
    return render_h3(Report("H3"), doc).to_typst()


def test_section_reads_and_judges_every_claim(section, h3):
    for heading in ("H3a: sender traits", "H3b: learning curves",
                    "H3c: triangulation versus reinforcement", "What the data say about H3"):
        assert heading in section
    assert section.count("Reading:") == 3
    assert "Progress ratio" in section and "clustered OLS" in section
    # on the example every H3 claim is supported (the simulated truth says so)
    assert section.count("Supported") >= 3 and "Not supported" not in section
    # the singular correlated-slopes fit and its simplification are reported
    for step in h3.curve_steps:
        assert step.split(";")[0] in section.replace("\n", " ")
    assert "Variance components: firm intercept SD" in section
    # the adjusted verdicts of the stage close the section
    assert "verdicts are those of the verdict table" in section


def test_rendering_is_deterministic_and_registered(doc):
    first, second = render_h3(Report("H3"), doc), render_h3(Report("H3"), doc)
    assert first.blocks == second.blocks
    figures = [b for b in first.blocks if type(b).__name__ == "FigureBlock"]
    assert len(figures) == 1 and figures[0].data == \
        [b for b in second.blocks if type(b).__name__ == "FigureBlock"][0].data
    assert RENDERERS["h3"] is render_h3


def test_renderer_imports_no_estimator():
    source = Path(__import__("ipnstats.report.h3_section",
                             fromlist=["x"]).__file__).read_text(encoding="utf-8")
    imported = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import)
                 for a in n.names}
    forbidden = ("ipnstats.estimators", "ipnstats.inference", "ipnstats.data", "ipnstats.ipn")
    assert {m for m in imported if m.startswith(forbidden)} == {"ipnstats.ipn.claims"}


def test_wording_follows_the_stored_flags(doc):
    """Each reading's verdict wording comes from a flag the study layer decided."""
    changed = json.loads(json.dumps(doc))
    f = changed["findings"]
    f["senders"].update(supported=False, ols_all_significant=False, ols_significant=3)
    f["curve"]["steepens"] = False
    f["triangulation"]["sources_teach_more"] = False
    text = " ".join(render_h3(Report("H3"), changed).to_typst().split())
    assert "The claim is not supported in full." in text
    assert "only in part (3 of 5 comparisons significant)." in text
    assert "the data do not show a steeper curve with exposure." in text
    assert "the data do not show that sources teach more than experience." in text


def test_singular_and_nonconverged_fits_reach_the_report(h3):
    curve = h3.curve
    stalled = replace(curve, converged=False,
                      notes=curve.notes + ("The optimiser did not converge (L-BFGS-B: "
                                           "stalled); the estimates are those of the lowest "
                                           "deviance found and may be unreliable.",))
    text = render_h3(Report("H3"), stored(replace(h3, curve=stalled))).to_typst()
    assert "did not converge" in text
    sing = replace(curve, notes=curve.notes + ("The firm_id variance is estimated as zero "
                                               "(singular fit): its random intercepts add "
                                               "nothing; consider dropping the group.",))
    text = render_h3(Report("H3"), stored(replace(h3, curve=sing, curve_steps=()))).to_typst()
    assert "firm variance is estimated as zero (singular fit)" in text


def test_unsupported_models_are_reported_not_raised():
    rng = np.random.default_rng(0)
    n = 200
    ex = pd.DataFrame({"receiver_id": rng.integers(0, 20, n).astype(str),
                       "sender_id": rng.integers(0, 20, n).astype(str),
                       "framing": pd.Categorical(rng.choice(["loss", "gain"], n)),
                       "cognitive_shift": rng.normal(5, 1, n)})
    ex["loss"] = (ex["framing"] == "loss").astype(int)
    for col in ("sender_risk_aversion", *OUTWARD):
        ex[col] = 1.0  # no variation
    tasks = pd.DataFrame({"firm_id": np.repeat(np.arange(30), 4).astype(str),
                          "outcome": rng.uniform(5, 10, 120), "n_sources": 1,
                          "cum_experience": np.tile(np.arange(1, 5), 30),
                          "prior_risk_averse": 0.0})
    tasks["log_cum_experience"] = np.log(tasks["cum_experience"])
    tasks["log_n_sources"] = 0.0
    res = fit_h3(ex, tasks, threshold=5)
    assert isinstance(res.senders, Unavailable) and "do not vary" in res.senders.reason
    assert isinstance(res.curve, Unavailable)
    assert isinstance(res.triangulation, Unavailable)
    assert [c.supported for c in h3_claims(res)] == [None, None, None]
    text = render_h3(Report("H3"), stored(res)).to_typst()
    assert text.count("Not testable with these data:") == 3  # each analysis, with its reason
    assert text.count("Not testable with these data") == 6  # and each verdict
