"""Discriminant validity: the heterotrait-monotrait ratio (HTMT) and Fornell-Larcker.

Conventions
-----------
- :func:`htmt` reproduces ``semTools::htmt(model, data)`` (semTools 0.5.6) for
  continuous indicators: Pearson correlations of the indicators on the rows complete
  on all of them (``missing = "listwise"``, semTools' default). With ``htmt2=True``
  (the default, Roemer, Schuberth & Henseler 2021) means of correlations are
  geometric means of their absolute values; with ``htmt2=False`` they are arithmetic
  means (Henseler, Ringle & Sarstedt 2015), of absolute values when ``absolute=True``.
  HTMT(i, j) = mean heterotrait correlation / sqrt(mean monotrait i x mean monotrait
  j); a factor with one indicator has no monotrait correlation and gets NaN, as in
  semTools. Ordinal (polychoric) correlations are not offered.
- :func:`classify_htmt`: below 0.85 is evidence of discriminant validity under the
  strict criterion, below 0.90 under the liberal one (Henseler et al. 2015, p. 121).
- :func:`fornell_larcker`: sqrt(AVE) on the diagonal, correlations below it; a pair
  is flagged when ``|r|`` exceeds the smaller sqrt(AVE) of the two (Fornell & Larcker
  1981).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.measurement._columns import numeric_matrix, require_columns

#: Henseler, Ringle & Sarstedt (2015): HTMT below 0.85 (strict) or 0.90 (liberal).
HTMT_THRESHOLDS = (0.85, 0.90)

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def parse_measurement_model(model: str | Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The factors of a measurement model and their indicators, in order.

    ``model`` is a dict factor -> items or lavaan syntax: ``=~`` lines separated by
    newlines or ``;``, ``#`` comments, indicators joined by ``+``. A factor named on
    several lines collects all their indicators. Lines with other operators (``~~``,
    ``~``) are ignored, as ``htmt`` ignores them; pre-multipliers (``NA*x1``,
    ``1*x1``) are stripped.

    >>> parse_measurement_model("visual =~ x1 + x2; textual =~ x3 + x4  # two factors")
    {'visual': ['x1', 'x2'], 'textual': ['x3', 'x4']}
    """
    if isinstance(model, Mapping):
        out = {str(f): list(items) if not isinstance(items, str) else [items]
               for f, items in model.items()}
    elif isinstance(model, str):
        out = {}
        for raw in re.split(r"[\n;]", model):
            line = raw.split("#", 1)[0].strip()
            if "=~" not in line:
                if line and not re.search(r"~|:=|==|<|>", line):
                    raise SpecificationError(f"cannot read {line!r} in the model: write "
                                             f"'factor =~ item1 + item2'")
                continue
            factor, rhs = (part.strip() for part in line.split("=~", 1))
            items = [term.strip().split("*")[-1].strip() for term in rhs.split("+")]
            for name in [factor, *items]:
                if not _NAME.match(name):
                    raise SpecificationError(f"cannot read {name!r} in the model line {line!r}")
            out.setdefault(factor, []).extend(items)
    else:
        raise SpecificationError(f"model must be lavaan '=~' syntax or a dict factor -> "
                                 f"items, not {type(model).__name__}")
    if not out:
        raise SpecificationError("the model has no factor: write 'factor =~ item1 + item2'")
    for factor, items in out.items():
        if not items or not all(isinstance(i, str) for i in items):
            raise SpecificationError(f"factor {factor!r} needs indicator names, got {items!r}")
    return out


def _mean(values: np.ndarray, geometric: bool) -> float:
    if values.size == 0:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.exp(np.mean(np.log(values)))) if geometric else float(np.mean(values))


def htmt(data: pd.DataFrame, model: str | Mapping[str, Sequence[str]], *, htmt2: bool = True,
         absolute: bool = True) -> pd.DataFrame:
    """The heterotrait-monotrait ratio of every pair of factors, as ``semTools::htmt``.

    Parameters
    ----------
    data
        One row per respondent.
    model
        lavaan ``=~`` syntax or a dict factor -> indicator columns
        (:func:`parse_measurement_model`).
    htmt2
        Geometric means (HTMT2, semTools' default); absolute correlations are used.
    absolute
        With ``htmt2=False``: average absolute correlations (semTools' default).

    Returns
    -------
    pandas.DataFrame
        factor x factor, symmetric; 1 on the diagonal (NaN for a one-indicator factor;
        -1 when a factor's mean signed monotrait correlation is negative, as semTools).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(200, 2))
    >>> d = pd.DataFrame({f"a{i}": f[:, 0] + rng.normal(size=200) for i in range(3)}
    ...                  | {f"b{i}": f[:, 1] + rng.normal(size=200) for i in range(3)})
    >>> bool(htmt(d, "A =~ a0 + a1 + a2; B =~ b0 + b1 + b2").loc["A", "B"] < 0.2)
    True
    """
    factors = parse_measurement_model(model)
    names = list(dict.fromkeys(i for items in factors.values() for i in items))
    require_columns(data, names, role="indicator")
    x = numeric_matrix(data, names)
    x = x[~np.isnan(x).any(axis=1)]
    if len(x) < 3:
        raise DataError(f"htmt needs at least 3 rows complete on {', '.join(names)}; "
                        f"{len(x)} are")
    sd = x.std(axis=0)
    if (sd == 0).any():
        raise DataError(f"indicator {names[int(np.argmax(sd == 0))]!r} does not vary: "
                        f"its correlations are undefined")
    r = pd.DataFrame(np.corrcoef(x, rowvar=False), index=names, columns=names)
    if absolute or htmt2:
        r = r.abs()
    arr = r.to_numpy().copy()
    np.fill_diagonal(arr, np.nan)
    r = pd.DataFrame(arr, index=names, columns=names)

    def block(a: str, b: str) -> np.ndarray:
        values = r.loc[factors[a], factors[b]].to_numpy().ravel()
        return values[~np.isnan(values)]

    mono = {f: _mean(block(f, f), htmt2) for f in factors}
    labels = list(factors)
    out = np.empty((len(labels), len(labels)))
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            with np.errstate(invalid="ignore"):
                out[i, j] = _mean(block(b, a), htmt2) / np.sqrt(mono[a] * mono[b])
    return pd.DataFrame(out, index=labels, columns=labels)


