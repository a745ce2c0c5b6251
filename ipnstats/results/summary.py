"""Plain-text summary of a result (for the console; tables use the renderers)."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

from ipnstats.results.vcov import describe_vcov

if TYPE_CHECKING:
    from ipnstats.results.result import Result

_FIT_LABELS = (("r2", "R2"), ("r2_adj", "Adj. R2"), ("r2_within", "R2 within"),
               ("sigma", "Sigma"), ("loglik", "Log-likelihood"), ("aic", "AIC"))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return "-" if value is None else str(value)


def _header(res: Result) -> list[str]:
    per_term = ("Kenward-Roger" if res.extra.get("df_method") == "kenward-roger"
                else "Satterthwaite")
    law = (f"t ({per_term} df per term)" if res.df_terms is not None
           else "normal" if res.df_inference is None else f"t({_fmt(res.df_inference)})")
    lines = [f"{res.estimator}: {res.outcome}" + (f"   [{res.formula}]" if res.formula else ""),
             f"Observations: {res.nobs:,}"
             + (f"   Units: {res.n_units:,}" if res.n_units is not None else "")
             + (f"   Clusters: {res.n_clusters:,}" if res.n_clusters is not None else ""),
             f"Vcov: {describe_vcov(res.vcov)}   Inference: {law}"]
    if res.fixed_effects:
        lines.append(f"Fixed effects: {', '.join(res.fixed_effects)}")
    fit = [f"{label}: {_fmt(res.fit.get(key))}" for key, label in _FIT_LABELS
           if res.fit.get(key) is not None]
    extra = [f"{k}: {_fmt(v)}" for k, v in res.extra.items() if not k.startswith("_")]
    if fit or extra:
        lines.append("   ".join(fit + extra))
    if res.seed is not None or res.n_boot is not None:
        lines.append(f"Seed: {res.seed}   Replications: {res.n_boot}")
    return lines


def summary_text(res: Result, conf_level: float = 0.95) -> str:
    """Header, coefficient table and notes as one string."""
    table = res.tidy(conf_level).set_index("term")
    body = table.to_string(float_format=lambda v: f"{v:.4f}")
    lines = _header(res) + ["", body]
    if res.warnings:
        lines += ["", "Notes:"]
        lines += [textwrap.fill(n, 88, initial_indent="- ", subsequent_indent="  ")
                  for n in res.warnings]
    return "\n".join(lines)
