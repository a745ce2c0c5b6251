"""Inter-rater agreement: Krippendorff's alpha and Cohen's (weighted) kappa.

Conventions
-----------
- :func:`krippendorff_alpha` (Krippendorff 2011, "Computing Krippendorff's
  alpha-reliability"): rows are units, columns coders, missing values allowed. Units
  with fewer than two values are not pairable and are left out. From the coincidence
  matrix ``o_ck`` (each ordered pair of values in a unit with ``m_u`` values adds
  ``1/(m_u - 1)``), ``n_c = sum_k o_ck`` and ``n = sum_c n_c``:
  ``alpha = 1 - (n - 1) sum o_ck d_ck / sum_{c,k} n_c n_k d_ck``. Distances ``d``:
  nominal 0/1; ordinal ``(sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2``; interval ``(c-k)^2``;
  ratio ``((c-k)/(c+k))^2``. It reproduces Krippendorff's (2011) worked example (alpha
  0.743 nominal, 0.815 ordinal, 0.849 interval, 0.797 ratio; the example of R
  ``irr::kripp.alpha``, which is not installed here to compare with).
- :func:`cohen_kappa`: rows rated by both raters (others left out, noted). Categories
  are the sorted union of both raters' values (numbers numerically; pass
  ``categories=`` to add unused ones); weights use category positions 1..k, as
  ``psych::cohen.kappa`` and scikit-learn: linear ``|i-j|``, quadratic ``(i-j)^2``
  disagreement. ``kappa = 1 - sum w p_obs / sum w p_exp``. Standard error: Fleiss, Cohen
  & Everitt (1969): the unweighted one equals ``psych::cohen.kappa``'s ``var.kappa``;
  the weighted one differs from psych 2.2.9's ``var.weighted``, whose column-weighted
  mean multiplies by the row's own margin (a bootstrap agrees with FCE, not psych);
  interval ``kappa +/- z SE``, clipped to [-1, 1] as psych does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators.measurement._columns import numeric_matrix, require_columns
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import HasNotes

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"] | None


@dataclass(frozen=True)
class KrippendorffAlpha(HasNotes):
    """Krippendorff's alpha; see :func:`krippendorff_alpha`."""

    alpha: float
    level: str
    n_units: int
    n_values: int
    n_coders: int
    notes: tuple[str, ...] = field(default=())

    def glance(self) -> pd.DataFrame:
        """One row: alpha, level, n_units (pairable), n_values (pairable), n_coders."""
        return pd.DataFrame([{"alpha": self.alpha, "level": self.level, "n_units": self.n_units,
                              "n_values": self.n_values, "n_coders": self.n_coders}])


def _distance(values: np.ndarray, counts: np.ndarray, level: Level) -> np.ndarray:
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(((c - k) / (c + k)) ** 2)
    cum = np.cumsum(counts)
    i, j = np.minimum.outer(np.arange(len(values)), np.arange(len(values))), \
        np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cum[j] - np.where(i > 0, cum[i - 1], 0)
    return (between - (counts[:, None] + counts[None, :]) / 2) ** 2


