"""The mapping of a researcher's own tables onto the schema: ``[tables.<name>]`` sections.

Every key is optional (see ``docs/study_folder.md``)::

    [tables.financials]
    file = "exports/Financials FY*.xlsx"   # path or glob inside the study folder
    sheet = "Data"                         # Excel sheet (name, or 0-based position)
    header_row = 3                         # line holding the column names (1 = first)
    delimiter = ";"                        # CSV: , ; tab |  (default: sniffed)
    decimal = ","                          # . (default) or ,
    thousands = "."                        # , . ' or a space
    date_format = "%d/%m/%Y"               # strftime (default: ISO 8601)
    encoding = "cp1252"                    # default: UTF-8, falling back to Windows-1252
    columns = { firm_id = "FirmID", revenue = "Revenue (USD)" }   # schema = source
    values = { framing = { Verlust = "loss", Gewinn = "gain" } }  # recodes
    table = "crm.members"                  # databases: a table (default: the name)
    query = "SELECT ..."                   # databases: a read-only query instead

A table without a section is read as the schema names it. Every problem is reported
with the key that holds it, unknown keys with the closest known one.
"""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ipnstats.data.conventions import date_format_problem
from ipnstats.data.problems import ProblemLog
from ipnstats.data.schema import TABLES

KEYS = ("file", "sheet", "header_row", "delimiter", "decimal", "thousands", "date_format",
        "encoding", "columns", "values", "table", "query")
DELIMITERS = (",", ";", "\t", "|")
THOUSANDS = (",", ".", "'", " ")
#: Values a recode may produce for a yes/no column.
BINARY_VALUES = ("0", "1")


@dataclass(frozen=True, slots=True)
class TableMapping:
    """Where one table comes from and how its source columns and values map to the schema."""

    table: str
    file: str | None = None
    sheet: str | int | None = None
    header_row: int = 1
    delimiter: str | None = None
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    encoding: str | None = None
    columns: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    values: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    db_table: str | None = None
    query: str | None = None

    def source(self, column: str) -> str:
        """The source column that holds schema column ``column``."""
        return self.columns.get(column, column)

    def key_for(self, column: str) -> str | None:
        """The codebook key that mapped ``column`` (None when it was not mapped)."""
        if column in self.columns:
            return f"[tables.{self.table}] columns.{column}"
        return None

    @property
    def number_options(self) -> dict[str, str]:
        """Keyword options of the number parsers (empty for the defaults)."""
        out = {}
        if self.decimal != ".":
            out["decimal"] = self.decimal
        if self.thousands is not None:
            out["thousands"] = self.thousands
        return out

    @property
    def date_options(self) -> dict[str, str]:
        return {"date_format": self.date_format} if self.date_format else {}


def read_mappings(raw: dict[str, Any], scales: tuple, file: str,
                  log: ProblemLog) -> dict[str, TableMapping]:
    """The ``[tables]`` section as one :class:`TableMapping` per table; problems to ``log``."""
    out = {}
    items = [item for s in scales for item in s.items]
    for name, spec in raw.items():
        where = f"[tables.{name}]"
        problems = _Problems(file, log, name)
        if name not in TABLES:
            problems.add(f"[tables] unknown table {name!r}{_hint(name, TABLES)}")
            continue
        if not isinstance(spec, dict):
            problems.add(f"{where} must be a table of settings, e.g. file = \"...\"")
            continue
        out[name] = _mapping(name, spec, where, items, problems)
    return out


@dataclass
class _Problems:
    file: str
    log: ProblemLog
    table: str

    def add(self, message: str, key: str = "") -> None:
        self.log.add("error", "codebook", "bad_mapping", message, file=self.file,
                     column=f"tables.{self.table}" + (f".{key}" if key else ""))


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


def _mapping(name: str, spec: dict, where: str, items: list[str],
             problems: _Problems) -> TableMapping:
    for key in spec:
        if key not in KEYS:
            problems.add(f"{where} unknown key {key!r}{_hint(key, KEYS)}", key)
    get = _Getter(spec, where, problems)
    file = get.text("file")
    db_table, query = get.text("table"), get.text("query")
    if file and (db_table or query):
        problems.add(f"{where} file is for study folders, table and query for databases: "
                     "give one of them", "file")
    if db_table and query:
        problems.add(f"{where} give either table or query, not both", "query")
    if file and (file.startswith(("/", "\\", "~")) or ":" in file[:3]
                 or ".." in file.replace("\\", "/").split("/")):
        problems.add(f"{where} file = {file!r} must be a path inside the study folder", "file")
        file = None
    sheet = spec.get("sheet")
    if sheet is not None and not (isinstance(sheet, str) or (
            isinstance(sheet, int) and not isinstance(sheet, bool) and sheet >= 0)):
        problems.add(f"{where} sheet must be a sheet name or a position from 0, not {sheet!r}",
                     "sheet")
        sheet = None
    header_row = get.integer("header_row", 1, 1, 1000)
    delimiter = get.choice("delimiter", DELIMITERS)
    decimal = get.choice("decimal", (".", ",")) or "."
    thousands = get.choice("thousands", THOUSANDS)
    if thousands is not None and thousands == decimal:
        problems.add(f"{where} thousands and decimal must differ", "thousands")
        thousands = None
    if decimal == delimiter:
        problems.add(f"{where} decimal {decimal!r} cannot also be the delimiter "
                     "(a semicolon-separated file usually has decimal commas)", "decimal")
    columns = _columns(spec.get("columns", {}), name, where, items, problems)
    return TableMapping(
        table=name, file=file, sheet=sheet, header_row=header_row, delimiter=delimiter,
        decimal=decimal, thousands=thousands, date_format=_date_format(get), encoding=
        _encoding(get), columns=MappingProxyType(columns), values=MappingProxyType(
            _values(spec.get("values", {}), name, where, items, problems)),
        db_table=db_table, query=query)


