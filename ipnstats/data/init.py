"""Draft a ``codebook.toml`` for a folder of exports (``ipnstats init FOLDER``).

The draft maps each file (each sheet of a workbook) to a table of the study folder
schema and each of its columns to a schema column ([tables.*], see
docs/study_folder.md): from the columns' names (against the schema names and the
synonyms of :mod:`ipnstats.data.synonyms`), their values (numbers, dates, the labels of
choice columns, ids shared with the table they refer to) and the files' formats
(:mod:`ipnstats.data.sniff`: delimiter, decimal mark, thousands, date format, encoding,
Qualtrics, sheet and header row). Every guess it is unsure of, and every schema column
or table it cannot find, gets a ``# CHECK:`` comment. The four required scales are left
for the user to fill in (``items = []``, which the loader refuses), with the item
groups seen and, where the item names or question texts point to a scale, the items and
reverse-coded items suggested in a comment.

Examples
--------
>>> from ipnstats.data.init import write_codebook
>>> write_codebook(Path("exports"))  # doctest: +SKIP
PosixPath('exports/codebook.toml')
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.data.codebook import REQUIRED_SCALES
from ipnstats.data.schema import FILE_SUFFIXES, TABLE_ORDER, TABLES, Column
from ipnstats.data.sniff import (
    OTHER_FORMATS,
    Source,
    Unreadable,
    date_format,
    find_files,
    item_groups,
    read_sources,
    reverse_items,
)
from ipnstats.data.synonyms import (
    BINARY,
    CHOICES,
    SCALE_PREFIXES,
    SCALE_WORDS,
    TABLES_CHOICES,
    name_score,
    normalise,
    recode,
)


@dataclass(frozen=True)
class Match:
    """A schema column and the source column found for it (None: not found)."""

    column: str
    source: str | None
    score: float = 0.0
    note: str | None = None


@dataclass
class TableDraft:
    """What the draft says about one table."""

    name: str
    source: Source
    matches: list[Match]
    file: str = ""
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    date_format: str | None = None

    @property
    def score(self) -> float:
        return sum(m.score for m in self.matches if m.source is not None)


# --- columns ----------------------------------------------------------------------------

def fits(source: Source, name: str, column: Column) -> bool:
    """Whether the values of the source column could be those of the schema column."""
    values = source.frame[name]
    if values.dropna().empty:
        return True
    profile = source.profile(name)
    numbers = profile.numbers
    whole = numbers is not None and bool((numbers.dropna() % 1 == 0).all())
    if column.kind in ("integer", "number"):
        return numbers is not None and (column.kind == "number" or whole)
    if column.kind == "date":
        return profile.is_date
    if column.kind == "binary":
        return {str(v).strip().lower().removesuffix(".0") for v in values.dropna()} <= BINARY
    if column.kind == "choice":
        return profile.labels is not None
    if column.kind == "id":
        return not profile.is_date and (numbers is None or whole)
    return numbers is None and not profile.is_date


def match_columns(source: Source, table: str) -> list[Match]:
    """Each schema column of ``table`` and the source column that fits it best by name
    and values (each source column used once)."""
    spec = TABLES[table]
    pairs = []
    for column in spec.columns:
        for name in source.frame.columns:
            score, note = name_score(name, column.name)
            if (normalise(name) in ("id", "no", "nr", "number") and column.name == spec.key[0]
                    and column.kind == "id" and column.references is None):
                score, note = 2.0, "a column named like a bare id: taken as the table's key"
            if score == 0:
                continue
            if not fits(source, name, column):
                if score < 2:
                    continue
                example = _example(source.frame[name])
                note = (f"its values are codes (e.g. {example!r}): say which is which in "
                        f"values.{column.name} = {{ {example} = \"...\" }}"
                        if column.kind == "choice" and source.profile(name).numbers is not None
                        else f"its values do not look like {column.kind} values "
                             f"(e.g. {example!r})")
                score -= 1
            pairs.append((score, column.name, name, note))
    found: dict[str, Match] = {}
    used: set[str] = set()
    for score, column, name, note in sorted(pairs, key=lambda p: -p[0]):
        if column not in found and name not in used:
            found[column] = Match(column, name, score, note)
            used.add(name)
    return [found.get(c.name, Match(c.name, None)) for c in spec.columns]


def _example(values: pd.Series) -> str:
    present = values.dropna()
    return str(present.iloc[0]) if len(present) else ""


def fill_by_values(draft: TableDraft, ids: dict[str, set[str]]) -> None:
    """Schema columns not found by name, guessed from the values of the columns left:
    choice labels, ids of the table they refer to, the one date column left."""
    frame = draft.source.frame
    for i, match in enumerate(draft.matches):
        if match.source is not None:
            continue
        column = TABLES[draft.name].column(match.column)
        used = {m.source for m in draft.matches}
        left = [c for c in frame.columns if c not in used]
        found, note = None, None
        if column.name in CHOICES and column.kind == "choice":
            found = next((c for c in left if _placed(column.name,
                                                     draft.source.profile(c).labels)), None)
            note = "guessed from its values (labels of " + column.name + ")"
        elif column.kind == "id" and column.references in ids:
            parent = ids[column.references]
            found = next((c for c in left if _overlap(frame[c], parent) >= 0.8), None)
            note = f"guessed from its values (ids of {column.references})"
        elif column.kind == "date":
            dates = [c for c in left if draft.source.profile(c).is_date]
            found = dates[0] if len(dates) == 1 else None
            note = "guessed from its values (the only date column left)"
        if found is not None:
            draft.matches[i] = Match(column.name, found, 0.5, note)


def _placed(column: str, seen: list[str] | None) -> bool:
    """Whether most labels are placed, on at least two of the column's values."""
    if not seen:
        return False
    mapping, unknown = recode(column, seen)
    return len(set(mapping.values())) >= 2 and len(unknown) < len(mapping)


