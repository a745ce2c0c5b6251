"""A study folder as a peer-network operator actually exports it (issue 17), and the
codebook mapping that loads that export back into the same study.

:func:`make_operator_export` turns a study folder of schema CSVs (``data/example``)
into a folder of operator files: financials in an Excel workbook whose data sheet is
not the first and whose header is on row 3; memberships and exchanges as semicolon
CSVs with day-first dates and decimal commas (exchanges in Windows-1252, with German
labels); the surveys as a Qualtrics CSV export in a subfolder; meetings in a second
workbook, meeting activity tab-separated, tasks as a Stata file; every table under
the operator's own column names. No codebook is written: the operator has none.

Every value of the study is carried unchanged in meaning (the numbers' texts are
kept digit for digit; labels and date formats are one-to-one), so a load of the
export through :data:`OPERATOR_CODEBOOK` must give the very frames of the original.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example"

#: Schema table -> the operator's file (relative to the export folder). The financials'
#: name carries the years it covers ("Financials FY2008-2022.xlsx").
FILES = {
    "firms": "members.csv",
    "memberships": "Group memberships.csv",
    "financials": "Financials FY{first}-{last}.xlsx",
    "meetings": "Sessions.xlsx",
    "meeting_activity": "Attendance.csv",
    "surveys": "survey/IPN Member Survey_May 14, 2023_10.22.csv",
    "exchanges": "question_log.csv",
    "tasks": "break_even_tasks.dta",
}

#: Schema column -> operator column, per table.
COLUMNS = {
    "firms": {"firm_id": "Member ID", "industry": "Sector", "region": "Region",
              "founded_year": "Year founded", "employees_baseline": "Employees at joining"},
    "memberships": {"firm_id": "Member", "group_id": "Group", "join_date": "Joined",
                    "exit_date": "Left"},
    "financials": {"firm_id": "FirmID", "year": "Fiscal Year", "revenue": "Revenue (USD)",
                   "net_income": "Net Income (USD)", "employees": "Headcount",
                   "total_assets": "Total Assets (USD)"},
    "meetings": {"meeting_id": "Session ID", "group_id": "Group", "date": "Datum",
                 "kind": "Format"},
    "meeting_activity": {"meeting_id": "Session ID", "firm_id": "Member ID",
                         "attended": "Attended", "disclosed_financials": "Disclosed financials",
                         "critiques_received": "Critiques received",
                         "benchmark_rank": "Benchmark rank", "ranked_firms": "Ranked firms"},
    "exchanges": {"exchange_id": "Exchange", "date": "Datum", "meeting_id": "Meeting",
                  "receiver_id": "Receiver", "sender_id": "Sender", "initiator": "Initiator",
                  "question_type": "Question type", "n_questions": "Questions",
                  "framing": "Framing", "cognitive_shift": "Cognitive shift",
                  "behavior_change": "Behavior change"},
    "tasks": {"firm_id": "member_id", "seq": "task_no", "date": "start_date",
              "outcome": "months_to_breakeven", "n_sources": "n_info_sources"},
}

#: Schema value -> operator label, per table and column.
LABELS = {
    ("meetings", "kind"): {"peer_meeting": "Peer meeting", "workshop": "Workshop"},
    ("exchanges", "framing"): {"loss": "Verlust", "gain": "Gewinn", "neutral": "Neutral"},
    ("exchanges", "initiator"): {"receiver": "Empfänger", "sender": "Sender"},
}

#: Survey scale prefix in the study -> Qualtrics question number, and its question text.
QUESTIONS = {
    "pl": (5, "Since joining the network, how much have you learned? - "
              "I learned practices from the other members of my group, statement"),
    "tr": (6, "How far do you trust the members of your group? - "
              "I trust the other members with confidential figures, statement"),
    "ra": (7, "Attitudes to risk - I avoid risky decisions in my business, statement"),
    "la": (8, "Gains and losses - A loss weighs more for me than an equal gain, statement"),
}

#: The operator's columns before the questions (what Qualtrics writes).
QUALTRICS_META = [
    ("StartDate", "Start Date", "startDate"), ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"), ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"), ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]
ROLES = ("Owner", "Managing director", "Head of finance, controlling")


def make_operator_export(study: Path, out: Path) -> Path:
    """Write the operator-style export of the study folder ``study`` into ``out``.

    ``out`` is created when missing; the export's files are written into it (see
    :data:`FILES`) and no ``codebook.toml``. Returns ``out``.
    """
    study, out = Path(study), Path(out)
    (out / "survey").mkdir(parents=True, exist_ok=True)
    text = {name: _read_text(study / f"{name}.csv")
            for name in ("firms", "memberships", "financials", "meetings", "meeting_activity",
                         "surveys", "exchanges", "tasks")}
    years = text["financials"]["year"].astype(int)
    files = {name: out / FILES[name].format(first=years.min(), last=years.max())
             for name in FILES}
    _firms(text["firms"], files["firms"])
    _memberships(text["memberships"], files["memberships"])
    _financials(text["financials"], files["financials"])
    _meetings(text["meetings"], files["meetings"])
    _meeting_activity(text["meeting_activity"], files["meeting_activity"])
    _surveys(text["surveys"], files["surveys"])
    _exchanges(text["exchanges"], files["exchanges"])
    _tasks(text["tasks"], files["tasks"])
    return out


def _read_text(path: Path) -> pd.DataFrame:
    """A schema CSV with every cell as the text it holds (empty cells as "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _renamed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    out = frame.copy()
    for (name, column), labels in LABELS.items():
        if name == table:
            out[column] = out[column].map(labels)
    return out.rename(columns=COLUMNS[table])


def _numbers(frame: pd.DataFrame, columns: list[str], dtype) -> pd.DataFrame:
    """``columns`` of a text frame as numbers (empty cells missing)."""
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_numeric(out[column].replace("", np.nan)).astype(dtype)
    return out


def _day_first(dates: pd.Series, sep: str) -> pd.Series:
    """ISO dates (YYYY-MM-DD) as DD<sep>MM<sep>YYYY; empty cells stay empty."""
    parts = dates.str.split("-", expand=True)
    return (parts[2] + sep + parts[1] + sep + parts[0]).where(dates != "", "")


def _decimal_comma(values: pd.Series) -> pd.Series:
    return values.str.replace(".", ",", regex=False)


def _firms(frame: pd.DataFrame, path: Path) -> None:
    _renamed(frame, "firms").to_csv(path, index=False)


def _memberships(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for column in ("join_date", "exit_date"):
        out[column] = _day_first(out[column], "/")
    fee = 900 + (np.arange(len(out)) * 37) % 700 + 0.5 * (np.arange(len(out)) % 2)
    out = _renamed(out, "memberships")
    out["Annual fee (EUR)"] = _decimal_comma(pd.Series([f"{v:.2f}" for v in fee]))
    out.to_csv(path, sep=";", index=False)


def _financials(frame: pd.DataFrame, path: Path) -> None:
    data = _renamed(_numbers(frame, ["year", "revenue", "net_income", "employees",
                                     "total_assets"], "int64"), "financials")
    first, last = data["Fiscal Year"].min(), data["Fiscal Year"].max()
    readme = pd.DataFrame({"Member financials": [
        "Export of the member financials from the network's CRM.",
        f"Fiscal years {first} to {last}; amounts in US dollars; headcount at year end.",
        "The figures are on the sheet 'Data'.",
    ]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        readme.to_excel(writer, sheet_name="Read me", index=False)
        data.to_excel(writer, sheet_name="Data", index=False, startrow=2)
        sheet = writer.sheets["Data"]
        sheet["A1"] = f"Member financials FY{first}-{last}"
        sheet["A2"] = "Source: network CRM, exported by the operator"


def _meetings(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"], format="%Y-%m-%d")
    _renamed(out, "meetings").to_excel(path, sheet_name="Sessions", index=False)


def _meeting_activity(frame: pd.DataFrame, path: Path) -> None:
    _renamed(frame, "meeting_activity").to_csv(path, sep="\t", index=False)


def _exchanges(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    out["date"] = _day_first(out["date"], ".")
    out["cognitive_shift"] = _decimal_comma(out["cognitive_shift"])
    _renamed(out, "exchanges").to_csv(path, sep=";", index=False, encoding="cp1252")


def _tasks(frame: pd.DataFrame, path: Path) -> None:
    out = _numbers(frame, ["seq", "n_sources"], "int32")
    out = _numbers(out, ["outcome"], "float64")
    out["date"] = pd.to_datetime(out["date"], format="%Y-%m-%d")
    out = _renamed(out, "tasks")
    out.to_stata(path, write_index=False, convert_dates={"start_date": "td"},
                 variable_labels={"months_to_breakeven": "Months to break even",
                                  "n_info_sources": "Information sources used"},
                 version=118)


def _surveys(frame: pd.DataFrame, path: Path) -> None:
    """The surveys as Qualtrics writes a CSV export: column ids, question texts and
    ImportId JSON as the three header rows; RecordedDate with a time of day."""
    n = len(frame)
    i = np.arange(n)
    recorded = (pd.to_datetime(frame["date"], format="%Y-%m-%d")
                + pd.to_timedelta(8 * 3600 + (i * 7919) % (10 * 3600), unit="s"))
    duration = 120 + (i * 61) % 900
    start = recorded - pd.to_timedelta(duration, unit="s")
    stamp = "%Y-%m-%d %H:%M:%S"
    meta = {
        "StartDate": start.dt.strftime(stamp), "EndDate": recorded.dt.strftime(stamp),
        "Status": "IP Address", "IPAddress": [f"192.0.2.{k % 250 + 1}" for k in i],
        "Progress": "100", "Duration (in seconds)": duration.astype(str), "Finished": "True",
        "RecordedDate": recorded.dt.strftime(stamp),
        "ResponseId": [f"R_{k:06d}{(k * 7907) % 100000:05d}xQ" for k in i],
        "RecipientLastName": "", "RecipientFirstName": "", "RecipientEmail": "",
        "ExternalReference": frame["firm_id"], "LocationLatitude": "",
        "LocationLongitude": "", "DistributionChannel": "email", "UserLanguage": "EN",
    }
    body = pd.DataFrame(meta, index=frame.index)
    texts = [text for _, text, _ in QUALTRICS_META]
    imports = [_import_id({"ImportId": key, **({"timeZone": "Europe/Berlin"}
                                                if "Date" in column else {})})
               for column, _, key in QUALTRICS_META]
    body["Q2"] = [ROLES[k % len(ROLES)] for k in i]
    texts.append("What is your role in the firm? - Selected Choice")
    imports.append(_import_id({"ImportId": "QID2"}))
    for prefix, (number, question) in QUESTIONS.items():
        for item in range(1, 6):
            body[f"Q{number}_{item}"] = frame[f"{prefix}_{item}"]
            texts.append(f"{question} {item}")
            imports.append(_import_id({"ImportId": f"QID{number}_{item}"}))
    header = pd.DataFrame([texts, imports], columns=body.columns)
    pd.concat([header, body], ignore_index=True).to_csv(path, index=False,
                                                        encoding="utf-8-sig")


def _import_id(value: dict) -> str:
    """A third-row cell of a Qualtrics export: compact JSON."""
    return json.dumps(value, separators=(",", ":"))


#: The [tables.*] mapping (MAPPING_SPEC.md) that reads the export back.
OPERATOR_MAPPING = """
[tables.firms]
file = "members.csv"

[tables.firms.columns]
firm_id = "Member ID"
industry = "Sector"
region = "Region"
founded_year = "Year founded"
employees_baseline = "Employees at joining"

[tables.memberships]
file = "Group memberships.csv"
delimiter = ";"
decimal = ","
date_format = "%d/%m/%Y"
columns = { firm_id = "Member", group_id = "Group", join_date = "Joined", exit_date = "Left" }

[tables.financials]
file = "Financials FY*.xlsx"
sheet = "Data"
header_row = 3

[tables.financials.columns]
firm_id = "FirmID"
year = "Fiscal Year"
revenue = "Revenue (USD)"
net_income = "Net Income (USD)"
employees = "Headcount"
total_assets = "Total Assets (USD)"

[tables.meetings]
file = "Sessions.xlsx"
columns = { meeting_id = "Session ID", group_id = "Group", date = "Datum", kind = "Format" }
values = { kind = { "Peer meeting" = "peer_meeting", Workshop = "workshop" } }

[tables.meeting_activity]
file = "Attendance.csv"
delimiter = "\\t"

[tables.meeting_activity.columns]
meeting_id = "Session ID"
firm_id = "Member ID"
attended = "Attended"
disclosed_financials = "Disclosed financials"
critiques_received = "Critiques received"
benchmark_rank = "Benchmark rank"
ranked_firms = "Ranked firms"

[tables.surveys]
file = "survey/IPN Member Survey_*.csv"

[tables.surveys.columns]
firm_id = "ExternalReference"
date = "RecordedDate"
pl_1 = "Q5_1"
pl_2 = "Q5_2"
pl_3 = "Q5_3"
pl_4 = "Q5_4"
pl_5 = "Q5_5"
tr_1 = "Q6_1"
tr_2 = "Q6_2"
tr_3 = "Q6_3"
tr_4 = "Q6_4"
tr_5 = "Q6_5"
ra_1 = "Q7_1"
ra_2 = "Q7_2"
ra_3 = "Q7_3"
ra_4 = "Q7_4"
ra_5 = "Q7_5"
la_1 = "Q8_1"
la_2 = "Q8_2"
la_3 = "Q8_3"
la_4 = "Q8_4"
la_5 = "Q8_5"

[tables.exchanges]
file = "question_log.csv"
delimiter = ";"
decimal = ","
date_format = "%d.%m.%Y"
encoding = "cp1252"

[tables.exchanges.columns]
exchange_id = "Exchange"
date = "Datum"
meeting_id = "Meeting"
receiver_id = "Receiver"
sender_id = "Sender"
initiator = "Initiator"
question_type = "Question type"
n_questions = "Questions"
framing = "Framing"
cognitive_shift = "Cognitive shift"
behavior_change = "Behavior change"

[tables.exchanges.values]
framing = { Verlust = "loss", Gewinn = "gain", Neutral = "neutral" }
initiator = { "Empfänger" = "receiver", Sender = "sender" }

[tables.tasks]
file = "break_even_tasks.dta"

[tables.tasks.columns]
firm_id = "member_id"
seq = "task_no"
date = "start_date"
outcome = "months_to_breakeven"
n_sources = "n_info_sources"
"""

#: The example study's settings, scales and labels, and the mapping of the export.
OPERATOR_CODEBOOK = (EXAMPLE / "codebook.toml").read_text(encoding="utf-8") + OPERATOR_MAPPING
