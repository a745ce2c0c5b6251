"""Firms observed and IPN members by year: the data appendix's panel figure.

It draws the counts it is given (a missing count, e.g. one suppressed for disclosure
control, leaves a gap) and computes nothing.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ipnstats.core.errors import SpecificationError
from ipnstats.figures.style import new_figure, series_style

SERIES = (("firms", "Firms observed"), ("members", "Members"))


def membership_plot(counts: pd.DataFrame) -> Figure:
    """Lines of ``firms`` and ``members`` over ``year`` (one row per year).

    Examples
    --------
    >>> counts = pd.DataFrame({"year": [2019, 2020, 2021], "firms": [40.0, 42.0, 45.0],
    ...                        "members": [None, 10.0, 14.0]})
    >>> len(membership_plot(counts).axes[0].lines)
    2
    """
    missing = [c for c in ("year", *dict(SERIES)) if c not in counts.columns]
    if missing:
        raise SpecificationError(f"the counts lack column(s) {missing}; pass one row per year with "
                         "columns year, firms and members")
    fig, ax = new_figure(height=2.8)
    for i, (column, label) in enumerate(SERIES):
        ax.plot(counts["year"].to_numpy(), counts[column].to_numpy(float), label=label,
                **series_style(i))
    ax.set_xlabel("Year")
    ax.set_ylabel("Firms")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return fig


__all__ = ["membership_plot"]
