"""The operator-style export of the example study (issue 17): its shape, that it carries
the study unchanged under :data:`OPERATOR_CODEBOOK`'s mapping, and that it loads
through that mapping alone to the very frames of the original study."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE
from openpyxl import load_workbook
from operator_export import OPERATOR_CODEBOOK, make_operator_export

import ipnstats
from ipnstats.data.readers import _is_qualtrics
from ipnstats.data.schema import TABLES

MAPPING = tomllib.loads(OPERATOR_CODEBOOK)["tables"]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return make_operator_export(EXAMPLE, tmp_path_factory.mktemp("operator") / "export")


def _file(export: Path, table: str) -> Path:
    found = sorted(export.glob(MAPPING[table]["file"]))
    assert len(found) == 1, (table, found)
    return found[0]


def test_the_export_is_shaped_as_an_operator_writes_it(export):
    assert not (export / "codebook.toml").exists()
    assert not any(p.stem in TABLES for p in export.rglob("*"))  # no schema file names
    book = load_workbook(_file(export, "financials"), read_only=True)
    assert book.sheetnames == ["Read me", "Data"]
    rows = list(book["Data"].iter_rows(min_row=1, max_row=4, values_only=True))
    assert rows[0][0].startswith("Member financials") and rows[1][0].startswith("Source")
    assert rows[2] == ("FirmID", "Fiscal Year", "Revenue (USD)", "Net Income (USD)",
                       "Headcount", "Total Assets (USD)")
    assert isinstance(rows[3][2], int)  # numbers are number cells
    lines = _file(export, "memberships").read_text().splitlines()
    assert lines[0] == "Member;Group;Joined;Left;Annual fee (EUR)"
    assert lines[1].split(";")[2:] == ["30/05/2014", "11/02/2021", "900,00"]
    assert any(line.split(";")[3] == "" for line in lines[1:])  # still a member
    raw = _file(export, "exchanges").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "Empfänger" in text and ";Verlust;" in text and ";05.01.2008;" in text
    assert ";7,67;" in text
    survey = _file(export, "surveys")
    assert survey.parent.name == "survey" and _is_qualtrics(survey.read_bytes()[:8192])
    head = survey.read_text(encoding="utf-8-sig").splitlines()
    assert head[0].startswith("StartDate,EndDate,Status,") and ",Q5_1,Q5_2," in head[0]
    assert ",F0001," in head[3] and ",2008-11-18 08:00:00," in head[3]
    assert _file(export, "meeting_activity").read_text().splitlines()[0].count("\t") == 6
    assert MAPPING["meeting_activity"]["delimiter"] == "\t"


def test_the_mapping_reads_every_value_of_the_study_back(export):
    """A plain pandas reading of each export file through the codebook's mapping gives
    every schema column of the original CSVs, value for value (independently of the
    ipnstats loader)."""
    for name, spec in MAPPING.items():
        original = pd.read_csv(EXAMPLE / f"{name}.csv", dtype=str, keep_default_na=False)
        read = _read_mapped(_file(export, name), spec)
        kinds = {c.name: c.kind for c in TABLES[name].columns}
        assert set(original.columns) <= set(read.columns), name
        for column in original.columns:
            kind = kinds.get(column, "number")  # survey items
            pd.testing.assert_series_equal(
                _typed(read[column], kind, spec.get("date_format")),
                _typed(original[column], kind, None), obj=f"{name}.{column}")


def _read_mapped(path: Path, spec: dict) -> pd.DataFrame:
    header = spec.get("header_row", 1) - 1
    if path.suffix == ".xlsx":
        frame = pd.read_excel(path, sheet_name=spec.get("sheet", 0), header=header,
                              dtype=object)
    elif path.suffix == ".dta":
        frame = pd.read_stata(path)
    else:
        encoding = spec.get("encoding", "utf-8-sig")
        head = path.read_bytes()[:8192]
        frame = pd.read_csv(path, sep=spec.get("delimiter", ","), encoding=encoding,
                            header=header, dtype=str, keep_default_na=False,
                            skiprows=[1, 2] if _is_qualtrics(head) else None)
        decimal = spec.get("decimal", ".")
        frame = frame.apply(lambda s: s.str.replace(decimal, ".", regex=False)
                            if decimal != "." and s.str.fullmatch(r"-?\d+,\d+").any() else s)
    frame = frame.rename(columns={source: name for name, source in spec["columns"].items()})
    for column, recode in spec.get("values", {}).items():
        assert set(frame[column]) <= set(recode), column
        frame[column] = frame[column].map(recode)
    return frame


def _typed(values: pd.Series, kind: str, date_format: str | None) -> pd.Series:
    values = values.reset_index(drop=True).rename(None)
    blank = values.isna() | (values.astype(str).str.strip() == "")
    if kind == "date":
        text = values.where(~blank, None)
        dates = pd.to_datetime(text, format=date_format or "mixed")
        return dates.dt.normalize().astype("datetime64[s]")
    if kind in ("number", "integer", "binary"):
        return pd.to_numeric(values.where(~blank, None)).astype("float64")
    return values.astype(str)


def test_the_export_loads_through_the_mapping_to_the_frames_of_the_study(export, study):
    """Done when (issue 17): the export, with OPERATOR_CODEBOOK as its codebook, loads
    to frames equal to the original study's, dtypes included."""
    (export / "codebook.toml").write_text(OPERATOR_CODEBOOK, encoding="utf-8")
    try:
        mapped = ipnstats.load_study(export)
    finally:
        (export / "codebook.toml").unlink()
    for frame in ("firm_year", "exchanges", "tasks"):
        pd.testing.assert_frame_equal(getattr(mapped, frame), getattr(study, frame),
                                      check_dtype=True, obj=frame)