def classify_htmt(table: pd.DataFrame, thresholds: tuple[float, float] = HTMT_THRESHOLDS
                  ) -> pd.DataFrame:
    """One row per pair of factors with its HTMT and verdict (Henseler et al. 2015).

    ``verdict``: ``"below strict"`` (HTMT < 0.85), ``"below liberal"`` (0.85 <= HTMT
    < 0.90), ``"not discriminant"`` (HTMT >= 0.90) or ``"undefined"`` (NaN).

    >>> t = pd.DataFrame([[1, .5], [.5, 1]], index=["A", "B"], columns=["A", "B"])
    >>> classify_htmt(t)[["factor_a", "factor_b", "verdict"]].values.tolist()
    [['A', 'B', 'below strict']]
    """
    strict, liberal = thresholds
    if not 0 < strict <= liberal:
        raise SpecificationError(f"thresholds must be 0 < strict <= liberal, not {thresholds}")
    rows = []
    labels = list(table.index)
    for i, a in enumerate(labels):
        for b in labels[:i]:
            value = float(table.loc[a, b])
            verdict = ("undefined" if math.isnan(value) else "below strict" if value < strict
                       else "below liberal" if value < liberal else "not discriminant")
            rows.append({"factor_a": b, "factor_b": a, "htmt": value, "verdict": verdict})
    return pd.DataFrame(rows, columns=["factor_a", "factor_b", "htmt", "verdict"])


@dataclass(frozen=True)
class FornellLarcker:
    """The Fornell-Larcker table: ``table`` has sqrt(AVE) on the diagonal and the
    correlations below it (NaN above); ``pairs`` one row per pair with ``exceeds``
    True where ``|r|`` is above the smaller sqrt(AVE)."""

    table: pd.DataFrame
    pairs: pd.DataFrame

    @property
    def passed(self) -> bool:
        """Whether no correlation exceeds the square roots of its factors' AVEs."""
        return not bool(self.pairs["exceeds"].any())


def fornell_larcker(ave: Mapping[str, float], correlations: pd.DataFrame) -> FornellLarcker:
    """The Fornell & Larcker (1981) criterion from AVEs and factor correlations.

    >>> fl = fornell_larcker({"A": 0.5, "B": 0.6},
    ...                      pd.DataFrame([[1, .8], [.8, 1]], index=list("AB"), columns=list("AB")))
    >>> fl.passed, round(float(fl.table.loc["A", "A"]), 3)
    (False, 0.707)
    """
    if not isinstance(correlations, pd.DataFrame):
        raise SpecificationError("correlations must be a DataFrame with factor names as "
                                 "index and columns")
    labels = [str(f) for f in ave]
    for f in labels:
        if f not in correlations.index or f not in correlations.columns:
            raise SpecificationError(f"factor {f!r} of ave is not in the correlation table")
        if not 0 <= float(ave[f]) <= 1:
            raise DataError(f"the AVE of {f!r} is {ave[f]!r}; an AVE lies in [0, 1]")
    root = {f: math.sqrt(float(ave[f])) for f in labels}
    table = pd.DataFrame(np.nan, index=labels, columns=labels)
    rows = []
    for i, a in enumerate(labels):
        table.loc[a, a] = root[a]
        for b in labels[:i]:
            r = float(correlations.loc[a, b])
            table.loc[a, b] = r
            rows.append({"factor_a": b, "factor_b": a, "correlation": r,
                         "sqrt_ave_a": root[b], "sqrt_ave_b": root[a],
                         "exceeds": abs(r) > min(root[a], root[b])})
    pairs = pd.DataFrame(rows, columns=["factor_a", "factor_b", "correlation", "sqrt_ave_a",
                                        "sqrt_ave_b", "exceeds"])
    return FornellLarcker(table=table, pairs=pairs)
