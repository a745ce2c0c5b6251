"""The documentation site (docs/, `make docs`) builds with warnings as errors, its executed
pages run and show what they say, and a broken cross-reference fails such a build.

The whole-site build (mark ``site``, about two minutes) runs on its own after the suite in
``make test`` (``pytest -m site``); a plain ``pytest`` runs it with everything else."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

import ipnstats

DOCS = Path(__file__).resolve().parents[1] / "docs"
STRICT = ["-W", "--keep-going", "-n", "-E", "-q"]
# Sphinx and MyST-NB warn each other of their next-but-one major versions
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from scratch, strictly, with a fresh notebook cache: every executed
    page runs, and a failing cell, a warning or a broken reference fails the build."""
    root = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPNSTATS_DOCS_CACHE", str(root / "cache"))
        status = build_main([*STRICT, "-b", "html", "-d", str(root / "doctrees"), str(DOCS),
                             str(root / "html")])
    assert status == 0
    return root / "html"


class _Text(HTMLParser):
    """The text of a page's article, without scripts and styles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page(site: Path, name: str) -> tuple[str, str]:
    """``(html, text)`` of a built page."""
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    parser = _Text()
    parser.feed(html)
    return html, re.sub(r"\s+", " ", "".join(parser.parts))


PAGES = ("index", "getting_started", "stata_r", "guide", "tutorial_h1", "tutorial_h2",
         "tutorial_h3", "tutorial_measurement", "tutorial_power", "tutorial_postgres", "cli",
         "api", "results",
         "reference_config", "reference_study_folder", "verdicts", "disclosure",
         "reproducibility", "inference", "study_folder", "configuration", "conventions",
         "architecture", "safety", "journal_styles", "speed", "example_study")


@pytest.mark.site
def test_every_page_is_built_and_in_the_navigation(site):
    index, _ = page(site, "index")
    for name in PAGES:
        assert (site / f"{name}.html").is_file(), name
        assert f'href="{name}.html"' in index or name == "index", name
    built = {p.stem for p in site.glob("*.html")} - {"genindex", "search", "py-modindex"}
    assert built == set(PAGES), built ^ set(PAGES)


@pytest.mark.site
def test_tutorials_ran_and_show_their_results(site):
    html, text = page(site, "tutorial_h1")
    assert "breakdown M:" in text and html.count("<img") >= 2
    html, text = page(site, "tutorial_h2")
    assert "Dyadic(sender, receiver)" in text and "16th percentile" in text
    assert "The effect is significant (alpha = 0.05) where receiver_loss_aversion" in text
    assert html.count("<img") >= 1
    html, text = page(site, "tutorial_h3")
    assert "boundary_fit: The year variance" in text and "LR chi2(1) =" in text
    assert "singular: True" in text and "Neutral framing" in text
    assert html.count("<img") >= 1
    _, text = page(site, "tutorial_measurement")
    assert "method variance: 0.1249" in text and "criterion met: True" in text
    html, text = page(site, "tutorial_power")
    assert "textbook n per group for d = 0.5: 62.8" in text and "MDE at 80% power" in text
    assert html.count("<img") >= 2
    html, text = page(site, "tutorial_postgres")  # a real PostgreSQL server, started here
    for shown in ("the password appears in 0", "nothing to run: every stage is up to date",
                  "postgresql://ann:***@", "no password supplied", "ran models, data"):
        assert shown in text, shown
    assert html.count("<table") >= 3


@pytest.mark.site
def test_getting_started_takes_an_operator_export_to_a_report(site):
    html, text = page(site, "getting_started")
    assert "$ ipnstats init exports" in text and "# CHECK:" in text
    assert "CHECK comments left: 0" in text
    assert "Group memberships.csv, line 18, column Joined" in text  # the operator's file
    assert "OK: 0 error(s), 1 warning(s)" in text
    assert "wrote reports/ipn_report.pdf" in text and "Supported" in text
    assert html.count("<img") >= 1 and "Traceback" not in text


@pytest.mark.site
def test_reference_pages_are_generated_from_the_code(site):
    _, cli = page(site, "cli")
    assert "ipnstats init --help" in cli and "usage: ipnstats" in cli
    html, text = page(site, "reference_config")
    assert html.count("<table") >= 5
    assert "mediation_draws" in text and "selection_instruments" in text
    assert "holm, bh, by, hommel, bonferroni, none" in text
    html, text = page(site, "reference_study_folder")
    assert html.count("<table") >= 2 and "must exist in firms.firm_id" in text
    assert "disclosure_threshold" in text
    _, verdicts = page(site, "verdicts")
    assert "Supported: the primary test rejects at the 5% level" in verdicts
    assert "('No effect', 'Inconclusive', 'Effect found')" in verdicts


@pytest.mark.site
def test_every_result_class_has_a_page(site):
    _, text = page(site, "results")
    for cls in ("DiDResult", "EventStudyResult", "HonestDiDResult", "MixedResult",
                "ProcessResult", "ModerationResult", "SensitivityResult", "PowerResult"):
        assert cls in text, cls
    names = [p.name for p in (site / "generated").glob("*.html")]
    assert any(n.endswith("HonestDiDResult.html") for n in names)


def test_api_page_lists_exactly_the_public_api():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    listed = re.findall(r"^   (\w+)$", text, flags=re.M)
    listed += re.findall(r"^\.\. py:data:: (\w+)$", text, flags=re.M)
    assert sorted(listed) == sorted(ipnstats.__all__)
    assert len(listed) == len(set(listed))


def test_broken_cross_reference_fails_a_strict_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["myst_parser"]\nnitpicky = True\n',
                                 encoding="utf-8")
    (src / "index.md").write_text("# Index\n\nSee {py:func}`ipnstats.no_such_function`.\n",
                                  encoding="utf-8")
    args = ["-b", "html", "-d", str(tmp_path / "doctrees"), str(src), str(tmp_path / "out")]
    assert build_main([*STRICT, *args]) != 0
    # the same project without the broken reference builds: the failure was the reference
    (src / "index.md").write_text("# Index\n\nSee nothing.\n", encoding="utf-8")
    assert build_main([*STRICT, *args]) == 0


def test_broken_link_to_a_page_fails_a_strict_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["myst_parser"]\n', encoding="utf-8")
    (src / "index.md").write_text("# Index\n\nSee [the guide](guide.md).\n", encoding="utf-8")
    args = ["-b", "html", "-d", str(tmp_path / "doctrees"), str(src), str(tmp_path / "out")]
    assert build_main([*STRICT, *args]) != 0
    (src / "guide.md").write_text("# Guide\n", encoding="utf-8")
    (src / "index.md").write_text("# Index\n\nSee [the guide](guide.md).\n\n```{toctree}\n"
                                  "guide\n```\n", encoding="utf-8")
    assert build_main([*STRICT, *args]) == 0