def _overlap(values: pd.Series, ids: set[str]) -> float:
    present = set(_ids(values))
    return len(present & ids) / len(present) if present and ids else 0.0


def _ids(values: pd.Series) -> list[str]:
    return [str(v).strip().removesuffix(".0") for v in values.dropna()]


# --- tables -----------------------------------------------------------------------------

def draft_tables(sources: list[Source]) -> tuple[dict[str, TableDraft], list[Source]]:
    """Each table's source (the best-matching file, each file used once; a table taken
    by several files of the same columns is read from all of them) and the files left."""
    candidates = []
    for source in sources:
        for table in TABLE_ORDER:
            draft = TableDraft(table, source, match_columns(source, table))
            strong = sum(m.score >= 2 for m in draft.matches)
            bonus = 10 if table == "surveys" and source.qualtrics else 0
            if strong >= 2 and (table != "surveys" or bonus or _items(draft)):
                candidates.append((draft.score + bonus, draft))
    chosen: dict[str, TableDraft] = {}
    taken: set[int] = set()
    for _, draft in sorted(candidates, key=lambda c: -c[0]):
        if draft.name not in chosen and id(draft.source) not in taken:
            chosen[draft.name] = draft
            taken.add(id(draft.source))
    left = [s for s in sources if id(s) not in taken]
    for draft in chosen.values():
        draft.file = glob.escape(draft.source.file)  # (the file key is a pattern)
        same = [s for s in left if set(s.frame.columns) == set(draft.source.frame.columns)
                and s.path.parent == draft.source.path.parent and s.sheet == draft.source.sheet
                and s.path.suffix == draft.source.path.suffix]
        if same:
            draft.file = _glob([draft.source.file, *(s.file for s in same)])
            draft.notes.append(f"{len(same) + 1} files with these columns: read one after "
                               "the other")
            left = [s for s in left if s not in same]
    return {name: chosen[name] for name in TABLE_ORDER if name in chosen}, left


