"""The layers of the package: the import contract, and general estimators that know
nothing of IPNs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import ipnstats.estimators
from ipnstats.results.vcov import Cluster

#: the IPN study's column names: none may be a default of a general estimator
IPN_COLUMNS = {"firm_id", "group_id", "year", "receiver_id", "sender_id", "exchange_id",
               "task_id", "member", "tenure", "cohort_year", "log_revenue", "exit",
               "learned", "loss", "risk_aversion", "loss_aversion", "experience"}


def test_the_import_contract_of_the_layers_holds():
    """`make lint` runs the same check (import-linter, contracts in pyproject.toml)."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency"
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def _estimator_modules():
    for info in pkgutil.walk_packages(ipnstats.estimators.__path__, "ipnstats.estimators."):
        yield importlib.import_module(info.name)


def _defaults(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, Cluster):
        return set(value.columns)
    if isinstance(value, list | tuple | set | frozenset):
        return set().union(*(_defaults(v) for v in value)) if value else set()
    return set()


def _public_callables():
    for module in _estimator_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                for meth, fn in vars(obj).items():
                    if inspect.isfunction(fn) and (meth == "__init__" or not meth.startswith("_")):
                        yield f"{module.__name__}.{name}.{meth}", fn


@pytest.mark.parametrize("name, function", list(_public_callables()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_general_estimators_take_no_ipn_column_as_a_default(name, function):
    found = {p.name: sorted(_defaults(p.default) & IPN_COLUMNS)
             for p in inspect.signature(function).parameters.values()
             if p.default is not inspect.Parameter.empty}
    found = {k: v for k, v in found.items() if v}
    assert not found, f"{name} has IPN defaults {found}: they belong to ipnstats.ipn"
