"""Regression and descriptives tables: numbers, options, peers' results, disclosure control."""

import json

import pandas as pd
import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats import Cluster, panel_regression
from ipnstats.ipn.labels import ID_LABELS, UNIT_LABEL
from ipnstats.tables import MANAGEMENT_STARS, regression_table
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.format import default_label, fmt_number, fmt_p, star_for, star_legend


@pytest.fixture(scope="module")
def study():
    return ipnstats.load_study(EXAMPLE)


@pytest.fixture(scope="module")
def two_models(study):
    fy = study.firm_year
    fe = panel_regression(fy, "log_revenue ~ member + log_employees", unit="firm_id",
                          time="year", vcov=Cluster("firm_id"))
    pooled = panel_regression(fy, "log_revenue ~ member + age", unit="firm_id", time="year",
                              estimator="pooled", vcov="hc1")
    return fe, pooled


def test_formatting_helpers():
    assert fmt_number(-0.0004, 3) == "0.000" and fmt_number(-1234.5, 1) == "-1,234.5"
    assert fmt_number(float("nan")) == "" and fmt_number(None) == ""
    assert fmt_p(0.0004) == "<.001" and fmt_p(0.0412) == ".041"
    assert star_for(0.04, MANAGEMENT_STARS) == "*" and star_for(0.07, MANAGEMENT_STARS) == "†"
    assert star_for(0.0001, MANAGEMENT_STARS) == "***" and star_for(0.2, MANAGEMENT_STARS) == ""
    assert star_legend(MANAGEMENT_STARS) == "† p<.10, * p<.05, ** p<.01, *** p<.001"
    labels = {"member": "IPN member", "industry": "Industry"}
    assert default_label("member:log_employees", labels) == "IPN member × log_employees"
    assert default_label("C(industry)[T.retail]", labels) == "Industry = retail"
    assert default_label("year::2010", labels) == "year = 2010"
    assert default_label("Intercept", labels) == "Constant"


def test_table_holds_each_models_numbers(two_models, study):
    fe, pooled = two_models
    table = regression_table([fe, pooled], labels=study.codebook)
    frame = table.to_frame()
    assert list(frame.columns) == ["(1)", "(2)"]
    member = frame.loc["IPN member"]
    for col, res in zip(["(1)", "(2)"], [fe, pooled], strict=True):
        p = res.tidy().set_index("term").loc["member", "p_value"]
        stars = "***" if p < .001 else "**" if p < .01 else "*" if p < .05 else ""
        assert member[col] == f"{res.params['member']:.3f}{stars}"
    se_rows = frame.iloc[[1]]  # the row under "IPN member"
    assert se_rows.iloc[0, 0] == f"({fe.std_errors['member']:.3f})"
    # missing coefficient: age only in model 2, log_employees only in model 1
    assert frame.loc["age", "(1)"] == "" and frame.loc["Log(1 + employees)", "(2)"] == ""
    assert frame.loc["Firm fixed effects"].tolist() == ["Yes", "No"]
    assert frame.loc["Year fixed effects"].tolist() == ["Yes", "No"]
    assert frame.loc["Standard errors"].tolist() == ["Clustered (Firm)", "HC1"]
    assert frame.loc["Observations"].tolist() == [f"{fe.nobs:,}", f"{pooled.nobs:,}"]
    assert frame.loc["R² within", "(1)"] == f"{fe.fit['r2_within']:.3f}"
    assert frame.index[-1] == "R² within"  # pooled has no within R²; no empty pseudo-R² row
    assert list(frame.index).index("Constant") < list(frame.index).index("Firm fixed effects")


def test_statsmodels_and_linearmodels_results_in_the_same_table(study):
    import statsmodels.formula.api as smf

    lm = pytest.importorskip("linearmodels")
    fy = study.firm_year.dropna(subset=["log_revenue", "log_employees"])
    ours = panel_regression(fy, "log_revenue ~ member + log_employees", unit="firm_id",
                            time="year", vcov=Cluster("firm_id"))
    ols = smf.ols("log_revenue ~ member + log_employees", fy).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(fy["firm_id"])[0]})
    panel = lm.PanelOLS.from_formula(
        "log_revenue ~ member + log_employees + EntityEffects + TimeEffects",
        fy.set_index(["firm_id", "year"])).fit(cov_type="clustered", cluster_entity=True)
    table = regression_table({"ipnstats": ours, "statsmodels": ols, "linearmodels": panel},
                             stats=("nobs", "n_units", "n_clusters", "r2", "r2_within"))
    coefs = table.coefficients.set_index(["model", "term"])
    for name, params, se in [("ipnstats", ours.params, ours.std_errors),
                             ("statsmodels", ols.params, ols.bse),
                             ("linearmodels", panel.params, panel.std_errors)]:
        for term in ("member", "log_employees"):
            assert coefs.loc[(name, term), "estimate"] == pytest.approx(params[term], rel=1e-12)
            assert coefs.loc[(name, term), "std_error"] == pytest.approx(se[term], rel=1e-12)
    frame = table.to_frame()
    assert frame.loc["member", "statsmodels"].startswith(f"{ols.params['member']:.3f}")
    assert frame.loc["member", "linearmodels"].startswith(f"{panel.params['member']:.3f}")
    assert frame.loc["Constant", "statsmodels"].startswith(f"{ols.params['Intercept']:.3f}")
    assert frame.loc["Observations"].tolist() == [f"{len(fy):,}"] * 3
    assert frame.loc["Firms", "linearmodels"] == "600"
    assert frame.loc["Clusters", "statsmodels"] == "600"
    assert frame.loc["Firm fixed effects"].tolist() == ["Yes", "No", "Yes"]
    assert frame.loc["R²", "statsmodels"] == f"{ols.rsquared:.3f}"
    assert frame.loc["R² within", "linearmodels"] == f"{panel.rsquared_within:.3f}"
    assert frame.loc["Standard errors"].tolist() == ["Clustered (Firm)", "Clustered",
                                                     "Clustered"]


