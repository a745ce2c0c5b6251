"""Read and validate a study folder: every broken rule is reported, all at once.

:func:`check_study` reads each table, parses its columns by kind and applies the
rules. It returns the typed tables together with, for each, the rows that broke an
error rule (and the first rule they broke), so that the study layer can either
refuse the study or drop exactly those rows and account for them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ipnstats.data import columns as col
from ipnstats.data.codebook import Codebook, read_codebook
from ipnstats.data.mapping import TableMapping
from ipnstats.data.problems import EXAMPLES_PER_RULE, ProblemLog
from ipnstats.data.readers import RawTable
from ipnstats.data.schema import TABLE_ORDER, TABLES, Column, TableSpec
from ipnstats.data.sources import map_columns, open_source


@dataclass
class CheckedTable:
    """One table after validation: typed data and the rows that broke error rules."""

    name: str
    raw: RawTable
    data: pd.DataFrame
    #: object array: first error rule of each row, None if clean (None: no row broke one)
    reason: np.ndarray | None
    #: per referencing column, each row's position in the parent's ``id_index`` (-1: none)
    ref_codes: dict = field(default_factory=dict, repr=False)
    _indexes: dict = field(default_factory=dict, repr=False)

    def id_index(self, column: str) -> pd.Index:
        """Distinct ids of ``column`` (built once, then reused by every child table)."""
        if column not in self._indexes:
            self._indexes[column] = col.id_index(self.data[column])
        return self._indexes[column]

    @property
    def drop_reason(self) -> np.ndarray:
        """Object array: the first error rule each row broke, None if clean."""
        if self.reason is None:
            return np.full(len(self.data), None, object)
        return self.reason

    @property
    def any_bad(self) -> bool:
        return self.reason is not None

    @property
    def bad(self) -> np.ndarray:
        if self.reason is None:
            return np.zeros(len(self.data), bool)
        return pd.notna(self.reason)


@dataclass
class _Table:
    """A table being checked: flags go to the log and mark rows."""

    spec: TableSpec
    raw: RawTable
    data: pd.DataFrame
    n: int
    log: ProblemLog
    mapping: TableMapping
    renamed: dict[str, str]  # schema name -> source column, of the columns the mapping renamed
    reason: np.ndarray | None = None  # made on the first error: see CheckedTable.reason
    ref_codes: dict = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.raw.label

    def shown(self, column: str) -> str:
        """The column as the user sees it in the source."""
        return self.renamed.get(column, column)

    def mapped(self, column: str, problem: str) -> str:
        """``problem``, saying which codebook key mapped ``column`` when one did."""
        if column not in self.renamed:
            return problem
        return (f"{problem} [column {self.renamed[column]!r}, read as {column} by "
                f"codebook.toml [tables.{self.spec.name}] columns.{column}]")

    def flag(self, mask, rule: str, column: str, problem: str, *, values=None,
             severity: str = "error") -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        shown = rows[:EXAMPLES_PER_RULE]  # the log keeps only examples, and the count
        if values is None:
            raw = self.raw.frame
            values = raw[column].iloc[shown].to_numpy(dtype=object) if column in raw else None
        else:
            values = np.asarray(values, dtype=object)[shown]
        self.log.add(severity, self.spec.name, rule, self.mapped(column, problem),
                     file=self.file, column=self.shown(column), rows=shown, values=values,
                     total=len(rows))
        if severity == "error":
            self.mark(mask, rule)

    def mark(self, mask: np.ndarray, rule: str) -> None:
        """Record ``rule`` as the drop reason of the rows of ``mask`` without one."""
        if self.reason is None:
            self.reason = np.full(self.n, None, object)
        self.reason[mask & pd.isna(self.reason)] = rule


def check_study(location: Path | str, log: ProblemLog, codebook_path: Path | None = None
                ) -> tuple[Codebook | None, dict[str, CheckedTable]]:
    """Read and validate every table of a study folder or database; problems go to ``log``.

    ``codebook_path`` defaults to ``codebook.toml`` in the folder (a database needs it).
    """
    if codebook_path is None:
        codebook_path = Path(location) / "codebook.toml"
    codebook = read_codebook(Path(codebook_path), log)
    tables: dict[str, CheckedTable] = {}
    with open_source(location, codebook, log) as source:
        for name in TABLE_ORDER:
            raw = source.read(name, _parent_ids(TABLES[name], tables))
            if raw is None:
                continue
            checked = _check_table(TABLES[name], raw, codebook, tables, log)
            if checked is not None:
                tables[name] = checked
    return codebook, tables


def _check_table(spec: TableSpec, raw: RawTable, codebook: Codebook | None,
                 parents: dict[str, CheckedTable], log: ProblemLog) -> CheckedTable | None:
    mapping = codebook.mapping(spec.name) if codebook is not None else TableMapping(spec.name)
    for rule, note in raw.notes:
        log.add("warning", spec.name, rule, note, file=raw.label)
    if raw.qualtrics and spec.name == "surveys" and codebook is not None:
        raw.frame = _from_qualtrics(raw.frame, codebook)
    renamed = map_columns(raw, mapping, log)
    columns = _columns(spec, codebook)
    n = len(raw.frame)
    table = _Table(spec, raw, pd.DataFrame(index=raw.frame.index), n, log, mapping, renamed)
    if len(raw.frame.columns) == 0:
        log.add("error", spec.name, "missing_column", f"{raw.label} has no columns",
                file=raw.label, lines=[raw.first_line - 1])
        return None
    if n == 0:
        log.add("error" if spec.required else "warning", spec.name, "empty_table",
                f"table {spec.name} has no rows" + ("" if spec.required else
                                                   "; the hypotheses that need it are skipped"),
                file=raw.label)
        return None
    present = _check_columns(table, columns)
    _check_malformed(table)
    for column in present:
        _parse(table, column)
    _check_keys(table)
    _check_references(table, present, parents)
    RULES.get(spec.name, lambda *_: None)(table, parents, codebook)
    extra = [c for c in raw.frame.columns if c not in table.data]
    data = pd.concat([table.data, raw.frame[extra]], axis=1) if extra else table.data
    return CheckedTable(spec.name, raw, data, table.reason, table.ref_codes)


def _parent_ids(spec: TableSpec, parents: dict[str, CheckedTable]) -> dict[str, pd.Index]:
    """For each id column that refers to a checked table, the ids of that table."""
    out = {}
    for column in spec.columns:
        if column.references is None:
            continue
        parent_name, parent_col = column.references.split(".")
        parent = parents.get(parent_name)
        if parent is not None and parent_col in parent.data:
            values = parent.data[parent_col]
            if isinstance(values.dtype, pd.CategoricalDtype):
                out[column.name] = values.cat.categories
    return out


def _columns(spec: TableSpec, codebook: Codebook | None) -> list[Column]:
    if spec.name != "surveys" or codebook is None:
        return list(spec.columns)
    items = [Column(item, "number", nullable=True) for item in codebook.items]
    return list(spec.columns) + items


def _check_columns(table: _Table, columns: list[Column]) -> list[Column]:
    have = list(table.raw.frame.columns)
    present = []
    for column in columns:
        if column.name in have:
            present.append(column)
            continue
        table.log.add("error", table.spec.name, "missing_column",
                      _missing_text(table, column.name, have), file=table.file,
                      column=table.mapping.source(column.name),
                      lines=[table.raw.first_line - 1])
        table.mark(np.ones(table.n, bool), "missing_column")
    return present


def _missing_text(table: _Table, name: str, have: list[str]) -> str:
    """Why a schema column is missing, with the source column it most likely is."""
    key = table.mapping.key_for(name)
    source = table.mapping.source(name)
    hint = _closest(source, have)
    if key:
        text = f"column {source!r} (named by codebook.toml {key}) is not in {table.file}"
        return text + (f"; did you mean {hint!r}?" if hint else f" (it has: {have[:12]})")
    text = f"required column {name!r} is missing"
    if hint:
        text += (f"; did you mean {hint!r}? (rename it, or map it: columns = {{ {name} = "
                 f"\"{hint}\" }} in [tables.{table.spec.name}] of codebook.toml)")
    return text


def _closest(name: str, have: list[str]) -> str | None:
    """The column of ``have`` most like ``name``, case, spaces and underscores ignored."""
    def norm(text: str) -> str:
        return "".join(ch for ch in str(text).lower() if ch.isalnum())

    same = [h for h in have if norm(h) == norm(name)]
    if same:
        return same[0]
    keyed = {norm(h): h for h in have}
    close = difflib.get_close_matches(norm(name), list(keyed), n=1, cutoff=0.75)
    return keyed[close[0]] if close else None


def _check_malformed(table: _Table) -> None:
    if not table.raw.malformed:
        return
    width = len(table.raw.frame.columns)
    mask = np.zeros(table.n, bool)
    fields = np.full(len(mask), None, object)
    for pos, n_fields, _text in table.raw.malformed:
        mask[pos], fields[pos] = True, n_fields
    table.flag(mask, "wrong_field_count", "",
               f"row does not have {width} fields like the header (value: its field count)",
               values=fields)


def _parse(table: _Table, column: Column) -> None:
    raw = table.raw.frame[column.name]
    name, kind = column.name, column.kind
    recode = table.mapping.values.get(name)
    if recode:
        raw = col.recode(raw, dict(recode))
    if kind == "integer":
        values, bad, fractional = col.parse_integer(raw, **table.mapping.number_options)
        table.flag(fractional, "not_integer", name, f"{name} must be a whole number")
    elif kind == "choice":
        values, bad = col.parse_choice(raw, column.choices)
    elif kind == "number":
        values, bad = col.parse_number(raw, **table.mapping.number_options)
    elif kind == "date":
        values, bad = col.parse_date(raw, **table.mapping.date_options)
    else:
        values, bad = PARSERS[kind](raw)
    text = BAD_TEXT[kind].format(name=name, choices="/".join(column.choices))
    if kind == "date" and bad.any():
        text = (col.date_hint(raw, bad) if table.mapping.date_format is None else None) or (
            f"{name} is not a date in the format {table.mapping.date_format!r} "
            f"(date_format in [tables.{table.spec.name}] of codebook.toml)"
            if table.mapping.date_format else text)
    if kind == "choice" and bad.any() and recode is None:
        text += (f" (other labels can be recoded: values = {{ {name} = {{ ... = "
                 f"\"{column.choices[0]}\" }} }} in [tables.{table.spec.name}] of codebook.toml)")
    table.flag(bad, BAD_RULE[kind], name, text)
    if not column.nullable:
        missing = isna(values)
        if bad.any():
            missing &= ~bad
        if kind == "integer" and fractional.any():
            missing &= ~fractional
        table.flag(missing, "missing_value", name, f"{name} is required but empty")
    if column.minimum is not None:
        low = _compare(values, np.less, column.minimum)
        rule = "negative_value" if column.minimum == 0 else "out_of_range"
        table.flag(low, rule, name, f"{name} must be at least {column.minimum:g}")
    if column.maximum is not None:
        high = _compare(values, np.greater, column.maximum)
        table.flag(high, "out_of_range", name, f"{name} must be at most {column.maximum:g}")
    if kind == "date":
        year = values.dt.year.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            table.flag((year < DATE_YEARS[0]) | (year > DATE_YEARS[1]), "out_of_range", name,
                       f"{name} must lie in the years {DATE_YEARS[0]}-{DATE_YEARS[1]}")
    table.data[name] = _tighten(values, kind)


DATE_YEARS = (1800, 2200)


def _compare(values: pd.Series, op, bound: float) -> np.ndarray:
    """``op(values, bound)`` as a plain boolean array (missing values compare False)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":
        array = values.to_numpy()  # no copy: compared as floats, as below
    else:
        array = values.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return op(array, float(bound))


