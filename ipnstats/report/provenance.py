"""Where a report comes from: its date and the versions of the packages behind its numbers."""

from __future__ import annotations

import datetime as dt
import os
from importlib import metadata

PACKAGES = ("ipnstats", "numpy", "pandas", "scipy", "statsmodels", "formulaic", "joblib",
            "matplotlib", "typst", "python-docx", "pyarrow")


def package_versions() -> list[tuple[str, str]]:
    """``(name, version)`` of the installed packages that shape the numbers."""
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def software_versions() -> str:
    """``ipnstats 0.1.0, numpy 2.4.0, ...`` for the packages that shape the numbers."""
    return ", ".join(f"{name} {version}" for name, version in package_versions())


def report_date() -> str:
    """``SOURCE_DATE_EPOCH`` as an ISO date when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.date().isoformat()


__all__ = ["package_versions", "report_date", "software_versions"]
