"""The example study as a peer-network operator's database holds it (issue 17): its tables
under the operator's own table and column names, typed as a database types them, and the
loader that writes them into a PostgreSQL schema.

Used by tests/pipeline/test_study_database.py (PostgreSQL, SQLite, DuckDB) and by the
documentation's PostgreSQL tutorial (docs/tutorial_postgres.md), which starts a server
with tests/pg.py and loads these tables into it. Needs pandas and pyarrow only (and the
ADBC PostgreSQL driver for :func:`load_postgres`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from ipnstats.data.schema import TABLES

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example"

#: Schema table -> (the operator's database table, {schema column: operator column}).
OPERATOR = {
    "firms": ("members", {"firm_id": "MemberID", "founded_year": "FoundedYear",
                          "employees_baseline": "HeadcountAtEntry"}),
    "memberships": ("group_spells", {"firm_id": "MemberID", "group_id": "GroupCode",
                                     "join_date": "Joined", "exit_date": "Left"}),
    "financials": ("financials", {"firm_id": "MemberID", "year": "FiscalYear",
                                  "revenue": "RevenueUSD"}),
    "meetings": ("sessions", {"meeting_id": "SessionID", "group_id": "GroupCode"}),
    "meeting_activity": ("session_log", {"meeting_id": "SessionID", "firm_id": "MemberID"}),
    "surveys": ("survey_responses", {"firm_id": "MemberID", "date": "RecordedDate"}),
    "exchanges": ("question_log", {"exchange_id": "ExchangeID"}),
    "tasks": ("projects", {"firm_id": "MemberID"}),
}
#: The operator's labels of the exchanges' framing (schema value -> operator label).
FRAMING = {"loss": "Verlust", "gain": "Gewinn", "neutral": "Neutral"}


def operator_tables(folder: Path = EXAMPLE) -> dict[str, pa.Table]:
    """The study folder's tables, typed as a database holds them (ids and text as text,
    dates as dates), under the operator's table and column names."""
    out = {}
    for name, (table, columns) in OPERATOR.items():
        frame = pd.read_csv(folder / f"{name}.csv", dtype={c.name: str for c in
                                                           TABLES[name].columns
                                                           if c.kind in ("id", "text")})
        for column in TABLES[name].columns:
            if column.kind == "date":
                frame[column.name] = pd.to_datetime(frame[column.name]).dt.date
        if name == "exchanges":
            frame["framing"] = frame["framing"].map(FRAMING)
        out[table] = pa.Table.from_pandas(frame.rename(columns=columns), preserve_index=False)
    return out


def load_postgres(url: str, schema: str = "ops", folder: Path = EXAMPLE) -> dict[str, int]:
    """Write :func:`operator_tables` into ``schema`` (dropped first if it exists) of the
    PostgreSQL database at ``url``; the rows written per ``schema.table``."""
    import adbc_driver_postgresql.dbapi as pg

    tables = operator_tables(folder)
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        cur.execute(f"CREATE SCHEMA {schema}")
        for table, data in tables.items():
            cur.adbc_ingest(table, data, db_schema_name=schema)
        conn.commit()
    return {f"{schema}.{table}": data.num_rows for table, data in tables.items()}


def drop_postgres(url: str, schema: str = "ops") -> None:
    """Drop ``schema`` again (leave a shared server as it was)."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.commit()
