"""The errors ipnstats raises for a user's mistake: one hierarchy, caught as one.

::

    IpnstatsError
    ├── SpecificationError   a bad argument or model specification (missing column,
    │                        unknown option, a formula the data cannot hold)
    ├── EstimationError      a model the data cannot support (no variation, too few
    │                        units or clusters, a singular design)
    ├── DataError            bad data: a study that breaks its validation rules, a
    │                        file or database that cannot be read
    └── ConfigError          a configuration file or option that breaks its schema

Each of the four also derives from :class:`ValueError`, which is what users caught
before the hierarchy existed, so ``except ValueError`` keeps working. An error raised
by ipnstats for a user's mistake is always an :class:`IpnstatsError`; anything else
(``KeyError``, ``TypeError``, ``AttributeError``) is a bug and is never caught as
"not testable".

>>> try:
...     raise SpecificationError("unknown column 'x'")
... except IpnstatsError as err:
...     print(type(err).__name__, err)
SpecificationError unknown column 'x'
"""

from __future__ import annotations


class IpnstatsError(Exception):
    """Base of every error ipnstats raises for a user's mistake; the message says what
    to do."""


class SpecificationError(IpnstatsError, ValueError):
    """A model specification or argument that does not fit the data (missing column,
    bad option)."""


class EstimationError(IpnstatsError, ValueError):
    """A model the data cannot support (no variation, too few units, a singular design)."""


class DataError(IpnstatsError, ValueError):
    """Bad data: a study that breaks validation rules, a file that cannot be read.

    ``.problems`` holds, for a study that broke its validation rules, one row per
    problem (severity, table, file, line, column, value, rule, problem), the same frame
    as ``ValidationReport.problems``; it is None for other data errors.
    """

    def __init__(self, message: object = "", *args: object, problems: object = None):
        super().__init__(message, *args)
        self.problems = problems


class ConfigError(IpnstatsError, ValueError):
    """A configuration file or option that breaks its schema; the message lists every
    problem."""


__all__ = ["ConfigError", "DataError", "EstimationError", "IpnstatsError",
           "SpecificationError"]
