"""Which questions receivers ask of which senders, and how many (H2d).

``question_patterns`` tests both halves of the claim on the exchange frame: the *type*
of question depends on the sender's type (association in a contingency table), while
the *number* does not and sits near three (Poisson quasi-likelihood and equivalence).

Notes
-----
Association. Pearson's X² of the sender-type x question-type table, df (R-1)(C-1).
A simulated p-value draws ``n_sim`` tables with both margins fixed (row by row,
hypergeometric cell draws: the law of permuting one column) and is
``(1 + #{X²* >= X²}) / (n_sim + 1)``, as R's ``chisq.test(simulate.p.value = TRUE)``.
Cramér's V is ``sqrt(X² / (n (min(R, C) - 1)))``; Bergsma's (2013) bias-corrected V
replaces ``phi² = X²/n`` by ``max(0, phi² - (R-1)(C-1)/(n-1))`` and R, C by
``R - (R-1)²/(n-1)``, ``C - (C-1)²/(n-1)``. Adjusted residuals
``(O - E) / sqrt(E (1 - r/n)(1 - c/n))`` are standard normal under independence.
Exchanges of the same receiver are not independent: the X² p-values assume they are
(too small when receivers have habits); the interval for V resamples receivers with
all their exchanges (percentile bootstrap).

Number of questions. Poisson quasi-ML of ``count`` on sender-type dummies (first level
the reference) is consistent for the conditional mean whatever the dispersion; its
sandwich is clustered by receiver (:func:`~ipnstats.estimators.glm.fit_poisson` and
:class:`~ipnstats.estimators.glm.MLEngine`, normal law). The fixed-effects variant
concentrates out one intercept per receiver (conditional Poisson, Hausman, Hall &
Griliches 1984): the estimates of Poisson with receiver dummies, and scores
``(x - xbar_g)(y - mu)`` (``xbar_g`` the mu-weighted receiver means) whose sandwich
is exactly the dummy model's coefficient block. Cluster
factor (``ssc``): ``"stata"`` (default) ``G/(G-1)``, Stata
``poisson, vce(cluster)``; ``"statsmodels"`` ``G/(G-1) (n-1)/(n-K)``, statsmodels'
``cov_type="cluster"``, K counting the reported coefficients only (receiver intercepts
are nested in the clusters, as in fixest); ``with_vcov(Cluster(receiver,
adjust=False))`` gives none (statsmodels ``use_correction=False``).

The mean count has the clustered standard error ``sqrt(G/(G-1) sum_g e_g²) / n``
(``e_g`` receiver g's summed deviations; Stata ``mean, vce(cluster)``) and the t(G-1)
law. Equivalence (TOST, Schuirmann 1987): ``p_low`` tests mean <= expected - margin,
``p_high`` mean >= expected + margin; the TOST p is the larger, and the mean is
equivalent when it is below ``1 - conf_level``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.deprecation import renamed, renamed_classes
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.estimators.glm import Adjustment, MLEngine, adjustment_ssc, fit_poisson
from ipnstats.estimators.linear import Absorbed
from ipnstats.inference.sandwich import cluster_factor, cluster_sums
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import TIDY_COLUMNS, WaldTest, check_conf_level, one_sided_p
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import SSC, Cluster, parse_ssc

PValue = Literal["auto", "asymptotic", "simulated", "exact"]
ALMOST_ONE = 1 - 64 * np.finfo(float).eps  # R's tolerance for X²* >= X²
DISPERSION_BAND = (0.8, 1.25)  # a Pearson dispersion outside this band gets a note


@dataclass(frozen=True, slots=True)
class Association:
    """Sender type x question type: table, X² test, Cramér's V and residuals.

    ``table`` holds counts (rows sender types, columns question types); ``method`` says
    how ``p_value`` was found (``"asymptotic"``, ``"simulated"``, ``"exact"``);
    ``p_asymptotic`` is the chi-squared(df) p-value whatever the method; ``std_error``,
    ``conf_low`` and ``conf_high`` are the receiver-bootstrap SD and percentile interval
    of ``cramers_v``; ``shares`` are question-type shares per sender type (rows sum to
    one); ``residuals`` adjusted residuals (above 2: asked more of that sender type than
    independence predicts).
    """

    table: pd.DataFrame
    statistic: float
    df: int
    p_value: float
    method: str
    p_asymptotic: float
    cramers_v: float
    cramers_v_corrected: float
    std_error: float
    conf_low: float
    conf_high: float
    shares: pd.DataFrame
    residuals: pd.DataFrame


@dataclass(frozen=True, slots=True)
class MeanCount:
    """Mean count, its clustered t(df) interval and the TOST equivalence test.

    ``statistic`` and ``p_value`` are the TOST's: the one-sided t and p (``p_low`` or
    ``p_high``) with the larger p-value.
    """

    estimate: float
    std_error: float
    df: int
    conf_low: float
    conf_high: float
    expected: float
    margin: float
    p_low: float
    p_high: float
    statistic: float
    p_value: float
    equivalent: bool
    conclusion: str


@dataclass(frozen=True, repr=False)
class QuestionPatternsResult(TidyDisplay):
    """What ``question_patterns`` found: association of types, and counts.

    Attributes
    ----------
    association
        The contingency table, X² test, Cramér's V, shares and residuals.
    counts, counts_fe
        Poisson QML of the count on sender-type dummies, without and with receiver
        fixed effects (ipnstats Results: ``with_vcov`` re-chooses their covariance).
    sender_test, sender_test_fe
        Wald chi-squared tests that all sender-type effects are zero.
    dispersion
        Pearson dispersion ``sum (y - mu)² / mu / (n - K)`` of ``counts``.
    mean
        Mean count with its clustered interval and the TOST.
    nobs, n_receivers, n_missing
        Exchanges used, receivers (clusters), rows left out for missing values.
    conf_level, seed, n_sim, n_boot
        Interval level, seed (None for a Generator), tables simulated (0 when the
        p-value was not simulated) and bootstrap draws.
    notes
        Missing rows, simulated p-values, dispersion, in plain words.
    """

    association: Association
    counts: Result
    counts_fe: Result
    sender_test: WaldTest
    sender_test_fe: WaldTest
    dispersion: float
    mean: MeanCount
    nobs: int
    n_receivers: int
    n_missing: int
    conf_level: float
    seed: int | None
    n_sim: int
    n_boot: int
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """The broom columns, one row per quantity.

        Rows: ``chi2``; ``cramers_v`` (bootstrap SE and interval, X² p-value);
        ``cramers_v_corrected``; ``mean_count`` (clustered SE and interval, TOST
        statistic and p-value); ``count: <term>`` and ``count_fe: <term>`` (Poisson
        coefficients); ``sender_effects`` and ``sender_effects_fe`` (Wald chi-squared).
        """
        a, m, nan = self.association, self.mean, np.nan
        rows = [("chi2", a.statistic, nan, a.statistic, a.p_value, nan, nan),
                ("cramers_v", a.cramers_v, a.std_error, nan, a.p_value, a.conf_low,
                 a.conf_high),
                ("cramers_v_corrected", a.cramers_v_corrected, nan, nan, a.p_value, nan, nan),
                ("mean_count", m.estimate, m.std_error, m.statistic, m.p_value, m.conf_low,
                 m.conf_high),
                ("sender_effects", nan, nan, self.sender_test.statistic,
                 self.sender_test.p_value, nan, nan),
                ("sender_effects_fe", nan, nan, self.sender_test_fe.statistic,
                 self.sender_test_fe.p_value, nan, nan)]
        models = [r.tidy(self.conf_level).assign(term=lambda d, p=p: p + ": " + d["term"])
                  for p, r in (("count", self.counts), ("count_fe", self.counts_fe))]
        frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
        return pd.concat([frame[:4], *models, frame[4:]], ignore_index=True)

    def glance(self) -> pd.DataFrame:
        """One row: sample, X² test (``chi2_*``), V, dispersion, the Wald test of sender
        effects without receiver effects (``wald_*``) and the TOST (``tost_p_value``)."""
        a, m, t = self.association, self.mean, self.sender_test
        return pd.DataFrame([{
            "nobs": self.nobs, "n_receivers": self.n_receivers, "n_missing": self.n_missing,
            "n_sender_types": a.table.shape[0], "n_question_types": a.table.shape[1],
            "chi2": a.statistic, "chi2_df": a.df, "chi2_p_value": a.p_value,
            "chi2_method": a.method, "cramers_v": a.cramers_v,
            "cramers_v_corrected": a.cramers_v_corrected, "dispersion": self.dispersion,
            "wald_statistic": t.statistic, "wald_df": t.df_num, "wald_p_value": t.p_value,
            "mean_count": m.estimate, "expected": m.expected, "margin": m.margin,
            "tost_p_value": m.p_value, "equivalent": m.equivalent, "conclusion": m.conclusion,
            "conf_level": self.conf_level, "seed": self.seed, "n_sim": self.n_sim,
            "n_boot": self.n_boot}])


# --- association ---------------------------------------------------------------------------

def chi2_statistic(tables: np.ndarray) -> np.ndarray:
    """Pearson X² of a table or of a stack of tables (last two axes); empty cells add 0."""
    t = np.asarray(tables, float)
    n = t.sum(axis=(-2, -1))[..., None, None]
    e = t.sum(axis=-1, keepdims=True) * t.sum(axis=-2, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, (t - e) ** 2 / e, 0.0).sum(axis=(-2, -1))


def cramers_v(tables: np.ndarray, corrected: bool = False) -> np.ndarray:
    """Cramér's V of a table or a stack of tables; ``corrected``: Bergsma's (2013).

    R and C count the non-empty rows and columns.
    """
    t = np.asarray(tables, float)
    n = t.sum(axis=(-2, -1))
    r, c = (t.sum(axis=-1) > 0).sum(axis=-1), (t.sum(axis=-2) > 0).sum(axis=-1)
    phi2 = chi2_statistic(t) / n
    if corrected:
        phi2 = np.maximum(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
        r, c = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(phi2 / (np.minimum(r, c) - 1))


def adjusted_residuals(table: np.ndarray) -> np.ndarray:
    """Standardized Pearson residuals ``(O - E) / sqrt(E (1 - r/n)(1 - c/n))``."""
    t = np.asarray(table, float)
    n, r, c = t.sum(), t.sum(axis=1, keepdims=True), t.sum(axis=0, keepdims=True)
    e = r * c / n
    return (t - e) / np.sqrt(e * (1 - r / n) * (1 - c / n))


def random_tables(row_sums: np.ndarray, col_sums: np.ndarray, size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``size`` tables with fixed margins, as from permuting one column of the data.

    Row by row, each cell is a hypergeometric draw of the row's remaining total from
    its column's remaining total against the later columns' (vectorised over tables).
    """
    left = np.tile(np.asarray(col_sums, np.int64), (size, 1))
    out = np.zeros((size, len(row_sums), left.shape[1]), np.int64)
    for i, total in enumerate(row_sums[:-1]):
        need = np.full(size, int(total))
        for j in range(left.shape[1] - 1):
            out[:, i, j] = rng.hypergeometric(left[:, j], left[:, j + 1:].sum(axis=1), need)
            need -= out[:, i, j]
        out[:, i, -1] = need
        left -= out[:, i]
    out[:, -1] = left
    return out