@dataclass
class _Getter:
    spec: dict
    where: str
    problems: _Problems

    def text(self, key: str) -> str | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.add(f"{self.where} {key} must be a non-empty text in quotes, "
                              f"not {value!r}", key)
            return None
        return value

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.problems.add(f"{self.where} {key} must be a whole number in {lo}..{hi}, "
                              f"not {value!r}", key)
            return default
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if value not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            self.problems.add(f"{self.where} {key} = {value!r} must be one of {shown}", key)
            return None
        return value


def _date_format(get: _Getter) -> str | None:
    fmt = get.text("date_format")
    if fmt is None:
        return None
    problem = date_format_problem(fmt)  # the check the date parser itself applies
    if problem:
        get.problems.add(f"{get.where} date_format = {fmt!r}: {problem}", "date_format")
        return None
    return fmt


def _encoding(get: _Getter) -> str | None:
    enc = get.text("encoding")
    if enc is None:
        return None
    try:
        return codecs.lookup(enc).name
    except LookupError:
        get.problems.add(f"{get.where} encoding = {enc!r} is not an encoding Python knows "
                         "(e.g. \"utf-8\", \"cp1252\", \"latin-1\", \"utf-16\")", "encoding")
        return None


def _schema_columns(name: str, items: list[str]) -> list[str]:
    return TABLES[name].column_names + (items if name == "surveys" else [])


def _columns(raw, name: str, where: str, items: list[str], problems: _Problems) -> dict:
    if not isinstance(raw, dict):
        problems.add(f"{where} columns must be a table of schema name = source name, e.g. "
                     "{ firm_id = \"FirmID\" }", "columns")
        return {}
    known = _schema_columns(name, items)
    out, seen = {}, {}
    for column, source in raw.items():
        if column not in known:
            problems.add(f"{where} columns: {column!r} is not a column of {name}"
                         f"{_hint(column, known)}", f"columns.{column}")
        elif not isinstance(source, str) or not source.strip():
            problems.add(f"{where} columns.{column} must name a source column in quotes, "
                         f"not {source!r}", f"columns.{column}")
        elif source in seen:
            problems.add(f"{where} columns: source column {source!r} is mapped to both "
                         f"{seen[source]!r} and {column!r}", f"columns.{column}")
        else:
            seen[source] = column
            out[column] = source.strip()
    return out


def _values(raw, name: str, where: str, items: list[str], problems: _Problems) -> dict:
    if not isinstance(raw, dict):
        problems.add(f"{where} values must be a table per column, e.g. "
                     "{ framing = { Verlust = \"loss\" } }", "values")
        return {}
    known = _schema_columns(name, items)
    out = {}
    for column, recode in raw.items():
        key = f"values.{column}"
        if column not in known:
            problems.add(f"{where} values: {column!r} is not a column of {name}"
                         f"{_hint(column, known)}", key)
            continue
        if not isinstance(recode, dict) or not all(isinstance(v, str | int | float)
                                                   and not isinstance(v, bool)
                                                   for v in recode.values()):
            problems.add(f"{where} values.{column} must be a table of source value = value, "
                         "e.g. { Verlust = \"loss\" }", key)
            continue
        spec = TABLES[name].column(column) if column in TABLES[name].column_names else None
        targets = {str(v).strip() for v in recode.values()}
        if spec is not None and spec.kind == "choice":
            wrong = sorted(targets - set(spec.choices))
            if wrong:
                problems.add(f"{where} values.{column}: {wrong} are not among "
                             f"{'/'.join(spec.choices)}", key)
                continue
        if spec is not None and spec.kind == "binary" and not targets <= set(BINARY_VALUES):
            problems.add(f"{where} values.{column}: a yes/no column takes 0 or 1", key)
            continue
        out[column] = MappingProxyType({str(k).strip(): str(v).strip()
                                        for k, v in recode.items()})
    return out
