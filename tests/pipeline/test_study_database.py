"""A study in a database (issue 17): the example study, stored under an operator's table and
column names in a real PostgreSQL server (started by the ``pg_url`` fixture), in SQLite and
in DuckDB, loads through the codebook's mapping alone to the frames of the study folder;
the loader never writes; no output or error shows the password."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from urllib.parse import urlsplit

import pandas as pd
import pytest
from conftest import EXAMPLE
from operator_db import FRAMING, OPERATOR, drop_postgres, load_postgres, operator_tables

import ipnstats
from ipnstats.cli import main


def _codebook(tmp_path, schema: str | None, *, write_query: str | None = None):
    lines = [(EXAMPLE / "codebook.toml").read_text()]
    for name, (table, columns) in OPERATOR.items():
        where = f"{schema}.{table}" if schema else table
        lines.append(f"\n[tables.{name}]")
        if name == "exchanges":  # one table comes through a query
            lines.append(f'query = "SELECT * FROM {where} WHERE "ExchangeID" IS NOT NULL"'
                         .replace('"ExchangeID"', '\\"ExchangeID\\"'))
        elif name == "tasks" and write_query:
            lines.append(f'query = "{write_query.format(where=where)}"')
        else:
            lines.append(f'table = "{where}"')
        lines.append("columns = { " + ", ".join(f'{k} = "{v}"' for k, v in columns.items())
                     + " }")
        if name == "exchanges":
            lines.append("values = { framing = { " + ", ".join(
                f'{v} = "{k}"' for k, v in FRAMING.items()) + " } }")
    path = tmp_path / "codebook.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _postgres(url: str) -> str:
    load_postgres(url, "ops")
    return url


def _drop(url: str) -> None:
    """Leave the session's server as it was (other tests list its tables)."""
    drop_postgres(url, "ops")


def _sqlite(path) -> str:
    import adbc_driver_sqlite.dbapi as sqlite

    with sqlite.connect(str(path)) as conn, conn.cursor() as cur:
        for table, data in operator_tables().items():
            cur.adbc_ingest(table, data)
        conn.commit()
    return f"sqlite:///{path}"


def _duckdb(path) -> str:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA ops")
        for table, data in operator_tables().items():
            conn.register("incoming", data)
            conn.execute(f"CREATE TABLE ops.{table} AS SELECT * FROM incoming")
            conn.unregister("incoming")
    return f"duckdb:///{path}"


@pytest.fixture(params=["postgresql", "sqlite", "duckdb"])
def database(request, tmp_path):
    """(URL, schema) of a database holding the example study under operator names."""
    pytest.importorskip({"postgresql": "adbc_driver_postgresql", "sqlite": "adbc_driver_sqlite",
                         "duckdb": "duckdb"}[request.param])
    if request.param == "postgresql":
        url = _postgres(request.getfixturevalue("pg_url"))
        yield url, "ops"
        _drop(url)
    elif request.param == "sqlite":
        yield _sqlite(tmp_path / "study.db"), None
    else:
        yield _duckdb(tmp_path / "study.duckdb"), "ops"


def test_the_study_in_a_database_gives_the_frames_of_the_folder(database, tmp_path, study):
    url, schema = database
    loaded = ipnstats.load_study(url, codebook=_codebook(tmp_path, schema))
    for frame in ("firm_year", "exchanges", "tasks"):
        pd.testing.assert_frame_equal(getattr(loaded, frame), getattr(study, frame),
                                      check_dtype=True, obj=frame)
    assert "://" in str(loaded.folder)


@pytest.mark.parametrize("query", ["DELETE FROM {where} RETURNING *",
                                   "SELECT * FROM {where}; DROP TABLE {where}"])
def test_a_mapped_query_that_writes_fails_and_changes_nothing(database, tmp_path, query):
    url, schema = database
    codebook = _codebook(tmp_path, schema, write_query=query)
    report = ipnstats.validate_study(url, codebook=codebook)
    bad = report.problems[(report.problems["table"] == "tasks")
                          & (report.problems["rule"] == "unreadable_file")]
    assert len(bad) == 1, report.summary()
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(url, codebook=codebook)
    # nothing was deleted or dropped: the plain mapping still loads every task
    study = ipnstats.load_study(url, codebook=_codebook(tmp_path, schema))
    assert len(study.tasks) == len(pd.read_csv(EXAMPLE / "tasks.csv"))


def test_no_output_or_error_shows_the_password(pg_url, tmp_path):
    pytest.importorskip("adbc_driver_postgresql")
    url = _postgres(pg_url)
    try:
        _no_password_shown(url, tmp_path)
    finally:
        _drop(url)


