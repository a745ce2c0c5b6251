"""The parameter table of a CFA (lavaan's partable): one row per model parameter.

Matrices per group (LISREL all-y notation): ``Lambda`` (items x factors, loadings),
``Theta`` (item residual (co)variances), ``Psi`` (factor (co)variances), ``nu`` (item
intercepts) and ``alpha`` (factor means); ``Sigma = Lambda Psi Lambda' + Theta`` and
``mu = nu + Lambda alpha``. Defaults follow lavaan's ``cfa()``: the first loading of
each factor is fixed to 1 (marker) unless ``std_lv`` fixes factor variances to 1 (in
group 1 only when loadings are equal across groups, as lavaan);
residual variances, factor variances and all factor covariances are free. With a mean
structure, intercepts are free and factor means are fixed to 0; with equal intercepts
across groups the factor means of groups 2, 3, ... are free. Parameters that are equal
(the same label, or a ``group_equal`` class across groups) share one free index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.cfa_spec import ModelSpec

#: lavaan's ``group.equal`` classes (dots or underscores).
EQUAL_CLASSES = ("loadings", "intercepts", "residuals", "residual_covariances",
                 "lv_variances", "lv_covariances", "means")
MATS = ("lambda", "theta", "psi", "nu", "alpha")


@dataclass(frozen=True, slots=True)
class ParTable:
    """Parameter rows (lhs, op, rhs, group, matrix, row, col, free index, fixed value)."""

    lhs: tuple[str, ...]
    op: tuple[str, ...]
    rhs: tuple[str, ...]
    group: np.ndarray   # 0-based group
    mat: np.ndarray     # index into MATS
    row: np.ndarray
    col: np.ndarray
    free: np.ndarray    # index into the free parameter vector, -1 when fixed
    value: np.ndarray   # the fixed value (NaN for free parameters)
    items: tuple[str, ...]
    factors: tuple[str, ...]
    ngroups: int
    meanstructure: bool

    @property
    def npar(self) -> int:
        """The number of free parameters (equal parameters counted once)."""
        return int(self.free.max()) + 1 if (self.free >= 0).any() else 0

    def first_rows(self) -> np.ndarray:
        """For each free parameter, the first row that holds it."""
        _, first = np.unique(self.free, return_index=True)
        return first[self.free[first] >= 0] if len(first) else first


def normalise_equal(group_equal: Sequence[str]) -> tuple[str, ...]:
    """``group_equal`` as a tuple of known classes, or a SpecificationError."""
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    out = []
    for g in group_equal:
        name = str(g).replace(".", "_")
        if name not in EQUAL_CLASSES:
            raise SpecificationError(f"unknown group_equal class {g!r}; choose from "
                                     f"{', '.join(EQUAL_CLASSES)}")
        out.append(name)
    return tuple(out)


def build_partable(spec: ModelSpec, *, ngroups: int = 1, std_lv: bool = False,
                   group_equal: Sequence[str] = (), meanstructure: bool = False) -> ParTable:
    """The parameter table of ``spec`` for ``ngroups`` groups."""
    equal = set(normalise_equal(group_equal))
    rows: list[tuple] = []   # (lhs, op, rhs, group, mat, i, j, fixed, label, eqclass)
    items, factors = spec.items, spec.factors
    ii = {n: k for k, n in enumerate(items)}
    ff = {n: k for k, n in enumerate(factors)}
    user_cov = {(t.lhs, t.rhs): t for t in spec.covariances}
    user_cov.update({(t.rhs, t.lhs): t for t in spec.covariances})
    for g in range(ngroups):
        for f in factors:
            for k, t in enumerate(x for x in spec.loadings if x.lhs == f):
                fixed = t.fixed
                if fixed is None and k == 0 and not std_lv and not t.free and t.label is None:
                    fixed = 1.0
                rows.append((f, "=~", t.rhs, g, 0, ii[t.rhs], ff[f], fixed, t.label, "loadings"))
        for it in items:
            t = user_cov.get((it, it))
            rows.append((it, "~~", it, g, 1, ii[it], ii[it], t.fixed if t else None,
                         t.label if t else None, "residuals"))
        for a, fa in enumerate(factors):
            t = user_cov.get((fa, fa))
            # std_lv fixes factor variances to 1; with equal loadings only in group 1
            # (lavaan frees them in the other groups)
            scaled = std_lv and not (g > 0 and "loadings" in equal
                                     and "lv_variances" not in equal)
            fixed = t.fixed if t else (1.0 if scaled else None)
            if t is not None and t.free:
                fixed = None
            rows.append((fa, "~~", fa, g, 2, a, a, fixed, t.label if t else None, "lv_variances"))
        for a, fa in enumerate(factors):
            for b in range(a + 1, len(factors)):
                t = user_cov.get((fa, factors[b]))
                rows.append((fa, "~~", factors[b], g, 2, b, a, t.fixed if t else None,
                             t.label if t else None, "lv_covariances"))
        for t in spec.covariances:
            if t.lhs in ii and t.lhs != t.rhs:
                i, j = sorted((ii[t.lhs], ii[t.rhs]), reverse=True)
                rows.append((t.lhs, "~~", t.rhs, g, 1, i, j, t.fixed, t.label,
                             "residual_covariances"))
        if meanstructure:
            for it in items:
                rows.append((it, "~1", "", g, 3, ii[it], 0, None, None, "intercepts"))
            for a, fa in enumerate(factors):
                free_mean = g > 0 and "intercepts" in equal and "means" not in equal
                rows.append((fa, "~1", "", g, 4, a, 0, None if free_mean else 0.0, None,
                             "means"))
    return _number(rows, equal, spec, ngroups, meanstructure)


def _number(rows, equal, spec, ngroups, meanstructure) -> ParTable:
    free, value, index = [], [], {}
    for *_, mat, i, j, fixed, label, eqclass in rows:
        if fixed is not None:
            free.append(-1)
            value.append(fixed)
            continue
        key = ("label", label) if label else (
            ("class", mat, i, j) if eqclass in equal else ("row", len(free)))
        if key not in index:
            index[key] = len(index)
        free.append(index[key])
        value.append(np.nan)
    col = lambda k: np.array([r[k] for r in rows], dtype=int)  # noqa: E731
    return ParTable(tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                    tuple(r[2] for r in rows), col(3), col(4), col(5), col(6),
                    np.array(free, dtype=int), np.array(value, dtype=float),
                    spec.items, spec.factors, ngroups, meanstructure)
