"""The text of the example report is written for readers (issue 20): codebook labels, not
column names; no argument names or file paths; the estimators' diagnostics once, in an
"Estimation notes" appendix that the tables point to."""

from __future__ import annotations

import re

import pypdf
import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats.data.findings import codebook_labels
from ipnstats.ipn.labels import ID_LABELS
from ipnstats.report.estimation_notes import (
    APPENDIX,
    applies_to,
    estimation_notes,
    for_readers,
    reader_note,
)
from ipnstats.report.methods import for_reader

# Labelled columns whose names are ordinary English words: they occur in prose ("firms
# observed by year", "loss framing") and a word match cannot tell them from the column.
ENGLISH = {"year": "a word of every sentence about time", "industry": "an English word",
           "region": "an English word", "member": "'IPN member' is the label itself",
           "loss": "'Loss framing' is the label itself", "trust": "the label itself",
           "tenure": "an English word", "critiques": "an English word"}
# Parts of the PDF that are not scanned, with the reason.
NOT_SCANNED = {
    "title page": "its 'Configuration' line names the configuration file that made the "
                  "report (provenance; written by pipeline/assemble.py)",
    "Appendix: Reproducibility": "shows the configuration as the user typed it and the "
                                 "input files with their fingerprints, verbatim by design",
}
ARGUMENT = re.compile(r"\b\w+=")
PATH = re.compile(r"results/|\.json\b|\.csv\b|\.toml\b")


@pytest.fixture(scope="module")
def pdf_text(written) -> str:
    """The text of the example report's PDF, lines joined (``ipnstats run`` + ``report``:
    the session's shared run of the example, tests/conftest.py)."""
    pdf = written[2][0]
    pages = [p.extract_text() for p in pypdf.PdfReader(pdf).pages]
    return re.sub(r"\s+", " ", " ".join(pages))


@pytest.fixture(scope="module")
def scanned(pdf_text) -> str:
    """The body of the report: from the verdicts to the reproducibility appendix (see
    :data:`NOT_SCANNED`)."""
    start = pdf_text.index("1 Verdicts Each hypothesis")
    end = pdf_text.rindex("Appendix: Reproducibility")
    return pdf_text[start:end]


def joined(text: str) -> str:
    """``text`` and, after it, ``text`` with words hyphenated at line ends joined again (a
    name broken as ``log_rev- enue`` is found too)."""
    return text + " " + re.sub(r"(?<=[a-z_])- (?=[a-z_])", "", text)


def labelled_columns() -> set[str]:
    """Every column of the study schema with a label: the codebook's and the IDs'."""
    return set(codebook_labels(ipnstats.load_study(EXAMPLE).codebook)) | set(ID_LABELS)


def test_no_labelled_column_name_appears_in_the_report(scanned):
    names = labelled_columns()
    # every single-word name is either checked or listed as an English word with a reason
    assert {n for n in names if "_" not in n and n != "roa"} <= set(ENGLISH)
    found = {n: re.findall(rf".{{0,30}}\b{re.escape(n)}\b.{{0,30}}", joined(scanned))
             for n in names - set(ENGLISH)}
    assert {n: hits for n, hits in found.items() if hits} == {}


def test_no_argument_name_or_file_path_appears_in_the_report(scanned):
    assert ARGUMENT.findall(joined(scanned)) == []
    assert [m.group(0) for m in PATH.finditer(joined(scanned))] == []
    for hint in ("compare with estimator", "standardize=", "drop_singletons", "[[models]]"):
        assert hint not in scanned


def test_cryptic_cells_are_written_in_words(scanned):
    assert "V = 0.284; mean" not in scanned and "exceeds 5/5" not in scanned
    assert "Cramér's V 0.284; 3.00 questions per exchange" in scanned
    assert "larger than 5 of 5 outward traits" in scanned
    assert "ATT[" not in scanned and "Difference, young − not young" in scanned


def test_one_estimation_notes_appendix_that_the_tables_point_to(scanned):
    assert len(re.findall(rf"\d+ {APPENDIX} Diagnostics of the estimators", scanned)) == 1
    pointers = re.findall(rf"Estimation notes \(see {APPENDIX}\): ([^.]+)\.", scanned)
    assert len(pointers) >= 3  # Tables 3-5 at least
    assert "staggered adoption" in pointers[0]
    # each diagnostic is written once, not under every table
    assert scanned.count("the Callaway-Sant'Anna estimate beside it avoids") == 1
    assert scanned.count("The panel is unbalanced (204 units") == 1


def test_labels_reach_the_figures_and_the_methods(scanned):
    assert "Receiver loss aversion" in scanned  # the Johnson-Neyman figure's axis
    assert "clustered by firm" in scanned and "Clustered (firm" not in scanned
    assert "log points" in scanned


# -- the functions, without a report -------------------------------------------------

def test_for_readers_drops_hints_and_paths_and_labels_names():
    text = ("12 observations are alone (drop_singletons=True drops them); see "
            "results/robustness.json. Missing (by column: sender_size (283)) in firms.csv.")
    assert for_readers(text, {"sender_size": "Sender size"}) == (
        "12 observations are alone. Missing (by column: sender size (283)) in the firms file.")
    assert for_readers("2 levels of 'group_id'", {}) == "2 levels of peer group"


def test_a_coded_note_reads_as_the_readers_sentence():
    text = "Adoption is staggered: ... compare with estimator='cs'."
    assert "estimator=" not in reader_note(text, "staggered_twfe", {})
    assert reader_note("Kept 3 rows.", "other", {}) == "Kept 3 rows."


def test_estimation_notes_are_one_entry_per_code_with_the_models_it_concerns():
    twfe = {"outcome": "log_revenue", "notes": ["Staggered; compare with estimator='cs'.",
                                                "Unbalanced (4 units)."],
            "note_codes": ["staggered_twfe", "unbalanced_panel"]}
    cs = {"outcome": "log_revenue", "notes": ["Unbalanced (4 units)."],
          "note_codes": ["unbalanced_panel"]}
    stored = {"h1": {"findings": {"labels": {"log_revenue": "Log revenue"},
                                  "H1a": {"outcomes": [{"models": [twfe, cs]}]}}}}
    notes = {n.code: n for n in estimation_notes(stored)}
    assert list(notes) == ["unbalanced_panel", "staggered_twfe"]  # NOTE_CODES order
    assert notes["unbalanced_panel"].texts == (
        ("Unbalanced (4 units).", ("H1a (log revenue, TWFE)", "H1a (log revenue, CS)")),)
    assert notes["staggered_twfe"].texts[0][1] == ("H1a (log revenue, TWFE)",)
    assert applies_to(notes["unbalanced_panel"].texts[0][1]) == "H1a: log revenue (TWFE, CS)"


def test_methods_paragraphs_read_clusters_and_effects_by_label():
    text = for_reader("H2a: within of cognitive_shift; fixed effects receiver_id. Standard "
                      "errors: Clustered (receiver_id, sender_id).", {})
    assert text == ("H2a: within of cognitive shift; receiver fixed effects. Standard errors: "
                    "clustered by receiver and sender.")
