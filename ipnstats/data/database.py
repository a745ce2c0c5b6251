"""Read study tables from a database, in bulk and read-only, with the password never shown.

URLs: ``postgresql://user[:password]@host[:port]/dbname[?params]`` (or ``postgres://``),
``sqlite:///relative.db`` or ``sqlite:////absolute/path.db`` (as SQLAlchemy writes them),
``duckdb:///path.duckdb``. Drivers (the ``db`` extra): ADBC's PostgreSQL driver (libpq;
rows come over ``COPY ... TO STDOUT (FORMAT binary)`` straight into Arrow), ADBC's SQLite
driver, and the ``duckdb`` package.

Never a write:

- PostgreSQL: everything is read in one ``REPEATABLE READ READ ONLY`` transaction (one
  consistent snapshot), each table behind a savepoint so that one failing table does not
  abort the others; the server refuses any write, a write hidden in a CTE included.
- SQLite: the file is opened through the ADBC SQLite driver as a ``file:...?mode=ro`` URI
  (SQLite itself refuses writes) inside one ``BEGIN`` ... ``ROLLBACK`` read transaction.
- DuckDB: ``duckdb.connect(path, read_only=True)`` with external access (files, network)
  disabled; a read-only attach also keeps writers out while it is open.
- Before anything is sent, a ``query`` must be a single SELECT, WITH, VALUES or TABLE
  statement.

Passwords come from ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads both) or from the URL;
a URL's password, and any secret query parameter, is replaced by ``***`` in every message,
and a driver's exception is never chained to a :class:`DatabaseError`.
"""

from __future__ import annotations

import importlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa

from ipnstats.core.errors import DataError
from ipnstats.data.sqltext import (
    SECRET_PARAM,
    check_query,
    quote_identifier,
    redact,
    redact_text,
    resolve_table,
)

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite",
           "duckdb": "duckdb"}
_URL = re.compile(r"^(postgresql|postgres|sqlite|duckdb)://", re.IGNORECASE)
_SQLITE_BATCH_ROWS = str(2**30)  # infer each column's type from all rows, not the first 1024