def simulated_p_value(table: np.ndarray, n_sim: int, rng: np.random.Generator) -> float:
    """Monte Carlo p-value of X² with both margins fixed (R ``simulate.p.value``)."""
    t = np.asarray(table, np.int64)
    sims = random_tables(t.sum(axis=1), t.sum(axis=0), n_sim, rng)
    return (1 + int((chi2_statistic(sims) >= ALMOST_ONE * chi2_statistic(t)).sum())) / (n_sim + 1)


def bootstrap_v(rows: np.ndarray, cols: np.ndarray, clusters: np.ndarray, shape: tuple[int, int],
                n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Cramér's V of ``n_boot`` tables of resampled clusters (all their rows)."""
    n_r, n_c = shape
    g = int(clusters.max()) + 1
    per = np.bincount((clusters * n_r + rows) * n_c + cols, minlength=g * n_r * n_c)
    draws = rng.multinomial(g, np.full(g, 1 / g), size=n_boot)
    return cramers_v((draws @ per.reshape(g, n_r * n_c)).reshape(n_boot, n_r, n_c))


def _p_value(table: np.ndarray, choice: PValue, n_sim: int, rng) -> tuple[float, str, tuple]:
    """The p-value asked for, its method, and a note when ``"auto"`` simulated it."""
    if choice == "exact":
        if table.shape != (2, 2):
            raise SpecificationError(
                "p_value='exact' is Fisher's test of a 2 x 2 table; this table is "
                f"{table.shape[0]} x {table.shape[1]}: use p_value='simulated'")
        return float(stats.fisher_exact(table).pvalue), "exact", ()
    low = int((np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum() < 5).sum())
    if choice == "simulated" or (choice == "auto" and low):
        note = (Note("p_value_method",
            f"{low} of {table.size} expected counts are below 5: the X² p-value is "
            f"simulated from {n_sim:,} tables with fixed margins."),)
        note = note if choice == "auto" else ()
        return simulated_p_value(table, n_sim, rng), "simulated", note
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    return float(stats.chi2.sf(chi2_statistic(table), df)), "asymptotic", ()


def association(rows, cols, clusters, levels, choice: PValue, n_sim: int, n_boot: int,
                conf_level: float, rng) -> tuple[Association, tuple[str, ...]]:
    """Table, X² test, V with its receiver-bootstrap interval, shares and residuals."""
    shape = (len(levels[0]), len(levels[1]))
    table = np.bincount(rows * shape[1] + cols, minlength=shape[0] * shape[1]).reshape(shape)
    frame = pd.DataFrame(table, index=levels[0], columns=levels[1])
    x2, df = float(chi2_statistic(table)), (shape[0] - 1) * (shape[1] - 1)
    p, method, notes = _p_value(table, choice, n_sim, rng)
    boot = bootstrap_v(rows, cols, clusters, shape, n_boot, rng)
    low, high = np.nanquantile(boot, [(1 - conf_level) / 2, (1 + conf_level) / 2])
    return Association(
        table=frame, statistic=x2, df=df, p_value=p, method=method,
        p_asymptotic=float(stats.chi2.sf(x2, df)), cramers_v=float(cramers_v(table)),
        cramers_v_corrected=float(cramers_v(table, corrected=True)),
        std_error=float(np.nanstd(boot, ddof=1)) if n_boot > 1 else np.nan,
        conf_low=float(low), conf_high=float(high), shares=frame.div(frame.sum(axis=1), axis=0),
        residuals=pd.DataFrame(adjusted_residuals(table), index=levels[0], columns=levels[1]),
    ), notes


# --- number of questions -------------------------------------------------------------------

def _dispersion_note(phi: float) -> tuple[str, ...]:
    if DISPERSION_BAND[0] <= phi <= DISPERSION_BAND[1]:
        return ()
    kind, se = ("under", "too large") if phi < 1 else ("over", "too small")
    return (Note("overdispersion",
        f"The counts are {kind}-dispersed (Pearson dispersion {phi:.2f}): Poisson "
        f"model-based standard errors would be {se}; the cluster-robust sandwich "
        "standard errors reported do not assume the Poisson variance."),)


def count_model(data: pd.DataFrame, kept: np.ndarray, y: np.ndarray, X: np.ndarray,
                names: list[str], clusters: np.ndarray, fe: bool, labels: tuple[str, ...],
                adjustment: Adjustment, ssc: SSC | None = None) -> tuple[Result, float]:
    """Poisson QML of the count on ``X`` (receiver effects when ``fe``), its dispersion."""
    count, sender_type, receiver = labels
    notes: tuple[str, ...] = ()
    if fe and (none := np.bincount(clusters, weights=y)[clusters] == 0).any():
        notes = (Note("no_variation_dropped",
            f"{int(none.sum()):,} exchanges of receivers who never ask a question add "
            "nothing to the fixed-effects Poisson and were left out of it."),)
        X, y, kept, clusters = X[~none], y[~none], kept[~none], pd.factorize(clusters[~none])[0]
    fit, mu = fit_poisson(X, y, clusters if fe else None)
    n, g = len(y), int(clusters.max()) + 1
    k = X.shape[1] + (g if fe else 0)
    engine = MLEngine(fit.scores, fit.bread, data, kept, np.arange(X.shape[1]),
                      adjustment_ssc(adjustment, "none") if ssc is None else ssc,
                      absorbed=(Absorbed(receiver, clusters, g),) if fe else (),
                      absorbed_df=g if fe else 0)
    inf = engine.compute(Cluster(receiver))
    index = pd.Index(names)
    phi = float(((y - mu) ** 2 / mu).sum() / (n - k))
    return Result(
        params=pd.Series(fit.beta, index=index), vcov=Cluster(receiver), df_inference=None,
        cov=pd.DataFrame(inf.cov, index=index, columns=index),
        estimator="Poisson QML" + (" (receiver fixed effects)" if fe else ""), outcome=count,
        nobs=n, formula=f"{count} ~ C({sender_type})" + (f" | {receiver}" if fe else ""),
        n_units=g, n_clusters=inf.n_clusters, fixed_effects=(receiver,) if fe else (),
        fit={"loglik": fit.loglik, "aic": 2 * k - 2 * fit.loglik,
             "bic": k * np.log(n) - 2 * fit.loglik}, extra={"dispersion": phi},
        notes=notes + fit.notes, inference_notes=inf.notes, engine=engine), phi


def mean_equivalence(y: np.ndarray, clusters: np.ndarray, expected: float, margin: float,
                     conf_level: float) -> MeanCount:
    """Mean with a cluster-robust t(G-1) interval and TOST equivalence to ``expected``."""
    n, g, m = len(y), int(clusters.max()) + 1, float(y.mean())
    e = cluster_sums((y - m)[:, None], clusters, g)[:, 0]
    se, df = float(np.sqrt(cluster_factor(g, n, 1, adj=False) * (e @ e)) / n), g - 1
    crit = stats.t.ppf((1 + conf_level) / 2, df)
    t_low, t_high = (m - expected + margin) / se, (m - expected - margin) / se
    p_low = float(one_sided_p(t_low, df, "greater"))
    p_high = float(one_sided_p(t_high, df, "less"))
    p = max(p_low, p_high)
    claim = f"equivalent to {expected:g} within ±{margin:g}"
    return MeanCount(m, se, df, m - crit * se, m + crit * se, expected, margin, p_low, p_high,
                     t_low if p_low >= p_high else t_high, p, p < 1 - conf_level,
                     claim if p < 1 - conf_level else f"not shown {claim}")


# --- entry point ---------------------------------------------------------------------------

@renamed(exchanges="data", count="outcome", cluster_adjustment="ssc")
def question_patterns(data: pd.DataFrame, *, question: str = "question_type",
                      sender_type: str = "sender_industry", outcome: str = "n_questions",
                      receiver: str = "receiver_id", expected: float = 3.0,
                      margin: float = 0.5, p_value: PValue = "auto", n_sim: int = 2000,
                      conf_level: float = 0.95, n_boot: int = 999,
                      seed: Seed = 0,
                      ssc: SSC | Adjustment | None = None) -> QuestionPatternsResult:
    """Do receivers ask different types, but the same number, of questions? (H2d)

    Formulas and conventions are in the module notes. Exchanges of the same receiver
    are not independent: the X² p-value assumes they are, while the interval for V,
    the Poisson standard errors and the mean's interval are clustered by receiver.

    Parameters
    ----------
    data
        One row per exchange (``Study.exchanges``).
    question, sender_type, outcome, receiver
        Question-type, sender-type, number-of-questions (formerly ``count=``) and
        receiver columns; rows
        with a missing value in any of them are left out and counted in the notes.
    expected, margin
        The equivalence claim: the mean count lies within ``expected ± margin``.
    p_value
        ``"auto"`` (asymptotic unless an expected count is below 5, then simulated),
        ``"asymptotic"``, ``"simulated"`` or ``"exact"`` (Fisher, 2 x 2 tables only).
    n_sim, n_boot
        Tables drawn for a simulated p-value; receiver-bootstrap draws for V.
    conf_level
        Level of the intervals; the TOST tests at ``1 - conf_level``.
    seed
        An int or a numpy Generator for the simulated p-value and the bootstrap.
    ssc
        Small-sample corrections of the Poisson covariances (:class:`ipnstats.SSC`; fixest's
        ``ssc``), or the former ``cluster_adjustment=`` choices ``"stata"`` (default,
        ``G/(G-1)``) or ``"statsmodels"`` (``G/(G-1) (n-1)/(n-K)``).

    Returns
    -------
    QuestionPatternsResult
        ``association``, ``counts``/``counts_fe`` (Poisson Results), ``sender_test``,
        ``mean`` (with the TOST), ``tidy()`` and ``glance()``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ex = pd.DataFrame({"receiver_id": rng.integers(0, 40, 600),
    ...                    "sender_industry": rng.choice(["retail", "transport"], 600),
    ...                    "n_questions": 1 + rng.binomial(4, 0.5, 600)})
    >>> asked = np.where(ex["sender_industry"] == "retail", "marketing", "operations")
    >>> ex["question_type"] = np.where(rng.random(600) < 0.5, asked, "finance")
    >>> res = question_patterns(ex, n_boot=199)
    >>> res.association.table.shape
    (2, 3)
    >>> round(res.association.cramers_v, 2), res.mean.conclusion
    (0.72, 'equivalent to 3 within ±0.5')
    """
    _check_options(p_value, n_sim, n_boot, expected, margin,
                   ssc if isinstance(ssc, str) else "stata")
    conf_level = check_conf_level(conf_level)
    labels = (question, sender_type, outcome, receiver)
    require_columns(data, labels, "column")
    frame, kept, notes = _sample(data, labels)
    rng = as_generator(seed)
    codes = {c: pd.factorize(frame[c], sort=True) for c in (question, sender_type, receiver)}
    rows, cols, clusters = codes[sender_type][0], codes[question][0], codes[receiver][0]
    levels = (list(codes[sender_type][1]), list(codes[question][1]))
    assoc, p_notes = association(rows, cols, clusters, levels, p_value, n_sim, n_boot,
                                 conf_level, rng)
    y = frame[outcome].to_numpy(float)
    D = (rows[:, None] == np.arange(1, len(levels[0]))[None, :]).astype(float)
    terms = [f"{sender_type}::{v}" for v in levels[0][1:]]
    adjustment, ssc = (ssc, None) if isinstance(ssc, str) else ("stata", parse_ssc(ssc, None))
    rest = ((outcome, sender_type, receiver), adjustment, ssc)
    pooled, phi = count_model(data, kept, y, np.column_stack([np.ones(len(y)), D]),
                              ["Intercept", *terms], clusters, False, *rest)
    within, _ = count_model(data, kept, y, D, terms, clusters, True, *rest)
    return QuestionPatternsResult(
        association=assoc, counts=pooled, counts_fe=within,
        sender_test=pooled.wald_test(terms), sender_test_fe=within.wald_test(terms),
        dispersion=phi, mean=mean_equivalence(y, clusters, expected, margin, conf_level),
        nobs=len(frame), n_receivers=int(clusters.max()) + 1,
        n_missing=len(data) - len(frame), conf_level=conf_level,
        seed=recorded_seed(seed),
        n_sim=n_sim if assoc.method == "simulated" else 0, n_boot=n_boot,
        notes=notes + p_notes + _dispersion_note(phi))


def _check_options(p_value, n_sim, n_boot, expected, margin, adjustment) -> None:
    if p_value not in ("auto", "asymptotic", "simulated", "exact"):
        raise SpecificationError("p_value must be 'auto', 'asymptotic', 'simulated' or "
                                 f"'exact', got {p_value!r}")
    for name, value in (("n_sim", n_sim), ("n_boot", n_boot)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise SpecificationError(f"{name} must be a whole number >= 1, got {value!r}")
    if not np.isfinite(expected) or not (np.isfinite(margin) and margin > 0):
        raise SpecificationError("expected must be finite and margin positive, got "
                                 f"expected={expected!r}, margin={margin!r}")
    if adjustment not in ("stata", "statsmodels"):
        raise SpecificationError("ssc must be 'stata' or 'statsmodels', got "
                                 f"{adjustment!r}")


def _sample(data: pd.DataFrame, labels) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...]]:
    """Complete rows, their positions in ``data``, and a note on those left out."""
    question, sender_type, count, _ = labels
    frame = data[list(labels)].reset_index(drop=True)
    complete = frame.notna().all(axis=1).to_numpy()
    frame = frame[complete]
    notes = (Note("missing_dropped",
        f"{int((~complete).sum()):,} of {len(complete):,} exchanges miss one of "
        f"{', '.join(labels)} and were left out."),) if not complete.all() else ()
    for col in (question, sender_type):
        values = list(frame[col].unique())
        if len(values) < 2:
            raise SpecificationError(
                f"{col!r} has {len(values)} level(s) {values} among the complete rows: an "
                "association needs at least two; pass another column")
    y = frame[count]
    if not pd.api.types.is_numeric_dtype(y):
        raise SpecificationError(f"count column {count!r} must hold whole numbers, got "
                                 f"dtype {y.dtype}")
    bad = (y < 0) | (y != np.floor(y))
    if bad.any():
        raise SpecificationError(f"count column {count!r} must hold whole numbers >= 0; "
                                 f"{int(bad.sum()):,} rows do not (e.g. {y[bad].iloc[0]!r})")
    if not (y > 0).any():
        raise SpecificationError(f"count column {count!r} is 0 in every complete row")
    if frame[labels[3]].nunique() < 2:
        raise SpecificationError(f"receiver column {labels[3]!r} has fewer than two receivers: "
                                 "clustered standard errors need at least two")
    return frame, np.flatnonzero(complete), notes


__all__ = ["Association", "MeanCount", "QuestionPatternsResult", "question_patterns"]

__getattr__ = renamed_classes(__name__, globals(), {"QuestionPatterns": "QuestionPatternsResult"})
