"""ipnstats.data.database on a real PostgreSQL server (tests/pg.py), SQLite and DuckDB files."""

import datetime as dt
import os
import pickle
import sys
import traceback

import pyarrow as pa
import pytest

from ipnstats.data import database as db
from ipnstats.data.database import (
    DatabaseError,
    TableRequest,
    check_query,
    is_database_url,
    list_tables,
    read_tables,
    redact,
)

FIRMS = pa.table({
    "firm_id": pa.array([1, 2, 3], pa.int64()),
    "name": ["Acme", "Börse; AG", None],
    "founded": pa.array([dt.date(1990, 1, 2), None, dt.date(2001, 12, 31)], pa.date32()),
    "active": [True, False, None],
    "revenue": [1.5, None, 3.25],
})
MEMBERS = pa.table({"member_id": pa.array([10, 11], pa.int64()),
                    "firm_id": pa.array([1, 3], pa.int64())})
JOIN = ("SELECT m.member_id, f.name FROM crm.members m JOIN firms f ON f.firm_id = m.firm_id "
        "ORDER BY m.member_id")
WRITES = ["INSERT INTO firms (firm_id) VALUES (99)", "UPDATE firms SET revenue = 0",
          "DELETE FROM firms", "CREATE TABLE x (a int)", "DROP TABLE firms",
          "SELECT 1; DELETE FROM firms"]


# -- the URL, the password and the query check, without a database ---------------------------

def test_is_database_url():
    assert is_database_url("postgresql://ann@db/ipn") and is_database_url("postgres://h/ipn")
    assert is_database_url("sqlite:///study.db") and is_database_url("DuckDB:///s.duckdb")
    assert not is_database_url("data/example") and not is_database_url("mysql://h/db")
    assert not is_database_url(__import__("pathlib").Path("sqlite:///study.db"))


@pytest.mark.parametrize("url, shown", [
    ("postgresql://ann:s3cret@db.example:5432/ipn", "postgresql://ann:***@db.example:5432/ipn"),
    ("postgres://ann:p%40ss:w@h/ipn?sslmode=require&password=x&sslpassword=y",
     "postgres://ann:***@h/ipn?sslmode=require&password=***&sslpassword=***"),
    ("postgresql://ann@h/ipn", "postgresql://ann@h/ipn"),
    ("postgresql://ann:pa/ss#x@h/ipn", "postgresql://ann:***@h/ipn"),
    ("sqlite:////abs/study.db", "sqlite:////abs/study.db"),
])
def test_redact(url, shown):
    assert redact(url) == shown


def test_parsed_url_keeps_the_password_out_of_its_repr_and_adds_a_timeout():
    url = db._parse("postgresql://ann:s3cret@h/ipn?connect_timeout=3")
    assert "s3cret" not in repr(url) and url.shown == "postgresql://ann:***@h/ipn?connect_timeout=3"
    assert url.target == "postgresql://ann:s3cret@h/ipn?connect_timeout=3&application_name=ipnstats"
    assert db._parse("postgresql://ann:pa/ss@h/ipn").scrub("was pa/ss") == "was ***"
    assert db._parse("postgres://h/ipn").target.endswith("/ipn?connect_timeout=10&"
                                                         "application_name=ipnstats")


def test_check_query_accepts_one_read_and_cuts_the_tail():
    assert check_query("select 1;  -- done\n") == "select 1"
    assert check_query("  (SELECT 1) UNION (SELECT 2);;") == "  (SELECT 1) UNION (SELECT 2)"
    sql = "WITH a AS (SELECT ';' AS s, $$x; DROP TABLE t$$ AS d, E'\\';' AS e) SELECT * FROM a"
    assert check_query(sql) == sql
    assert check_query('VALUES (1)') == "VALUES (1)"
    assert check_query('SELECT "a;b" /* ; */ FROM t') == 'SELECT "a;b" /* ; */ FROM t'


