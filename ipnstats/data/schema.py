"""The study folder schema: tables, their columns, kinds, keys and references.

One :class:`TableSpec` per table. Column kinds:

- ``id``: an identifier, read as text (``1`` and ``1.0`` are the same id);
- ``text``: free text;
- ``choice``: one of a fixed set (case and surrounding spaces forgiven);
- ``binary``: 0/1 (also true/false, yes/no);
- ``integer`` / ``number``: numbers (``1,234.50``, ``$1,234`` and ``(1,234)`` accepted);
- ``date``: a calendar date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "choice", "binary", "integer", "number", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    references: str | None = None  # "table.column" this id must exist in


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("firms", (
            C("firm_id", "id"), C("industry", "text"), C("region", "text"),
            C("founded_year", "integer", minimum=1800, maximum=2200),
            C("employees_baseline", "integer", minimum=0),
        ), key=("firm_id",), required=True),
        TableSpec("memberships", (
            C("firm_id", "id", references="firms.firm_id"), C("group_id", "id"),
            C("join_date", "date"), C("exit_date", "date", nullable=True),
        ), key=("firm_id", "join_date"), required=True),
        TableSpec("financials", (
            C("firm_id", "id", references="firms.firm_id"),
            C("year", "integer", minimum=1800, maximum=2200),
            C("revenue", "number", minimum=0), C("net_income", "number"),
            C("employees", "integer", minimum=0), C("total_assets", "number", minimum=0),
        ), key=("firm_id", "year"), required=True),
        TableSpec("meetings", (
            C("meeting_id", "id"), C("group_id", "id", references="memberships.group_id"),
            C("date", "date"), C("kind", "choice", choices=("peer_meeting", "workshop")),
        ), key=("meeting_id",), required=False),
        TableSpec("meeting_activity", (
            C("meeting_id", "id", references="meetings.meeting_id"),
            C("firm_id", "id", references="firms.firm_id"),
            C("attended", "binary"), C("disclosed_financials", "binary"),
            C("critiques_received", "integer", minimum=0),
            C("benchmark_rank", "integer", nullable=True, minimum=1),
            C("ranked_firms", "integer", nullable=True, minimum=0),
        ), key=("meeting_id", "firm_id"), required=False),
        TableSpec("surveys", (
            C("firm_id", "id", references="firms.firm_id"), C("date", "date"),
        ), key=("firm_id", "date"), required=False),
        TableSpec("exchanges", (
            C("exchange_id", "id"), C("date", "date"),
            C("meeting_id", "id", nullable=True, references="meetings.meeting_id"),
            C("receiver_id", "id", references="firms.firm_id"),
            C("sender_id", "id", references="firms.firm_id"),
            C("initiator", "choice", choices=("receiver", "sender")),
            C("question_type", "text"), C("n_questions", "integer", minimum=0),
            C("framing", "choice", choices=("loss", "gain", "neutral")),
            C("cognitive_shift", "number"), C("behavior_change", "binary"),
        ), key=("exchange_id",), required=False),
        TableSpec("tasks", (
            C("firm_id", "id", references="firms.firm_id"),
            C("seq", "integer", minimum=1), C("date", "date"),
            C("outcome", "number"), C("n_sources", "integer", minimum=0),
        ), key=("firm_id", "seq"), required=False),
    )
}

#: Order in which tables are read: a table's references come before it.
TABLE_ORDER = ("firms", "memberships", "financials", "meetings", "meeting_activity",
               "surveys", "exchanges", "tasks")
FILE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".dta", ".sav")
