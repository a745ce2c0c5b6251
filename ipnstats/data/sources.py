"""Where a study's tables come from: files in a study folder, or a database.

:func:`open_source` returns an object whose ``read(name, categories)`` gives each
table as a :class:`~ipnstats.data.readers.RawTable` under its source column names,
or None (the problem is in the log). :func:`map_columns` then turns the source
columns into the schema's, as the codebook's ``[tables.<name>]`` mapping says.
A folder's CSV files are parsed ahead in two threads (Arrow lets go of the
interpreter lock), the largest first, while the tables before them are checked.
"""

from __future__ import annotations

import difflib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError
from ipnstats.data.codebook import Codebook, read_codebook
from ipnstats.data.mapping import TableMapping
from ipnstats.data.problems import ProblemLog
from ipnstats.data.readers import CsvOptions, RawTable, UnreadableFile, parse_csv, read_table
from ipnstats.data.schema import FILE_SUFFIXES, TABLE_ORDER, TABLES, TableSpec


class SourceError(DataError):
    """A study's source cannot be read at all (a database refusing the connection, its
    drivers not installed); the message is for the user, any password redacted."""


def redact(location: str) -> str:
    """``location`` with the password of a database URL replaced by ``***``."""
    if not is_url(location):
        return location
    from ipnstats.data.database import redact as redact_url

    return redact_url(location)


def is_url(location: str | os.PathLike) -> bool:
    """Whether ``location`` is a database URL (``postgresql://``, ``sqlite:///``, ...)."""
    return isinstance(location, str) and "://" in location


def text_columns(spec: TableSpec, mapping: TableMapping) -> tuple[tuple[str, ...],
                                                                  tuple[str, ...]]:
    """The source columns read as text, and the id columns among them. Numbers are read
    as text too when the table has its own decimal or thousands marks (else ``1.234``
    would be read as 1.234 before the mark is known), dates when it has a date format;
    and every column a recode applies to."""
    kinds = {"id", "text", "choice"}
    if mapping.number_options:
        kinds |= {"number", "integer"}
    if mapping.date_format:
        kinds.add("date")
    texts = [c.name for c in spec.columns if c.kind in kinds or c.name in mapping.values]
    return (tuple(mapping.source(c) for c in texts),
            tuple(mapping.source(c.name) for c in spec.columns if c.kind == "id"))


def _mapping(codebook: Codebook | None, name: str) -> TableMapping:
    return codebook.mapping(name) if codebook is not None else TableMapping(name)


class FolderSource:
    """The tables of a study folder (``codebook.toml``'s ``file`` keys, or ``<name>.csv``
    and the other suffixes); used as a context manager (its reading threads)."""

    def __init__(self, folder: Path, codebook: Codebook | None, log: ProblemLog):
        self.folder, self.codebook, self.log = folder, codebook, log
        self.files = {name: _locate(folder, TABLES[name], _mapping(codebook, name), log)
                      for name in TABLE_ORDER}
        self._pool = ThreadPoolExecutor(max_workers=2)
        single = [(name, paths[0]) for name, paths in self.files.items()
                  if paths and len(paths) == 1 and paths[0].suffix.lower() == ".csv"]
        single.sort(key=lambda item: -_size(item[1]))
        self._ahead: dict[str, Future] = {}
        for name, path in single:
            mapping = _mapping(codebook, name)
            self._ahead[name] = self._pool.submit(parse_csv, path,
                                                  *text_columns(TABLES[name], mapping),
                                                  _csv_options(mapping))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for future in self._ahead.values():
            future.cancel()
        self._pool.shutdown(wait=True)

    def read(self, name: str, categories: dict[str, pd.Index]) -> RawTable | None:
        paths = self.files.get(name)
        parsed = self._ahead.pop(name, None)
        if not paths:
            return None
        mapping = _mapping(self.codebook, name)
        texts, ids = text_columns(TABLES[name], mapping)
        categories = {mapping.source(k): v for k, v in categories.items()}
        parts = []
        for path in paths:
            try:
                parts.append(read_table(name, path, text_columns=texts, id_columns=ids,
                                        categories=categories, parsed=parsed,
                                        csv_options=_csv_options(mapping),
                                        sheet=mapping.sheet, header_row=mapping.header_row))
            except UnreadableFile as exc:
                self.log.add("error", name, "unreadable_file", str(exc), file=path.name)
            else:
                where = path.parent.relative_to(self.folder).as_posix()
                if where != ".":  # a file in a sub-folder is named by its path
                    parts[-1].label = f"{where}/{parts[-1].label}"
            parsed = None
        if len(parts) != len(paths):
            return None
        return parts[0] if len(parts) == 1 else _stack(name, parts, self.log)


