"""The documentation site (docs/, `make docs`) builds with warnings as errors, and a broken
cross-reference fails such a build."""

import re
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

import ipnstats

DOCS = Path(__file__).resolve().parents[1] / "docs"
STRICT = ["-W", "--keep-going", "-n", "-E", "-q"]
# Sphinx and MyST-NB warn each other of their next-but-one major versions
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def test_site_builds_with_warnings_as_errors(tmp_path, monkeypatch):
    # a fresh notebook cache: every executed page runs, and a failing cell fails the build
    monkeypatch.setenv("IPNSTATS_DOCS_CACHE", str(tmp_path / "cache"))
    status = build_main([*STRICT, "-b", "html", "-d", str(tmp_path / "doctrees"),
                         str(DOCS), str(tmp_path / "html")])
    assert status == 0
    for page in ("index", "getting_started", "stata_r", "tutorial_h1", "cli", "api",
                 "inference", "study_folder"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
    tutorial = (tmp_path / "html" / "tutorial_h1.html").read_text(encoding="utf-8")
    assert "breakdown M:" in tutorial and tutorial.count("<img") >= 2
    cli = (tmp_path / "html" / "cli.html").read_text(encoding="utf-8")
    assert "ipnstats init --help" in cli and "usage: ipnstats" in cli


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
