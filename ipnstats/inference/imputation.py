"""Multiple imputation by chained equations: m completed data sets, and fits pooled
over them.

:func:`impute` fills the missing values of numeric columns m times, each data set from
its own chain (as R mice: m chains of ``n_iter`` cycles over the incomplete columns, the
one with the fewest missing values first). Each incomplete column is drawn from a
regression on the other model columns:

- ``method="pmm"``: statsmodels' ``MICEData`` (OLS with Gaussian-perturbed
  coefficients, then predictive mean matching among ``k_pmm`` donors);
- ``method="norm"``: Bayesian linear regression (mice's ``norm``, Rubin 1987 p. 167):
  sigma drawn from its scaled inverse chi-squared posterior, coefficients from their
  normal posterior, then a normal draw around the prediction. Written with numpy; fast
  enough for Monte-Carlo studies.

Predictors are the numeric columns used in the model: the imputed ones and the complete
ones (``columns=None``: every numeric column is used and every incomplete one imputed).
With ``unit=`` (e.g. a firm id) two sets of predictors are added, from the current
completed values and recomputed before each draw: the unit means of the other model
columns (the "cluster means" approach to two-level data of Enders, Mistler and Keller
2016, mice's group-mean predictors ``2l.groupmean``), and the imputed column's own mean
over the other rows of the unit (standing in for its random intercept: a firm's
other years inform its missing year). This keeps between-unit differences in the
imputed values, which a single-level imputation shrinks towards the grand mean; it is
an approximation of a two-level imputation model (no random slopes), and needs clusters
of more than one row. Columns outside the model are carried along unchanged.

:func:`with_imputations` fits a function on each completed data set and pools the fits
by Rubin's rules (:func:`~ipnstats.inference.pooling.pool`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.core.seeds import Seed, as_generator, check_seed, recorded_seed
from ipnstats.inference.pooling import PooledResult, pool

Method = Literal["pmm", "norm"]
#: Ridge mice adds to X'X in ``norm`` (a fraction of its diagonal).
RIDGE = 1e-5


@dataclass(frozen=True, repr=False)
class Imputations:
    """m completed data sets (:func:`impute`); iterate, index or ``len()`` them.

    Attributes
    ----------
    datasets
        The completed frames, each with the input's rows, columns and index.
    imputed
        The columns whose missing values were filled.
    n_missing
        Missing values per imputed column in the input.
    method, seed, unit, n_iter
        How they were made (``seed`` is None for a Generator).
    """

    datasets: tuple[pd.DataFrame, ...]
    imputed: tuple[str, ...]
    n_missing: tuple[int, ...]
    method: str
    seed: int | None
    unit: str | None = None
    n_iter: int = 10

    def __len__(self) -> int:
        return len(self.datasets)

    def __getitem__(self, i: int) -> pd.DataFrame:
        return self.datasets[i]

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter(self.datasets)

    def __repr__(self) -> str:
        return (f"<Imputations: m={len(self)}, method={self.method}, "
                f"imputed {dict(zip(self.imputed, self.n_missing, strict=True))}>")

    def missing(self) -> pd.DataFrame:
        """One row per imputed column: column, n_missing, share_missing."""
        n = len(self.datasets[0]) if self.datasets else 0
        return pd.DataFrame({"column": list(self.imputed), "n_missing": list(self.n_missing),
                             "share_missing": [k / n for k in self.n_missing] if n else []})


def impute(data: pd.DataFrame, *, m: int = 5, seed: Seed = 0,
           columns: Sequence[str] | None = None, method: Method = "pmm",
           unit: str | None = None, n_iter: int = 10, k_pmm: int = 5) -> Imputations:
    """m completed copies of ``data`` by chained equations (see the module docstring).

    Parameters
    ----------
    data
        The frame with missing values.
    m
        Number of imputed data sets (at least 2).
    seed
        An int (recorded) or a numpy Generator; each chain gets its own stream.
    columns
        The numeric columns of the imputation model; the incomplete ones are imputed.
        None: every numeric (or boolean) column except ``unit``.
    method
        ``"pmm"`` (statsmodels ``MICEData``, predictive mean matching) or ``"norm"``
        (Bayesian linear regression, mice's ``norm``).
    unit
        A column identifying clusters (e.g. ``"firm_id"``): the unit means of the
        other model columns and the imputed column's mean over the unit's other rows
        become predictors.
    n_iter
        Cycles of each chain (mice's ``maxit``).
    k_pmm
        Donors of predictive mean matching (mice's ``donors``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "y": [1.2, np.nan, 2.9, 4.1, np.nan, 6.2]})
    >>> imp = impute(df, m=3, seed=1, method="norm")
    >>> len(imp), bool(imp[0].y.notna().all())
    (3, True)
    """
    _check_impute(data, m, seed, method, unit, n_iter, k_pmm)
    model_cols = _model_columns(data, columns, unit)
    frame = data[model_cols].astype(float)
    targets = [c for c in model_cols if frame[c].isna().any()]
    if frame.isna().all(axis=1).any():
        raise SpecificationError("some rows miss every column of the imputation model; drop "
                                 "them or add complete predictors")
    groups = None if unit is None else pd.factorize(data[unit])[0]
    streams = np.random.SeedSequence(as_generator(seed).integers(2**63)).spawn(m)
    chain = _chain_pmm if method == "pmm" else _chain_norm
    sets = []
    for stream in streams:
        filled = chain(frame, targets, groups, n_iter, k_pmm, np.random.default_rng(stream))
        out = data.copy()
        for c in targets:
            out[c] = filled[c].to_numpy()
        sets.append(out)
    return Imputations(tuple(sets), tuple(targets),
                       tuple(int(frame[c].isna().sum()) for c in targets), method,
                       recorded_seed(seed), unit, n_iter)


def with_imputations(data: pd.DataFrame, fit: Callable[[pd.DataFrame], object], *,
                     m: int = 5, seed: Seed = 0, dfcom: float | None = None,
                     imputer: Callable[[pd.DataFrame, int, Seed], Sequence[pd.DataFrame]]
                     | None = None, **impute_options) -> PooledResult:
    """Impute ``data`` m times, ``fit(df)`` on each completed frame, pool by Rubin's rules.

    Parameters
    ----------
    data
        The frame with missing values.
    fit
        Any function of one frame returning a result with ``tidy()`` (or a DataFrame
        with ``estimate`` and ``std_error``), e.g.
        ``lambda df: panel_regression(df, "y ~ x", unit="firm_id", time="year")``.
    m, seed
        Number of imputations and the seed (recorded on the pooled result when an int).
    dfcom
        Complete-data df (:func:`~ipnstats.inference.pooling.pool`).
    imputer
        Another imputer: a callable ``imputer(data, m, seed)`` returning m completed
        frames; None uses :func:`impute` with ``impute_options`` (``columns``,
        ``method``, ``unit``, ``n_iter``, ``k_pmm``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ipnstats import panel_regression
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"firm_id": np.repeat(range(20), 3), "year": np.tile(range(3), 20),
    ...                    "x": rng.normal(size=60)})
    >>> df["y"] = 0.5 * df.x + rng.normal(size=60)
    >>> df.loc[::5, "x"] = np.nan
    >>> pooled = with_imputations(
    ...     df, lambda d: panel_regression(d, "y ~ x", unit="firm_id", time="year",
    ...                                    estimator="pooled"),
    ...     m=5, seed=1, columns=["x", "y"], unit="firm_id", method="norm")
    >>> list(pooled.tidy().term), pooled.m, pooled.dfcom
    (['Intercept', 'x'], 5, 58.0)
    """
    if not callable(fit):
        raise SpecificationError(f"fit must be a function of one DataFrame; got {fit!r}")
    if imputer is None:
        sets = list(impute(data, m=m, seed=seed, **impute_options))
    elif impute_options:
        raise SpecificationError(f"{sorted(impute_options)} are options of impute(); with "
                                 "imputer= give them to your imputer")
    else:
        sets = _from_imputer(imputer, data, m, seed)
    return pool([fit(df) for df in sets], dfcom=dfcom, seed=recorded_seed(seed))


def _from_imputer(imputer, data, m, seed) -> list[pd.DataFrame]:
    if not callable(imputer):
        raise SpecificationError(f"imputer must be a callable (data, m, seed); got {imputer!r}")
    sets = list(imputer(data, m, seed))
    if len(sets) != m or not all(isinstance(s, pd.DataFrame) for s in sets):
        raise SpecificationError(f"the imputer must return {m} DataFrames; it returned "
                                 f"{len(sets)} objects")
    return sets


def _check_impute(data, m, seed, method, unit, n_iter, k_pmm) -> None:
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    if not isinstance(m, int) or isinstance(m, bool) or m < 2:
        raise SpecificationError(f"m must be an integer of at least 2; got {m!r}")
    check_seed(seed)
    if method not in ("pmm", "norm"):
        raise SpecificationError(f"method must be 'pmm' or 'norm'; got {method!r}")
    if unit is not None and unit not in data.columns:
        raise SpecificationError(f"unit column {unit!r} is not in the data")
    if unit is not None and data[unit].isna().any():
        raise SpecificationError(f"unit column {unit!r} has missing values")
    for name, value, low in (("n_iter", n_iter, 1), ("k_pmm", k_pmm, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SpecificationError(f"{name} must be a positive integer; got {value!r}")


def _model_columns(data: pd.DataFrame, columns: Sequence[str] | None,
                   unit: str | None) -> list[str]:
    numeric = [c for c in data.columns if c != unit and (
        pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))]
    if columns is None:
        cols = numeric
    else:
        cols = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in cols if c not in data.columns]
        if unknown:
            raise SpecificationError(f"columns {unknown} are not in the data")
        bad = [c for c in cols if c not in numeric]
        if bad:
            raise SpecificationError(f"columns {bad} are not numeric (or are the unit); "
                                     "impute numeric columns (make dummies for categories)")
    empty = [c for c in cols if data[c].notna().sum() < 2]
    if empty:
        raise SpecificationError(f"columns {empty} have fewer than 2 observed values: "
                                 "nothing to impute them from; leave them out (columns=)")
    if not any(data[c].isna().any() for c in cols):
        raise SpecificationError(f"no missing values to impute in {cols}")
    if len(cols) < 2:
        raise SpecificationError("the imputation model needs at least two columns")
    return cols


def _cluster_means(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each column's mean in the row's unit."""
    size = groups.max() + 1
    sums = np.column_stack([np.bincount(groups, weights=values[:, j], minlength=size)
                            for j in range(values.shape[1])]) if values.shape[1] else \
        np.zeros((size, 0))
    return (sums / np.bincount(groups, minlength=size)[:, None])[groups]


def _others_mean(column: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The column's mean over the other rows of the row's unit (the column's overall
    mean for a unit of one row)."""
    sums = np.bincount(groups, weights=column)[groups] - column
    counts = np.bincount(groups)[groups] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), column.mean())


def _chain_norm(frame: pd.DataFrame, targets: list[str], groups: np.ndarray | None,
                n_iter: int, k_pmm: int, rng: np.random.Generator) -> pd.DataFrame:
    """One chain of Bayesian linear-regression imputation (mice's ``norm``), started
    from random draws of each column's observed values."""
    values = frame.to_numpy(float, copy=True)
    miss = np.isnan(values)
    cols = [list(frame.columns).index(c) for c in targets]
    for j in cols:
        values[miss[:, j], j] = rng.choice(values[~miss[:, j], j], miss[:, j].sum())
    cycle = sorted(cols, key=lambda j: miss[:, j].sum())
    # one incomplete column with complete predictors needs one cycle
    for _ in range(1 if len(cycle) == 1 and groups is None else n_iter):
        for j in cycle:
            X = _design(values, j, groups)
            obs = ~miss[:, j]
            values[~obs, j] = norm_draw(X[obs], values[obs, j], X[~obs], rng)
            _check_diverged(values[:, j], obs, str(frame.columns[j]), X.shape[1])
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


#: Imputed values this many observed standard deviations from the observed mean show
#: that the chain diverged (``norm``).
DIVERGED_SD = 20.0


def _check_diverged(column: np.ndarray, observed: np.ndarray, name: str, k: int) -> None:
    """An EstimationError when the chain has run away (chained regressions with many
    predictors on few rows can feed back on each other)."""
    seen = column[observed]
    spread = seen.std() or 1.0
    far = np.abs(column[~observed] - seen.mean()) / spread
    if far.size and not np.all(far < DIVERGED_SD):
        raise EstimationError(
            f"the imputation of {name!r} diverged (imputed values {np.nanmax(far):.3g} "
            f"standard deviations from its observed mean): {int(observed.sum())} observed "
            f"values are too few for an imputation model with {k} coefficients; impute "
            "fewer columns (columns=), drop unit=, or use method='pmm'")


def _design(values: np.ndarray, target: int, groups: np.ndarray | None) -> np.ndarray:
    """Intercept, the other columns and, with clusters, their unit means and the
    target's mean over the unit's other rows."""
    others = np.delete(values, target, axis=1)
    parts = [np.ones((len(values), 1)), others]
    if groups is not None:
        parts += [_cluster_means(others, groups),
                  _others_mean(values[:, target], groups)[:, None]]
    return np.hstack(parts)


def norm_draw(X_obs: np.ndarray, y_obs: np.ndarray, X_mis: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Draws for the missing rows from the Bayesian linear regression of ``y_obs`` on
    ``X_obs`` (flat prior, mice's ``.norm.draw`` with its ridge). Predictors that are zero
    on every observed row (a year indicator with no observed value, say) carry no
    information and are left out, as mice's ``remove.lindep`` would."""
    informative = np.any(X_obs != 0, axis=0)
    X_obs, X_mis = X_obs[:, informative], X_mis[:, informative]
    if len(y_obs) <= X_obs.shape[1]:
        raise EstimationError(
            f"{len(y_obs)} observed values cannot fit an imputation model with "
            f"{X_obs.shape[1]} coefficients; impute fewer columns (columns=) or drop unit=")
    xtx = X_obs.T @ X_obs
    xtx = xtx + RIDGE * np.diag(np.diag(xtx))
    try:
        chol_inv = np.linalg.cholesky(np.linalg.inv(xtx))
    except np.linalg.LinAlgError as exc:
        raise EstimationError("the imputation model's predictors are linearly dependent; "
                              "impute fewer columns (columns=) or drop duplicated "
                              "predictors") from exc
    coef = np.linalg.solve(xtx, X_obs.T @ y_obs)
    resid = y_obs - X_obs @ coef
    dof = max(len(y_obs) - X_obs.shape[1], 1)
    sigma = np.sqrt(resid @ resid / rng.chisquare(dof))
    beta = coef + sigma * chol_inv @ rng.standard_normal(len(coef))
    return X_mis @ beta + sigma * rng.standard_normal(len(X_mis))


def _chain_pmm(frame: pd.DataFrame, targets: list[str], groups: np.ndarray | None,
               n_iter: int, k_pmm: int, rng: np.random.Generator) -> pd.DataFrame:
    """One chain of statsmodels ``MICEData`` (predictive mean matching); with clusters,
    the unit-mean columns are refreshed before each column's update."""
    from statsmodels.imputation.mice import MICEData

    names = {c: f"v{i}" for i, c in enumerate(frame.columns)}
    work = frame.rename(columns=names).reset_index(drop=True)
    safe = [names[c] for c in targets]
    means = [f"cm_{c}" for c in names.values()] if groups is not None else []
    own = {v: f"lo_{v}" for v in safe} if groups is not None else {}
    # placeholders, set before each draw
    work = work.assign(**dict.fromkeys(means + list(own.values()), 0.0))
    mice = _mice_data(MICEData, work, k_pmm, rng)
    cycle = sorted(safe, key=lambda v: int(work[v].isna().sum()))
    for v in cycle:
        others = [c for c in names.values() if c != v]
        rhs = others + ([f"cm_{c}" for c in others] + [own[v]] if groups is not None else [])
        mice.set_imputer(v, formula=" + ".join(rhs), k_pmm=k_pmm)
    for _ in range(n_iter):
        for v in cycle:
            if groups is not None:
                core = mice.data[list(names.values())].to_numpy(float)
                mice.data[means] = _cluster_means(core, groups)
                mice.data[own[v]] = _others_mean(mice.data[v].to_numpy(float), groups)
            mice.update(v)
    filled = mice.data[list(names.values())]
    filled.columns = list(frame.columns)
    return filled.set_axis(frame.index)


def _mice_data(cls, work: pd.DataFrame, k_pmm: int, rng: np.random.Generator):
    """``MICEData`` on ``work`` drawing from ``rng`` (statsmodels >= 0.15 takes it; older
    versions draw from numpy's global state, seeded here from ``rng``)."""
    if "rng" in inspect.signature(cls.__init__).parameters:
        return cls(work, k_pmm=k_pmm, rng=rng)
    np.random.seed(int(rng.integers(2**32)))  # statsmodels 0.14: global state only
    return cls(work, k_pmm=k_pmm)