def isna(values: pd.Series) -> np.ndarray:
    """``values.isna()`` as a numpy array, straight from the array for numpy dtypes and
    categoricals."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            return np.isnan(values.to_numpy())
        if dtype.kind in "iub":
            return np.zeros(len(values), bool)
        if dtype.kind in "mM":
            return np.isnat(values.to_numpy())
    if isinstance(dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy() < 0
    return values.isna().to_numpy()


def _tighten(values: pd.Series, kind: str) -> pd.Series:
    """Whole-number kinds as integers when nothing is missing (floats otherwise)."""
    if kind in ("integer", "binary") and not isna(values).any():
        return values.astype(np.int64 if kind == "integer" else np.int8)
    return values


PARSERS = {"id": col.parse_id, "text": col.parse_text, "number": col.parse_number,
           "binary": col.parse_binary, "date": col.parse_date}
BAD_RULE = {"id": "bad_id", "text": "bad_text", "number": "not_a_number",
            "integer": "not_a_number", "binary": "not_binary", "choice": "not_in_set",
            "date": "bad_date"}
BAD_TEXT = {"id": "", "text": "",
            "number": "{name} is not a finite number (write e.g. 1234.5; 1,234.50 and $1,234 "
                      "are read; inf, Infinity and numbers past 1e308 are not)",
            "integer": "{name} is not a whole number within +-2^63 (inf is not one)",
            "binary": "{name} must be 0 or 1 (true/false and yes/no are read)",
            "choice": "{name} must be one of {choices}",
            "date": "{name} is not a date: write YYYY-MM-DD"}


def _check_keys(table: _Table) -> None:
    key = list(table.spec.key)
    if not all(k in table.data for k in key):
        return
    frame = table.data[key]
    if _strictly_increasing([_key_values(frame[k]) for k in key]):
        return  # sorted by the key without ties: no key repeats
    complete = np.logical_and.reduce([frame[k].notna().to_numpy() for k in key])
    dup = _duplicated(frame) & complete
    if not dup.any():
        return
    first = frame.reset_index(drop=True).groupby(key, observed=True, sort=False).ngroup()
    first_pos = pd.Series(np.arange(len(frame))).groupby(first.to_numpy()).transform("min")
    shown = np.full(len(frame), "", object)
    for i in np.flatnonzero(dup)[:100]:
        shown[i] = " / ".join(_show_key(frame.iloc[i]))
    first_lines = [table.raw.line_of(int(p)) for p in first_pos.to_numpy()[dup][:50]]
    text = "duplicate key ({}); first seen on line {}".format(
        ", ".join(key), first_lines[0] if len(set(first_lines)) == 1 else "an earlier line")
    table.flag(dup, "duplicate_key", key[-1] if len(key) == 1 else "+".join(key), text,
               values=shown)


def _duplicated(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose key repeats an earlier row's; linear when the keys come sorted."""
    codes = [_key_codes(frame[c]) for c in frame.columns]
    if all(c is not None for c in codes):
        sizes = [int(c.max()) + 2 if len(c) else 1 for c in codes]
        if np.prod(np.array(sizes, dtype=float)) < 2**62:
            key = np.ravel_multi_index([c + 1 for c in codes], sizes)
            if (np.diff(key) >= 0).all():
                return np.r_[False, key[1:] == key[:-1]]
            return pd.Series(key).duplicated().to_numpy()
    return frame.duplicated(keep="first").to_numpy()


