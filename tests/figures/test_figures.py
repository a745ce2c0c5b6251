"""Figures: house style, coefficient plots, estimate bands, deterministic saving."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from ipnstats.figures import (
    coefficient_plot,
    estimate_band_plot,
    figure_bytes,
    house_style,
    new_figure,
    save_figure,
)

TERMS = ["peer_adoption", "size", "age", "leverage"]


def tidy(scale: float = 1.0, terms=TERMS) -> pd.DataFrame:
    est = np.array([0.4, -0.1, 0.05, 0.2])[: len(terms)] * scale
    return pd.DataFrame({"term": terms, "estimate": est, "std_error": 0.1,
                         "conf_low": est - 0.2, "conf_high": est + 0.2})


def point_lines(ax):
    """The marker-only lines: one per model."""
    return [line for line in ax.lines if line.get_linestyle() == "None"]


def test_new_figure_size_and_style():
    fig, ax = new_figure(width=4.0, height=3.0)
    assert fig.get_size_inches().tolist() == [4.0, 3.0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    fig, axes = new_figure(nrows=1, ncols=2)
    assert len(axes) == 2
    with house_style():
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"


def test_coefficient_plot_one_model():
    fig = coefficient_plot(tidy(), labels={"peer_adoption": "Peer adoption (t-1)"})
    ax = fig.axes[0]
    (points,) = point_lines(ax)
    assert points.get_xdata().tolist() == pytest.approx([0.4, -0.1, 0.05, 0.2])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Peer adoption (t-1)", "size", "age", "leverage"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first term on top
    whiskers = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(whiskers[0].get_segments()) == 4
    assert any(np.allclose(line.get_xdata(), 0.0) for line in ax.lines)  # reference line
    assert ax.get_legend() is None
    assert "95%" in ax.get_xlabel()


def test_coefficient_plot_two_models_dodged_with_legend():
    fig = coefficient_plot({"OLS": tidy(), "FE": tidy(0.5, TERMS[:3])}, conf_level=0.9)
    ax = fig.axes[0]
    first, second = point_lines(ax)
    assert len(first.get_xdata()) == 4 and len(second.get_xdata()) == 3
    assert first.get_marker() != second.get_marker()
    # dodged: the first model sits just above the second on every shared term
    gap = np.asarray(second.get_ydata()) - np.asarray(first.get_ydata())[:3]
    assert ((gap > 0) & (gap < 1)).all()
    assert len(ax.get_yticklabels()) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["OLS", "FE"]
    assert "90%" in ax.get_xlabel()


def test_coefficient_plot_on_given_axes_and_missing_column():
    fig, ax = new_figure()
    assert coefficient_plot(tidy(), ax=ax, ref=None, title="T") is fig
    assert ax.get_title(loc="left") == "T"
    with pytest.raises(ValueError, match="conf_high"):
        coefficient_plot({"m": tidy().drop(columns="conf_high")})


def test_estimate_band_plot_event_time_draws_points_and_whiskers():
    frame = pd.DataFrame({"event_time": [-2, -1, 0, 1, 2], "estimate": [0, 0, 0.3, 0.4, 0.5]})
    frame = frame.assign(conf_low=frame.estimate - 0.1, conf_high=frame.estimate + 0.1)
    ax = estimate_band_plot(frame, x="event_time", event_time=True).axes[0]
    assert ax.lines[0].get_xdata().tolist() == [-2, -1, 0, 1, 2]
    assert ax.lines[0].get_marker() == "o"
    assert any(np.allclose(line.get_xdata(), -0.5) for line in ax.lines)
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_estimate_band_plot_continuous_groups_get_bands_and_legend():
    x = np.linspace(0, 1, 20)
    frame = pd.concat([pd.DataFrame({"w": x, "estimate": x * k, "conf_low": x * k - 0.1,
                                     "conf_high": x * k + 0.1, "g": f"g{k}"})
                       for k in (1, 2)])
    ax = estimate_band_plot(frame, x="w", group="g", xlabel="Moderator").axes[0]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["g1", "g2"]
    assert ax.get_xlabel() == "Moderator"
    with pytest.raises(ValueError, match="'lo'"):
        estimate_band_plot(frame, x="w", conf_low="lo")


@pytest.mark.parametrize("fmt", ["pdf", "png", "svg"])
def test_saves_are_byte_identical(tmp_path, fmt):
    first = save_figure(coefficient_plot(tidy()), tmp_path / f"a.{fmt}")
    second = save_figure(coefficient_plot(tidy()), tmp_path / f"b.{fmt}")
    assert first[0].read_bytes() == second[0].read_bytes()
    assert figure_bytes(coefficient_plot(tidy()), fmt) == first[0].read_bytes()


def test_save_figure_formats_and_errors(tmp_path):
    fig = coefficient_plot(tidy())
    written = save_figure(fig, tmp_path / "out" / "coef", formats=("pdf", "png", "svg"))
    assert [p.name for p in written] == ["coef.pdf", "coef.png", "coef.svg"]
    assert written[0].read_bytes().startswith(b"%PDF")
    assert written[1].read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in written[2].read_bytes()
    assert b"CreationDate" not in written[0].read_bytes()
    with pytest.raises(ValueError, match="jpg"):
        save_figure(fig, tmp_path / "x.jpg")
