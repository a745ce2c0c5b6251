"""The study report of the example study: written, reproducible, confidential."""

import re

import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats.report.study_report import data_fingerprint, study_report, write_study_report


@pytest.fixture(scope="module")
def study():
    return ipnstats.load_study(EXAMPLE)


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
        first = [p.read_bytes() for p in write_study_report(study, out / "a")]
        second = [p.read_bytes() for p in write_study_report(study, out / "b")]
    return first, second


def test_pdf_and_html_are_written_and_reproducible(written):
    (pdf, html), (pdf2, html2) = written
    assert pdf.startswith(b"%PDF") and pdf == pdf2
    assert html == html2
    assert html.count(b"<table") >= 5


def test_report_content(study):
    report = study_report(study)
    meta = report.meta
    assert meta["Data fingerprint"] == f"sha256 {data_fingerprint(EXAMPLE)}"
    assert "ipnstats 0.1.0" in meta["Software"]
    source = report.to_typst()
    for heading in ("Sample flow", "Descriptive statistics and correlations", "Reliability",
                    "H1: Does joining", "H2: Do loss-framed", "H3: Do receivers"):
        assert heading in source
    assert "Not yet estimated." not in source  # H1, H2 and H3 are all estimated
    assert "What the data say about H1" in source
    assert "What the data say about H2" in source


def test_report_names_no_firm(written, study):
    _, html = written[0]
    text = html.decode()
    firm_ids = set(study.firm_year["firm_id"].astype(str))
    assert not any(re.search(rf"\b{fid}\b", text) for fid in firm_ids)


def test_fingerprint_changes_with_any_input_byte(tmp_path):
    import shutil

    copy = shutil.copytree(EXAMPLE, tmp_path / "copy")
    before = data_fingerprint(copy)
    path = copy / "tasks.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    assert data_fingerprint(copy) != before
