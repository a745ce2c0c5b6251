"""The study report of the example study, made the one way there is (``ipnstats run``,
then ``ipnstats report``): written, reproducible, confidential."""

import re
import shutil
from pathlib import Path

import pandas as pd
from conftest import EXAMPLE

import ipnstats.pipeline.config as config
from ipnstats.pipeline import load_config
from ipnstats.pipeline.assemble import build_report
from ipnstats.pipeline.runner import load_results

# The reports these tests read are the two runs of the repository's configuration on
# data/example that the session shares (``written``, tests/conftest.py): the example as
# `make report` makes it, run once for every test that only reads it.
# A configuration with few draws, for the fingerprint's copy of the study (it reads the
# study's files only).
LIGHT = {"run": {"n_boot": 49, "progress": "never"}}


def light_config(folder: Path, out: Path) -> config.StudyConfig:
    """A configuration of ``folder`` with :data:`LIGHT`'s settings, writing to ``out``."""
    raw = {"study": {"folder": str(folder)}, **LIGHT}
    return config.config_from_dict(raw, out.parent / "study.toml", out=out)


def test_pdf_and_html_are_written_and_reproducible(written):
    a, b, first, second = written
    assert [p.relative_to(a) for p in first] == [p.relative_to(b) for p in second]
    pdf, html, *tables = (p.read_bytes() for p in first)
    pdf2, html2, *tables2 = (p.read_bytes() for p in second)
    assert pdf.startswith(b"%PDF") and pdf == pdf2
    assert html == html2
    assert tables == tables2  # every table as .tex, .md and .docx
    assert html.count(b"<table") >= 5
    for name in ("h1", "h2", "h3", "robustness", "network", "models", "data"):  # the stored results
        stored = (a / "results" / f"{name}.json").read_bytes()
        assert stored == (b / "results" / f"{name}.json").read_bytes()


def test_report_content(written):
    out = written[0]
    html = (out / "ipn_report.html").read_text(encoding="utf-8")
    assert re.search(r"sha256 [0-9a-f]{64}", html)  # the data fingerprint, on the title page
    software = (out / "tables" / "software.md").read_text()
    assert re.search(r"\| ipnstats +\| 0\.1\.0 +\|", software)
    for heading in ("Sample flow", "Descriptive statistics and correlations", "Reliability",
                    "H1: Does joining", "H2: Do loss-framed", "H3: Do receivers",
                    "Robustness of the primary H1 effect", "Additional models",
                    "Appendix: Measurement"):
        assert heading in html
    assert "Not yet estimated." not in html  # H1, H2 and H3 are all estimated
    assert "What the data say about H1" in html
    assert "What the data say about H2" in html


def test_report_names_no_firm(written):
    html = (written[0] / "ipn_report.html").read_text(encoding="utf-8")
    firm_ids = set(pd.read_csv(EXAMPLE / "firms.csv", dtype=str)["firm_id"])
    assert len(firm_ids) == 600
    pattern = re.compile(r"\b(" + "|".join(sorted(firm_ids)) + r")\b")
    assert pattern.findall(html) == []
    assert pattern.findall(html + " F0001.")  # the scan can see a firm named


def test_fingerprint_changes_with_any_input_byte(written, tmp_path):
    cfg = load_config(written[0].parent / "analyses" / "ipn_study.toml")
    stored = {"models": load_results(cfg)["models"]}  # the title page is all that is read
    copy = shutil.copytree(EXAMPLE, tmp_path / "copy")
    copied = light_config(copy, tmp_path / "out")

    def fingerprint(c) -> str:
        return build_report(c, stored).meta["Data fingerprint"]

    before = fingerprint(copied)
    assert before == fingerprint(cfg)  # the same bytes, the same fingerprint
    assert before in (written[0] / "ipn_report.html").read_text(encoding="utf-8")
    path = copy / "tasks.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    assert fingerprint(copied) != before
