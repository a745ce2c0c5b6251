"""The study's regression tables: the general table with the IPN study's labels of its
identifier columns and of the units (firms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ipnstats.ipn.labels import ID_LABELS, UNIT_LABEL
from ipnstats.tables.regression import RegressionTable, regression_table


def study_regression_table(models: Sequence[object], *,
                           labels: Mapping[str, str] | None = None,
                           **options) -> RegressionTable:
    """:func:`ipnstats.regression_table` with ``ID_LABELS`` (the user's ``labels`` win) and
    ``unit_label="Firms"``."""
    return regression_table(models, labels=dict(ID_LABELS) | dict(labels or {}),
                            unit_label=UNIT_LABEL, **options)


__all__ = ["study_regression_table"]
