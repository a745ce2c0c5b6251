"""`ipnstats init`: the draft codebook for a folder of exports (issue 17)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE
from operator_export import OPERATOR_CODEBOOK, make_operator_export

import ipnstats
from ipnstats.data.codebook import REQUIRED_SCALES
from ipnstats.data.init import draft_codebook, write_codebook
from ipnstats.data.problems import DataError
from ipnstats.data.schema import TABLES
from ipnstats.data.sniff import (
    date_format,
    header_index,
    sniff_decimal,
    sniff_delimiter,
    sniff_encoding,
)
from ipnstats.data.synonyms import name_score, normalise, recode

OPERATOR = tomllib.loads(OPERATOR_CODEBOOK)["tables"]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return make_operator_export(EXAMPLE, tmp_path_factory.mktemp("init") / "export")


@pytest.fixture(scope="module")
def draft(export) -> str:
    return draft_codebook(export)


def _apply_suggestions(draft: str) -> str:
    """The draft after the edits its comments ask for, and no other: each scale's
    ``items = []`` and ``reverse = []`` replaced by the ``# items = [...]`` and
    ``# reverse = [...]`` its comment suggests."""
    out, suggested = [], {}
    for line in draft.splitlines():
        if line.startswith("[scales."):
            suggested = {}
        if m := re.fullmatch(r"# (items|reverse) = (\[.*\])", line):
            suggested[m.group(1)] = m.group(2)
        elif (m := re.fullmatch(r"(items|reverse) = \[\]", line)) and m.group(1) in suggested:
            line = f"{m.group(1)} = {suggested[m.group(1)]}"
        out.append(line)
    return "\n".join(out) + "\n"


def test_the_draft_maps_the_export_as_the_operator_codebook_does(draft, export):
    tables = tomllib.loads(draft)["tables"]
    assert tables.keys() == OPERATOR.keys()
    for name, expected in OPERATOR.items():
        found = dict(tables[name])
        # init names the one file it saw; the operator codebook a pattern matching it
        assert fnmatch.fnmatch(found.pop("file"), expected["file"]), name
        assert (export / tables[name]["file"]).is_file()
        expected = {k: v for k, v in expected.items() if k != "file"}
        if name == "surveys":  # init leaves the items under their Qualtrics names
            expected["columns"] = {k: v for k, v in expected["columns"].items()
                                   if k in ("firm_id", "date")}
        assert found == expected, name


def test_the_draft_is_sure_of_the_whole_mapping_and_asks_for_the_scales(draft):
    checks = [line for line in draft.splitlines() if "CHECK:" in line]
    scale_checks = [c for c in checks if "scale" in c]
    assert len(scale_checks) == 2 * len(REQUIRED_SCALES)  # items, and range
    assert len(checks) == len(scale_checks), checks
    parsed = tomllib.loads(draft)
    for scale in REQUIRED_SCALES:
        assert parsed["scales"][scale]["items"] == []  # left for the user: a load error
    # the candidate items, grouped by prefix, and the suggested ones with the reverse item
    assert "#   Item groups seen in the surveys: Q5_1..Q5_5; Q6_1..Q6_5; Q7_1..Q7_5; " \
           "Q8_1..Q8_5" in draft
    assert '# items = ["Q5_1", "Q5_2", "Q5_3", "Q5_4", "Q5_5"]\n# reverse = ["Q5_4"]' in draft
    assert "Q2" not in draft  # a one-question text column is no scale
    edited = tomllib.loads(_apply_suggestions(draft))["scales"]
    assert {s: (v["items"][0], v["reverse"]) for s, v in edited.items()} == {
        "perceived_learning": ("Q5_1", ["Q5_4"]), "trust": ("Q6_1", ["Q6_2"]),
        "risk_aversion": ("Q7_1", ["Q7_3"]), "loss_aversion": ("Q8_1", ["Q8_5"])}


def test_the_draft_as_written_is_refused_until_the_scales_are_filled(draft, export, tmp_path):
    (export / "codebook.toml").write_text(draft, encoding="utf-8")
    try:
        with pytest.raises(DataError, match="needs at least two items"):
            ipnstats.load_study(export)
    finally:
        (export / "codebook.toml").unlink()