@pytest.mark.parametrize("sql, reason", [
    ("SELECT 1; DELETE FROM t", "more than one statement"),
    ("DELETE FROM t", "starts with DELETE"),
    ("/* x */ insert into t values (1)", "starts with INSERT"),
    ("SELECT 'open", "not closed"),
    ("-- only a comment", "empty"),
    ("COPY t TO '/tmp/x'", "starts with COPY"),
])
def test_check_query_refuses(sql, reason):
    with pytest.raises(ValueError, match=reason):
        check_query(sql)


def test_table_request_names_its_target():
    assert TableRequest("firms").target == "firms"
    assert TableRequest("m", table="crm.members").target == "crm.members"
    with pytest.raises(DatabaseError, match="either a table or a query"):
        TableRequest("m", table="t", query="SELECT 1")


def test_bad_urls_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatabaseError, match="not a database URL"):
        read_tables("mysql://ann:pw@h/db", [])
    with pytest.raises(DatabaseError, match=r"no file .*nothere\.db.*relative to the current"):
        read_tables("sqlite:///nothere.db", [TableRequest("firms")])
    with pytest.raises(DatabaseError, match="three slashes"):
        list_tables("duckdb://host/x.duckdb")
    assert not (tmp_path / "nothere.db").exists()  # opening read-only never creates a file


def test_missing_driver_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)
    with pytest.raises(DatabaseError) as info:
        read_tables("postgresql://ann:pw@127.0.0.1:1/ipn", [TableRequest("firms")])
    assert str(info.value) == ("reading postgresql:// URLs needs the database drivers: "
                               "pip install 'ipnstats[db]'")


# -- the three backends, through the same tests -----------------------------------------------

def _sqlite(path):
    import adbc_driver_sqlite.dbapi as sqlite

    url = f"sqlite:///{path}"  # an absolute path: four slashes
    with sqlite.connect(str(path)) as conn, conn.cursor() as cur:
        cur.adbc_ingest("firms", FIRMS)
        cur.adbc_ingest("members", MEMBERS)  # SQLite has no schemas: crm.members is a query
        conn.commit()
    return url


def _duckdb(path):
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(path)) as conn:
        conn.register("firms_arrow", FIRMS)
        conn.register("members_arrow", MEMBERS)
        conn.execute("CREATE SCHEMA crm")
        conn.execute("CREATE TABLE firms AS SELECT * FROM firms_arrow")
        conn.execute("CREATE TABLE crm.members AS SELECT * FROM members_arrow")
    return f"duckdb:///{path}"


def _postgres(url):
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS crm CASCADE")
        cur.execute("DROP TABLE IF EXISTS firms")
        cur.execute("CREATE SCHEMA crm")
        cur.adbc_ingest("firms", FIRMS)
        cur.adbc_ingest("members", MEMBERS, db_schema_name="crm")
        conn.commit()
    return url


@pytest.fixture(params=["postgresql", "sqlite", "duckdb"])
def backend(request, tmp_path):
    """(name, URL) of a database holding firms and members (crm.members where schemas exist)."""
    pytest.importorskip({"postgresql": "adbc_driver_postgresql", "sqlite": "adbc_driver_sqlite",
                         "duckdb": "duckdb"}[request.param])
    if request.param == "postgresql":
        return "postgresql", _postgres(request.getfixturevalue("pg_url"))
    if request.param == "sqlite":
        return "sqlite", _sqlite(tmp_path / "study.db")
    return "duckdb", _duckdb(tmp_path / "study.duckdb")


def _members(name):
    return TableRequest("members", table="members" if name == "sqlite" else "crm.members")


def _firm_count(url):
    return read_tables(url, [TableRequest("n", query="SELECT count(*) AS n FROM firms")])["n"]


def test_reads_tables_schemas_and_queries(backend):
    name, url = backend
    join = JOIN.replace("crm.members", "members") if name == "sqlite" else JOIN
    got = read_tables(url, [TableRequest("firms"), _members(name),
                            TableRequest("joined", query=join + ";"),
                            TableRequest("upper", table="FIRMS")])
    assert got["firms"].num_rows == 3
    assert got["firms"].column("name").to_pylist() == ["Acme", "Börse; AG", None]
    assert got["firms"].column("firm_id").to_pylist() == [1, 2, 3]
    assert got["members"].to_pylist() == MEMBERS.to_pylist()
    assert got["joined"].to_pylist() == [{"member_id": 10, "name": "Acme"},
                                         {"member_id": 11, "name": None}]
    assert got["upper"].num_rows == 3  # an unquoted name matches whatever its case