def _csv_options(mapping: TableMapping) -> CsvOptions:
    return CsvOptions(mapping.delimiter, mapping.encoding, mapping.header_row)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _locate(folder: Path, spec: TableSpec, mapping: TableMapping,
            log: ProblemLog) -> list[Path] | None:
    """The file(s) of a table, checked to lie inside the folder; None when there is none."""
    if not folder.is_dir():
        return None
    if mapping.file:
        where = f"[tables.{spec.name}] file = {mapping.file!r}"
        try:
            found = sorted(p for p in folder.glob(mapping.file) if p.is_file())
        except (NotImplementedError, ValueError, OSError) as exc:  # a pattern glob refuses
            log.add("error", spec.name, "missing_file", f"{where} is not a pattern of files "
                    f"inside the study folder ({exc})", file=mapping.file)
            return None
    else:
        found = [p for p in sorted(folder.iterdir())
                 if p.is_file() and p.stem == spec.name and p.suffix.lower() in FILE_SUFFIXES]
        where = ""
    inside = _inside(folder, found, spec.name, log)
    if not mapping.file and len(inside) > 1:
        log.add("error", spec.name, "ambiguous_file",
                f"several files for table {spec.name}: {[p.name for p in inside]}; keep one, "
                f"or name it with file = \"...\" in [tables.{spec.name}] of codebook.toml",
                file=inside[0].name)
        return None
    wrong = [p for p in inside if p.suffix.lower() not in FILE_SUFFIXES]
    if wrong:
        log.add("error", spec.name, "unreadable_file",
                f"{where}: {wrong[0].name} is not a .csv, .parquet, .xlsx, .dta or .sav file",
                file=wrong[0].name)
        return None
    if inside:
        return inside
    if found:  # every match lay outside the folder: said above
        return None
    if mapping.file:
        names = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
        hint = difflib.get_close_matches(mapping.file, names, n=1, cutoff=0.5)
        log.add("error" if spec.required else "warning", spec.name, "missing_file",
                f"{where} matches no file in {folder}"
                + (f"; did you mean {hint[0]!r}?" if hint else ""), file=mapping.file)
    elif spec.required:
        names = [p.name for p in folder.iterdir() if p.is_file()]
        hint = difflib.get_close_matches(f"{spec.name}.csv", names, n=1, cutoff=0.6)
        hint_text = f"; did you mean {hint[0]!r}?" if hint else ""
        log.add("error", spec.name, "missing_file",
                f"required table {spec.name} not found: expected {spec.name}.csv (or .parquet, "
                f".xlsx, .dta, .sav), or a file = \"...\" in [tables.{spec.name}] of "
                f"codebook.toml{hint_text}", file=f"{spec.name}.csv")
    return None


def _inside(folder: Path, paths: list[Path], table: str, log: ProblemLog) -> list[Path]:
    """The paths that resolve inside ``folder`` (a symlink may point elsewhere: a problem)."""
    root = folder.resolve()
    out = []
    for path in paths:
        if path.resolve().is_relative_to(root):
            out.append(path)
        else:
            log.add("error", table, "outside_folder",
                    f"{path.name} leads outside the study folder (it resolves to "
                    f"{path.resolve()}): copy the file into the folder", file=path.name)
    return out