class DatabaseError(DataError):
    """A database could not be read; the message is redacted and says what to do.

    ``request`` is the name of the table request it concerns (None for the connection).
    """

    def __init__(self, message: str, *, request: str | None = None):
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.request = request

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class TableRequest:
    """One table to read: ``table`` (``"schema.table"`` or ``"table"``, default ``name``)
    or a ``query``.

    >>> TableRequest("firms", table="crm.members").target
    'crm.members'
    """

    name: str
    table: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DatabaseError(f"a table request needs a name, not {self.name!r}")
        if self.table is not None and self.query is not None:
            raise DatabaseError(f"table {self.name!r}: give either a table or a query, not both",
                                request=self.name)
        for key in ("table", "query"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise DatabaseError(f"table {self.name!r}: {key} must be non-empty text, "
                                    f"not {value!r}", request=self.name)

    @property
    def target(self) -> str:
        """The query, or else the table name to read."""
        return self.query if self.query is not None else (self.table or self.name)

    def describe(self) -> str:
        """How messages name this request: ``table 'firms' (crm.members)``."""
        if self.query is None:
            return f"table {self.name!r} ({self.table or self.name})"
        text = " ".join(self.query.split())
        return f"table {self.name!r} (query {text[:60] + '...' if len(text) > 60 else text!r})"


def is_database_url(text: str | os.PathLike) -> bool:
    """True when ``text`` is a database URL (a path, even one that looks like a URL, is not).

    >>> is_database_url("postgresql://ann@db.example/ipn"), is_database_url("data/example")
    (True, False)
    """
    return isinstance(text, str) and bool(_URL.match(text.strip()))


@dataclass(frozen=True)
class _Url:
    """A parsed database URL: backend, what to connect to, and the secrets to scrub."""

    backend: str
    target: str  # the libpq URI, or the database file path
    shown: str  # redacted
    secrets: tuple[str, ...]

    def __repr__(self) -> str:
        return f"_Url({self.shown!r})"

    def scrub(self, text: str) -> str:
        """Remove the password (as typed and percent-decoded) from a driver's message."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact_text(text)


def _parse(url: str) -> _Url:
    if not isinstance(url, str) or not is_database_url(url):
        raise DatabaseError(f"{redact_text(str(url))!r} is not a database URL: use "
                            "postgresql://user@host:port/dbname, sqlite:///path.db or "
                            "duckdb:///path.duckdb") from None
    url = url.strip()
    shown = redact(url)
    scheme = url.split(":", 1)[0].lower()
    backend = SCHEMES[scheme]
    try:
        parts = urlsplit(url)
        password = parts.password
        params = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as exc:
        problem = str(exc)
        password, params = None, []
    else:
        problem = None
    secrets = [v for k, v in params if SECRET_PARAM.search(k) and v]
    raw = re.match(r"[^:]+://[^:/@]*:([^@\s]*)@", url)  # even with an unescaped / or # in it
    for secret in (password, raw.group(1) if raw else None):
        if secret:
            secrets += [secret, unquote(secret)]
    secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    if problem:
        raise DatabaseError(f"cannot read the URL {shown}: {problem}") from None
    if backend == "postgresql":
        return _Url(backend, _with_defaults(url, params), shown, secrets)
    if parts.netloc or parts.query or len(parts.path) < 2:
        raise DatabaseError(f"{shown} is not a {backend} file URL: write {scheme}:///relative/path "
                            f"or {scheme}:////absolute/path (three slashes, then the path)")
    return _Url(backend, unquote(parts.path[1:]), shown, secrets)


def _with_defaults(url: str, params: list[tuple[str, str]]) -> str:
    """A libpq URL that gives up on an unreachable host after 10 s and names ipnstats."""
    given = {k for k, _ in params}
    extra = [f"{k}={v}" for k, v in (("connect_timeout", "10"), ("application_name", "ipnstats"))
             if k not in given]
    if not extra:
        return url
    base, hash_, fragment = url.partition("#")
    return base + ("&" if "?" in base else "?") + "&".join(extra) + hash_ + fragment


@dataclass
class _Session:
    """One open connection inside one read-only transaction."""

    run: Callable[[str], object]  # a statement without a result
    fetch: Callable[[str], pa.Table]
    close: Callable[[], None]
    catalog_sql: str  # (schema, table) of every readable relation
    schemas_sql: str  # the schemas where an unqualified name is looked up, in order
    # statements before each read, after a failed one, after a good one
    guard: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())

    def read(self, sql: str) -> pa.Table:
        """Run one query; a failure leaves the transaction usable for the next one."""
        before, failed, done = self.guard
        for statement in before:
            self.run(statement)
        try:
            table = self.fetch(sql)
        except Exception:
            for statement in failed:
                self.run(statement)
            raise
        for statement in done:
            self.run(statement)
        return table


_DRIVERS = {"postgresql": "adbc_driver_postgresql.dbapi", "sqlite": "adbc_driver_sqlite.dbapi",
            "duckdb": "duckdb"}


def _driver(backend: str):
    try:
        return importlib.import_module(_DRIVERS[backend])
    except ImportError:
        pass
    raise DatabaseError(f"reading {backend}:// URLs needs the database drivers: "
                        "pip install 'ipnstats[db]'")


def _adbc_session(conn, begin: str, catalog_sql: str, schemas_sql: str,
                  guard: tuple = ((), (), ()), options: dict | None = None) -> _Session:
    cur = conn.cursor()
    if options:
        cur.adbc_statement.set_options(**options)

    def fetch(sql: str) -> pa.Table:
        cur.execute(sql)
        return cur.fetch_arrow_table()

    def close() -> None:
        try:
            cur.execute("ROLLBACK")
        finally:
            cur.close()
            conn.close()

    try:
        cur.execute(begin)
    except Exception:
        cur.close()
        conn.close()
        raise
    return _Session(cur.execute, fetch, close, catalog_sql, schemas_sql, guard)


def _open_postgresql(url: _Url) -> _Session:
    conn = _driver("postgresql").connect(url.target, autocommit=True)
    return _adbc_session(
        conn, "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "SELECT n.nspname::text AS s, c.relname::text AS t FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND n.nspname <> 'information_schema' "
        "AND left(n.nspname, 3) <> 'pg_'",
        "SELECT s::text AS s FROM unnest(current_schemas(false)) WITH ORDINALITY AS u(s, i) "
        "ORDER BY i",
        (("SAVEPOINT ipnstats_read",), ("ROLLBACK TO SAVEPOINT ipnstats_read",),
         ("RELEASE SAVEPOINT ipnstats_read",)))


def _database_file(url: _Url) -> Path:
    path = Path(url.target).expanduser()
    if not path.is_file():
        raise DatabaseError(
            f"cannot open {url.shown}: there is no file {path.absolute()} (three slashes start "
            "a path relative to the current folder, four an absolute one)")
    return path.absolute()


def _open_sqlite(url: _Url) -> _Session:
    path = _database_file(url)
    driver = _driver("sqlite")
    conn = driver.connect(path.as_uri() + "?mode=ro", autocommit=True)
    return _adbc_session(
        conn, "BEGIN",
        "SELECT 'main' AS s, name AS t FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite!_%' ESCAPE '!'",
        "SELECT 'main' AS s", options={"adbc.sqlite.query.batch_rows": _SQLITE_BATCH_ROWS})


def _open_duckdb(url: _Url) -> _Session:
    path = _database_file(url)
    conn = _driver("duckdb").connect(str(path), read_only=True, config={
        "enable_external_access": False, "autoload_known_extensions": False,
        "autoinstall_known_extensions": False})

    def fetch(sql: str) -> pa.Table:
        relation = conn.sql(sql)
        for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):  # duckdb 2.x, 1.x
            if hasattr(relation, method):
                table = getattr(relation, method)()
                return table.read_all() if isinstance(table, pa.RecordBatchReader) else table
        raise DatabaseError("this duckdb version cannot return Arrow tables: "
                            "pip install -U 'ipnstats[db]'")

    def close() -> None:
        try:
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    try:
        conn.execute("BEGIN TRANSACTION")
    except Exception:
        conn.close()
        raise
    # DuckDB has no savepoints: after a failure, roll back and begin again (the read-only
    # attach keeps writers out of the file, so the next transaction sees the same data).
    return _Session(conn.execute, fetch, close,
                    "SELECT table_schema AS s, table_name AS t FROM information_schema.tables "
                    "WHERE table_catalog = current_database()",
                    "SELECT current_schema() AS s",
                    ((), ("ROLLBACK", "BEGIN TRANSACTION"), ()))


_OPEN = {"postgresql": _open_postgresql, "sqlite": _open_sqlite, "duckdb": _open_duckdb}

_CONNECT_HINTS = [
    (r"password authentication failed|no password supplied|authentication failed",
     "check the user name and password; give the password in the PGPASSWORD environment "
     "variable or in ~/.pgpass (a line host:port:dbname:user:password, chmod 600) rather "
     "than in the URL"),
    (r"database \S+ does not exist", "check the database name at the end of the URL"),
    (r"role \S+ does not exist", "check the user name in the URL"),
    (r"translate host|connection refused|timed? ?out|could not connect|no route|unreachable",
     "check the host and port in the URL, and that the server is running and accepts "
     "connections from this machine"),
    (r"\block\b", "another program has the database open for writing: close it and try again"),
    (r"not a database|malformed|corrupt|extension",
     "check that the URL names the right database file"),
]
_READ_HINTS = [
    (r"read-only|readonly|read only", "ipnstats only reads, inside a read-only transaction: "
     "the query must not write"),
    (r"permission|privilege|not authori[sz]ed", "ask the database's owner to grant this user "
     "SELECT on it"),
    (r"syntax|parser|incomplete input", "fix the query's SQL syntax (try it in the database's "
     "own client first)"),
    (r"does not exist|no such|not found|catalog error", "check the table and column names"),
    (r"type mismatch", "the column holds values of mixed types: cast it in a query, e.g. "
     "CAST(col AS TEXT)"),
]


def _reason(exc: BaseException, url: _Url) -> str:
    """A driver's error message, cut to its point, with every secret scrubbed."""
    text = str(exc)
    found = re.search(r"(?:ERROR|FATAL):\s+(.*)", text)
    if found:
        text = found.group(1)
    else:
        text = re.sub(r"^[A-Z_]+: ", "", text.strip())
        text = re.sub(r"\[(libpq|SQLite)\]\s*|Failed to prepare query:\s*", "", text)
    text = re.sub(r"\.? SQLSTATE: \w+$", "", " ".join(text.strip().splitlines()[0].split())
                  if text.strip() else type(exc).__name__).rstrip(".!")
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate and "SQLSTATE" not in text:
        text += f" (SQLSTATE {sqlstate})"
    return url.scrub(text)


def _hint(reason: str, hints: list[tuple[str, str]], default: str) -> str:
    return next((h for pattern, h in hints if re.search(pattern, reason, re.IGNORECASE)),
                default)


def _connect(url: _Url) -> _Session:
    """Open ``url``; any failure is a DatabaseError with no driver exception chained."""
    error = None
    try:
        return _OPEN[url.backend](url)
    except DatabaseError as exc:
        error = DatabaseError(url.scrub(str(exc)))
    except Exception as exc:
        reason = _reason(exc, url)
        error = DatabaseError(f"cannot connect to {url.shown}: {reason}; "
                              f"{_hint(reason, _CONNECT_HINTS, 'check the URL')}.")
    raise error


def _catalog(session: _Session, url: _Url) -> tuple[list[tuple[str, str]], list[str]]:
    error = None
    try:
        rows = session.fetch(session.catalog_sql).to_pylist()
        schemas = [r["s"] for r in session.fetch(session.schemas_sql).to_pylist()]
        return [(r["s"], r["t"]) for r in rows], schemas
    except Exception as exc:
        reason = _reason(exc, url)
        error = DatabaseError(f"cannot list the tables of {url.shown}: {reason}; "
                              f"{_hint(reason, _CONNECT_HINTS, 'check the URL')}.")
    _close(session)
    raise error


def _close(session: _Session) -> None:
    try:
        session.close()
    except Exception:  # noqa: S110 - nothing was written; the connection is gone either way
        pass


def _plain(table: pa.Table) -> pa.Table:
    """Extension columns as plain Arrow: PostgreSQL NUMERIC and JSON as text, UUID as text."""
    if not any(isinstance(f.type, pa.BaseExtensionType) for f in table.schema):
        return table
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if isinstance(kind, pa.BaseExtensionType):
            storage = pa.chunked_array([c.storage for c in column.chunks], kind.storage_type)
            if getattr(kind, "extension_name", "") == "arrow.uuid":
                storage = pa.chunked_array([pa.array(
                    [None if v is None else str(uuid.UUID(bytes=v)) for v in storage.to_pylist()],
                    pa.string())], pa.string())
            column, kind = storage, storage.type
        columns.append(column)
        fields.append(pa.field(field.name, kind, field.nullable, field.metadata))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))


