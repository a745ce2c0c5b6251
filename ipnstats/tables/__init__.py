"""Tables: regression and descriptives tables, and the renderers they share."""

from .format import DEFAULT_STARS, MANAGEMENT_STARS
from .model import Cell, Row, Table
from .regression import RegressionTable, regression_table

__all__ = ["DEFAULT_STARS", "MANAGEMENT_STARS", "Cell", "RegressionTable", "Row", "Table",
           "regression_table"]