def test_the_draft_loads_after_its_edits_to_the_frames_of_the_study(draft, export, study):
    """Done when (issue 17): `ipnstats init` on the operator export writes a codebook
    that loads after only the edits its comments ask for, to the study's frames."""
    (export / "codebook.toml").write_text(_apply_suggestions(draft), encoding="utf-8")
    try:
        loaded = ipnstats.load_study(export)
    finally:
        (export / "codebook.toml").unlink()
    for frame in ("firm_year", "exchanges", "tasks"):
        pd.testing.assert_frame_equal(getattr(loaded, frame), getattr(study, frame),
                                      check_dtype=True, obj=frame)


def test_on_a_study_folder_the_draft_maps_every_column_to_itself_and_loads(tmp_path, study):
    """A folder already in the schema's shape (the example's CSVs, no codebook): every
    table and column found under its own name, the scales suggested from the item
    prefixes (pl_, tr_, ra_, la_) with their reverse items, and after those edits the
    study loads to the example's frames."""
    folder = tmp_path / "study"
    folder.mkdir()
    for path in EXAMPLE.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    path = write_codebook(folder)
    text = path.read_text(encoding="utf-8")
    tables = tomllib.loads(text)["tables"]
    assert {name: spec["file"] for name, spec in tables.items()} == {
        name: f"{name}.csv" for name in TABLES}
    for name, spec in tables.items():
        assert spec["columns"] == {c: c for c in TABLES[name].column_names}, name
        assert spec.keys() == {"file", "columns"}, name
    assert sum("CHECK:" in line for line in text.splitlines()) == 2 * len(REQUIRED_SCALES)
    path.write_text(_apply_suggestions(text), encoding="utf-8")
    loaded = ipnstats.load_study(folder)
    assert [(s.name, s.items, s.reverse, s.low, s.high) for s in loaded.codebook.scales] == [
        (s.name, s.items, s.reverse, s.low, s.high) for s in study.codebook.scales]
    for frame in ("firm_year", "exchanges", "tasks"):
        pd.testing.assert_frame_equal(getattr(loaded, frame), getattr(study, frame),
                                      check_dtype=True, obj=frame)


def test_write_codebook_never_overwrites_without_force(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "members.csv").write_text("Member ID,Sector,Region\nF1,retail,north\n")
    (folder / "codebook.toml").write_text("# mine\n")
    with pytest.raises(FileExistsError, match="never overwrites.*--force"):
        write_codebook(folder)
    assert (folder / "codebook.toml").read_text() == "# mine\n"
    path = write_codebook(folder, force=True)
    assert path == folder / "codebook.toml"
    assert 'firm_id = "Member ID"' in path.read_text()
    assert "codebook.toml" not in path.read_text()  # the old codebook is no table


def test_unrelated_files_missing_tables_and_columns_get_a_comment(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "Member ID,Sector,Year founded\nF1,retail,1999\nF2,retail,2004\n")
    (folder / "phone list.csv").write_text("Name,Phone,Email\nAnna,123,a@b.org\n")
    (folder / "broken.xlsx").write_bytes(b"not a workbook")
    text = draft_codebook(folder)
    tomllib.loads(text)  # a valid TOML file
    assert "# CHECK: phone list.csv (columns: Name, Phone, Email) looks like none of the " \
           "study's tables: it is not used" in text
    assert "# CHECK: cannot read broken.xlsx" in text
    assert "# CHECK: no file looks like the financials table (required;" in text
    assert "# CHECK: no file looks like the tasks table (optional;" in text
    assert '# CHECK: region (text) not found in members.csv (table firms): add region = ' \
           '"<its column>"' in text