def _key_values(values: pd.Series) -> np.ndarray | None:
    """The key column as integers whose order and ties are the column's (categorical
    codes, integers, dates as integers), without a copy; None for other kinds."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        return values.to_numpy()
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return values.to_numpy().view(np.int64)
    return None


def _strictly_increasing(columns: list[np.ndarray | None], block: int = 1 << 20) -> bool:
    """Whether the rows, compared column by column, strictly increase (so that no two
    rows are equal); worked through in blocks, without full-length temporaries."""
    if not columns or any(c is None for c in columns):
        return False
    n = len(columns[0])
    for start in range(0, n - 1, block):
        stop = min(start + block, n - 1)
        greater = np.zeros(stop - start, bool)
        tied = np.ones(stop - start, bool)
        for c in columns:
            this, after = c[start:stop], c[start + 1:stop + 1]
            greater |= tied & (after > this)
            tied &= after == this
        if not greater.all():
            return False
    return True


def _key_codes(values: pd.Series) -> np.ndarray | None:
    """Non-negative integer codes of a key column (-1 for missing), or None."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64)
    if pd.api.types.is_integer_dtype(values.dtype):
        v = values.to_numpy()
        return (v - v.min()).astype(np.int64) if len(v) else v.astype(np.int64)
    return None


def _show_key(row: pd.Series) -> list[str]:
    return [v.date().isoformat() if isinstance(v, pd.Timestamp) else str(v) for v in row]


