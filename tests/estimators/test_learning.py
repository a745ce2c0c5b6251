"""learning_curve (H3b): the same fit as mixed_model built by hand and as statsmodels
MixedLM, the learning rate, slopes, predictions and plot, the random-effect structures,
recovery of the simulator's truth and bad input."""

import warnings

import numpy as np
import pytest
from scipy import stats

from ipnstats import SpecificationError
from ipnstats.estimators.learning import LearningCurveResult, learning_curve
from ipnstats.estimators.mixed import MixedResult, mixed_model
from ipnstats.figures import learning_plot
from ipnstats.simulate.learning import learning_tasks, learning_truth

X, M, XM = "log(cum_experience)", "exposure", "log(cum_experience):exposure"
TASK = dict(outcome="outcome", experience="cum_experience", unit="firm_id")
# mixed_model's names for learning_curve's terms
RENAME = {"Intercept": "Intercept", "log_x": X, "m": M, "log_x:m": XM,
          "log_n_sources": "log_n_sources"}


@pytest.fixture(scope="module")
def tasks():
    return learning_tasks(n_firms=120, seed=1)


@pytest.fixture(scope="module")
def fit(tasks):
    return learning_curve(tasks, **TASK, moderator="exposure", covariates=("log_n_sources",))


def by_hand_frame(tasks):
    return tasks.assign(log_y=np.log(tasks["outcome"]), log_x=np.log(tasks["cum_experience"]),
                        m=tasks["exposure"])


# ---------------------------------------------------- the model: mixed_model, statsmodels


def test_equals_mixed_model_by_hand(tasks, fit):
    mm = mixed_model(by_hand_frame(tasks), "log_y ~ log_x * m + log_n_sources",
                     groups="firm_id", re_formula="1 + log_x")
    params = mm.params.rename(RENAME)
    se = mm.std_errors.rename(RENAME)
    assert isinstance(fit, LearningCurveResult) and isinstance(fit, MixedResult)
    assert list(fit.params.index) == ["Intercept", X, M, XM, "log_n_sources"]
    assert fit.params.to_numpy() == pytest.approx(params[fit.params.index].to_numpy(),
                                                  rel=1e-8, abs=1e-10)
    assert fit.std_errors.to_numpy() == pytest.approx(se[fit.params.index].to_numpy(),
                                                      rel=1e-8)
    assert fit.fit["loglik"] == pytest.approx(mm.fit["loglik"], rel=1e-8)
    assert fit.residual_variance == pytest.approx(mm.residual_variance, rel=1e-8)
    assert fit.estimator == f"learning curve, {mm.estimator}"
    assert fit.formula == ("log(outcome) ~ log(cum_experience) + exposure + "
                           "log(cum_experience):exposure + log_n_sources + "
                           "(1 + log(cum_experience) | firm_id)")
    assert fit.converged and fit.nobs == len(tasks) and fit.n_units == 120
    assert fit.df_inference is None


def test_agrees_with_statsmodels_mixedlm(tasks, fit):
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm("log_y ~ log_x * m + log_n_sources", by_hand_frame(tasks),
                         groups="firm_id", re_formula="~log_x").fit(reml=True,
                                                                     method=["lbfgs", "nm"])
    assert sm.converged  # the peer reaches its optimum on these data: compare against it
    assert fit.fit["loglik"] == pytest.approx(sm.llf, abs=1e-3)
    theirs = sm.fe_params.rename(RENAME)[fit.params.index].to_numpy()
    assert fit.params.to_numpy() == pytest.approx(theirs, rel=1e-3)
    cov = fit.covariances["firm_id"].to_numpy()
    assert cov == pytest.approx(np.asarray(sm.cov_re), rel=0.02, abs=1e-5)
    assert fit.residual_variance == pytest.approx(sm.scale, rel=1e-3)


# ------------------------------------------------------------- slopes and learning rate


