"""The study's selection model (ipn/selection_model.py): the growth rows are the balance
check's firms and reference years with the outcome's change over the horizon, the
least-squares and endogenous-treatment fits are the general estimators' on those rows, an
instrument enters the joining equation only, and with a valid instrument the model
recovers an effect that selection on an unobservable biases least squares away from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from conftest import covers_truth

from ipnstats.estimators.treatment_effects import treatment_effects
from ipnstats.ipn.balance import firm_reference_rows
from ipnstats.ipn.selection_model import HORIZON, growth_rows, selection_findings
from ipnstats.report.selection_section import selection_reading, selection_table

COVS = ["age", "log_employees"]
TAU = 0.15


def test_growth_rows_are_the_reference_rows_with_the_change_over_the_horizon(study):
    fy = study.firm_year
    rows = growth_rows(fy, COVS, "log_revenue")
    ref = firm_reference_rows(fy, COVS).set_index("firm_id")
    level = fy.set_index(["firm_id", "year"])["log_revenue"]
    for r in rows.sample(25, random_state=0).itertuples():
        assert ref.loc[r.firm_id, "reference_year"] == r.reference_year
        assert r.growth == level[(r.firm_id, r.reference_year + HORIZON)] \
            - level[(r.firm_id, r.reference_year)]
    assert len(rows) + rows.attrs["n_without_later_year"] == len(ref)


def test_findings_are_the_general_estimators_on_the_growth_rows(study):
    fy = study.firm_year
    found, fitted = selection_findings(fy, COVS, outcome="log_revenue")
    json.dumps(found)  # JSON-ready
    rows = growth_rows(fy, COVS, "log_revenue")
    least = smf.ols("growth ~ joiner + age + log_employees", data=rows).fit(cov_type="HC1")
    assert found["ols"]["estimate"] == least.params["joiner"]
    assert found["ols"]["std_error"] == least.bse["joiner"]
    model = treatment_effects(rows, "growth ~ joiner + age + log_employees",
                              "joiner ~ age + log_employees", method="ml")
    assert found["endogenous"]["estimate"] == model.params["joiner"]
    assert found["rho"] == model.glance()["rho"].iloc[0]
    assert found["n_joiners"] + found["n_never"] == len(rows)
    assert fitted["selection.endogenous"].params.equals(model.params)
    assert found["instruments"] == [] and "functional form" in selection_reading(found)


def _selected_panel(rng: np.random.Generator, n: int = 3000) -> tuple[pd.DataFrame, float]:
    """Firms 2010-2016; those joining (in 2013) have a larger unobserved ``u`` that also
    adds 0.1 a year to their growth; ``z`` moves joining only."""
    years = np.arange(2010, 2017)
    z, u, age0 = rng.normal(size=n), rng.normal(size=n), rng.integers(1, 30, n)
    join = 0.9 * z + 0.6 * u + rng.normal(size=n) > 0.3
    rows = pd.DataFrame({"firm_id": np.repeat(np.arange(n), years.size),
                         "year": np.tile(years, n),
                         "cohort": np.repeat(np.where(join, 2013, 0), years.size)})
    t = rows["year"].to_numpy() - 2010
    member = (rows["cohort"] > 0) & (rows["year"] >= rows["cohort"])
    rows["age"] = np.repeat(age0, years.size) + t
    rows["log_employees"] = np.repeat(rng.normal(size=n), years.size)
    rows["z"] = np.repeat(z, years.size)
    trend = 0.1 * np.repeat(u, years.size) * t
    rows["log_revenue"] = (np.repeat(rng.normal(size=n), years.size) + trend
                           + TAU * member + rng.normal(scale=0.05, size=t.size))
    return rows, TAU


def test_an_instrument_recovers_the_effect_that_selection_biases():
    fy, tau = _selected_panel(np.random.default_rng(22))
    found, fitted = selection_findings(fy, COVS, outcome="log_revenue", instruments=["z"])
    model = fitted["selection.endogenous"]
    assert "z" not in model.params.index and "treatment::z" in model.params.index
    assert found["instruments"] == ["z"]
    # least squares absorbs the joiners' faster growth; the model does not
    assert found["ols"]["conf_low"] > tau
    assert covers_truth(model.tidy().set_index("term").loc["joiner"], tau)
    assert found["rho"] > 0 and found["rho_test"]["p_value"] < 0.001
    assert "overstate" in selection_reading(found)
    table = selection_table(found, "log_revenue")
    assert "Instruments, in the joining equation only: z." in table.notes[0]


def test_an_unknown_instrument_is_reported_not_raised(study):
    found, fitted = selection_findings(study.firm_year, COVS, outcome="log_revenue",
                                       instruments=["km_to_group"])
    assert fitted == {}
    assert "km_to_group" in found["model"]["unavailable"]
