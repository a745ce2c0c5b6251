"""The cross-check harness itself: one description of a design for both generators,
deterministic data, outcome statuses, campaign counts and exit code."""

import io

import numpy as np
import pytest

from .campaign import case, summarize
from .design import RANGES, Design, draw
from .outcome import Checker
from .registry import FAMILIES


def test_draw_is_deterministic_and_covers_the_ranges():
    a, b = draw(np.random.default_rng([0, 3]), 7), draw(np.random.default_rng([0, 3]), 7)
    assert a == b and a.frame().equals(b.frame())
    seen = {name: set() for name in RANGES}
    rng = np.random.default_rng(1)
    for i in range(300):
        d = draw(rng, i)
        for name in RANGES:
            seen[name].add(getattr(d, name))
    for name, spec in RANGES.items():
        expected = set(range(spec[0], spec[1] + 1)) if all(type(v) is int for v in spec) \
            and len(spec) == 2 else set(spec)
        assert seen[name] == expected, name


def test_the_design_has_its_edge_cases():
    d = Design(seed=5, n_units=6, n_periods=4, gap_share=0.3, n_singletons=2, n_x=2,
               collinear=True, constant=True, scale=1e6, categorical=True, shuffle=True)
    f = d.frame()
    counts = f.groupby("u").size()
    assert (counts == 1).sum() >= 2 and len(f) < 8 * 4
    assert np.allclose(f["xc"], f["x1"] + f["x2"]) and (f["k"] == 1.5).all()
    assert not f["u"].is_monotonic_increasing
    assert d.formula() == "y ~ x1 + x2 + xc + k + C(cat)"


def test_campaign_cases_follow_the_registry():
    names = list(FAMILIES)
    for i in range(2 * len(names)):
        name, design = case(0, i, names)
        assert name == names[i % len(names)] and case(0, i, names)[1] == design
    did = case(0, names.index("did_cs"), names)[1]
    assert did.gap_share == 0.0 and did.n_singletons == 0 and did.n_periods >= 3


def test_checker_statuses():
    c = Checker("f", "d")
    c.close("se", [1.0], [1.0 + 1e-9])
    assert c.outcome().status == "agree"
    c.close("se", [1.0], [1.1], convention="named: a documented convention")
    assert c.outcome().status == "convention"
    c.close("se", [1.0], [1.1])
    assert c.outcome().status == "disagree"
    c.run("x", lambda: [][1])
    assert c.outcome().status == "raw_error" and "IndexError" in c.outcome().details[0]


@pytest.mark.parametrize("status, code", [("agree", 0), ("convention", 0), ("refused", 0),
                                          ("disagree", 1), ("raw_error", 1), ("timeout", 1)])
def test_summary_exit_code(status, code):
    rows = [{"i": 0, "family": "f", "design": "D", "status": status, "details": ["why"],
             "conventions": [], "n_compared": 1}]
    out = io.StringIO()
    assert summarize(rows, 1.0, out) == code
    assert "designs" in out.getvalue()