def test_learning_rate_and_slopes(fit):
    b, c = fit.params[X], fit.params[XM]
    cov = fit.cov.loc[[X, XM], [X, XM]].to_numpy()
    at = np.array([0.0, 0.5, 1.7])
    slopes = fit.slopes(at=at)
    se = np.sqrt([cov[0, 0] + 2 * m * cov[0, 1] + m * m * cov[1, 1] for m in at])
    assert slopes["estimate"].to_numpy() == pytest.approx(b + c * at, rel=1e-12)
    assert slopes["std_error"].to_numpy() == pytest.approx(se, rel=1e-10)
    assert slopes["at"].tolist() == at.tolist()
    z = stats.norm.ppf(0.975)
    assert slopes["conf_low"].to_numpy() == pytest.approx(b + c * at - z * se, rel=1e-10)
    rate = fit.learning_rate(at=at)
    assert rate["learning_rate"].to_numpy() == pytest.approx(2.0 ** (b + c * at), rel=1e-12)
    assert rate["conf_low"].to_numpy() == pytest.approx(2.0 ** slopes["conf_low"].to_numpy())
    assert rate["conf_high"].to_numpy() == pytest.approx(2.0 ** slopes["conf_high"].to_numpy())
    assert (rate["conf_low"] < rate["learning_rate"]).all()
    assert (rate["learning_rate"] < rate["conf_high"]).all()
    assert rate["slope"].to_numpy() == pytest.approx(slopes["estimate"].to_numpy())
    assert rate["p_value"].to_numpy() == pytest.approx(slopes["p_value"].to_numpy())
    # 90% intervals are narrower
    narrow = fit.learning_rate(at=at, conf_level=0.9)
    assert (narrow["conf_low"] > rate["conf_low"]).all()
    # default: the moderator's 10th and 90th percentiles over the estimation rows
    default = fit.learning_rate()
    assert default["at"].to_numpy() == pytest.approx(
        np.quantile(fit.moderator_values, [0.1, 0.9]))
    assert default["term"].str.endswith(("(10th pct)", "(90th pct)")).all()


def test_predictions_and_plot(fit):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    pred = fit.predictions(at=[0.0, 1.0], n_points=11)
    assert len(pred) == 22 and pred["label"].nunique() == 2
    assert pred["experience"].min() == fit.experience_range[0] == 1.0
    row = pred.iloc[-1]  # at exposure 1, largest experience, log_n_sources at 0
    lx = np.log(fit.experience_range[1])
    log_pred = (fit.params["Intercept"] + fit.params[X] * lx + fit.params[M]
                + fit.params[XM] * lx)
    assert row["estimate"] == pytest.approx(np.exp(log_pred), rel=1e-10)
    assert row["conf_low"] < row["estimate"] < row["conf_high"]
    fig = learning_plot(fit)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes[0].lines) == 2
    finally:
        plt.close(fig)


def test_linear_form_has_no_learning_rate(tasks):
    res = learning_curve(tasks, **TASK, form="linear")
    assert res.experience_term == "cum_experience" and res.form == "linear"
    assert res.formula.startswith("outcome ~ cum_experience + (1 + cum_experience | firm_id)")
    with pytest.raises(ValueError, match="form='log_linear'"):
        res.learning_rate()
    assert len(res.slopes()) == 1  # no moderator: one slope
    with pytest.raises(ValueError, match="no moderator"):
        res.slopes(at=1.0)


# ------------------------------------------------------------------ random effects


def test_diagonal_and_intercept_only(tasks):
    diag = learning_curve(tasks, **TASK, moderator="exposure", re_cov="diagonal")
    assert "(1 + log(cum_experience) || firm_id)" in diag.formula
    assert diag.structures["firm_id"] == "diagonal"
    assert diag.covariances["firm_id"].iloc[0, 1] == 0.0
    assert "cor__" not in " ".join(diag.tidy(effects="ran_pars")["term"])
    mm = mixed_model(by_hand_frame(tasks), "log_y ~ log_x * m", groups="firm_id",
                     re_formula="1 + log_x", re_cov="diagonal")
    assert diag.fit["loglik"] == pytest.approx(mm.fit["loglik"], rel=1e-8)
    flat = learning_curve(tasks, **TASK, moderator="exposure", random_slopes=False)
    assert flat.formula.endswith("+ (1 | firm_id)")
    assert list(flat.covariances["firm_id"].index) == ["(Intercept)"]
    mm = mixed_model(by_hand_frame(tasks), "log_y ~ log_x * m", groups="firm_id")
    assert flat.fit["loglik"] == pytest.approx(mm.fit["loglik"], rel=1e-8)
    assert flat.params[XM] == pytest.approx(mm.params["log_x:m"], rel=1e-7)


# ------------------------------------------------------------------------ recovery


