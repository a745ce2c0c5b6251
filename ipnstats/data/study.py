"""The study layer: load and validate a study folder, derive the analysis frames."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.data.codebook import Codebook
from ipnstats.data.columns import id_codes, take, used_codes
from ipnstats.data.dyads import exchange_frame, firm_traits, task_frame
from ipnstats.data.frames import firm_positions, firm_year, survey_scores
from ipnstats.data.problems import DataError, ProblemLog
from ipnstats.data.scales import RELIABILITY_COLUMNS, reliability
from ipnstats.data.schema import TABLES
from ipnstats.data.sources import SourceError, is_url, redact
from ipnstats.data.validate import CheckedTable, check_study

FLOW_COLUMNS = ["step", "table", "reason", "rows_in", "rows_out"]


@dataclass(frozen=True)
class ValidationReport:
    """What validating a study folder found.

    ``problems`` has one row per problem (capped at 50 per table, column and rule):
    severity, table, file, line (as a spreadsheet shows it; row number for Parquet,
    Stata and SPSS), column, value, rule, problem. ``counts`` has the uncapped totals.
    """

    folder: Path | str  # the study folder, or the database URL with its password redacted
    problems: pd.DataFrame
    counts: pd.DataFrame
    rows_read: MappingProxyType

    @property
    def n_errors(self) -> int:
        return int(self.counts.loc[self.counts["severity"] == "error", "count"].sum())

    @property
    def n_warnings(self) -> int:
        return int(self.counts.loc[self.counts["severity"] == "warning", "count"].sum())

    @property
    def ok(self) -> bool:
        """True when no error rule is broken (warnings allowed)."""
        return self.n_errors == 0

    def __repr__(self) -> str:
        verdict = "OK" if self.ok else "NOT VALID"
        return (f"<ValidationReport {verdict}: {self.n_errors:,} error(s), "
                f"{self.n_warnings:,} warning(s) in {len(self.rows_read)} table(s)>")

    def summary(self, max_problems: int = 40) -> str:
        """A readable account: rows read per table, then every problem (capped)."""
        what = "Study database" if isinstance(self.folder, str) else "Study folder"
        lines = [f"{what}: {self.folder}"]
        for table, n in self.rows_read.items():
            lines.append(f"  {table:<17} {n:>10,} rows")
        verdict = "OK" if self.ok else "NOT VALID"
        lines.append(f"{verdict}: {self.n_errors:,} error(s), {self.n_warnings:,} warning(s)")
        shown = self.problems.head(max_problems)
        for p in shown.itertuples(index=False):
            where = p.file + (f", line {p.line}" if pd.notna(p.line) else "")
            where += f", column {p.column}" if p.column else ""
            value = f" (value: {p.value!r})" if p.value else ""
            lines.append(f"  {p.severity.upper():<7} [{p.rule}] {where}: {p.problem}{value}")
        total = self.n_errors + self.n_warnings
        if total > len(shown):
            lines.append(f"  ... and {total - len(shown):,} more (see .problems and .counts)")
            lines.append("Problems by table, column and rule:")
            for c in self.counts.sort_values(["severity", "table", "column"]).itertuples():
                where = f"{c.table}.{c.column}" if c.column else c.table
                lines.append(f"  {c.severity:<7} {where:<32} {c.rule:<24} {c.count:>12,}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Study:
    """A loaded study: clean tables, the three analysis frames, sample flow, reliability.

    Examples
    --------
    >>> import ipnstats
    >>> study = ipnstats.load_study("data/example")  # doctest: +SKIP
    >>> study.firm_year[["firm_id", "year", "member", "cohort", "stage"]].head()  # doctest: +SKIP
    """

    folder: Path | str  # the study folder, or the database URL with its password redacted
    codebook: Codebook
    tables: MappingProxyType
    validation: ValidationReport
    firm_year: pd.DataFrame
    exchanges: pd.DataFrame | None
    tasks: pd.DataFrame | None
    sample_flow: pd.DataFrame
    reliability: pd.DataFrame
    skipped: tuple[str, ...] = field(default=())

    def has(self, table: str) -> bool:
        """Whether the study has (a non-empty) ``table``."""
        return table in self.tables

    @property
    def source(self) -> str:
        """Where the study was read from, as displays show it; the folder's name (not its
        full path), or the database URL with any password redacted."""
        if isinstance(self.folder, str):
            return f"database {redact(self.folder)}"
        return f"folder {Path(self.folder).name}"

    @property
    def survey_items(self) -> pd.DataFrame | None:
        """The surveys' items in scored direction (reverse-coded items turned around), one
        row per survey, with ``firm_id``, ``date``, ``year`` and the firm's peer group that
        year (``group_id``, missing for a non-member); ``None`` when the study has no
        surveys. The input of :func:`ipnstats.cfa` and the other measurement checks."""
        from ipnstats.data.survey_frame import survey_items  # (it reads a Study)

        return survey_items(self)

    def _frames(self) -> dict[str, pd.DataFrame | None]:
        return {"firm_year": self.firm_year, "exchanges": self.exchanges, "tasks": self.tasks}

    def _validation_line(self) -> str:
        v = self.validation
        return (f"{'OK' if v.ok else 'NOT VALID'}: {v.n_errors:,} error(s), "
                f"{v.n_warnings:,} warning(s)")

    def __repr__(self) -> str:
        tables = ", ".join(f"{name} {len(t):,}" for name, t in self.tables.items())
        frames = ", ".join(f"{name} {f.shape[0]:,}x{f.shape[1]}" for name, f in
                           self._frames().items() if f is not None)
        return (f"<Study {self.codebook.name!r} from {self.source}; tables (rows): {tables}; "
                f"frames: {frames}; validation {self._validation_line()}>")

    def _repr_html_(self) -> str:
        """A notebook's display: the study, its tables' rows, its frames' shapes and the
        validation summary."""
        from html import escape

        rows = [(f"table {name}", f"{len(t):,} rows") for name, t in self.tables.items()]
        rows += [(f"frame {name}", "none" if f is None else f"{f.shape[0]:,} rows x "
                  f"{f.shape[1]} columns") for name, f in self._frames().items()]
        body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
        skipped = (f"<p>Skipped: {escape(', '.join(self.skipped))}</p>" if self.skipped
                   else "")
        return (f"<div class=\"ipnstats-study\"><p><strong>Study "
                f"{escape(self.codebook.name)}</strong> from {escape(self.source)}</p>"
                f"<p>Validation {escape(self._validation_line())}</p>"
                f"<table border=\"0\">{body}</table>{skipped}</div>")


def validate_study(path: str | Path, *, codebook: str | Path | None = None) -> ValidationReport:
    """Check a study folder or database against the schema and rules; never raises for
    bad data.

    ``path`` is a study folder, or a database URL (``postgresql://user@host/db``,
    ``sqlite:///study.db``, ``duckdb:///study.duckdb``) with ``codebook`` the path of
    its ``codebook.toml`` (in a folder, ``codebook`` defaults to the folder's own).

    A :class:`Study` already loaded carries its report as ``study.validation``; passing
    one here is refused with a message saying so.

    Examples
    --------
    >>> report = ipnstats.validate_study("data/example")  # doctest: +SKIP
    >>> report.ok, report.problems.head()  # doctest: +SKIP
    """
    if isinstance(path, Study):
        raise SpecificationError("validate_study() reads a study folder or a database URL; "
                                 "a loaded Study was validated when it was loaded: use "
                                 "study.validation")
    if not isinstance(path, (str, os.PathLike)):
        raise SpecificationError("validate_study() reads a study folder or a database URL "
                                 f"(a str or a Path), not {type(path).__name__}")
    report, _, _ = _check(path, codebook)
    return report


def load_study(path: str | Path, *, codebook: str | Path | None = None,
               errors: Literal["raise", "drop"] = "raise") -> Study:
    """Load, validate and derive a study from a folder or a database.

    Parameters
    ----------
    path
        The study folder (tables and ``codebook.toml``; see ``docs/study_folder.md``),
        or a database URL: ``postgresql://user@host:5432/dbname`` (the password from
        ``PGPASSWORD`` or ``~/.pgpass``), ``sqlite:///path.db``, ``duckdb:///path.duckdb``.
        Tables are read in one read-only transaction.
    codebook
        The ``codebook.toml`` (required with a database URL; default: the folder's own).
        Its ``[tables.<name>]`` sections map the researcher's own files, tables, columns
        and labels onto the schema.
    errors
        ``"raise"`` (default): any broken error rule raises :class:`DataError` with
        every problem. ``"drop"``: rows that break a row-level rule are dropped and
        counted in ``sample_flow`` by rule; file-level problems (missing or unreadable
        files, missing columns, a broken codebook) and a required table left without
        rows still raise.

    Examples
    --------
    >>> study = ipnstats.load_study("data/example")  # doctest: +SKIP
    >>> study.sample_flow  # doctest: +SKIP
    """
    if errors not in ("raise", "drop"):
        raise SpecificationError(f"errors must be 'raise' or 'drop', not {errors!r}")
    report, codebook_, checked = _check(path, codebook)
    fatal = report.counts[(report.counts["severity"] == "error")
                          & report.counts["rule"].isin(FILE_RULES)]
    if (errors == "raise" and not report.ok) or len(fatal) or codebook_ is None:
        raise DataError(_error_text(report), problems=report.problems)
    missing = [t for t, spec in TABLES.items() if spec.required and t not in checked]
    if missing:
        raise DataError(f"{_error_text(report)}\nrequired table(s) {missing} could not be "
                        "read", problems=report.problems)
    tables, flow = _clean_tables(checked)
    del checked  # the raw tables: what the clean ones do not share is freed before deriving
    emptied = [t for t, spec in TABLES.items() if spec.required and not len(tables[t])]
    if emptied:
        raise DataError(f"no rows of {emptied} are left once the rows that break a rule are "
                        f"dropped:\n{report.summary()}", problems=report.problems)
    return _derive(report.folder, codebook_, tables, flow, report)


FILE_RULES = ("missing_file", "unreadable_file", "missing_column", "ambiguous_file",
              "bad_scale", "missing_scale", "bad_stages", "bad_setting", "bad_codebook",
              "bad_mapping", "duplicate_column", "outside_folder")


def _check(path: str | Path, codebook: str | Path | None
           ) -> tuple[ValidationReport, Codebook | None, dict[str, CheckedTable]]:
    log = ProblemLog()
    shown: Path | str
    if is_url(path):
        shown = redact(str(path))
        codebook_, checked = None, {}
        if codebook is None:
            log.add("error", "codebook", "missing_file", "a study in a database needs its "
                    "codebook: pass codebook=\"codebook.toml\" (--codebook on the command line)",
                    file="codebook.toml")
        else:
            codebook_, checked = _checked(path, Path(codebook), log)
    else:
        shown = Path(path)
        if not shown.is_dir():
            log.add("error", "study", "missing_file", f"{shown} is not a folder", file=str(shown))
            codebook_, checked = None, {}
        else:
            codebook_, checked = _checked(shown, None if codebook is None else Path(codebook),
                                          log)
    locate = {name: t.raw.locate for name, t in checked.items()}
    rows = MappingProxyType({name: len(t.data) for name, t in checked.items()})
    report = ValidationReport(shown, log.frame(locate), log.count_frame(), rows)
    return report, codebook_, checked


def _checked(location, codebook: Path | None, log: ProblemLog):
    """check_study, with a source's own errors (connection, drivers) as problems."""
    try:
        return check_study(location, log, codebook)
    except SourceError as exc:
        log.add("error", "study", "unreadable_file", str(exc), file=redact(str(location)))
        return None, {}


def _error_text(report: ValidationReport) -> str:
    return (f"the study in {report.folder} has {report.n_errors:,} error(s); "
            f"fix them and load again:\n{report.summary()}")


def _clean_tables(checked: dict[str, CheckedTable]) -> tuple[dict[str, pd.DataFrame], list]:
    """Drop rows that broke a rule (none under errors='raise'), with their flow steps."""
    tables, flow = {}, []
    for name, table in checked.items():
        n = len(table.data)
        flow.append(_flow("read", name, f"rows read from {table.raw.label}", n, n))
        if not table.any_bad:
            tables[name] = table.data
            continue
        reasons = pd.Series(table.drop_reason).dropna().value_counts()
        for rule, count in reasons.items():
            flow.append(_flow("validation", name, f"broke rule {rule}", n, n - int(count)))
            n -= int(count)
        bad = table.bad
        tables[name] = table.data.loc[~bad].reset_index(drop=True) if bad.any() else table.data
    if any(t.any_bad and t.bad.any() for t in checked.values()):
        _cascade(tables, flow)
    _share_firm_categories(tables, checked)
    return tables, flow


def _share_firm_categories(tables: dict[str, pd.DataFrame],
                           checked: dict[str, CheckedTable]) -> None:
    """Give every firm-id column the firms table's categories, in its row order, so that
    a firm's position in the firms table is its categorical code everywhere."""
    firms = tables["firms"]
    ids = firms["firm_id"]
    rows = np.arange(len(firms))
    if (isinstance(ids.dtype, pd.CategoricalDtype) and len(ids.cat.categories) == len(firms)
            and ids.cat.categories.astype("str").dtype == ids.cat.categories.dtype
            and np.array_equal(ids.cat.codes.to_numpy(), rows)):
        # already one category per row, in order (a renamed index shares the hash table)
        index = ids.cat.categories.rename("firm_id")
    else:
        index = pd.Index(ids.astype("str"))
    dtype = pd.CategoricalDtype(index)
    firms["firm_id"] = pd.Categorical.from_codes(rows, dtype=dtype)
    # positions in the validator's firm index -> rows of the firms table
    known = checked["firms"].id_index("firm_id")
    if known is index or known.equals(index):
        to_row = None  # the same order: positions are rows
    else:
        to_row = np.full(len(known) + 1, -1)
        to_row[id_codes(pd.Series(index), known)] = rows
    for name, df in tables.items():
        for column in TABLES[name].columns:
            if (column.references != "firms.firm_id" or column.name not in df
                    or df[column.name].dtype is dtype):
                continue
            cached = checked[name].ref_codes.get(column.name)
            if cached is not None and len(cached) == len(df):
                codes = cached if to_row is None else take(to_row, cached)
            else:
                codes = id_codes(df[column.name], index)
            df[column.name] = pd.Categorical.from_codes(codes, dtype=dtype)


def _cascade(tables: dict[str, pd.DataFrame], flow: list) -> None:
    """Drop rows whose firm or meeting was itself dropped (errors='drop' only)."""
    for name, df in list(tables.items()):
        spec = TABLES[name]
        keep = np.ones(len(df), bool)
        for column in spec.columns:
            if column.references is None or column.references.startswith("memberships"):
                continue
            parent, parent_col = column.references.split(".")
            if parent not in tables or column.name not in df:
                continue
            values = df[column.name]
            keep &= values.isna().to_numpy() | (id_codes(values, tables[parent][parent_col]) >= 0)
        if not keep.all():
            n = len(df)
            flow.append(_flow("validation", name, "refers to a dropped row of another table",
                              n, int(keep.sum())))
            tables[name] = df.loc[keep].reset_index(drop=True)


def _derive(folder: Path, codebook: Codebook, tables: dict[str, pd.DataFrame], flow: list,
            report: ValidationReport) -> Study:
    scores, rel = None, pd.DataFrame(columns=RELIABILITY_COLUMNS)
    if "surveys" in tables:
        scores, score_flow = survey_scores(tables["surveys"], codebook)
        flow += score_flow
        rel = reliability(tables["surveys"], codebook.scales)
    panel, panel_flow = firm_year(tables, codebook, scores)
    flow += panel_flow
    firms = tables["firms"]
    in_panel = used_codes(firm_positions(panel["firm_id"], firms), len(firms))
    flow.append(_flow("firm_year", "firms", "firm has no financials row", len(firms),
                      int(in_panel.sum())))
    exchanges = tasks = None
    if "exchanges" in tables:
        exchanges = exchange_frame(tables["exchanges"], panel, firms,
                                   firm_traits(scores, firms), codebook)
        flow.append(_flow("exchanges", "exchanges", "one row per exchange",
                          len(tables["exchanges"]), len(exchanges)))
    if "tasks" in tables:
        tasks = task_frame(tables["tasks"], exchanges)
        flow.append(_flow("tasks", "tasks", "one row per task", len(tables["tasks"]), len(tasks)))
    skipped = tuple(t for t in ("meetings", "meeting_activity", "surveys", "exchanges", "tasks")
                    if t not in tables)
    return Study(folder, codebook, MappingProxyType(tables), report, panel, exchanges, tasks,
                 pd.DataFrame(flow, columns=FLOW_COLUMNS), rel, skipped)


def _flow(step: str, table: str, reason: str, rows_in: int, rows_out: int) -> dict:
    return {"step": step, "table": table, "reason": reason, "rows_in": int(rows_in),
            "rows_out": int(rows_out)}