def _read_one(session: _Session, url: _Url, request: TableRequest,
              catalog: list[tuple[str, str]], search: list[str]):
    """One request's Arrow table, None when its table does not exist, or a DatabaseError."""
    where = f"{request.describe()} in {url.shown}"
    if request.query is not None:
        try:
            sql = check_query(request.query)
        except ValueError as exc:
            return DatabaseError(url.scrub(f"{where}: the query is refused before it is sent: "
                                           f"{exc}."), request=request.name)
    else:
        found = resolve_table(request.target, catalog, search)
        if found is None:
            return None
        if isinstance(found, str):
            return DatabaseError(url.scrub(f"{where}: {found}."), request=request.name)
        sql = f"SELECT * FROM {quote_identifier(found[0])}.{quote_identifier(found[1])}"
    try:
        return _plain(session.read(sql))
    except Exception as exc:
        reason = _reason(exc, url)
        hint = _hint(reason, _READ_HINTS, "check this table's entry in the codebook")
        return DatabaseError(url.scrub(f"{where}: {reason}; {hint}."), request=request.name)


def read_tables(url: str, requests: list[TableRequest]
                ) -> dict[str, pa.Table | None | DatabaseError]:
    """Read tables in bulk, over one connection, in one read-only transaction.

    Each request's value is its Arrow table, None when its ``table`` does not exist (a
    missing optional table), or a :class:`DatabaseError` when that table or query failed
    (a syntax error, a permission, a query that writes). Raises DatabaseError when the
    database cannot be reached or opened (bad host, authentication, no such database) or
    its drivers are not installed.

    >>> read_tables("sqlite:///study.db", [TableRequest("firms"),   # doctest: +SKIP
    ...     TableRequest("members", query="SELECT * FROM crm_members WHERE active")])
    {'firms': pyarrow.Table ..., 'members': pyarrow.Table ...}
    """
    parsed = _parse(url)
    requests = list(requests)
    names = [r.name for r in requests]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DatabaseError(f"table requests named twice: {', '.join(twice)}")
    session = _connect(parsed)
    catalog, search = _catalog(session, parsed)
    try:
        return {r.name: _read_one(session, parsed, r, catalog, search) for r in requests}
    finally:
        _close(session)


def list_tables(url: str) -> list[str]:
    """The tables and views a database holds: ``table`` in the default schema, else
    ``schema.table``, sorted; for ``ipnstats init`` on a database.

    >>> list_tables("duckdb:///study.duckdb")   # doctest: +SKIP
    ['crm.members', 'firms']
    """
    parsed = _parse(url)
    session = _connect(parsed)
    catalog, search = _catalog(session, parsed)
    _close(session)
    default = search[0] if search else None
    return sorted(t if s == default else f"{s}.{t}" for s, t in catalog)
