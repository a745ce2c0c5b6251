"""Deterministic figure output: the same figure gives the same bytes on every run."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from matplotlib.figure import Figure

from ipnstats.core.errors import SpecificationError
from ipnstats.figures.style import house_style

FigureFormat = Literal["pdf", "png", "svg"]
FORMATS: tuple[FigureFormat, ...] = ("pdf", "png", "svg")

# No dates, no changing software strings: the bytes depend on the figure alone.
_METADATA = MappingProxyType({
    "pdf": {"Creator": "ipnstats", "CreationDate": None, "ModDate": None},
    "svg": {"Creator": "ipnstats", "Date": None},
    "png": {"Software": None},
})


def figure_bytes(fig: Figure, fmt: FigureFormat = "svg") -> bytes:
    """The figure encoded as PDF, PNG (200 dpi) or SVG, byte-identical on every run.

    Parameters
    ----------
    fig
        A matplotlib figure.
    fmt
        ``"pdf"``, ``"png"`` or ``"svg"``. SVG text is drawn as paths, so it looks the
        same without the font installed.

    Returns
    -------
    bytes
        The encoded figure.

    Examples
    --------
    >>> from ipnstats.figures import new_figure
    >>> fig, ax = new_figure()
    >>> figure_bytes(fig, "png")[:4]
    b'\\x89PNG'
    """
    fmt = _check_format(fmt)
    buffer = io.BytesIO()
    with house_style():
        fig.savefig(buffer, format=fmt, dpi=200, metadata=dict(_METADATA[fmt]))
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, *,
                formats: Iterable[FigureFormat] | None = None) -> list[Path]:
    """Write a figure to disk deterministically (two runs give identical files).

    Parameters
    ----------
    fig
        A matplotlib figure.
    path
        Target file. Without ``formats`` its suffix (``.pdf``, ``.png``, ``.svg``)
        chooses the format; with ``formats`` the suffix is replaced by each format's.
    formats
        Formats to write, e.g. ``("pdf", "png")``.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile
    >>> from ipnstats.figures import new_figure
    >>> fig, ax = new_figure()
    >>> out = save_figure(fig, tempfile.mkdtemp() + "/plot", formats=("pdf", "svg"))
    >>> [p.suffix for p in out]
    ['.pdf', '.svg']
    """
    path = Path(path)
    if formats is None:
        targets = [(path, _check_format(path.suffix.lstrip(".").lower()))]
    else:
        targets = [(path.with_suffix(f".{f}"), _check_format(f)) for f in formats]
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, fmt in targets:
        target.write_bytes(figure_bytes(fig, fmt))
    return [target for target, _ in targets]


def _check_format(fmt: str) -> FigureFormat:
    if fmt not in FORMATS:
        raise SpecificationError(f"figure format {fmt!r} is not supported; use one of {FORMATS} "
                                 "(as the file's suffix or in formats=...)")
    return fmt  # type: ignore[return-value]