def left_over(source: Source, drafts: dict[str, TableDraft]) -> str:
    """Why a file is not used: it looks like no table, or like one taken by another file."""
    columns = (f"columns: {', '.join(source.frame.columns[:8])}"
               f"{', ...' if source.frame.shape[1] > 8 else ''}")
    best = max(((sum(m.score >= 2 for m in match_columns(source, name)), name)
                for name in drafts), default=(0, ""))
    if best[0] >= 2:
        return (f"{source.label} ({columns}) also looks like the {best[1]} table, which is "
                f"read from {drafts[best[1]].file}: it is not used")
    return f"{source.label} ({columns}) looks like none of the study's tables: it is not used"


def _glob(files: list[str]) -> str:
    """A pattern for the files: their common start (trailing digits left out), ``*``,
    their common end."""
    prefix = re.sub(r"\d+$", "", _common(files))
    suffix = _common([f[::-1] for f in files])[::-1]
    suffix = suffix[max(0, len(suffix) - min(len(f) - len(prefix) for f in files)):]
    return glob.escape(prefix) + "*" + glob.escape(suffix)


def _common(texts: list[str]) -> str:
    out = texts[0]
    for text in texts[1:]:
        while not text.startswith(out):
            out = out[:-1]
    return out


def _items(draft: TableDraft) -> dict[str, list[str]]:
    used = {m.source for m in draft.matches}
    return item_groups(draft.source, [c for c in draft.source.frame.columns
                                            if c not in used])


def complete(drafts: dict[str, TableDraft]) -> None:
    """Columns found by their values, id checks against the referred tables, recodes of
    choice labels and the date format of each table."""
    ids: dict[str, set[str]] = {}
    for name, draft in drafts.items():
        fill_by_values(draft, ids)
        frame = draft.source.frame
        for match in draft.matches:
            column = TABLES[name].column(match.column)
            if match.source is None:
                continue
            values = frame[match.source]
            if column.kind == "id":
                ids[f"{name}.{column.name}"] = set(_ids(values))
                parent = ids.get(column.references or "")
                share = _overlap(values, parent) if parent else 1.0
                if share < 0.5:
                    draft.notes.append(
                        f"only {share:.0%} of {match.source!r} are ids of "
                        f"{column.references} in {drafts[column.references.split('.')[0]].file}")
            if column.kind in ("choice", "binary"):
                seen = draft.source.profile(match.source).labels or []
                mapping, unknown = recode(column.name, seen)
                if mapping:
                    draft.values[column.name] = mapping
                for label in unknown:
                    draft.notes.append(
                        f"label {label!r} of {match.source!r}: which of "
                        f"{', '.join(TABLES_CHOICES[column.name])}? add it to values.{column.name}")
        formats = {}
        for match in draft.matches:
            if match.source and TABLES[name].column(match.column).kind == "date":
                fmt, note = date_format(frame[match.source])
                formats[match.source] = fmt
                if note:
                    draft.notes.append(f"{match.source!r}: {note}")
        distinct = {f for f in formats.values() if f}
        if len(distinct) > 1:
            draft.notes.append(f"the date columns have different formats {formats}: one "
                               "date_format serves all of them")
        draft.date_format = sorted(distinct)[0] if distinct else None


# --- scales -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ScaleDraft:
    """What the draft says about one required scale."""

    name: str
    groups: dict[str, list[str]]  # every item group seen
    items: list[str]  # the suggested items (empty: no suggestion)
    reverse: list[str]
    why: str
    low: float
    high: float


