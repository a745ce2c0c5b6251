"""The methods paragraphs of the robustness stage (the fits are
:func:`ipnstats.ipn.robustness.fit_robustness`, the section
:mod:`ipnstats.report.robustness_section`)."""

from __future__ import annotations

from collections.abc import Mapping

from ipnstats.ipn.robustness import RobustnessResults, robustness_results
from ipnstats.pipeline.methods import paragraph

DIMENSIONS = ("outcomes", "estimators", "covariate_sets", "samples", "clusters")


def robustness_methods(res: RobustnessResults, rob: Mapping) -> tuple[str, ...]:
    """A paragraph on the specification curve, and one per clustering check."""
    dims = "; ".join(f"{k.replace('_', ' ')}: {', '.join(rob[k])}" for k in DIMENSIONS)
    fits = {name.removeprefix("clustering."): fit
            for name, fit in robustness_results(res).items() if name.startswith("clustering.")}
    return (
        f"Specification curve: {len(res.curve.tidy())} specifications ({dims}); "
        "Callaway-Sant'Anna and Sun-Abraham as in H1a, TWFE by ipnstats.panel_regression; "
        + (f"run in parallel with joblib ({rob['n_jobs']} workers, " if rob["backend"] == "local"
           else "run on a Dask cluster (")
        + "results independent of the number of workers). Follows Simonsohn, Simmons & "
        "Nelson (2020).",
        *(paragraph(f"Clustering check ({name})", fit, "reghdfe / fixest")
          for name, fit in fits.items()))


__all__ = ["robustness_methods"]