def test_keep_drop_order_show_and_stars(two_models):
    fe, pooled = two_models
    table = regression_table([fe, pooled], keep=["member", "age"], order=["age"],
                             show="conf_int", stars=MANAGEMENT_STARS,
                             model_names=["FE", "Pooled"], title="Membership and revenue")
    assert table.terms == ("age", "member")
    tidy = fe.tidy().set_index("term")
    text = table.to_text()
    assert f"[{tidy.loc['member', 'conf_low']:.3f}, {tidy.loc['member', 'conf_high']:.3f}]" in text
    assert "95% confidence intervals in brackets. † p<.10" in " ".join(table.as_table().notes)
    assert regression_table(fe, drop=["log"]).terms == ("member",)
    none = regression_table(fe, stars=False).as_table()
    assert all(c.marks == "" for r in none.rows for c in r.cells)
    with pytest.raises(ValueError, match="show must be"):
        regression_table(fe, show="se")
    with pytest.raises(TypeError, match="cannot read a dict"):
        regression_table([{"a": 1}])


def test_time_dummies_hidden_unless_kept(study):
    re = panel_regression(study.firm_year, "log_revenue ~ member", unit="firm_id", time="year",
                          estimator="random", panel_effects=("unit", "time"))
    assert any(t.startswith("year::") for t in re.params.index)
    table = regression_table(re, labels=ID_LABELS, unit_label=UNIT_LABEL)
    assert table.terms == ("member", "Intercept")
    assert table.to_frame().loc["Year fixed effects"].tolist() == ["Yes"]
    assert "year::2010" in regression_table(re, keep=["year::"]).terms


def test_to_dict_is_json_with_raw_numbers(two_models):
    fe, pooled = two_models
    data = regression_table([fe, pooled]).to_dict()
    text = json.dumps(data)
    back = json.loads(text)
    member = [c for c in back["coefficients"] if c["term"] == "member" and c["model"] == "(1)"][0]
    assert list(member) == ["model", "term", "label", "estimate", "std_error", "statistic",
                            "p_value", "conf_low", "conf_high"]
    assert member["conf_high"] == pytest.approx(fe.tidy().set_index("term").loc["member",
                                                                               "conf_high"])
    assert member["estimate"] == fe.params["member"]
    assert member["std_error"] == pytest.approx(fe.std_errors["member"], rel=1e-15)
    assert back["statistics"][1]["r2_within"] is None


def test_descriptives_numbers(study):
    fy = study.firm_year
    table = descriptives_table(fy, ["log_revenue", "member", "trust"], unit="firm_id",
                               labels=study.codebook,
                               reliability=study.reliability)
    s = table.summary.set_index("variable")
    assert s.loc["log_revenue", "mean"] == pytest.approx(fy["log_revenue"].mean())
    assert s.loc["trust", "n"] == fy["trust"].notna().sum()
    assert table.correlations.loc["trust", "log_revenue"] == pytest.approx(
        fy[["trust", "log_revenue"]].dropna().corr().iloc[0, 1])
    from scipy import stats

    pair = fy[["trust", "log_revenue"]].dropna()
    assert table.p_values.loc["trust", "log_revenue"] == pytest.approx(
        stats.pearsonr(pair["trust"], pair["log_revenue"]).pvalue, rel=1e-8)
    frame_text = table.to_text()
    alpha = study.reliability.set_index("scale").loc["trust", "alpha"]
    assert f"({alpha:.2f})" in frame_text and "3. Trust" in frame_text


def test_descriptives_suppress_cells_below_threshold(hand_study):
    study = ipnstats.load_study(hand_study)
    fy = study.firm_year[study.firm_year["firm_id"] != "F4"]  # trust now from 2 firms
    assert fy.loc[fy["trust"].notna(), "firm_id"].nunique() == 2
    table = descriptives_table(fy, ["log_revenue", "member", "trust"], unit="firm_id",
                               labels=study.codebook)
    assert table.threshold == study.codebook.disclosure_threshold == 3
    assert table.summary.set_index("variable").loc["trust", "suppressed"]
    assert table.suppressed_pairs().loc["trust", "log_revenue"]
    trust = fy["trust"].dropna()
    secret = [f"{trust.mean():.2f}", f"{trust.min():.2f}", f"{trust.max():.2f}",
              f"{trust.std():.2f}"]
    t = table.as_table()
    trust_row = [r for r in t.rows if r.cells[0].text.endswith("trust")][0]
    assert [c.text for c in trust_row.cells[1:6]] == ["—"] * 5
    assert all(c.notes == ("a",) for c in trust_row.cells[1:6])
    assert trust_row.cells[6].notes == ("a",) and trust_row.cells[7].notes == ("a",)
    assert any("fewer than 3 firms" in n for n in t.notes)
    row_text = table.to_text().splitlines()
    line = [ln for ln in row_text if "3. trust" in ln][0]
    assert not any(s in line for s in secret)
    # the same variables over all five firms: nothing suppressed, no footnote
    full = descriptives_table(study.firm_year, ["log_revenue", "trust"], unit="firm_id",
                              threshold=3)
    assert not full.summary["suppressed"].any()
    assert not any("fewer than" in n for n in full.as_table().notes)
