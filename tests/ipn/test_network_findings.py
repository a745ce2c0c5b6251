"""The Network stage (ipn/network_findings.py) and its section (report/network_section.py):
the stored pieces are the general estimators' on the study's frames, the simulator's
truth is recovered (receiver and sender variances, no reciprocity, no peer effect), and
the section renders every piece, withholds what the disclosure rule forbids and says in
one sentence what a study without exchanges cannot show."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import covers_truth

from ipnstats.estimators.srm import social_relations
from ipnstats.ipn.network_findings import PEER_SIZE, fit_network, group_pairs
from ipnstats.pipeline.store import dumps
from ipnstats.report.document import Report, TableBlock, Text
from ipnstats.report.network_section import render_network


@pytest.fixture(scope="module")
def fitted(study):
    return fit_network(study.exchanges, study.firm_year, threshold=5,
                       firms=study.tables["firms"], outcome="log_revenue", seed=3)


@pytest.fixture(scope="module")
def found(fitted) -> dict:
    return json.loads(dumps(fitted[0]))  # as the report reads it back


def _texts(report: Report) -> list[str]:
    return [b.text for b in report.blocks if isinstance(b, Text)]


def test_the_srm_is_social_relations_on_the_group_pairs(study, found, fitted, truth):
    pairs, left_out = group_pairs(study.exchanges, study.firm_year)
    assert found["srm"]["n_exchanges_left_out"] == left_out
    direct = social_relations(pairs, "cognitive_shift", actor="actor", partner="partner",
                              group="group_id", method="reml").tidy().set_index("term")
    stored = fitted[1]["network.srm"].tidy().set_index("term")
    assert np.allclose(stored["estimate"], direct["estimate"])
    assert sum(found["srm"]["shares"].values()) == pytest.approx(1.0)
    # the simulator draws receiver and sender effects independently (SD 0.7 and 0.5)
    for term, key in (("actor_variance", "sd_receiver"), ("partner_variance", "sd_sender")):
        assert covers_truth(stored.loc[term], truth["H3a"][key]["value"] ** 2)
    assert covers_truth(stored.loc["actor_partner_covariance"], 0.0)


def test_position_dyadic_and_peers_are_stored(study, found, fitted):
    pos = found["position"]
    assert pos["n_firm_years"] > 1000 and "exit" in pos
    assert all("group_id=" not in n for n in pos["notes"])
    for claim in ("H2a", "H3a"):
        fits = {f["vcov"]: f for f in found["dyadic"][claim]["fits"]}
        assert fits["two-way"]["estimate"] == fits["dyadic"]["estimate"]
        assert fits["two-way"]["std_error"] != fits["dyadic"]["std_error"]
    joining = found["joining"]["terms"]
    assert set(joining) == {"member", "member_x_central"}
    assert joining["member"]["estimate"] == float(fitted[1]["network.joining"].params["member"])
    peers = found["peers"]
    assert peers["characteristic"] == PEER_SIZE and peers["n_perm"] == 499
    assert 0 < peers["randomization_p"] <= 1
    stored = fitted[1]["network.peers"]
    assert peers["fits"]["corrected"]["estimate"] == float(stored.params["peer_mean"])
    # the example has no peer effect: the corrected estimate covers zero
    assert covers_truth(stored.tidy().set_index("term").loc["peer_mean"], 0.0)


def test_the_section_renders_every_piece(found):
    report = render_network(Report(""), {"findings": found})
    labels = {b.table.label for b in report.blocks if isinstance(b, TableBlock)}
    assert labels == {"network-srm", "network-position", "network-exit", "network-joining",
                      "network-dyadic", "network-peers"}
    said = " ".join(_texts(report))
    assert "of the variation in how much a pair's exchanges teach is the receiver's" in said
    assert "dyadic-robust standard errors are" in said and "_" not in said


def test_disclosure_and_a_study_without_exchanges(found, study):
    small = {**found, "position": {**found["position"], "threshold": 10**6}}
    report = render_network(Report(""), {"findings": small})
    labels = {b.table.label for b in report.blocks if isinstance(b, TableBlock)}
    assert "network-position" not in labels and "network-exit" not in labels
    assert "Not shown: fewer firm-years than the disclosure threshold." in _texts(report)
    none, _ = fit_network(None, study.firm_year, threshold=5, firms=study.tables["firms"],
                          seed=0)
    said = _texts(render_network(Report(""), {"findings": json.loads(dumps(none))}))
    assert said.count("Not testable with these data: the study has no exchanges table.") == 1