def _no_password_shown(url: str, tmp_path) -> None:
    password = urlsplit(url).password
    assert password and len(password) >= 8
    codebook = _codebook(tmp_path, "ops")
    seen = []
    # a broken table: its problems, the summary and the DataError
    broken = codebook.read_text().replace('table = "ops.sessions"', 'table = "ops.nothere"')
    (tmp_path / "broken.toml").write_text(broken.replace(
        'table = "ops.members"', 'query = "SELECT nonsense FROM ops.members"'))
    report = ipnstats.validate_study(url, codebook=tmp_path / "broken.toml")
    seen += [report.summary(), report.problems.to_csv()]
    with pytest.raises(ipnstats.DataError) as caught:
        ipnstats.load_study(url, codebook=tmp_path / "broken.toml")
    seen.append(str(caught.value))
    # a wrong password, and a server that is not there
    wrong = url.replace(f":{password}@", ":Wr0ngPassw0rd@")
    seen.append(ipnstats.validate_study(wrong, codebook=codebook).summary())
    # the command line, and a stage's stored results
    for args in (["validate", url, "--codebook", codebook],
                 ["validate", wrong, "--codebook", codebook],
                 ["panel", url, "--codebook", codebook, "--out", tmp_path / "panel.csv"]):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main([str(a) for a in args])
        assert code in (0, 1) and "Traceback" not in err.getvalue()
        seen += [out.getvalue(), err.getvalue()]
    # a study run (a small one: no hypothesis family) and its report
    from ipnstats.pipeline.assemble import write_report
    from ipnstats.pipeline.config import config_from_dict
    from ipnstats.pipeline.runner import run

    cfg = config_from_dict({
        "study": {"folder": url, "codebook": str(codebook)}, "run": {"hypotheses": []}},
        tmp_path / "study.toml", out=tmp_path / "out")
    assert sorted(run(cfg)) == ["data", "models"]
    stored = (tmp_path / "out" / "results" / "data.json").read_text()
    assert json.loads(stored)["fingerprint"]["inputs"]
    write_report(cfg)
    from pypdf import PdfReader

    seen += ["".join(page.extract_text() for page in
                     PdfReader(tmp_path / "out" / "ipn_report.pdf").pages)]
    seen += [p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*")
             if p.is_file() and p.suffix in (".json", ".svg", ".csv", ".md", ".txt", ".tex",
                                             ".html")]
    for text in seen:
        assert password not in text and "Wr0ngPassw0rd" not in text
    assert any("***" in text for text in seen)


def test_the_digests_of_the_tables_are_the_same_on_every_read(database, tmp_path):
    """A run's fingerprint holds a digest of each table read (``ipnstats run`` refits a
    stage when it changes): reading the same tables again gives the same digests, nulls
    included (PostgreSQL's driver leaves arbitrary bytes under them)."""
    from ipnstats.data.sources import input_fingerprints

    url, schema = database
    codebook = _codebook(tmp_path, schema)
    first = input_fingerprints(url, codebook)
    assert len(first) == 9 and first == input_fingerprints(url, codebook)


def test_each_stage_fingerprints_the_database_tables_it_reads(database, tmp_path):
    """A stage's fingerprint holds the digests of its own tables, under the names the
    codebook maps them to: a changed row in ``ops.financials`` refits the stages that read
    the financials, not only the data stage."""
    from ipnstats.pipeline.config import config_from_dict
    from ipnstats.pipeline.runner import inputs_of
    from ipnstats.pipeline.stages import stage

    url, schema = database
    cfg = config_from_dict({"study": {"folder": url, "codebook": str(_codebook(tmp_path, schema))},
                            "run": {"hypotheses": ["H1", "H2", "H3"]}},
                           tmp_path / "study.toml", out=tmp_path / "out")

    def labels(*names):
        return {f"table {schema + '.' if schema else ''}{OPERATOR[n][0]}" for n in names}

    firm_year = labels("firms", "memberships", "financials", "meetings", "meeting_activity",
                       "surveys") | {"codebook.toml"}
    cache = {}
    assert set(inputs_of(cfg, stage("h1").inputs, cache)) == firm_year
    assert set(inputs_of(cfg, stage("h2").inputs, cache)) == firm_year | {
        "query of [tables.exchanges]"}
    assert set(inputs_of(cfg, stage("h3").inputs, cache)) == firm_year | labels("tasks") | {
        "query of [tables.exchanges]"}
    assert inputs_of(cfg, None, cache) == inputs_of(cfg, stage("h3").inputs, cache)
