"""The H2 analyses on the bundled example study against its truth.toml (the study layer,
:mod:`ipnstats.ipn.h2`), and the H2 report section rendered from the stored stage
document (:mod:`ipnstats.report.h2_section`): readings, the Johnson-Neyman figure,
claims, and models the data cannot support."""

import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import covers_truth

from ipnstats.figures import moderation_jn_plot
from ipnstats.figures.save import figure_bytes
from ipnstats.ipn.claims import Claim, Unavailable, claims_to_json
from ipnstats.ipn.h2 import H2_RULE, fit_h2, h2_checks, h2_claims, h2_findings
from ipnstats.pipeline.store import dumps
from ipnstats.report import Report
from ipnstats.report.h2_section import LABELS, render_h2
from ipnstats.report.sections import RENDERERS
from ipnstats.results.stored import frame_from_json

RENDERER = Path(render_h2.__code__.co_filename)


def stored(res) -> dict:
    """The H2 stage document of fitted results, as ``ipnstats report`` reads it back."""
    return json.loads(dumps({"stage": "h2", "findings": h2_findings(res),
                             "claims": claims_to_json(h2_claims(res))}))


def h2_section(report: Report, res) -> Report:
    return render_h2(report, stored(res))


@pytest.fixture(scope="module")
def h2(study):
    return fit_h2(study.exchanges, threshold=study.codebook.disclosure_threshold, n_boot=499)


def _covers(row, value):
    return covers_truth(row, value)  # 99.9%: one draw (see conftest.covers_truth)


def test_framing_effects_cover_the_truth(h2, truth):
    for model in h2.framing[:2]:  # crossed random effects, receiver fixed effects
        tidy = model.tidy().set_index("term")
        assert _covers(tidy.loc["framing::loss"], truth["H2a"]["loss"]["value"])


@pytest.mark.parametrize("which", [0, 1], ids=["random", "fixed"])
def test_neutral_framing_covers_the_truth(h2, truth, which):
    tidy = h2.framing[which].tidy().set_index("term")
    assert _covers(tidy.loc["framing::neutral"], truth["H2a"]["neutral"]["value"])


def test_cognition_to_behavior_covers_the_truth(h2, truth):
    tidy = h2.behavior.tidy().set_index("term")
    t = truth["H2b"]
    for term, key in (("Intercept", "intercept"), ("cognitive_shift", "cognitive_shift"),
                      ("loss", "loss"), ("cognitive_shift:loss", "cognitive_shift_x_loss")):
        assert _covers(tidy.loc[term], t[key]["value"]), term
    slopes = h2.behavior.simple_slopes().query("scale == 'log-odds'").set_index("w")
    assert _covers(slopes.loc[0.0], t["slope_not_loss"]["value"])
    assert _covers(slopes.loc[1.0], t["slope_loss"]["value"])


def test_loss_aversion_moderation_covers_the_truth(h2, truth):
    t = truth["H2c"]
    tidy = h2.loss_aversion.tidy().set_index("term")
    assert _covers(tidy.loc["loss:receiver_loss_aversion"],
                   t["loss_x_receiver_loss_aversion"]["value"])
    assert _covers(tidy.loc["receiver_loss_aversion"], t["receiver_loss_aversion"]["value"])
    # the loss effect at the exchange frame's mean loss aversion is H2a's loss effect
    centre = t["receiver_loss_aversion_centre"]["value"]
    at = h2.loss_aversion.simple_slopes(at=[centre]).iloc[0]
    assert _covers(at, truth["H2a"]["loss"]["value"])
    # PROCESS model 7's first stage is the same equation
    paths = h2.process.paths().set_index(["equation", "term"])
    row = paths.loc[("cognitive_shift", "loss:receiver_loss_aversion")]
    assert _covers(row, t["loss_x_receiver_loss_aversion"]["value"])
    idx = h2.process.index_of_moderated_mediation().iloc[0]
    assert idx["conf_low"] > 0  # loss aversion amplifies the indirect effect


def test_question_patterns_cover_the_truth(h2, truth):
    t = truth["H2d"]
    tidy = h2.questions.tidy().set_index("term")
    assert _covers(tidy.loc["cramers_v"], t["cramers_v"]["value"])
    assert _covers(tidy.loc["mean_count"], t["mean_n_questions"]["value"])
    for term in [x for x in tidy.index if x.startswith("count: ") and "Intercept" not in x]:
        assert _covers(tidy.loc[term], t["n_questions_sender_effect"]["value"]), term


@pytest.fixture(scope="module")
def section(h2):
    return h2_section(Report("H2"), h2).to_typst()


def test_section_reads_and_judges_every_claim(section):
    for heading in ("H2a: framing and cognition", "H2b: from cognition to behavior",
                    "H2c: the receiver's loss aversion", "H2d: question types and numbers",
                    "What the data say about H2"):
        assert heading in section
    assert section.count("Reading:") >= 5
    assert "Johnson-Neyman" in section and "Index of moderated mediation" in section
    for code in ("H2a", "H2b", "H2c", "H2d"):
        assert code in section
    # on the example every H2 claim is supported (the simulated truth says so)
    assert section.count("Supported") >= 4 and "Not supported" not in section


