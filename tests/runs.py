"""Full runs of the repository's configuration on data/example (``make report`` in a copy
of the repository's layout), shared by the tests that read them (tests/conftest.py
``example_runs``) and made afresh by those that change the study or the configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT

CONFIG = ROOT / "analyses" / "ipn_study.toml"
#: SOURCE_DATE_EPOCH of every run: the report's date, so that two runs give the same bytes
EPOCH = "1700000000"


def full_run(folder: Path) -> tuple[Path, list[Path]]:
    """``make report`` in a copy of the repository's layout under ``folder`` (analyses/,
    data/example/), with SOURCE_DATE_EPOCH = :data:`EPOCH`: the output folder and the
    files the report wrote (PDF, HTML, tables)."""
    from ipnstats.pipeline import load_config
    from ipnstats.pipeline.assemble import write_report
    from ipnstats.pipeline.runner import run

    shutil.copytree(EXAMPLE, folder / "data" / "example")
    (folder / "analyses").mkdir(parents=True)
    shutil.copy(CONFIG, folder / "analyses" / "ipn_study.toml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        cfg = load_config(folder / "analyses" / "ipn_study.toml")
        run(cfg)
        files = write_report(cfg)
    return cfg.out, files