def test_missing_table_is_none_and_a_broken_query_a_value(backend):
    name, url = backend
    got = read_tables(url, [TableRequest("tasks"), TableRequest("bad", query="SELECT nope FROM"),
                            TableRequest("gone", query="SELECT * FROM no_such_table"),
                            TableRequest("firms")])
    assert got["tasks"] is None
    for key, words in (("bad", "syntax"), ("gone", "no_such_table")):
        assert isinstance(got[key], DatabaseError) and got[key].request == key
        assert f"table {key!r}" in str(got[key]) and words in str(got[key]).lower()
    assert got["firms"].num_rows == 3  # a failed request leaves the transaction usable


def test_writes_are_refused_and_change_nothing(backend):
    name, url = backend
    got = read_tables(url, [TableRequest(f"w{i}", query=sql) for i, sql in enumerate(WRITES)])
    for i, sql in enumerate(WRITES):
        assert isinstance(got[f"w{i}"], DatabaseError), sql
        assert "refused before it is sent" in str(got[f"w{i}"])
    hidden = read_tables(url, [TableRequest("cte", query=(
        "WITH x AS (DELETE FROM firms RETURNING *) SELECT * FROM x"))])["cte"]
    assert isinstance(hidden, DatabaseError)  # sent, and refused by the database itself
    assert "refused before" not in str(hidden)
    # the connection itself is read-only too, not only the check before sending
    session = db._connect(db._parse(url))
    try:
        for sql in WRITES[:5]:
            with pytest.raises(Exception, match="(?i)read.?only|readonly"):
                session.read(sql)
    finally:
        db._close(session)
    assert _firm_count(url).column("n").to_pylist() == [3]


def test_list_tables(backend):
    name, url = backend
    expected = ["firms", "members"] if name == "sqlite" else ["crm.members", "firms"]
    assert list_tables(url) == expected


# -- PostgreSQL only: the read-only transaction, passwords and connection failures -----------

@pytest.fixture
def pg(pg_url):
    pytest.importorskip("adbc_driver_postgresql")
    return _postgres(pg_url)


def _password(url):
    return url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_postgres_reads_in_one_repeatable_read_read_only_transaction(pg):
    rw = read_tables(pg, [TableRequest("rw", query=(
        "SELECT set_config('transaction_read_only', 'off', false)"))])["rw"]
    assert "cannot set transaction read-write mode" in str(rw)
    got = read_tables(pg, [TableRequest("tx", query=(
        "SELECT current_setting('transaction_isolation') AS iso, "
        "current_setting('transaction_read_only') AS ro, txid_current_if_assigned() AS x"))])
    assert got["tx"].to_pylist() == [{"iso": "repeatable read", "ro": "on", "x": None}]