def _check_references(table: _Table, present: list[Column],
                      parents: dict[str, CheckedTable]) -> None:
    for column in present:
        if column.references is None:
            continue
        parent_name, parent_col = column.references.split(".")
        parent = parents.get(parent_name)
        if parent is None or parent_col not in parent.data:
            if parent_name != "meetings" or table.data[column.name].notna().any():
                _unverifiable(table, column, parent_name)
            continue
        values = table.data[column.name]
        codes = col.id_codes(values, parent.id_index(parent_col))
        table.ref_codes[column.name] = codes
        unknown = (codes < 0) & ~isna(values)
        what = parent_col.replace("_id", "")
        table.flag(unknown, "unknown_id", column.name,
                   f"{column.name} is not a known {what} (not in {parent.raw.label})")


def _unverifiable(table: _Table, column: Column, parent_name: str) -> None:
    if parent_name in ("firms", "memberships"):
        return  # the parent's own error (missing or unreadable file) says it all
    table.log.add("warning", table.spec.name, "unverified_id",
                  f"{column.name} cannot be checked: the study has no {parent_name} table",
                  file=table.file, column=column.name, lines=[1])


def _from_qualtrics(frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Map a Qualtrics export's columns to the survey schema through the codebook."""
    names = {codebook.qualtrics_firm_id: "firm_id", codebook.qualtrics_date: "date",
             **dict(codebook.qualtrics_items)}
    return frame.rename(columns=names)


# --- table-specific rules ---------------------------------------------------------------

def _memberships(table: _Table, parents: dict, codebook) -> None:
    d = table.data
    if not {"join_date", "exit_date"} <= set(d):
        return
    table.flag((d["exit_date"] < d["join_date"]).fillna(False), "exit_before_join", "exit_date",
               "exit_date is before join_date")
    _check_overlaps(table)
    founded = _founded(table, parents)
    if founded is not None:
        early = _before_founding(d["join_date"].dt.year.to_numpy(dtype=float), founded)
        table.flag(early, "join_before_founding", "join_date",
                   "firm joined a peer group before the year it was founded", severity="warning")


def _founded(table: _Table, parents: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The founding year of every firm (by position in the firms' id index; NaN when
    unknown, also in the last slot, for code -1) and each row's firm code, or None."""
    d = table.data
    firms = parents.get("firms")
    if (firms is None or "founded_year" not in firms.data or "firm_id" not in firms.data
            or "firm_id" not in d):
        return None
    index = firms.id_index("firm_id")
    founded = np.full(len(index) + 1, np.nan)  # last slot: unknown firms (code -1)
    founded[col.id_codes(firms.data["firm_id"], index)] = firms.data["founded_year"]
    codes = table.ref_codes.get("firm_id")  # found by _check_references in the same index
    if codes is None or len(codes) != len(d):
        codes = col.id_codes(d["firm_id"], index)
    return founded, codes


def _before_founding(values: np.ndarray, founded: tuple[np.ndarray, np.ndarray],
                     block: int = 1 << 20) -> np.ndarray:
    """``values < founding year of the row's firm`` (False when unknown), in blocks."""
    by_firm, codes = founded
    out = np.empty(len(values), bool)
    with np.errstate(invalid="ignore"):
        for start in range(0, len(values), block):
            part = slice(start, start + block)
            np.less(values[part], by_firm[codes[part]], out=out[part])
    return out


def _check_overlaps(table: _Table) -> None:
    d = table.data
    if "firm_id" not in d:
        return
    end = d["exit_date"].fillna(pd.Timestamp.max.normalize()).to_numpy()
    firm_code = col.id_codes(d["firm_id"], d["firm_id"])
    join = d["join_date"].to_numpy()
    if not np.isnat(join).any() and _nondecreasing(firm_code, join.view(np.int64)):
        order = np.arange(len(d))  # what the stable sort below gives: sorted already
    else:
        order = np.lexsort((join, firm_code))
    firm = firm_code[order]
    join = join[order]
    prev_end = np.roll(end[order], 1)
    same = np.r_[False, (firm[1:] == firm[:-1]) & (firm[1:] >= 0)]
    overlap_sorted = same & (join <= prev_end) & ~pd.isna(join)
    if not overlap_sorted.any():
        return
    overlap = np.zeros(len(d), bool)
    overlap[order] = overlap_sorted
    prev_pos = np.full(len(d), -1)
    prev_pos[order[1:]] = order[:-1]
    shown = np.full(len(d), "", object)
    for i in np.flatnonzero(overlap)[:100]:
        shown[i] = f"previous spell on line {table.raw.line_of(int(prev_pos[i]))}"
    table.flag(overlap, "overlapping_spells", "join_date",
               "this spell starts before the firm's previous spell ended", values=shown)


def _nondecreasing(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether rows are ordered by ``first``, then ``second`` (ties allowed)."""
    if len(first) < 2:
        return True
    a0, a1, b0, b1 = first[:-1], first[1:], second[:-1], second[1:]
    return bool(((a1 > a0) | ((a1 == a0) & (b1 >= b0))).all())


def _financials(table: _Table, parents: dict, codebook) -> None:
    d = table.data
    founded = _founded(table, parents) if "year" in d else None
    if founded is None:
        return
    year = d["year"]
    numeric = isinstance(year.dtype, np.dtype) and year.dtype.kind in "iuf"
    year = year.to_numpy() if numeric else year.to_numpy(float, na_value=np.nan)
    table.flag(_before_founding(year, founded), "year_before_founding", "year",
               "financials reported for a year before the firm was founded", severity="warning")


def _meeting_activity(table: _Table, parents: dict, codebook) -> None:
    d = table.data
    if {"benchmark_rank", "ranked_firms"} <= set(d):
        table.flag((d["benchmark_rank"] > d["ranked_firms"]).fillna(False), "out_of_range",
                   "benchmark_rank", "benchmark_rank is larger than ranked_firms")
    if {"attended", "disclosed_financials"} <= set(d):
        table.flag(((d["attended"] == 0) & (d["disclosed_financials"] == 1)).fillna(False),
                   "disclosed_without_attending", "disclosed_financials",
                   "financials disclosed at a meeting the firm did not attend",
                   severity="warning")


def _surveys(table: _Table, parents: dict, codebook: Codebook | None) -> None:
    if codebook is None:
        return
    for scale in codebook.scales:
        for item in scale.items:
            if item not in table.data:
                continue
            v = table.data[item]
            outside = ((v < scale.low) | (v > scale.high)).fillna(False).to_numpy()
            table.flag(outside, "out_of_range", item,
                       f"{item} must be within {scale.low:g}..{scale.high:g} "
                       f"(scale {scale.name})")


def _exchanges(table: _Table, parents: dict, codebook) -> None:
    d = table.data
    if {"sender_id", "receiver_id"} <= set(d):
        same = (d["sender_id"].astype(str) == d["receiver_id"].astype(str)) & d["sender_id"].notna()
        table.flag(same.to_numpy(), "sender_is_receiver", "sender_id",
                   "sender_id equals receiver_id: a firm cannot learn from itself here")


def _tasks(table: _Table, parents: dict, codebook) -> None:
    d = table.data
    if "outcome" in d:
        table.flag((d["outcome"] <= 0).fillna(False).to_numpy(), "nonpositive_outcome",
                   "outcome", "outcome is not positive: its log (learning curves) is undefined",
                   severity="warning")


RULES = {"memberships": _memberships, "financials": _financials,
         "meeting_activity": _meeting_activity, "surveys": _surveys, "exchanges": _exchanges,
         "tasks": _tasks}