def draft_scales(survey: TableDraft | None) -> list[ScaleDraft]:
    """The four required scales: the item groups seen in the surveys, and a suggestion
    where an item group's names or question texts carry the scale's words."""
    groups = _items(survey) if survey is not None else {}
    if survey is not None and not groups:
        worded = [c for c in survey.source.frame.columns
                  if re.fullmatch(r".*\D\d+", c) and survey.source.profile(c).labels]
        if worded:
            survey.notes.append(
                f"the answers in {', '.join(worded[:4])}{', ...' if len(worded) > 4 else ''} "
                "are words, not numbers: export the survey with numeric values (Qualtrics: "
                "'Use numeric values') so that its items can be scored")
    claimed: set[str] = set()
    out = []
    for scale in REQUIRED_SCALES:
        items, why = [], ""
        for prefix, names in groups.items():
            text = " ".join([prefix, *(survey.source.questions.get(n, "") for n in names)])
            words = [w for w in SCALE_WORDS[scale] if w in text.lower()]
            if normalise(prefix) == SCALE_PREFIXES[scale]:
                words = [prefix]
            if words and prefix not in claimed:
                items, why = names, f"its question texts or names say {words[0]!r}"
                claimed.add(prefix)
                break
        chosen = items or [n for names in groups.values() for n in names]
        numbers = pd.concat([survey.source.profile(n).numbers for n in chosen]) \
            if chosen else pd.Series(dtype=float)
        low, high = (numbers.min(), numbers.max()) if numbers.notna().any() else (1.0, 7.0)
        reverse = reverse_items(survey.source, items) if items else []
        out.append(ScaleDraft(scale, groups, items, reverse, why, float(low), float(high)))
    return out


# --- the draft --------------------------------------------------------------------------