def test_unsupported_models_are_reported_not_raised():
    rng = np.random.default_rng(0)
    n = 300
    ex = pd.DataFrame({"receiver_id": rng.integers(0, 30, n).astype(str),
                       "sender_id": rng.integers(0, 30, n).astype(str),
                       "framing": pd.Categorical(rng.choice(["loss", "gain"], n)),
                       "cognitive_shift": rng.normal(5, 1, n), "question_type": "operations",
                       "n_questions": 3, "sender_industry": "retail",
                       "receiver_loss_aversion": 4.0})
    ex["loss"] = (ex["framing"] == "loss").astype(int)
    ex["behavior_change"] = (rng.random(n) < 0.3).astype(int)
    res = fit_h2(ex, threshold=5, n_boot=50)
    assert isinstance(res.loss_aversion, Unavailable)
    assert "no variation" in res.loss_aversion.reason
    assert isinstance(res.questions, Unavailable)
    text = h2_section(Report("H2"), res).to_typst()
    assert "Not testable with these data" in text and "no variation" in text


# -- the study layer: claims, checks and findings ----------------------------------------

def test_claims_and_checks_on_the_example(h2):
    claims = h2_claims(h2)
    assert [c.code for c in claims] == ["H2a", "H2b", "H2c", "H2d"]
    assert all(isinstance(c, Claim) and c.supported for c in claims)
    loss = h2.framing[0].tidy().set_index("term").loc["framing::loss"]
    assert claims[0].p_value == pytest.approx(loss["p_value"] / 2)  # one-sided, positive
    assert claims[0].evidence.startswith(
        f"loss – gain {loss['estimate']:.3f} (95% CI ".replace("-", "\u2212"))
    checks = h2_checks(h2)
    assert [c.code for c in checks] == ["H2a", "H2c", "H2d"]
    assert all(0 <= c.p_value <= 1 for c in checks)


def _json_ready(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_ready(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_ready(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_findings_are_json_ready_and_carry_the_wording_flags(h2):
    f = h2_findings(h2)
    assert _json_ready(f) and f["rule"] == H2_RULE
    assert f["framing"]["loss"]["significant"] is True
    assert f["behavior"]["interaction"]["significant"] is True
    assert f["loss_aversion"]["index_excludes_zero"] is True
    assert f["questions"]["supported"] is True and f["questions"]["counts_differ"] is False
    # the stored frames read back as the fitted ones
    slopes = frame_from_json(f["behavior"]["slopes"])
    pd.testing.assert_frame_equal(slopes, h2.behavior.simple_slopes(), check_dtype=False)


# -- the renderer: stored document in, report blocks out -------------------------------

def test_rendering_twice_gives_the_same_blocks(h2):
    doc = stored(h2)
    first, second = render_h2(Report("H2"), doc), render_h2(Report("H2"), doc)
    assert first.blocks == second.blocks
    assert RENDERERS["h2"] is render_h2


def test_johnson_neyman_figure_of_stored_frames_is_the_results_plot(h2):
    doc = stored(h2)
    figure = next(b for b in render_h2(Report("H2"), doc).blocks
                  if type(b).__name__ == "FigureBlock")
    # the same figure as the live result's, with the labels the report gives its axes
    live = moderation_jn_plot(h2.loss_aversion, labels=LABELS)
    assert figure.data == figure_bytes(live, "svg")
    assert live.axes[0].get_xlabel() == "Receiver loss aversion"
    assert live.axes[0].get_ylabel() == "Conditional effect of loss framing"


def test_flags_choose_the_wording(h2):
    doc = stored(h2)
    f = doc["findings"]
    f["framing"]["loss"]["significant"] = False
    f["behavior"]["interaction"]["significant"] = False
    f["loss_aversion"]["index_excludes_zero"] = False
    f["questions"].update(counts_differ=True, supported=False)
    text = render_h2(Report("H2"), doc).to_typst()
    for wording in ("The data do not show that loss framing teaches more.",
                    "not significant, so the claim is not supported.",
                    "includes zero: the moderation of the indirect effect is not established",
                    "but the number of questions differs across sender industries",
                    "The claim is not supported in full."):
        assert wording in text


def test_renderer_imports_no_estimator_and_no_fitting():
    # its own imports (the import-linter contract checks the layers; ``import ipnstats``
    # itself still loads the estimators and the data layer eagerly)
    tree = ast.parse(RENDERER.read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m and m.startswith("ipnstats")}
    assert not {m for m in ours if m.startswith(("ipnstats.estimators", "ipnstats.inference",
                                                 "ipnstats.data"))}
    assert {m for m in ours if m.startswith("ipnstats.ipn")} <= {"ipnstats.ipn.claims"}


def test_stored_unavailable_analysis_renders_its_reason():
    doc = {"findings": {"rule": H2_RULE, **{name: {"unavailable": "the study has no "
                                                                   "exchanges table"}
                                            for name in ("framing", "behavior",
                                                         "loss_aversion", "questions")}},
           "claims": claims_to_json([Claim(c, "claim", "the study has no exchanges table",
                                           math.nan, None) for c in ("H2a", "H2b")])}
    text = render_h2(Report("H2"), json.loads(dumps(doc))).to_typst()
    assert text.count("Not testable with these data: the study has no exchanges table.") == 4
