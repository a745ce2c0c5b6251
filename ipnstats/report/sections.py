"""The report section of each stage, rendered from the stage's stored results.

A stage of the study run stores ``findings`` (numbers and frames, see
:mod:`ipnstats.results.stored`), its adjudicated claims and checks. Each renderer here
turns one stage's stored document into report blocks; none of them fits anything, so a
change to a renderer, a reading's wording or a table's style redoes no estimate.
"""

from __future__ import annotations

from collections.abc import Callable

from ipnstats.core.errors import ConfigError
from ipnstats.report.data_section import render_data
from ipnstats.report.document import Report
from ipnstats.report.h1_section import render_h1
from ipnstats.report.h2_section import render_h2
from ipnstats.report.h3_section import render_h3
from ipnstats.report.models_section import render_models
from ipnstats.report.network_section import render_network
from ipnstats.report.robustness_section import render_robustness

Renderer = Callable[[Report, dict], Report]

#: stage name -> the renderer of its stored document
RENDERERS: dict[str, Renderer] = {
    "h1": render_h1,
    "h2": render_h2,
    "h3": render_h3,
    "robustness": render_robustness,
    "network": render_network,
    "models": render_models,
    "data": render_data,
}


def render_section(report: Report, doc: dict) -> Report:
    """Add the section of one stored stage document (``results/<stage>.json``)."""
    try:
        render = RENDERERS[doc["stage"]]
    except KeyError:
        raise ConfigError(f"no renderer for stage {doc.get('stage')!r}") from None
    return render(report, doc)


__all__ = ["RENDERERS", "Renderer", "render_section"]
