"""Tables: regression and descriptives tables, and the renderers they share."""

from ipnstats.tables.format import DEFAULT_STARS, MANAGEMENT_STARS
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.regression import RegressionTable, regression_table

__all__ = ["DEFAULT_STARS", "MANAGEMENT_STARS", "Cell", "RegressionTable", "Row", "Table",
           "regression_table"]
