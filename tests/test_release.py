"""Release hygiene: the MIT licence the metadata names, a CITATION.cff valid against the
Citation File Format 1.2.0 schema (tests/reference/cff/, the schema cffconvert validates
with), a Keep-a-Changelog CHANGELOG.md that lists every renamed argument, and one version
everywhere (the package, its installed metadata, the CLI and the citation)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import jsonschema
import yaml

import ipnstats

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_is_the_mit_text_the_metadata_names():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # PEP 639: an SPDX expression and the licence file (no licence classifier beside them)
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in pyproject["project"]["classifiers"])
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_citation_cff_is_valid_and_cites_this_version():
    schema = json.loads((ROOT / "tests" / "reference" / "cff" / "schema-1.2.0.json")
                        .read_text())
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    # dates are strings in CFF; YAML would read an unquoted one as a date
    jsonschema.validate(cff, schema)
    assert cff["version"] == ipnstats.__version__
    assert cff["preferred-citation"]["version"] == ipnstats.__version__
    assert cff["license"] == "MIT"


def test_one_version_everywhere():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]  # single-sourced
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "ipnstats.__version__"}
    assert metadata.version("ipnstats") == ipnstats.__version__
    done = subprocess.run([sys.executable, "-m", "ipnstats", "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"ipnstats {ipnstats.__version__}"


def test_the_changelog_keeps_a_changelog_and_lists_every_renamed_argument():
    log = (ROOT / "CHANGELOG.md").read_text()
    assert "[Keep a Changelog]" in log and "## [Unreleased]" in log
    assert f"## [{ipnstats.__version__}]" in log
    assert "### Deprecated" in log
    for path in (ROOT / "ipnstats").rglob("*.py"):
        for decorator in re.findall(r"@renamed\(([^)]*)\)", path.read_text()):
            for old, new in re.findall(r"(\w+)=\"(\w+)\"", decorator):
                assert f"{old}=" in log, (path.name, old, new)