def draft_codebook(folder: Path) -> str:
    """The text of a draft ``codebook.toml`` for the exports in ``folder``.

    Raises SpecificationError when ``folder`` is not a folder, DataError when it holds
    no table file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecificationError(f"{folder} is not a folder")
    files = find_files(folder)
    problems = [f"{p.relative_to(folder).as_posix()} is a table format the loader does not "
                f"read: {OTHER_FORMATS[p.suffix.lower()]}, then run ipnstats init again"
                for p in find_files(folder, tuple(OTHER_FORMATS))]
    if not files:
        raise DataError(f"{folder} holds no table files ({', '.join(FILE_SUFFIXES)}): "
                        "there is nothing to draft a codebook from"
                        + "".join(f"; {p}" for p in problems))
    sources = []
    for path in files:
        try:
            sources.extend(read_sources(folder, path))
        except Unreadable as exc:
            problems.append(f"{exc}; it is not used")
    drafts, left = draft_tables(sources)
    complete(drafts)
    problems += [left_over(source, drafts) for source in left]
    scales = draft_scales(drafts.get("surveys"))  # (before render: it may add notes)
    return render(folder, drafts, problems, scales)


def write_codebook(folder: Path, *, force: bool = False) -> Path:
    """Write :func:`draft_codebook`'s draft to ``folder/codebook.toml`` and return its
    path; an existing codebook is only overwritten with ``force``."""
    path = Path(folder) / "codebook.toml"
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists: ipnstats init never overwrites a codebook; "
                              "move it away or use --force")
    text = draft_codebook(Path(folder))
    path.write_text(text, encoding="utf-8")
    return path


def toml_str(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(str(text), ensure_ascii=False)


def _toml_list(texts: list[str]) -> str:
    return "[" + ", ".join(map(toml_str, texts)) + "]"


def toml_key(text: str) -> str:
    """A TOML key: bare when it can be, else quoted."""
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else toml_str(text)


def _check(note: str) -> str:
    return f"# CHECK: {note}"


def render(folder: Path, drafts: dict[str, TableDraft], problems: list[str],
           scales: list[ScaleDraft]) -> str:
    """The draft's text: the notes on files, [study], [tables.*] (or a CHECK for each
    table not found) and the four [scales.*]."""
    lines = [f"# Draft codebook for the exports in {folder.name}, written by `ipnstats init`.",
             "# Every line marked CHECK is a guess or a gap: check it. Fill in the four scales",
             f"# at the end, then run `ipnstats validate {folder.name}`. Format: "
             "docs/study_folder.md."]
    lines += [_check(p) for p in problems]
    lines += ["", "[study]", f"name = {toml_str(folder.name)}",
              "# member_year_min_days = 183", "# disclosure_threshold = 3",
              '# risk_averse_cutoff = "median"', ""]
    for name in TABLE_ORDER:
        lines += _render_table(name, drafts.get(name)) + [""]
    for scale in scales:
        lines += _render_scale(scale) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _render_table(name: str, draft: TableDraft | None) -> list[str]:
    spec = TABLES[name]
    if draft is None:
        need = "required" if spec.required else "optional"
        return [_check(f"no file looks like the {name} table ({need}; columns "
                       f"{', '.join(spec.column_names)}): add [tables.{name}] with file = "
                       "\"...\" and its columns")]
    s = draft.source
    lines = [f"[tables.{name}]", f"file = {toml_str(draft.file)}"]
    if s.path.suffix.lower() not in FILE_SUFFIXES:
        lines.append(_check(f"rename {s.file} to {s.path.stem}.csv (and file above): the "
                            f"loader reads {', '.join(FILE_SUFFIXES)}"))
    if s.qualtrics:
        lines.append("# a Qualtrics export: its two extra header lines are skipped")
    lines += [_check(n) for n in s.notes]
    if s.sheet is not None and not s.first_sheet:
        lines.append(f"sheet = {toml_str(s.sheet)}")
    if s.header_row != 1 and not s.qualtrics:
        lines.append(f"header_row = {s.header_row}  # the rows above are a title")
    if s.delimiter not in (None, ","):
        lines.append(f"delimiter = {toml_str(s.delimiter)}")
    if s.decimal != ".":
        lines.append(f"decimal = {toml_str(s.decimal)}")
    if s.thousands:
        lines.append(f"thousands = {toml_str(s.thousands)}")
    if draft.date_format:
        lines.append(f"date_format = {toml_str(draft.date_format)}")
    if s.encoding != "utf-8":
        lines.append(f"encoding = {toml_str(s.encoding)}")
    lines += [_check(n) for n in draft.notes]
    lines += ["", f"[tables.{name}.columns]"]
    for match in draft.matches:
        if match.source is None:
            kind = spec.column(match.column).kind
            lines.append(_check(f"{match.column} ({kind}) not found in {s.label} "
                                f"(table {name}): add {match.column} = \"<its column>\""))
            continue
        line = f"{match.column} = {toml_str(match.source)}"
        lines.append(line + (f"  {_check(match.note)}" if match.note else ""))
    if name == "surveys":
        lines.append("# the survey items keep their own column names: the scales name them")
    if draft.values:
        lines += ["", f"[tables.{name}.values]"]
        for column, mapping in draft.values.items():
            pairs = ", ".join(f"{toml_key(k)} = {toml_str(v)}" for k, v in mapping.items())
            lines.append(f"{column} = {{ {pairs} }}")
    return lines


def _render_scale(scale: ScaleDraft) -> list[str]:
    label = scale.name.replace("_", " ").capitalize()
    lines = [f"[scales.{scale.name}]", f"label = {toml_str(label)}",
             _check("fill in this scale's items (survey columns) and the reverse-coded ones.")]
    if scale.items:
        lines += [f"#   Suggested ({_span(scale.items)}: {scale.why}):",
                  f"# items = {_toml_list(scale.items)}"]
        if scale.reverse:
            lines += [f"# reverse = {_toml_list(scale.reverse)}",
                      "#   (these run against the scale's other items: reverse-coded)"]
    seen = "; ".join(_span(names) for names in scale.groups.values())
    lines.append(f"#   Item groups seen in the surveys: {seen or 'none'}")
    low, high = (int(v) if v == int(v) else v for v in (scale.low, scale.high))
    note = _check(f"the answers seen run from {low} to {high}: set the scale's full range")
    lines += ["items = []", "reverse = []", f"range = [{low}, {high}]  {note}"]
    return lines


def _span(names: list[str]) -> str:
    return f"{names[0]}..{names[-1]}" if len(names) > 2 else ", ".join(names)