def test_an_empty_folder_or_no_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="holds no table files"):
        draft_codebook(tmp_path)
    (tmp_path / "notes.md").write_text("no tables here")
    with pytest.raises(ValueError, match="holds no table files"):
        write_codebook(tmp_path)
    assert not (tmp_path / "codebook.toml").exists()
    (tmp_path / "crm.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ValueError, match="holds no table files.*crm.xls is a table format"):
        draft_codebook(tmp_path)
    with pytest.raises(ValueError, match="is not a folder"):
        draft_codebook(tmp_path / "missing")


def test_unsure_guesses_get_a_check_comment(tmp_path):
    """Dates that could be day- or month-first, an unknown label, a column found by
    its values only, a decimal comma, Windows-1252 text and a title block."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "firms.csv").write_text("firm_id,industry,region,founded_year,"
                                      "employees_baseline\nA1,x,y,2000,3\nA2,x,y,2001,4\n")
    rows = ["Question log, exported 2023", "",
            "ID;Datum;Von;An;Initiator;Thema;Fragen;Rahmen;Shift;Behavior change",
            "E1;03.04.2019;A1;A2;Sender;hr;2;Verlust;1,5;0",
            "E2;04.05.2019;A2;A1;Empfänger;hr;1;Gewinn;2,25;1",
            "E3;05.06.2019;A2;A1;Empfänger;hr;1;Unklar;0,75;1"]
    (folder / "log.csv").write_bytes("\r\n".join(rows).encode("cp1252"))
    text = draft_codebook(folder)
    section = text[text.index("[tables.exchanges]"):text.index("[tables.tasks]")]
    assert 'encoding = "cp1252"' in section and 'delimiter = ";"' in section
    assert 'decimal = ","' in section and "header_row = 3" in section
    assert 'date_format = "%d.%m.%Y"' in section
    assert "# CHECK: 'Datum': no day above 12 in 3 dates" in section
    assert "# CHECK: label 'Unklar' of 'Rahmen': which of loss, gain, neutral?" in section
    assert 'framing = "Rahmen"  # CHECK: guessed from its values' in section
    assert 'initiator = { "Empfänger" = "receiver", Sender = "sender" }' in section
    assert 'exchange_id = "ID"  # CHECK: a column named like a bare id' in section
    assert 'receiver_id = "Von"  # CHECK: guessed from its values (ids of firms' in section
    assert "# CHECK: meeting_id (id) not found in log.csv (table exchanges)" in section


def test_sniffing_delimiters_decimals_dates_encodings_and_headers():
    assert sniff_delimiter(["a;b;c", "1,5;2;3"]) == (";", None)
    assert sniff_delimiter(["a\tb", "1\t2"]) == ("\t", None)
    assert sniff_delimiter(["a|b|c", "1|2|3"]) == ("|", None)
    assert sniff_delimiter(["a,b", "1,2"]) == (",", None)
    assert sniff_delimiter(["a", "1,2", "1,2,3"])[1] is not None  # no consistent split
    frame = pd.DataFrame({"fee": ["1.234,50", "12,00"], "n": ["1", "2"]})
    assert sniff_decimal(frame, ";") == (",", ".", None)
    assert sniff_decimal(pd.DataFrame({"v": ["1,234.5", "3.25"]}), ",") == (".", ",", None)
    assert sniff_decimal(pd.DataFrame({"v": ["1,5", "2.5"]}), ";")[2] is not None
    assert sniff_decimal(pd.DataFrame({"v": ["1,234"]}), ";")[2] is not None  # 1234 or 1.234?
    assert sniff_decimal(pd.DataFrame({"v": ["0.125", "2.5"]}), ";") == (".", None, None)
    assert sniff_decimal(pd.DataFrame({"v": ["1.234.567"]}), ";") == (",", ".", None)
    assert sniff_decimal(pd.DataFrame({"d": ["05.01.2008"], "ip": ["192.0.2.1"]}), ";") == (
        ".", None, None)  # dates and addresses are no numbers
    assert date_format(pd.Series(["30/05/2014", "01/02/2015"])) == ("%d/%m/%Y", None)
    assert date_format(pd.Series(["05/30/2014", "01/02/2015"])) == ("%m/%d/%Y", None)
    assert date_format(pd.Series(["2014-05-30"])) == (None, None)
    fmt, note = date_format(pd.Series(["01/02/2015", "03/04/2015"]))
    assert fmt == "%d/%m/%Y" and "%m/%d/%Y" in note
    assert sniff_encoding("Empfänger".encode()) == "utf-8"
    assert sniff_encoding("Empfänger".encode()[:-5]) == "utf-8"  # a cut character
    assert sniff_encoding("Empfänger".encode("cp1252")) == "cp1252"
    assert header_index([["Title", None, None], [None, None, None], ["a", "b", "c"],
                         [1, 2, 3]]) == 2
    assert header_index([["2019", "2020"], ["1", "2"], ["a", "b"]]) == 2


def test_files_of_one_table_a_text_file_and_yes_no_labels(tmp_path):
    """Yearly files of one table are read through one pattern; a .txt table is found but
    must be renamed for the loader; ja/nein in a 0/1 column is recoded."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "firms [2023].csv").write_text("firm_id,industry,region,founded_year,"
                                             "employees_baseline\nA1,x,y,2000,3\n"
                                             "A2,x,y,2001,4\n")
    for year in (2019, 2020):
        (folder / f"Financials {year}.csv").write_text(
            f"FirmID,Fiscal Year,Sales,Net profit,Staff,Total assets\nA1,{year},10,1,3,20\n"
            f"A2,{year},12,-1,4,25\n")
    (folder / "old export.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "members [final].csv").write_text("Member ID,Sector,Region\nA1,x,y\n")
    (folder / "attendance.txt").write_text(
        "Session ID\tMember ID\tAttended\tDisclosed financials\tCritiques received\t"
        "Benchmark rank\tRanked firms\nM1\tA1\tja\tnein\t2\t\t0\nM1\tA2\tnein\tnein\t0\t\t0\n")
    text = draft_codebook(folder)
    tables = tomllib.loads(text)["tables"]
    assert tables["financials"]["file"] == "Financials *.csv"
    assert "# CHECK: 2 files with these columns: read one after the other" in text
    assert tables["financials"]["columns"] == {
        "firm_id": "FirmID", "year": "Fiscal Year", "revenue": "Sales",
        "net_income": "Net profit", "employees": "Staff", "total_assets": "Total assets"}
    activity = tables["meeting_activity"]
    assert activity["file"] == "attendance.txt" and activity["delimiter"] == "\t"
    assert "# CHECK: rename attendance.txt to attendance.csv" in text
    assert "# CHECK: old export.xls is a table format the loader does not read: save it " \
           "as .xlsx" in text
    assert "# CHECK: members [final].csv (columns: Member ID, Sector, Region) also looks " \
           "like the firms table, which is read from firms [[]2023].csv" in text
    assert tables["firms"]["file"] == "firms [[]2023].csv"  # a pattern: brackets escaped
    assert activity["values"] == {"attended": {"ja": "1", "nein": "0"},
                                  "disclosed_financials": {"nein": "0"}}


def test_names_and_labels_of_exports():
    assert normalise("Revenue (USD)") == "revenue"
    assert normalise("FirmID") == "firm id" and normalise("Empfänger") == "empfaenger"
    assert name_score("Umsatz", "revenue") == (3.0 - 5 / 100, None)  # a German synonym
    assert name_score("Fiscal Year", "year")[1] is None
    score, note = name_score("Total employees (FTE)", "employees")
    assert score == 2 and "holds the words" in note  # a CHECK comment
    assert name_score("Phone", "revenue") == (0.0, None)
    assert recode("framing", ["Verlust", "Gewinn", "Neutral"]) == (
        {"Verlust": "loss", "Gewinn": "gain", "Neutral": "neutral"}, [])
    assert recode("framing", ["loss", "Gain"]) == ({}, [])  # the loader reads these as they are
    assert recode("initiator", ["Empfänger", "?"]) == ({"Empfänger": "receiver"}, ["?"])
    assert recode("behavior_change", ["ja", "nein"]) == ({"ja": "1", "nein": "0"}, [])


def test_an_spss_survey_its_variable_labels_and_reverse_items_of_short_scales(tmp_path):
    """Scales suggested from SPSS variable labels; the reverse-coded item of a
    three-item scale (which correlates with the sum of the two others near zero) found
    by the sign of its loading."""
    import pyreadstat

    rng = np.random.default_rng(7)
    n = 300
    trait = rng.integers(2, 7, n)
    frame = pd.DataFrame({"firm": [f"F{i % 50}" for i in range(n)],
                          "survey_date": pd.Timestamp("2020-01-01")
                          + pd.to_timedelta(rng.integers(0, 700, n), unit="D")})
    texts = {"v10": "I trust my peers", "v20": "What I learned in the group",
             "v30": "I avoid risky decisions", "v40": "Losses weigh more than gains"}
    for prefix in texts:
        for k in (1, 2, 3):
            answer = np.clip(trait + rng.integers(-1, 2, n), 1, 7)
            frame[f"{prefix}_{k}"] = (8 - answer if k == 3 else answer).astype(float)
    labels = {c: texts.get(c.split("_")[0]) for c in frame.columns}
    folder = tmp_path / "exports"
    folder.mkdir()
    pyreadstat.write_sav(frame, str(folder / "survey.sav"), column_labels=labels)
    text = draft_codebook(folder)
    scales = tomllib.loads(_apply_suggestions(text))["scales"]
    assert {name: (s["items"], s["reverse"]) for name, s in scales.items()} == {
        "perceived_learning": (["v20_1", "v20_2", "v20_3"], ["v20_3"]),
        "trust": (["v10_1", "v10_2", "v10_3"], ["v10_3"]),
        "risk_aversion": (["v30_1", "v30_2", "v30_3"], ["v30_3"]),
        "loss_aversion": (["v40_1", "v40_2", "v40_3"], ["v40_3"])}
    surveys = tomllib.loads(text)["tables"]["surveys"]
    assert surveys["columns"] == {"firm_id": "firm", "date": "survey_date"}


MUTATIONS = ("truncate", "flip", "empty", "header", "delete", "nul", "crlf", "bom")


def _mutate(path: Path, how: str, rng) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[:rng.randrange(len(data) + 1)]
    elif how == "flip" and data:
        for _ in range(20):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == "empty":
        data = bytearray()
    elif how == "header" and path.suffix == ".csv":
        lines = bytes(data).split(b"\n")
        lines[0] = bytes(rng.choice(b",;|\t x\"'=") for _ in range(rng.randrange(40)))
        data = bytearray(b"\n".join(lines))
    elif how == "delete":
        path.unlink()
        return
    elif how == "nul":
        data = bytearray(bytes(data).replace(b",", b"\x00", 2))
    elif how == "crlf":
        data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
    elif how == "bom":
        data = bytearray(b"\xef\xbb\xbf" + bytes(data))
    path.write_bytes(bytes(data))


def test_damaged_exports_give_a_draft_or_a_clear_error(tmp_path):
    """Files truncated, flipped, emptied, deleted, with broken headers, NUL bytes, CRLF or
    a BOM: init writes a valid TOML draft (naming what it cannot read) or, when no
    table file is left, a ValueError; never another exception."""
    import random

    small = tmp_path / "small"
    small.mkdir()
    for path in EXAMPLE.glob("*.csv"):
        lines = path.read_text().splitlines()[:40]
        (small / path.name).write_text("\n".join(lines) + "\n")
    (small / "codebook.toml").write_text((EXAMPLE / "codebook.toml").read_text())
    base = make_operator_export(small, tmp_path / "base")
    for seed in range(16):
        rng = random.Random(seed)
        folder = tmp_path / f"case{seed}"
        shutil.copytree(base, folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(files)
            if path.exists():
                _mutate(path, rng.choice(MUTATIONS), rng)
        try:
            text = draft_codebook(folder)
        except ValueError as exc:
            assert "holds no table files" in str(exc)
            continue
        tomllib.loads(text)


def test_a_qualtrics_export_with_answers_as_words_asks_for_numeric_values(tmp_path):
    head = ["StartDate,RecordedDate,ExternalReference,Q5_1,Q5_2",
            "Start Date,Recorded Date,External Data Reference,How far - a,How far - b",
            '"{""ImportId"":""startDate""}","{""ImportId"":""recordedDate""}",'
            '"{""ImportId"":""externalDataReference""}","{""ImportId"":""QID5_1""}",'
            '"{""ImportId"":""QID5_2""}"']
    rows = [f"2020-01-0{i + 1} 10:00:00,2020-01-0{i + 1} 10:09:00,F{i},Agree,Disagree"
            for i in range(5)]
    (tmp_path / "survey.csv").write_text("\n".join(head + rows) + "\n")
    text = draft_codebook(tmp_path)
    assert "# a Qualtrics export" in text
    assert "# CHECK: the answers in Q5_1, Q5_2 are words, not numbers: export the survey " \
           "with numeric values" in text
    assert tomllib.loads(text)["tables"]["surveys"]["columns"] == {
        "firm_id": "ExternalReference", "date": "RecordedDate"}
