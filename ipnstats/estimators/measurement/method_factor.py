"""Common-method checks by CFA: Harman's single-factor test and the unmeasured latent
method construct (ULMC).

- :func:`harman_test` fits one factor to all items and reports its fit, the share of
  the items' standardised variance that the single factor explains (the mean squared
  standardised loading) and, as Harman's test is usually reported, the share of the
  first unrotated principal component of the items' correlation matrix (first
  eigenvalue / number of items). A share above one half is the usual warning sign.
- :func:`ulmc` adds to the trait model one method factor loading on every item,
  orthogonal to the traits (Podsakoff et al. 2003; Williams et al. 2010). By default
  the method loadings are equal (all fixed to 1, the method variance free), which keeps
  the model identified; ``equal_loadings=False`` frees them (method variance 1). The
  two models are compared by :func:`chisq_difference`; each item's method share is
  its squared standardised method loading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.cfa import Estimator, cfa
from ipnstats.estimators.measurement.cfa_result import CFAResult, chisq_difference
from ipnstats.estimators.measurement.cfa_spec import ModelSpec, Term, parse_model


@dataclass(frozen=True)
class HarmanResult:
    """Harman's single-factor test: the one-factor CFA and the variance shares."""

    fit: CFAResult = field(repr=False)
    first_factor_share: float
    first_component_share: float

    @property
    def notes(self) -> tuple:
        """The notes of the one-factor fit."""
        return self.fit.notes

    def table(self) -> pd.DataFrame:
        """One row: chisq, df, pvalue, cfi, tli, rmsea, srmr and the two shares."""
        m = self.fit.measures
        row = {k: m[k] for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")}
        row.update(first_factor_share=self.first_factor_share,
                   first_component_share=self.first_component_share)
        return pd.DataFrame([row])


def harman_test(data: pd.DataFrame, items: Sequence[str], *,
                estimator: Estimator = "ml") -> HarmanResult:
    """Harman's single-factor test on ``items`` (one factor loading on all of them).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    >>> round(harman_test(df, list("abcd")).first_component_share, 2) < 0.5
    True
    """
    items = [str(i) for i in items]
    if len(items) < 3:
        raise SpecificationError("Harman's test needs at least three items")
    name = _fresh("general", items)
    fit = cfa(data, {name: items}, estimator=estimator)
    std = fit.params.loc[fit.params["op"] == "=~", "std_all"].to_numpy()
    rows = data[items].dropna()
    eig = np.linalg.eigvalsh(np.corrcoef(rows.to_numpy(float), rowvar=False))
    return HarmanResult(fit, float(np.mean(std ** 2)), float(eig[-1] / len(items)))


@dataclass(frozen=True)
class ULMCResult:
    """The trait model, the trait + method model, their comparison and item shares."""

    trait_fit: CFAResult = field(repr=False)
    method_fit: CFAResult = field(repr=False)
    method_factor: str

    @property
    def notes(self) -> tuple:
        """The notes of both fits, prefixed by the model."""
        return tuple(n.retext(f"{label}: {n}") for label, f in
                     (("traits", self.trait_fit), ("traits + method", self.method_fit))
                     for n in f.notes)

    def comparison(self) -> pd.DataFrame:
        """lavaan's ``lavTestLRT(method_fit, trait_fit)``."""
        return chisq_difference(self.method_fit, self.trait_fit)

    def item_shares(self) -> pd.DataFrame:
        """Per item: its standardised method loading, the method share of its variance
        (the square) and the trait share (sum of squared standardised trait loadings)."""
        p = self.method_fit.params
        ld = p[(p["op"] == "=~") & (p["group"] == 1)]
        meth = ld[ld["lhs"] == self.method_factor].set_index("rhs")["std_all"]
        trait = (ld[ld["lhs"] != self.method_factor].assign(sq=lambda d: d["std_all"] ** 2)
                 .groupby("rhs")["sq"].sum())
        items = list(self.method_fit.model.items)
        return pd.DataFrame({"item": items, "method_loading_std": meth.loc[items].to_numpy(),
                             "method_share": meth.loc[items].to_numpy() ** 2,
                             "trait_share": trait.reindex(items).to_numpy()})

    @property
    def method_share(self) -> float:
        """The mean method share over the items."""
        return float(self.item_shares()["method_share"].mean())


def ulmc(data: pd.DataFrame, model: str | Mapping[str, Sequence[str]], *,
         estimator: Estimator = "ml", equal_loadings: bool = True) -> ULMCResult:
    """The unmeasured latent method construct test of ``model`` (see the module notes)."""
    spec = parse_model(model)
    method = _fresh("method", spec.factors + spec.items)
    trait_fit = cfa(data, model, estimator=estimator)
    fit = cfa(data, to_syntax(with_method_factor(spec, method, equal_loadings)),
              estimator=estimator)
    return ULMCResult(trait_fit, fit, method)


def with_method_factor(spec: ModelSpec, method: str, equal_loadings: bool) -> ModelSpec:
    """``spec`` plus a method factor on every item, orthogonal to the traits."""
    if equal_loadings:
        loads = [Term(method, "=~", i, fixed=1.0) for i in spec.items]
        extra = []
    else:
        loads = [Term(method, "=~", i, free=True) for i in spec.items]
        extra = [Term(method, "~~", method, fixed=1.0)]
    ortho = [Term(f, "~~", method, fixed=0.0) for f in spec.factors]
    return ModelSpec(spec.factors + (method,), spec.items, spec.loadings + tuple(loads),
                     spec.covariances + tuple(extra + ortho))


def to_syntax(spec: ModelSpec) -> str:
    """lavaan model syntax for ``spec``."""
    def term(t: Term) -> str:
        mod = ("NA*" if t.free else f"{t.fixed!r}*" if t.fixed is not None
               else f"{t.label}*" if t.label else "")
        return mod + t.rhs
    lines = [f"{f} =~ " + " + ".join(term(t) for t in spec.loadings if t.lhs == f)
             for f in spec.factors]
    lines += [f"{t.lhs} ~~ {term(t)}" for t in spec.covariances]
    return "\n".join(lines)


def _fresh(name: str, taken: Sequence[str]) -> str:
    k, out = 1, name
    while out in taken:
        k += 1
        out = f"{name}{k}"
    return out
