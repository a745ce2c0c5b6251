"""The H2 analyses on the bundled example study against its truth.toml, and the H2
report section: readings, the Johnson-Neyman figure, claims, and models the data
cannot support."""


import numpy as np
import pandas as pd
import pytest

from ipnstats.ipn.claims import Unavailable
from ipnstats.report import Report
from ipnstats.report.h2_section import fit_h2, h2_section


@pytest.fixture(scope="module")
def h2(study):
    return fit_h2(study.exchanges, threshold=study.codebook.disclosure_threshold, n_boot=499)


def _covers(row, value):
    return row["conf_low"] <= value <= row["conf_high"]


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