@pytest.mark.parametrize("sql", [
    "WITH x AS (DELETE FROM firms RETURNING *) SELECT * FROM x",
    "WITH x AS (UPDATE firms SET revenue = 0 RETURNING *) SELECT * FROM x",
    "SELECT nextval('crm.seq')",
    "SELECT * FROM firms FOR UPDATE",
    "WITH a AS (SELECT set_config('transaction_read_only', 'off', true) AS s), "
    "b AS (DELETE FROM firms RETURNING *) SELECT * FROM a, b",
])
def test_postgres_refuses_writes_hidden_in_a_read(pg, sql):
    import adbc_driver_postgresql.dbapi as driver

    with driver.connect(pg, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE SEQUENCE IF NOT EXISTS crm.seq")
    got = read_tables(pg, [TableRequest("sneaky", query=sql)])["sneaky"]
    assert isinstance(got, DatabaseError)
    assert "read-only transaction" in str(got) and "table 'sneaky'" in str(got)
    assert _firm_count(pg).column("n").to_pylist() == [3]
    with driver.connect(pg) as conn, conn.cursor() as cur:
        cur.execute("SELECT last_value, is_called FROM crm.seq")
        assert cur.fetchall() == [(1, False)]


def test_postgres_types(pg):
    got = read_tables(pg, [TableRequest("t", query=(
        "SELECT 1.50::numeric AS n, DATE '2020-01-02' AS d, 'x'::text AS s, 5::bigint AS b, "
        "true AS bo, 1.5::double precision AS f, NULL::numeric AS nn, NULL::date AS nd"))])["t"]
    assert [str(t) for t in got.schema.types] == [
        "string", "date32[day]", "string", "int64", "bool", "double", "string", "date32[day]"]
    assert got.schema.field("n").metadata[b"POSTGRESQL:type"] == b"numeric"
    assert got.to_pylist() == [{"n": "1.50", "d": dt.date(2020, 1, 2), "s": "x", "b": 5,
                                "bo": True, "f": 1.5, "nn": None, "nd": None}]


def test_permission_denied_is_a_value(pg):
    import adbc_driver_postgresql.dbapi as driver

    with driver.connect(pg, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS crm.secret (a int)")
        cur.execute("REVOKE ALL ON crm.secret FROM CURRENT_USER")
    got = read_tables(pg, [TableRequest("secret", table="crm.secret"), TableRequest("firms")])
    assert isinstance(got["secret"], DatabaseError)
    assert "permission denied" in str(got["secret"]) and "grant" in str(got["secret"])
    assert got["firms"].num_rows == 3


def _assert_no_secret(error, secret):
    texts = [str(error), repr(error), "".join(traceback.format_exception(error)),
             repr(error.__cause__), repr(error.__context__),
             repr(pickle.loads(pickle.dumps(error)))]
    for text in texts:
        assert secret not in text
    assert error.__cause__ is None and error.__context__ is None


def test_wrong_password_is_redacted_everywhere(pg):
    secret = "Wr0ng-pässword-" + _password(pg)[:4]
    url = pg.replace(_password(pg), secret.replace("ä", "%C3%A4"))
    for call in (lambda: read_tables(url, [TableRequest("firms")]), lambda: list_tables(url)):
        with pytest.raises(DatabaseError) as info:
            call()
        _assert_no_secret(info.value, secret)
        _assert_no_secret(info.value, secret.replace("ä", "%C3%A4"))
        assert "password authentication failed" in str(info.value)
        assert "PGPASSWORD" in str(info.value) and ".pgpass" in str(info.value)
        assert redact(url) in str(info.value)


def test_table_errors_never_show_the_password(pg):
    password = _password(pg)
    got = read_tables(pg, [TableRequest("q", query=f"SELECT '{password}'::int AS a"),
                           TableRequest("firms", table="no_such")])
    assert isinstance(got["q"], DatabaseError) and got["firms"] is None
    _assert_no_secret(got["q"], password)
    assert redact(pg) in str(got["q"])


def test_password_from_pgpassword_and_pgpass(pg, monkeypatch, tmp_path):
    password = _password(pg)
    bare = pg.replace(":" + password + "@", "@")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(DatabaseError, match="no password supplied.*PGPASSWORD"):
        read_tables(bare, [TableRequest("firms")])
    monkeypatch.setenv("PGPASSWORD", password)
    assert read_tables(bare, [TableRequest("firms")])["firms"].num_rows == 3
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:*:ipn:ann:{password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert list_tables(bare) == ["crm.members", "firms"]


def test_connection_failures_say_what_to_do(pg):
    port = pg.rsplit(":", 1)[1].split("/", 1)[0]
    closed = pg.replace(f":{port}/", ":1/")
    cases = [(closed, "check the host and port"),
             (pg.rsplit("/", 1)[0] + "/nodb", "check the database name"),
             (pg.replace("//ann:", "//nobody:"), "check the user name and password")]
    for url, hint in cases:
        with pytest.raises(DatabaseError, match=hint) as info:
            read_tables(url, [TableRequest("firms")])
        _assert_no_secret(info.value, _password(pg))
        assert str(info.value).startswith(f"cannot connect to {redact(url)}: ")


# -- SQLite: columns of mixed types ------------------------------------------------------------

def test_sqlite_mixed_column_types_are_read_as_text(tmp_path):
    import sqlite3

    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE firms (firm_id, revenue REAL, founded DATE, active BOOLEAN)")
        rows = [(i, 1.5, "2020-01-02", 1) for i in range(2000)] + [("F-1", None, None, None)]
        conn.executemany("INSERT INTO firms VALUES (?, ?, ?, ?)", rows)
    conn.close()
    got = read_tables(f"sqlite:///{path}", [TableRequest("firms")])["firms"]
    assert [str(t) for t in got.schema.types] == ["string", "double", "string", "int64"]
    assert got.column("firm_id").to_pylist()[-2:] == ["1999", "F-1"]


def test_duckdb_types(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(tmp_path / "t.duckdb")) as conn:
        conn.execute("CREATE TABLE t AS SELECT 1.50::DECIMAL(10, 2) AS n, DATE '2020-01-02' AS d,"
                     " 'x' AS s, 5::BIGINT AS b, true AS bo, 1.5::DOUBLE AS f, NULL::INT AS ni")
    got = read_tables(f"duckdb:///{tmp_path / 't.duckdb'}", [TableRequest("t")])["t"]
    assert [str(t) for t in got.schema.types] == [
        "decimal128(10, 2)", "date32[day]", "string", "int64", "bool", "double", "int32"]


def test_pg_server_stops_and_leaves_nothing():
    from pg import PgServer, PostgresMissing

    try:
        server = PgServer()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    with server:
        root = server.root
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        assert "ipn" in server.psql("SELECT datname FROM pg_database", database="postgres")
    assert not root.exists()
    state = f"/proc/{pid}/status"
    assert not os.path.exists(state) or "zombie" in open(state).read()


# -- the digest of a table read from a database (the run's fingerprints) ----------------------

def _with_garbage_under_nulls(array: pa.Array, fill: bytes) -> pa.Array:
    """``array`` (int64 or date32, with nulls) rebuilt with ``fill`` in its null slots, as a
    driver may leave them: Arrow leaves those bytes undefined."""
    width = array.type.bit_width // 8
    data = bytearray(array.buffers()[1].to_pybytes()[array.offset * width:])
    for i, valid in enumerate(array.is_valid().to_pylist()):
        if not valid:
            data[i * width:(i + 1) * width] = (fill * width)[:width]
    return pa.Array.from_buffers(array.type, len(array),
                                 [array.buffers()[0], pa.py_buffer(bytes(data))],
                                 null_count=array.null_count, offset=array.offset)


def test_table_digest_depends_on_the_values_not_the_bytes_under_nulls():
    from ipnstats.data.sources import _table_digest

    ints = pa.array([1, None, 3, None], pa.int64())
    dates = pa.array([dt.date(2020, 1, 2), None, None, dt.date(2021, 5, 6)], pa.date32())
    flags = pa.array([True, None, False, True])
    names = pa.array(["a", None, "c", ""])

    def table(fill: bytes, chunks: int = 1) -> pa.Table:
        columns = [_with_garbage_under_nulls(ints, fill), _with_garbage_under_nulls(dates, fill),
                   flags, names]
        full = pa.table(columns, names=["i", "d", "b", "s"])
        return full if chunks == 1 else pa.concat_tables([full.slice(0, 1), full.slice(1)])

    digest = _table_digest(table(b"\x00"))
    assert _table_digest(table(b"\xab")) == digest  # other bytes under the nulls
    assert _table_digest(table(b"\x17", chunks=2)) == digest  # other chunks
    changed = [pa.table({"i": [1, None, 4, None], "d": dates, "b": flags, "s": names}),
               pa.table({"i": [1, 0, 3, None], "d": dates, "b": flags, "s": names}),
               pa.table({"i": ints, "d": dates, "b": flags, "s": ["a", None, "c", None]}),
               pa.table({"i": ints, "d": dates, "b": [True, None, True, True], "s": names}),
               pa.table({"j": ints, "d": dates, "b": flags, "s": names})]
    assert len({digest, *(_table_digest(t) for t in changed)}) == 1 + len(changed)