def _stack(name: str, parts: list[RawTable], log: ProblemLog) -> RawTable:
    """Several files of one table, one after the other (records keep their file and line)."""
    columns = list(parts[0].frame.columns)
    for part in parts[1:]:
        if list(part.frame.columns) != columns:
            missing = [c for c in columns if c not in part.frame.columns]
            extra = [c for c in part.frame.columns if c not in columns]
            log.add("warning", name, "different_columns",
                    f"{part.label} has other columns than {parts[0].label}"
                    + (f"; lacks {missing}" if missing else "")
                    + (f"; has also {extra}" if extra else ""), file=part.label)
    frame = pd.concat([_keyed(p.frame) for p in parts], ignore_index=True, sort=False)
    frame = frame.set_axis([name for name, _ in frame.columns], axis=1)  # repeats kept
    starts = np.cumsum([0] + [len(p.frame) for p in parts[:-1]])
    malformed = [(int(s) + pos, n, text) for s, p in zip(starts, parts, strict=True)
                 for pos, n, text in p.malformed]
    label = ", ".join(p.label for p in parts)
    return RawTable(name, None, frame, first_line=parts[0].first_line, malformed=malformed,
                    qualtrics=all(p.qualtrics for p in parts), label=label,
                    parts=[(int(s), p) for s, p in zip(starts, parts, strict=True)],
                    notes=[n for p in parts for n in p.notes])


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """A part to stack: categoricals as objects (parts have their own categories), each
    column keyed by (name, occurrence), so that a repeated name stacks with its like."""
    seen: dict[str, int] = {}
    keys = []
    for name in frame.columns:
        keys.append((name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    out = frame.set_axis(pd.Index(keys, tupleize_cols=False), axis=1)
    for i, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, pd.CategoricalDtype):
            out.isetitem(i, frame.iloc[:, i].astype(object))
    return out


class DatabaseSource:
    """The tables of a database, read in one read-only transaction when opened."""

    def __init__(self, url: str, codebook: Codebook | None, log: ProblemLog):
        from ipnstats.data import database

        self.url, self.codebook, self.log = url, codebook, log
        requests = []
        for name in TABLE_ORDER:
            mapping = _mapping(codebook, name)
            requests.append(database.TableRequest(name, mapping.db_table, mapping.query))
        self.labels = _database_labels(codebook)
        self._error = database.DatabaseError
        try:
            self.tables = database.read_tables(url, requests) if codebook is not None else {}
        except database.DatabaseError as exc:
            raise SourceError(redact(str(exc))) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.tables = {}

    def read(self, name: str, categories: dict[str, pd.Index]) -> RawTable | None:
        table = self.tables.pop(name, None)
        label = self.labels[name]
        if isinstance(table, self._error):
            self.log.add("error", name, "unreadable_file", str(table), file=label)
            return None
        if table is None:
            if TABLES[name].required:
                self.log.add("error", name, "missing_file",
                             f"required table {name} not found in the database ({label}): "
                             f"name it with table = \"...\" or query = \"...\" in "
                             f"[tables.{name}] of codebook.toml", file=label)
            return None
        return RawTable(name, None, _exact_frame(table), first_line=1, label=label)


def _exact_frame(table) -> pd.DataFrame:
    """A database table as a frame, nothing rounded: whole numbers with missing values and
    decimals (pandas would make them floats, which round ids past 2^53 and decimals) come
    as their exact text, which the column parsers read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        kind = field.type
        if (pa.types.is_decimal(kind)
                or (pa.types.is_integer(kind) and table.column(i).null_count)):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.string()))
    return table.to_pandas(date_as_object=False)


def open_source(location: Path | str, codebook: Codebook | None, log: ProblemLog):
    """The source of a study's tables: a :class:`FolderSource` or a :class:`DatabaseSource`."""
    if is_url(location):
        return DatabaseSource(str(location), codebook, log)
    return FolderSource(Path(location), codebook, log)


def map_columns(raw: RawTable, mapping: TableMapping, log: ProblemLog) -> dict[str, str]:
    """Rename ``raw``'s source columns to the schema's, in place, as ``mapping`` says;
    repeated column names are a problem. Returns schema name -> source name of every
    renamed column (for problems, which name the column the user sees)."""
    frame = raw.frame
    names = [str(c).strip() for c in frame.columns]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            log.add("error", raw.name, "duplicate_column",
                    f"column {name!r} appears more than once in the header (columns "
                    f"{seen[name] + 1} and {i + 1}); the second is read as {name + ' (2)'!r}",
                    file=raw.label, column=name, lines=[raw.first_line - 1])
            k = 2
            while f"{name} ({k})" in names:
                k += 1
            names[i] = f"{name} ({k})"
        seen.setdefault(name, i)
    renamed = {}
    for schema, source in mapping.columns.items():
        if source in seen and schema != source:
            if schema in seen:  # the file also has a column by the schema's name
                i = names.index(schema)
                names[i] = f"{schema} (unmapped)"
                log.add("warning", raw.name, "shadowed_column",
                        f"column {schema!r} of the file is not read: [tables.{raw.name}] "
                        f"columns.{schema} = {source!r} reads {source!r} instead; it is "
                        f"kept as {names[i]!r}", file=raw.label, column=schema)
            names[names.index(source)] = schema
            renamed[schema] = source
    frame.columns = names
    return renamed


def input_fingerprints(location: Path | str, codebook: Path | None = None,
                       tables: tuple[str, ...] | None = None) -> dict[str, str]:
    """SHA-256 of what a study's ``tables`` are read from (``"codebook"`` among them: the
    codebook file; None: every table and the codebook), keyed by a label that names no
    credential: files by their path in the folder, database tables by their table or
    query (a digest of the rows the read-only transaction sees)."""
    log = ProblemLog()
    folder = None if is_url(location) else Path(location)
    codebook = Path(codebook) if codebook is not None else (
        folder / "codebook.toml" if folder is not None else None)
    wanted = TABLE_ORDER if tables is None else tuple(t for t in TABLE_ORDER if t in tables)
    out = {}
    if codebook is not None and codebook.is_file() and (tables is None or "codebook" in tables):
        out[codebook.name] = _sha256(codebook)
    parsed = read_codebook(codebook, log) if codebook is not None else None
    if folder is None:
        source = DatabaseSource(str(location), parsed, log)
        for name in wanted:
            table = source.tables.get(name)
            if table is not None and not isinstance(table, Exception):
                out[source.labels[name]] = _table_digest(table)
        return out
    for path in _table_files(folder, parsed, wanted, log):
        out[path.relative_to(folder).as_posix()] = _sha256(path)
    return dict(sorted(out.items()))


def database_labels(codebook: Path | None) -> dict[str, str]:
    """For a study in a database, the label of each table (``table <its table>`` or
    ``query of [tables.<name>]``) under which :func:`input_fingerprints` and the problems
    name it, by the schema's table name, from the codebook at ``codebook``."""
    parsed = read_codebook(Path(codebook), ProblemLog()) if codebook is not None else None
    return _database_labels(parsed)


def _database_labels(codebook: Codebook | None) -> dict[str, str]:
    labels = {}
    for name in TABLE_ORDER:
        mapping = _mapping(codebook, name)
        labels[name] = (f"query of [tables.{name}]" if mapping.query else
                        f"table {mapping.db_table or name}")
    return labels


def input_files(folder: Path, codebook: Path | None = None,
                tables: tuple[str, ...] | None = None) -> list[Path]:
    """The files a study folder's ``tables`` are read from (``"codebook"`` among them: the
    codebook file; None: every table and the codebook), as :func:`input_fingerprints`
    finds them (``[tables.<name>] file`` patterns included), without reading them."""
    folder = Path(folder)
    codebook = Path(codebook) if codebook is not None else folder / "codebook.toml"
    wanted = TABLE_ORDER if tables is None else tuple(t for t in TABLE_ORDER if t in tables)
    log = ProblemLog()
    found = ([codebook] if codebook.is_file() and (tables is None or "codebook" in tables)
             else [])
    parsed = read_codebook(codebook, log) if codebook.is_file() else None
    return found + _table_files(folder, parsed, wanted, log)


def _table_files(folder: Path, codebook: Codebook | None, tables: tuple[str, ...],
                 log: ProblemLog) -> list[Path]:
    return [path for name in tables
            for path in _locate(folder, TABLES[name], _mapping(codebook, name), log) or ()]


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table_digest(table) -> str:
    """SHA-256 of a table's schema and values, column by column: whether each row is null,
    then the values of the rows that are not. Equal tables give equal digests whatever
    bytes a driver left in the slots of its nulls (Arrow leaves them undefined, and the
    PostgreSQL driver does not clear them), and however the rows are split into chunks."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256(table.schema.serialize().to_pybytes())
    for column in table.columns:
        digest.update(pc.is_valid(column).to_numpy().tobytes())
        values = pc.drop_null(column).combine_chunks()
        if pa.types.is_boolean(values.type):  # a bitmap's spare bits are undefined too
            values = values.cast(pa.int8())
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, pa.schema([("v", values.type)])) as writer:
            writer.write_batch(pa.record_batch([values], names=["v"]))
        digest.update(sink.getvalue())
    return digest.hexdigest()
