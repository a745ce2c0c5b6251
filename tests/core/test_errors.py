"""One error hierarchy: every error ipnstats raises for a user's mistake is an
IpnstatsError (and a ValueError, as users caught it before); a bug is never reported as
"not testable with these data"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.core.errors import (
    ConfigError,
    DataError,
    EstimationError,
    IpnstatsError,
    SpecificationError,
)
from ipnstats.ipn.claims import Unavailable, attempt


@pytest.mark.parametrize("cls", [SpecificationError, EstimationError, DataError, ConfigError])
def test_the_four_kinds_are_ipnstats_errors_and_value_errors(cls):
    assert issubclass(cls, IpnstatsError) and issubclass(cls, ValueError)
    assert getattr(ipnstats, cls.__name__) is cls


def test_ipnstats_error_is_exported_and_not_a_value_error():
    assert ipnstats.IpnstatsError is IpnstatsError
    assert not issubclass(IpnstatsError, ValueError)  # the base; the four add ValueError


@pytest.mark.parametrize(("module", "name", "base"), [
    ("ipnstats.core.formula", "SpecificationError", SpecificationError),
    ("ipnstats.estimators", "SpecificationError", SpecificationError),
    ("ipnstats.data", "DataError", DataError),
    ("ipnstats.data.problems", "DataError", DataError),
    ("ipnstats.pipeline.config", "ConfigError", ConfigError),
    ("ipnstats.pipeline", "ConfigError", ConfigError),
    ("ipnstats.pipeline.power", "PowerConfigError", ConfigError),
    ("ipnstats.pipeline.grammar", "ExpressionError", ConfigError),
    ("ipnstats.core.parallel", "BackendError", ConfigError),
    ("ipnstats.data.sniff", "Unreadable", DataError),
    ("ipnstats.data.sources", "SourceError", DataError),
    ("ipnstats.data.readers", "UnreadableFile", DataError),
    ("ipnstats.data.database", "DatabaseError", DataError),
    ("ipnstats.estimators.did.drdid", "CellEstimationError", EstimationError),
])
def test_old_classes_stay_importable_from_their_old_places(module, name, base):
    from importlib import import_module

    cls = getattr(import_module(module), name)
    assert issubclass(cls, base) and issubclass(cls, IpnstatsError)


def test_a_validation_data_error_carries_its_problems():
    problems = pd.DataFrame({"rule": ["missing_file"]})
    err = DataError("the study has 1 error(s)", problems=problems)
    assert str(err) == "the study has 1 error(s)" and err.problems is problems
    assert DataError("a file cannot be read").problems is None


def test_database_error_keeps_its_request_and_redacts():
    from ipnstats.data.database import DatabaseError

    err = DatabaseError("cannot connect to postgresql://u:secret@host/db", request="firms")
    assert isinstance(err, DataError) and err.request == "firms" and "secret" not in str(err)


def test_former_bare_value_errors_are_classified():
    with pytest.raises(SpecificationError, match="vcov must be one of"):
        ipnstats.results.parse_vcov("robust-ish")
    with pytest.raises(SpecificationError, match="conf_level"):
        ipnstats.Result(pd.Series([1.0], ["x"]), pd.DataFrame([[1.0]], ["x"], ["x"]), "iid",
                        None, "ols", "y", 10).tidy(conf_level=2)
    with pytest.raises(EstimationError, match="at least 2 clusters"):
        from ipnstats.inference.sandwich import cluster_factor

        cluster_factor(1, 10, 2)
    with pytest.raises(DataError, match="missing values"):
        from ipnstats.inference.multiplicity import _cluster_rows

        _cluster_rows(pd.DataFrame({"g": [1.0, np.nan]}), "g")


def test_users_catching_value_error_still_catch_them():
    with pytest.raises(ValueError, match="unknown method"):
        ipnstats.adjust_pvalues([0.01, 0.2], method="nope")


# --- attempt(): the data cannot support a model vs. a bug ------------------------------

def _raises(exc):
    def fit(*args, **kwargs):
        raise exc
    return fit


@pytest.mark.parametrize("exc", [SpecificationError("no column 'x'"), EstimationError("one unit"),
                                 DataError("bad"), ValueError("statsmodels: singular"),
                                 np.linalg.LinAlgError("Singular matrix")])
def test_attempt_turns_an_unsupported_model_into_unavailable(exc):
    out = attempt(_raises(exc), 1, option=2)
    assert isinstance(out, Unavailable) and out.reason == str(exc)


@pytest.mark.parametrize("exc", [KeyError("firm_id"), TypeError("bad call"),
                                 AttributeError("no attribute 'params'")])
def test_attempt_lets_a_bug_propagate(exc):
    with pytest.raises(type(exc)):
        attempt(_raises(exc))


def test_a_key_error_inside_a_real_fit_propagates():
    data = pd.DataFrame({"firm_id": [1, 1, 2, 2, 3, 3], "year": [1, 2] * 3,
                         "y": [1.0, 2.0, 1.5, 2.5, 0.5, 1.0], "x": [0, 1, 0, 1, 1, 0]})

    def buggy_fit(frame):
        res = ipnstats.panel_regression(frame, "y ~ x", unit="firm_id", time="year")
        return res.params["no_such_term"]  # a programming bug, not the data's fault

    with pytest.raises(KeyError, match="no_such_term"):
        attempt(buggy_fit, data)
    missing = attempt(ipnstats.panel_regression, data, "y ~ nope", unit="firm_id", time="year")
    assert isinstance(missing, Unavailable) and "nope" in missing.reason