def test_recovers_learning_truth():
    """Every coefficient of learning_truth() in its 95% interval on one large frame
    (fixed seed 7, the first tried); repeated-sampling coverage is in
    test_h3_simulation.py."""
    truth = learning_truth()
    tasks = learning_tasks(n_firms=400, seed=7)
    res = learning_curve(tasks, **TASK, moderator="exposure", covariates=("log_n_sources",))
    tidy = res.tidy().set_index("term")
    for term, key in [("Intercept", "intercept"), (X, "log_cum_experience"),
                      (M, "exposure"), (XM, "log_cum_experience_x_exposure"),
                      ("log_n_sources", "log_n_sources")]:
        row = tidy.loc[term]
        assert row["conf_low"] < truth[key] < row["conf_high"], (term, row, truth[key])
    sd = res.variance_components().set_index("term")["std_dev"]
    assert sd["(Intercept)"] == pytest.approx(truth["sd_firm"], abs=0.05)
    assert sd[""] == pytest.approx(truth["sd_residual"], abs=0.02)
    assert sd[X] == pytest.approx(truth["random_slope_sd"], abs=0.05)
    assert res.converged


def test_second_start_writes_no_warning():
    """A fit whose second start (lme4's, scaled by 0.1) meets infinite deviances: their
    central differences are NaN, silently (the power replicate that printed numpy's
    "invalid value encountered in subtract": H3Design, seed 4, effect -0.06, rep 6)."""
    from ipnstats import H3Design

    stream = np.random.SeedSequence(4).spawn(4)[2].spawn(20)[6]
    tasks = H3Design(parameter="learning_curve").simulate(-0.06, np.random.default_rng(stream))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = learning_curve(tasks, **TASK, moderator="exposure", covariates=("log_n_sources",))
    row = res.tidy().set_index("term").loc[XM]
    assert res.converged and not res.singular
    assert row["estimate"] == pytest.approx(-0.0623014, abs=1e-6)
    assert row["std_error"] == pytest.approx(0.0250713, abs=1e-6)


# --------------------------------------------------------------------------- errors


def test_errors(tasks):
    bad = tasks.copy()
    bad.loc[[3, 7], "outcome"] = [0.0, -1.0]
    with pytest.raises(SpecificationError,
                       match=r"'outcome' has 2 value\(s\) <= 0.*row 3: 0, row 7: -1"):
        learning_curve(bad, **TASK)
    assert learning_curve(bad, **TASK, form="linear").nobs == len(tasks)
    # the rows are the user's, also when rows with a missing value are left out
    bad = tasks.copy()
    bad.loc[0, "exposure"] = np.nan
    bad.loc[5, "outcome"] = 0.0
    with pytest.raises(SpecificationError, match=r"1 value\(s\) <= 0.*\(row 5: 0\)"):
        learning_curve(bad, **TASK, moderator="exposure")
    # every firm's first task at experience 0 (the frame's row 0 left out: labels kept)
    first = tasks.assign(cum_experience=tasks["cum_experience"] - 1).iloc[1:]
    with pytest.raises(SpecificationError,
                       match=r"'cum_experience' has 119 value\(s\) <= 0.*\(row 7: 0, "):
        learning_curve(first, **TASK)
    with pytest.raises(SpecificationError, match="'nope'"):
        learning_curve(tasks, **TASK, moderator="nope")
    with pytest.raises(SpecificationError, match="'sources'"):
        learning_curve(tasks, **TASK, covariates=("sources",))
    with pytest.raises(SpecificationError, match="collinear.*learning slope is not identified"):
        learning_curve(tasks.assign(m=0.5), **TASK, moderator="m")
    with pytest.raises(SpecificationError, match="form must be"):
        learning_curve(tasks, **TASK, form="quadratic")
    with pytest.raises(SpecificationError, match="re_cov must be"):
        learning_curve(tasks, **TASK, re_cov="block")
    missing = tasks.copy()
    missing.loc[[1, 2], "exposure"] = np.nan
    res = learning_curve(missing, **TASK, moderator="exposure")
    assert res.nobs == len(tasks) - 2
    assert any(f"2 of {len(tasks):,} tasks have a missing value" in n for n in res.notes)
    assert isinstance(res.moderator_values, np.ndarray) and res.moderator_values.size == res.nobs
    assert np.isfinite(res.experience_range).all()
