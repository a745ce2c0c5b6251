"""The standard regression table: one column per model, from results' tidy and glance.

:func:`regression_table` collects raw numbers into a :class:`RegressionTable`;
``as_table()`` formats them (numbers, stars, labels) into a target-free
:class:`~ipnstats.tables.model.Table` that every renderer reads.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ipnstats.core.deprecation import deprecated_call
from ipnstats.core.errors import SpecificationError
from ipnstats.results.inference import TIDY_COLUMNS
from ipnstats.tables.adapters import ModelSummary, summarize
from ipnstats.tables.base import Renderable
from ipnstats.tables.format import (
    check_stars,
    default_label,
    fmt_count,
    fmt_number,
    fmt_p,
    star_for,
    star_legend,
)
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.style import JournalStyle, apply_style, drop_leading_zero, journal_style

Show = Literal["std_error", "conf_int", "statistic", "p_value"]
STAT_LABELS = {"nobs": "Observations", "n_units": "Units", "n_clusters": "Clusters",
               "r2": "R²", "r2_adj": "Adjusted R²", "r2_within": "R² within",
               "pseudo_r2": "Pseudo R²", "loglik": "Log-likelihood", "aic": "AIC",
               "bic": "BIC", "sigma": "Residual SD"}
COUNT_STATS = {"nobs", "n_units", "n_clusters"}
# The IPN study's labels, which tables applied when the caller gave none. Deprecated (a
# general table knows no study): the study layer passes them (ipnstats.ipn.labels); until
# the next minor version they still apply, with a warning, where the caller's labels miss
# them. Then unlabelled columns show their names and the n_units row says "Units".
FORMER_ID_LABELS: Mapping[str, str] = {
    "firm_id": "Firm", "year": "Year", "group_id": "Peer group", "sender_id": "Sender",
    "receiver_id": "Receiver", "industry": "Industry", "region": "Region"}
FORMER_UNIT_LABEL = "Firms"
SHOW_NOTES = {"std_error": "Standard errors in parentheses.",
              "statistic": "t (or z) statistics in parentheses.",
              "p_value": "p-values in parentheses."}


@dataclass(frozen=True)
class RegressionTable(Renderable):
    """Raw numbers of a regression table and how to show them.

    Build it with :func:`regression_table`. ``coefficients`` is the long frame of
    every model's kept terms; ``statistics`` holds one row per model.
    """

    models: tuple[ModelSummary, ...]
    names: tuple[str, ...]
    terms: tuple[str, ...]
    labels: Mapping[str, str]
    stats: tuple[str, ...]
    show: Show
    stars: Mapping[str, float]
    digits: int
    conf_level: float
    title: str = ""
    notes: tuple[str, ...] = ()
    label: str = ""
    extra_rows: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    show_warnings: bool = True
    unit_label: str = STAT_LABELS["n_units"]
    more: tuple[Show, ...] = ()
    style: JournalStyle | None = None

    @property
    def coefficients(self) -> pd.DataFrame:
        """Long frame: model, term, label and the tidy columns of the shown terms."""
        frames = [m.tidy.assign(model=name) for name, m in zip(self.names, self.models,
                                                                strict=True)]
        out = pd.concat(frames, ignore_index=True)
        out = out[out["term"].isin(self.terms)].copy()
        out["label"] = out["term"].map(lambda t: default_label(t, self.labels))
        return out[["model", "term", "label", *TIDY_COLUMNS[1:]]]

    @property
    def statistics(self) -> pd.DataFrame:
        """One row per model: outcome, fixed effects, vcov and fit statistics."""
        rows = [{"model": n, "outcome": m.outcome, "fixed_effects": ", ".join(m.fixed_effects),
                 "vcov": m.vcov, **m.stats} for n, m in zip(self.names, self.models, strict=True)]
        return pd.DataFrame(rows)

    def as_table(self) -> Table:
        """The formatted, target-free table."""
        table = Table(header=self._header(), rows=self._body(), title=self.title,
                      notes=self._notes(), label=self.label)
        return apply_style(table, self.style) if self.style is not None else table

    def with_style(self, style: str | JournalStyle) -> RegressionTable:
        """The same table in a journal preset: its stars, the lines under each estimate
        and its other rules (see :func:`regression_table`'s ``style``)."""
        preset = journal_style(style)
        show, *more = preset.uncertainty
        return dataclasses.replace(self, stars=dict(preset.stars), show=show,
                                   more=tuple(more), style=preset)

    def to_frame(self) -> pd.DataFrame:
        """The formatted table as a DataFrame of strings (stars appended)."""
        table = self.as_table()
        columns = [c.text for c in table.header[-1]][1:]
        records = [[c.text + c.marks for c in r.cells] for r in table.rows if not r.heading]
        frame = pd.DataFrame([r[1:] for r in records], columns=columns)
        frame.index = pd.Index([r[0] for r in records], name="")
        return frame

    def to_dict(self) -> dict:
        """Raw numbers and options, JSON-serialisable (NaN becomes None)."""
        coefs = self.coefficients.astype(object).where(self.coefficients.notna(), None)
        stats = self.statistics.astype(object).where(self.statistics.notna(), None)
        return {"models": list(self.names), "terms": list(self.terms),
                "labels": {t: default_label(t, self.labels) for t in self.terms},
                "coefficients": coefs.to_dict(orient="records"),
                "statistics": stats.to_dict(orient="records"), "show": self.show,
                "stars": dict(self.stars), "conf_level": self.conf_level,
                "notes": list(self._notes()), "title": self.title}

    # -- formatting -------------------------------------------------------------
    def _header(self) -> tuple[tuple[Cell, ...], ...]:
        outcomes = [default_label(m.outcome, self.labels) for m in self.models]
        spans: list[Cell] = [Cell("")]
        for text in outcomes:
            if len(spans) > 1 and spans[-1].text == text:
                spans[-1] = Cell(text, span=spans[-1].span + 1)
            else:
                spans.append(Cell(text))
        if list(self.names) == outcomes:  # the column names are the outcomes: one row
            return ((Cell(""),) + tuple(Cell(n) for n in self.names),)
        # a column alone under its outcome, and named as it, is not named twice
        alone = [outcomes.count(o) == 1 for o in outcomes]
        numbers = (Cell(""),) + tuple(
            Cell("" if solo and n == o else n)
            for n, o, solo in zip(self.names, outcomes, alone, strict=True))
        return (tuple(spans), numbers)

    def _coef_cells(self, term: str) -> tuple[tuple[Cell, ...], ...]:
        """The estimate's cells, then one tuple of cells per line under it."""
        shows = (self.show, *self.more)
        lines: list[list[Cell]] = [[] for _ in range(1 + len(shows))]
        for m in self.models:
            row = m.tidy.loc[m.tidy["term"] == term]
            if row.empty:
                for line in lines:
                    line.append(Cell(numeric=True))
                continue
            r = row.iloc[0]
            lines[0].append(Cell(fmt_number(r["estimate"], self.digits),
                                 marks=star_for(r["p_value"], self.stars), numeric=True))
            for k, show in enumerate(shows, start=1):
                lines[k].append(Cell(self._uncertainty(r, show), numeric=True))
        return tuple(tuple(line) for line in lines)

    def _uncertainty(self, r: pd.Series, show: Show | None = None) -> str:
        show = show or self.show
        if show == "p_value" and self.more:  # a line of its own: the exact p-value
            p = fmt_p(r["p_value"], self.digits)
            if not p:
                return ""
            zero = self.style is None or self.style.leading_zero
            p = p.replace("<.", "<0.") if zero and p.startswith("<") else (
                "0" + p if zero and p.startswith(".") else p)
            return f"p {p[0]} {p[1:]}" if p.startswith("<") else f"p = {p}"
        if show == "conf_int":
            lo, hi = fmt_number(r["conf_low"], self.digits), fmt_number(r["conf_high"], self.digits)
            return f"[{lo}, {hi}]" if lo else ""
        text = fmt_number(r[show], self.digits)
        if show == "p_value" and self.style is not None and not self.style.leading_zero:
            text = drop_leading_zero(text)
        return f"({text})" if text else ""

    def _body(self) -> tuple[Row, ...]:
        rows: list[Row] = []
        for term in self.terms:
            top, *below = self._coef_cells(term)
            rows.append(Row((Cell(default_label(term, self.labels)),) + top, "coef"))
            rows += [Row((Cell(""),) + cells, "coef") for cells in below]
        rows += self._fe_rows() + self._vcov_rows() + self._extra() + self._stat_rows()
        return tuple(rows)

    def _fe_rows(self) -> list[Row]:
        effects = list(dict.fromkeys(fe for m in self.models for fe in m.fixed_effects))
        return [Row((Cell(f"{self.labels.get(fe, fe)} fixed effects"),)
                    + tuple(Cell("Yes" if fe in m.fixed_effects else "No") for m in self.models),
                    "fe") for fe in effects]

    def _vcov_rows(self) -> list[Row]:
        if not any(m.vcov for m in self.models):
            return []
        texts = []
        for m in self.models:
            cl = ", ".join(self.labels.get(c, c) for c in m.cluster)
            texts.append(f"Clustered ({cl})" if cl else m.vcov)
        return [Row((Cell("Standard errors"),) + tuple(Cell(t) for t in texts), "vcov")]

    def _extra(self) -> list[Row]:
        return [Row((Cell(name),) + tuple(Cell(v) for v in values), "extra")
                for name, values in self.extra_rows]

    def _stat_rows(self) -> list[Row]:
        rows = []
        for key in self.stats:
            values = [m.stats.get(key) for m in self.models]
            texts = [fmt_count(v) if key in COUNT_STATS else fmt_number(v, self.digits)
                     for v in values]
            if any(texts):
                label = self.unit_label if key == "n_units" else STAT_LABELS.get(key, key)
                rows.append(Row((Cell(label),) + tuple(Cell(t, numeric=True) for t in texts),
                                "stats"))
        return rows

    def _notes(self) -> tuple[str, ...]:
        level = f"{self.conf_level:.0%} confidence intervals in brackets."
        first = level if self.show == "conf_int" else SHOW_NOTES[self.show]
        for show in self.more:
            first += " " + (level if show == "conf_int" else
                            "Exact two-sided p-values below." if show == "p_value"
                            else SHOW_NOTES[show])
        legend = star_legend(self.stars)
        suffix = self.style.legend_suffix if self.style is not None else ""
        legend = f"{legend}; {suffix}." if legend and suffix else legend
        warnings = _shared_notes(self.names, [m.notes for m in self.models]) \
            if self.show_warnings else ()
        return (first + (" " + legend if legend else ""),) + tuple(self.notes) + warnings


def _shared_notes(names: Sequence[str], notes: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Each distinct warning once, prefixed by the models that carry it, in order."""
    holders: dict[str, list[str]] = {}
    for name, model_notes in zip(names, notes, strict=True):
        for note in model_notes:
            holders.setdefault(note, [])
            if name not in holders[note]:
                holders[note].append(name)
    return tuple(f"{', '.join(who)}: {note}" for note, who in holders.items())


def regression_table(results: object, *, labels: Mapping[str, str] | object | None = None,
                     keep: Sequence[str] | None = None, drop: Sequence[str] | None = None,
                     order: Sequence[str] | None = None,
                     stats: Sequence[str] = ("nobs", "n_units", "r2_within", "pseudo_r2"),
                     show: Show = "std_error", stars: bool | Mapping[str, float] = True,
                     digits: int = 3, conf_level: float = 0.95,
                     model_names: Sequence[str] | None = None, title: str = "",
                     notes: Sequence[str] = (), label: str = "",
                     extra_rows: Mapping[str, Sequence[str]] | None = None,
                     show_warnings: bool = True,
                     unit_label: str | None = None,
                     style: str | JournalStyle | None = None) -> RegressionTable:
    """A standard regression table of one or several models.

    Parameters
    ----------
    results
        A fitted model or a sequence of them (ipnstats results, statsmodels or
        linearmodels results), or a mapping ``{column name: model}``.
    labels
        ``{term or column: label}``, or an :class:`ipnstats.Codebook` (its labels).
        Unlabelled interaction and factor terms get readable labels.
    keep, drop
        Regular expressions (``re.search``) selecting the terms shown. Dummies of
        a model's fixed effects (``year::2010``) are dropped unless kept explicitly.
    order
        Regular expressions; matching terms come first, in this order. Without it,
        terms keep their order of appearance and the constant comes last.
    stats
        Fit statistics, in order, among ``nobs``, ``n_units``, ``n_clusters``, ``r2``,
        ``r2_adj``, ``r2_within``, ``pseudo_r2``, ``loglik``, ``aic``, ``bic``,
        ``sigma``. Rows empty for every model are left out.
    show
        Under each estimate: ``"std_error"`` (in parentheses), ``"conf_int"`` (in
        brackets), ``"statistic"`` or ``"p_value"``.
    stars
        ``True`` (``* p<.05, ** p<.01, *** p<.001``), ``False``, or a mapping such
        as ``ipnstats.tables.MANAGEMENT_STARS`` (adds ``† p<.10``).
    model_names
        Column headers; default ``(1)``, ``(2)``, ...
    extra_rows
        Extra rows shown above the statistics, ``{label: one text per model}``.
    show_warnings
        Add each model's warnings (few clusters, dropped rows, collinearity,
        convergence) to the table notes, prefixed by the model's name.
    unit_label
        Label of the ``n_units`` row, e.g. ``"Firms"`` (the IPN study's). Omitted, it is
        the former ``"Firms"`` with a ``DeprecationWarning`` when the row is shown; from
        the next minor version ``"Units"``. Likewise identifier columns (clusters, fixed
        effects) that ``labels`` does not label get the former IPN labels with a warning
        (the study passes them: ``ipnstats.ipn.labels.ID_LABELS``).
    style
        A journal preset (``"apa"``, ``"amj"``, ``"smj"``, ``"asq"`` or a
        :class:`~ipnstats.tables.style.JournalStyle`): it replaces ``stars`` and ``show``
        by the journal's (SMJ: no stars; standard error, confidence interval and exact
        p-value under each estimate) and applies its other rules
        (:func:`~ipnstats.tables.style.apply_style`).

    Examples
    --------
    >>> table = ipnstats.regression_table([fe, re], labels=study.codebook)  # doctest: +SKIP
    >>> print(table.to_text())  # doctest: +SKIP
    """
    named = _named(results, model_names)
    summaries = tuple(summarize(m, conf_level) for m in named.values())
    terms = _terms(summaries, keep, drop, order)
    used = {c for m in summaries for c in (*m.cluster, *m.fixed_effects, m.outcome)}
    label_map = former_id_labels(_labels(labels), used | set(terms), "regression_table")
    shown = "n_units" in stats and any(m.stats.get("n_units") is not None for m in summaries)
    if unit_label is None and shown:
        deprecated_call(f"regression_table(): pass unit_label= for the n_units row (the study "
                        f"passes {FORMER_UNIT_LABEL!r}); without it the row is labelled "
                        f"{FORMER_UNIT_LABEL!r}, and {STAT_LABELS['n_units']!r} from the "
                        "next minor version")
    if show not in ("std_error", "conf_int", "statistic", "p_value"):
        raise SpecificationError(f"show must be 'std_error', 'conf_int', 'statistic' or 'p_value', "
                                 f"got {show!r}")
    preset = journal_style(style) if style is not None else None
    more: tuple[Show, ...] = ()
    if preset is not None:
        stars, (show, *rest) = dict(preset.stars), preset.uncertainty
        more = tuple(rest)
    extra = tuple((k, tuple(v)) for k, v in (extra_rows or {}).items())
    for name, values in extra:
        if len(values) != len(summaries):
            raise SpecificationError(f"extra row {name!r} has {len(values)} values for "
                                     f"{len(summaries)} models")
    return RegressionTable(
        summaries, tuple(named), terms, label_map,
        tuple(stats), show, check_stars(stars), digits, conf_level, title, tuple(notes),
        label, extra, show_warnings,
        FORMER_UNIT_LABEL if unit_label is None else unit_label, more, preset)


def _named(results: object, names: Sequence[str] | None) -> dict[str, object]:
    if isinstance(results, Mapping):
        return dict(results)
    models = list(results) if isinstance(results, list | tuple) else [results]
    names = list(names) if names is not None else [f"({i})" for i in range(1, len(models) + 1)]
    if len(names) != len(models):
        raise SpecificationError(f"{len(names)} model names for {len(models)} models")
    return dict(zip(names, models, strict=True))


def _labels(labels: object) -> dict[str, str]:
    if labels is None:
        return {}
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    codebook_labels = getattr(labels, "labels", None)
    if isinstance(codebook_labels, Mapping):
        scales = {s.name: s.label for s in getattr(labels, "scales", ()) if s.label}
        return scales | dict(codebook_labels)
    raise TypeError("labels must be a mapping of term to label or an ipnstats.Codebook")


def former_id_labels(label_map: dict[str, str], used: set[str], caller: str) -> dict[str, str]:
    """``label_map`` plus the former IPN identifier labels of the ``used`` names it lacks,
    with a deprecation warning naming them (the study layer passes them instead)."""
    missing = {k: v for k, v in FORMER_ID_LABELS.items() if k in used and k not in label_map}
    if missing:
        deprecated_call(f"{caller}(): the labels {missing} of IPN identifier columns are no "
                        "longer built in; pass them in labels= (the study's are "
                        "ipnstats.ipn.labels.ID_LABELS); they still apply until the next "
                        "minor version", skip=2)
    return label_map | missing


def _terms(models, keep, drop, order) -> tuple[str, ...]:
    terms = list(dict.fromkeys(t for m in models for t in m.tidy["term"]))
    fe_prefixes = tuple(f"{fe}::" for m in models for fe in m.fixed_effects)
    if keep is not None:
        terms = [t for t in terms if any(re.search(p, t) for p in keep)]
    else:
        terms = [t for t in terms if not (fe_prefixes and t.startswith(fe_prefixes))]
    if drop is not None:
        terms = [t for t in terms if not any(re.search(p, t) for p in drop)]
    if order:
        first = [t for p in order for t in terms if re.search(p, t)]
        first = list(dict.fromkeys(first))
        terms = first + [t for t in terms if t not in first]
    elif "Intercept" in terms:  # the constant last, as esttab and modelsummary print it
        terms = [t for t in terms if t != "Intercept"] + ["Intercept"]
    return tuple(terms)
