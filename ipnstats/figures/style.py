"""The house style of every ipnstats figure.

One look for all figures: black and greys with distinct markers and line styles (so
that a figure stays readable when printed in greyscale), DejaVu Sans (shipped with
matplotlib, hence identical on every machine), sizes for a journal page, a light grid
along the value axis and no top or right spines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import MappingProxyType

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Series colours, darkest first: black, then greys light enough to tell apart.
GREYS = ("#000000", "#555555", "#8c8c8c", "#333333", "#b0b0b0")
#: Series markers, in the order series receive them.
MARKERS = ("o", "s", "^", "D", "v", "P")
#: Series line styles, in the order series receive them.
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)))
#: Colour of reference lines (zero, treatment onset).
REFERENCE_COLOUR = "#777777"
#: Opacity of confidence bands.
BAND_ALPHA = 0.18

HOUSE_RC = MappingProxyType({
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "axes.prop_cycle": mpl.cycler(color=list(GREYS)),
    "axes.edgecolor": "#222222",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.3,
    "lines.markersize": 5.0,
    "errorbar.capsize": 0.0,
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 200,
    "savefig.facecolor": "white",
    "svg.fonttype": "path",
    "svg.hashsalt": "ipnstats",
    "pdf.fonttype": 42,
    "image.cmap": "Greys",
})


@contextmanager
def house_style() -> Iterator[None]:
    """Apply the house style to the figures created and saved inside the block.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with house_style():
    ...     fig, ax = plt.subplots()
    >>> plt.close(fig)
    """
    with mpl.rc_context(dict(HOUSE_RC)):
        yield


def new_figure(width: float = 6.0, height: float = 3.6, nrows: int = 1, ncols: int = 1,
               **kw) -> tuple[Figure, Axes]:
    """A figure in the house style, with constrained layout.

    Parameters
    ----------
    width, height
        Size in inches (6.0 x 3.6 fits the text width of a journal page).
    nrows, ncols
        Grid of axes, as in :func:`matplotlib.pyplot.subplots`.
    **kw
        Passed on to :meth:`matplotlib.figure.Figure.subplots` (``sharex`` ...).

    Returns
    -------
    tuple
        The figure and its axes (one ``Axes``, or an array of them for a grid).

    Examples
    --------
    >>> fig, ax = new_figure(width=4.0, height=3.0)
    >>> fig.get_size_inches().tolist()
    [4.0, 3.0]
    """
    with house_style():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    return fig, axes


def series_style(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th series (cycling).

    Examples
    --------
    >>> series_style(1)["marker"]
    's'
    """
    return {"color": GREYS[i % len(GREYS)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}