def krippendorff_alpha(data: pd.DataFrame, coders: Sequence[str], *,
                       measurement: Level = "nominal") -> KrippendorffAlpha:
    """Krippendorff's alpha of ``coders`` (columns) rating the units (rows), at the level
    of ``measurement`` of the ratings (``nominal``, ``ordinal``, ``interval``, ``ratio``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    ...                   "b": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    ...                   "c": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    ...                   "d": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]})
    >>> round(krippendorff_alpha(d, ["a", "b", "c", "d"]).alpha, 3)
    0.743
    """
    if measurement not in ("nominal", "ordinal", "interval", "ratio"):
        raise SpecificationError(f"unknown level of measurement {measurement!r}; choose "
                                 "'nominal', 'ordinal', 'interval' or 'ratio'")
    level = measurement
    names = require_columns(data, [coders] if isinstance(coders, str) else coders, role="coder")
    if len(names) < 2:
        raise SpecificationError("Krippendorff's alpha needs at least two coder columns")
    if level == "nominal":
        frame = data[names]
        values = np.array(sorted(pd.unique(frame.stack().dropna()), key=_sort_key), dtype=object)
        x = frame.apply(lambda col: col.map({v: i for i, v in enumerate(values)})).to_numpy(float)
    else:
        raw = numeric_matrix(data, names)
        values = np.unique(raw[~np.isnan(raw)])
        x = np.searchsorted(values, raw).astype(float)
        x[np.isnan(raw)] = np.nan
        if level == "ratio" and (values < 0).any():
            raise DataError("ratio-level alpha needs non-negative values")
    m = (~np.isnan(x)).sum(axis=1)
    pairable = x[m >= 2]
    notes = []
    if (m < 2).any():
        notes.append(Note("missing_dropped", f"{int((m < 2).sum())} units with fewer than two "
                          f"values are not pairable and were left out"))
    k = len(values)
    o = np.zeros((k, k))
    for row in pairable:
        v = row[~np.isnan(row)].astype(int)
        counts = np.bincount(v, minlength=k).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (len(v) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        raise DataError("Krippendorff's alpha needs at least one unit rated by two coders")
    numeric = values.astype(float) if level != "nominal" else np.arange(k, dtype=float)
    d = _distance(numeric, n_c, level)
    expected = float(np.sum(np.outer(n_c, n_c) * d))
    alpha = 1 - (n - 1) * float(np.sum(o * d)) / expected if expected > 0 else math.nan
    alpha = float(alpha)
    if expected == 0:
        notes.append(Note("constant_item", "every value is the same: alpha is undefined"))
    return KrippendorffAlpha(alpha=alpha, level=level, n_units=len(pairable),
                             n_values=int(round(n)), n_coders=len(names), notes=tuple(notes))


def _sort_key(value: object) -> tuple:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


@dataclass(frozen=True, repr=False)
class CohenKappa(TidyDisplay):
    """Cohen's kappa of two raters; see :func:`cohen_kappa`. ``table`` is the k x k
    cross-tabulation (rater 1 in rows)."""

    kappa: float
    std_error: float
    conf_low: float
    conf_high: float
    weights: str
    n: int
    observed_agreement: float
    expected_agreement: float
    table: pd.DataFrame
    conf_level: float = 0.95
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """One row: term (``kappa`` or ``kappa_linear``/``kappa_quadratic``), estimate,
        std_error, statistic (kappa / SE), p_value (normal, two-sided), conf_low,
        conf_high."""
        z = self.kappa / self.std_error if self.std_error > 0 else math.nan
        return pd.DataFrame([{
            "term": "kappa" if self.weights == "none" else f"kappa_{self.weights}",
            "estimate": self.kappa, "std_error": self.std_error, "statistic": z,
            "p_value": 2 * stats.norm.sf(abs(z)) if math.isfinite(z) else math.nan,
            "conf_low": self.conf_low, "conf_high": self.conf_high}])

    def glance(self) -> pd.DataFrame:
        """One row: n, the number of categories, observed and chance agreement."""
        return pd.DataFrame([{"n": self.n, "n_categories": len(self.table),
                              "observed_agreement": self.observed_agreement,
                              "expected_agreement": self.expected_agreement,
                              "weights": self.weights}])


def _kappa_se(p: np.ndarray, agree: np.ndarray, n: int) -> float:
    """Fleiss, Cohen & Everitt (1969) large-sample SE with agreement weights ``agree``."""
    r, c = p.sum(axis=1), p.sum(axis=0)
    po, pe = float(np.sum(agree * p)), float(np.sum(agree * np.outer(r, c)))
    wr, wc = agree @ c, r @ agree  # weighted row and column means
    inner = agree * (1 - pe) - (wr[:, None] + wc[None, :]) * (1 - po)
    var = (np.sum(p * inner ** 2) - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
    return math.sqrt(var) if var > 0 else 0.0


def cohen_kappa(data: pd.DataFrame, rater1: str, rater2: str, *, weights: Weights = None,
                categories: Sequence[object] | None = None, conf_level: float = 0.95
                ) -> CohenKappa:
    """Cohen's kappa, unweighted or with linear or quadratic weights.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 1, 2, 2, 2, 1, 2, 2], "b": [1, 2, 2, 2, 1, 1, 2, 2]})
    >>> round(cohen_kappa(d, "a", "b").kappa, 4)
    0.4667
    """
    if weights not in (None, "linear", "quadratic"):
        raise SpecificationError(f"unknown weights {weights!r}; choose None, 'linear' or "
                                 f"'quadratic'")
    if not (isinstance(conf_level, float) and 0 < conf_level < 1):
        raise SpecificationError(f"conf_level must be between 0 and 1, not {conf_level!r}")
    require_columns(data, [rater1, rater2], role="rater")
    pair = data[[rater1, rater2]]
    keep = pair.notna().all(axis=1)
    pair = pair[keep]
    notes = [] if keep.all() else [Note("missing_dropped", f"{int((~keep).sum())} rows without "
                                        f"both ratings were left out")]
    if len(pair) < 2:
        raise DataError(f"kappa needs at least two rows rated by both {rater1!r} and {rater2!r}")
    seen = sorted(pd.unique(pair.to_numpy().ravel()), key=_sort_key)
    cats = list(categories) if categories is not None else seen
    unknown = [v for v in seen if v not in cats]
    if unknown:
        raise DataError(f"rating {unknown[0]!r} is not among categories {cats!r}")
    if len(cats) < 2:
        raise DataError(f"both raters use the single category {cats[0]!r}: kappa is undefined")
    index = {v: i for i, v in enumerate(cats)}
    k = len(cats)
    counts = np.zeros((k, k))
    rows, cols = (pair[r].map(index).to_numpy(int) for r in (rater1, rater2))
    np.add.at(counts, (rows, cols), 1)
    n = int(counts.sum())
    p = counts / n
    pos = np.arange(k, dtype=float)
    power = {None: 0, "linear": 1, "quadratic": 2}[weights]
    gap = np.abs(np.subtract.outer(pos, pos))
    dist = gap ** power if power else (gap > 0).astype(float)
    agree = 1 - dist / dist.max()
    expected = np.outer(p.sum(axis=1), p.sum(axis=0))
    po, pe = float(np.sum(agree * p)), float(np.sum(agree * expected))
    kappa = (po - pe) / (1 - pe) if pe < 1 else math.nan
    se = _kappa_se(p, agree, n) if pe < 1 else math.nan
    z = stats.norm.ppf(0.5 + conf_level / 2)
    table = pd.DataFrame(counts.astype(int), index=pd.Index(cats, name=rater1),
                         columns=pd.Index(cats, name=rater2))
    return CohenKappa(kappa=kappa, std_error=se, conf_low=max(-1.0, kappa - z * se),
                      conf_high=min(1.0, kappa + z * se), weights=weights or "none", n=n,
                      observed_agreement=po, expected_agreement=pe, table=table,
                      conf_level=conf_level, notes=tuple(notes))
