"""The Callaway-Sant'Anna pre-trend test (issue 20): well conditioned by default, never an
ill-conditioned statistic without a note, and on the example the test the report quotes."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

import ipnstats
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.did.result import COND_LIMIT, conditioned_wald
from ipnstats.ipn.claims import Unavailable
from ipnstats.ipn.h1 import PANEL
from ipnstats.ipn.h1_findings import h1_checks

EXAMPLE_LEADS = (2.537968849180852, 4, 0.6378500317289981)  # chi2, df, p: the report's


@pytest.fixture(scope="module")
def example():
    fy = ipnstats.load_study("data/example").firm_year
    cs = ipnstats.participation_effect(fy, outcome="log_revenue", **PANEL, n_boot=0)
    return fy, cs


def test_default_is_the_event_leads_on_the_example(example):
    _, cs = example
    test = cs.pretrend_test()
    assert (test.statistic, test.df_num, test.p_value) == pytest.approx(EXAMPLE_LEADS,
                                                                        rel=1e-10)
    assert test.hypothesis == "event-time effects -4 to -1 = 0"
    # why the leads: the cells' covariance, with its condition number and rank
    assert "91 pre-treatment ATT(g,t)" in test.note and "tested instead" in test.note
    assert re.search(r"condition number 1\.1e\+09", test.note)
    assert "rank 84" in test.note


def test_example_agrees_with_the_report(example):
    """The report's falsification check is h1_checks' on the fitted event study."""
    fy, cs = example
    es = ipnstats.event_study(fy, outcome="log_revenue", **PANEL, window=(-4, 6), n_boot=0)
    res = SimpleNamespace(event=es, heterogeneity=Unavailable("not needed here"),
                          outcome="log_revenue")
    reported = h1_checks(res)[0]
    test = cs.pretrend_test()
    assert reported.evidence == f"chi2({test.df_num}) = {test.statistic:.2f}" == \
        "chi2(4) = 2.54"
    assert reported.p_value == pytest.approx(test.p_value, rel=1e-10)
    assert f"{test.p_value:.3f}" == "0.638"


def test_ill_conditioned_cells_carry_a_note(example):
    _, cs = example
    cells = cs.pretrend_test(by="cells")
    assert cells.hypothesis == "all pre-treatment ATT(g,t) = 0"
    assert "condition number 1.1e+09" in cells.note and "rank 84" in cells.note
    assert cells.df_num == 84  # the generalized inverse's rank, not 91
    every = cs.pretrend_test(by="event", earliest=None)
    assert every.df_num == 13 and every.note == ""


def test_conditioned_wald_full_rank_equals_the_ordinary_wald():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 4))
    cov, b = a.T @ a / 6, rng.normal(size=4)
    test = conditioned_wald(b, cov, "b = 0", "estimates")
    assert test.statistic == pytest.approx(float(b @ np.linalg.solve(cov, b)), rel=1e-10)
    assert test.df_num == 4 and test.note == ""


def test_conditioned_wald_drops_near_null_directions_with_a_note():
    cov = np.diag([1.0, 0.5, 1.0 / COND_LIMIT / 10])
    test = conditioned_wald(np.array([1.0, 1.0, 1e-3]), cov, "b = 0", "estimates")
    assert test.df_num == 2 and test.statistic == pytest.approx(3.0)
    assert "rank 2" in test.note and "condition number 1.0e+07" in test.note


def test_bad_by_is_a_clear_error(example):
    with pytest.raises(SpecificationError, match="'auto', 'cells' or 'event'"):
        example[1].pretrend_test(by="leads")
