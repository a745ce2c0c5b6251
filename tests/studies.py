"""A small hand-made study whose derived values are worked out by hand in the tests.

Every table is given as CSV text so that a test can break one cell and know the
exact line the loader must report (header = line 1, first data row = line 2).
"""

from __future__ import annotations

from pathlib import Path

CODEBOOK = """\
[study]
name = "Hand-made study"

[scales.perceived_learning]
label = "Perceived learning"
items = ["pl_1", "pl_2", "pl_3"]
reverse = ["pl_3"]
range = [1, 5]

[scales.trust]
items = ["tr_1", "tr_2", "tr_3"]
range = [1, 5]

[scales.risk_aversion]
items = ["ra_1", "ra_2", "ra_3"]
range = [1, 5]

[scales.loss_aversion]
items = ["la_1", "la_2", "la_3"]
range = [1, 5]

[labels]
log_revenue = "Log revenue"
"""

TABLES = {
    "firms": """\
firm_id,industry,region,founded_year,employees_baseline
F1,it,north,2005,8
F2,retail,south,2010,3
F3,it,north,2000,20
F4,retail,south,2012,5
F5,it,south,2008,12
""",
    # F1: 2015 member (306 days); 2016 182 days of a leap year: not a member; re-joins 2018.
    # F2: 2016 184 days: member; 2019 183 days: member. F3: two spells in 2015 (90 + 122
    # days): member, main group G2. F5: a spell too short to make any member year.
    "memberships": """\
firm_id,group_id,join_date,exit_date
F1,G1,2015-03-01,2016-06-30
F1,G2,2018-01-01,
F2,G1,2016-07-01,2019-07-02
F3,G1,2014-01-01,2015-03-31
F3,G2,2015-09-01,2015-12-31
F5,G2,2017-10-01,2018-02-28
""",
    "financials": """\
firm_id,year,revenue,net_income,employees,total_assets
F1,2015,100,10,9,200
F1,2016,110,11,9,210
F1,2017,121,-5,10,220
F1,2018,133.1,13,11,230
F1,2019,146.41,14,12,240
F1,2020,161.051,16,13,250
F2,2015,50,5,3,80
F2,2016,55,5,3,85
F2,2018,60,6,4,90
F2,2019,66,7,4,95
F2,2020,70,7,5,99
F3,2015,500,50,20,900
F3,2016,520,52,21,910
F3,2017,530,53,22,920
F3,2018,540,54,22,930
F3,2019,550,55,23,940
F3,2020,560,56,23,950
F4,2015,30,1,2,40
F4,2016,31,1,2,41
F4,2017,32,2,2,42
F4,2018,33,2,3,43
F4,2019,34,2,3,44
F4,2020,35,3,3,45
F5,2015,90,9,12,150
F5,2016,95,9,12,155
F5,2017,99,10,12,160
F5,2018,104,10,13,165
F5,2019,108,11,13,170
F5,2020,113,11,14,175
""",
    "meetings": """\
meeting_id,group_id,date,kind
M1,G1,2015-05-10,peer_meeting
M2,G1,2015-06-10,peer_meeting
M3,G2,2018-03-01,peer_meeting
M4,G2,2018-04-01,workshop
""",
    "meeting_activity": """\
meeting_id,firm_id,attended,disclosed_financials,critiques_received,benchmark_rank,ranked_firms
M1,F1,1,1,2,1,3
M2,F1,0,0,0,,2
M1,F3,1,1,4,3,3
M3,F1,1,1,1,2,2
M4,F1,1,0,3,,
""",
    "surveys": """\
firm_id,date,pl_1,pl_2,pl_3,tr_1,tr_2,tr_3,ra_1,ra_2,ra_3,la_1,la_2,la_3
F1,2015-11-01,5,4,2,3,3,3,4,5,,2,,
F1,2015-12-01,3,3,3,3,3,3,4,4,4,2,2,2
F2,2017-05-01,4,4,2,2,2,2,1,1,1,5,5,5
F4,2016-03-01,1,1,5,4,4,4,2,2,2,3,3,3
F3,2016-03-01,2,2,4,4,4,4,5,5,5,3,3,3
""",
    "exchanges": """\
exchange_id,date,meeting_id,receiver_id,sender_id,initiator,question_type,n_questions,framing,cognitive_shift,behavior_change
X1,2015-05-10,M1,F1,F3,sender,operations,3,loss,5.0,1
X2,2016-01-15,,F1,F2,receiver,finance,2,gain,2.0,0
X3,2018-03-01,M3,F3,F1,sender,marketing,3,neutral,3.5,0
""",
    "tasks": """\
firm_id,seq,date,outcome,n_sources
F1,1,2015-01-01,12,1
F1,2,2016-01-01,10,2
F1,3,2019-01-01,6,3
F3,1,2017-06-01,9,2
""",
}


def write_study(folder: Path, *, tables: dict[str, str | None] | None = None,
                codebook: str | None = CODEBOOK) -> Path:
    """Write the hand-made study to ``folder``; ``tables`` overrides (None removes)."""
    folder.mkdir(parents=True, exist_ok=True)
    merged = {**TABLES, **(tables or {})}
    for name, text in merged.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    if codebook is not None:
        (folder / "codebook.toml").write_text(codebook, encoding="utf-8")
    return folder


def replace_line(table: str, line: int, new: str) -> str:
    """The table's CSV text with 1-based ``line`` replaced by ``new``."""
    lines = TABLES[table].splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def append_line(table: str, new: str) -> str:
    return TABLES[table] + new + "\n"
