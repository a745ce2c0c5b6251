"""One vocabulary (docs/conventions.md): every exported signature follows it, and every
deprecated spelling still works, with a DeprecationWarning that names the new one."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.core.deprecation import former_defaults, renamed, renamed_classes
from ipnstats.core.seeds import as_generator, check_seed, recorded_seed, seed_sequence
from ipnstats.results.result import Result

# The modules whose public API (their __all__) is the estimator vocabulary.
MODULES = ("ipnstats.estimators", "ipnstats.estimators.did", "ipnstats.estimators.crossed",
           "ipnstats.estimators.learning", "ipnstats.estimators.mediation",
           "ipnstats.estimators.mixed", "ipnstats.estimators.moderation",
           "ipnstats.estimators.panel", "ipnstats.estimators.process",
           "ipnstats.estimators.speccurve", "ipnstats.estimators.wild",
           "ipnstats.ipn.framing", "ipnstats.ipn.senders", "ipnstats.ipn.questions",
           "ipnstats.ipn.triangulation", "ipnstats.ipn.practices", "ipnstats.ipn.hazard",
           "ipnstats.ipn.stages", "ipnstats.inference.multiplicity",
           "ipnstats.inference.resample", "ipnstats.estimators.balance",
           "ipnstats.estimators.ipw", "ipnstats.estimators.balance_table",
           "ipnstats.estimators.network", "ipnstats.ipn.network")
# Kernels: arrays in, arrays out (no data frame, no column names); not entry points.
KERNELS = {"ipnstats.estimators.glm": "logit/Cox ML engine on arrays",
           "ipnstats.estimators.lmm": "lme4's PLS algebra on arrays",
           "ipnstats.estimators.linear": "OLS and its vcov engine on arrays",
           "ipnstats.estimators.random_effects": "Swamy-Arora on arrays",
           "ipnstats.inference.sandwich": "sandwich algebra on arrays",
           "ipnstats.estimators.gee": "logistic GEE on arrays (its entry point is mixed.gee)"}

# Spellings the conventions replaced (docs/conventions.md); a parameter may not use them.
FORBIDDEN = {"y", "x", "exit", "count", "reps", "draws", "n_draws", "nboot", "n_sim",
             "clusters", "idcluster", "cluster_adjustment", "effects", "level", "ci_level",
             "random_state", "rng", "yname", "idname", "tname", "gname"}
# Names of a study's tables, which an estimator's first argument (the data) may not take.
NOT_FIRST = {"exchanges", "tasks", "result", "design", "frame", "df"}
# Hayes' PROCESS role names are the field's vocabulary for these three.
PROCESS = {"mediation", "moderation", "conditional_process"}
# Functions that resample whole clusters, the only ones that take ``cluster=``.
RESAMPLING = {"mediation", "conditional_process", "wild_bootstrap", "cluster_bootstrap",
              "romano_wolf_bootstrap", "control_function_logit"}
# Genuine exceptions: (qualified name, parameter) -> reason.
ALLOWED = {
    ("power", "reps"): "Monte Carlo replications of simulated studies, not bootstrap draws; "
                       "the power config's key",
    ("question_patterns", "n_sim"): "draws of the simulated chi-square p-value (R's "
                                    "chisq.test B), not a bootstrap",
    ("specification_curve", "cluster"): "the clustering dimension of the multiverse (its "
                                        "tidy() column `cluster`): choices, not a resampling",
    ("equations", "x"): "PROCESS's equation builder, Hayes' role names",
    ("equations", "y"): "PROCESS's equation builder, Hayes' role names",
    ("WildBootstrapResult", "reps"): "a recorded field (glance() column `reps`), not an "
                                     "argument; renaming it would change stored results",
    ("BootstrapResult", "reps"): "a recorded field (glance() column `reps`), not an argument",
    ("specification_curve", "exit"): "the exit-indicator column that defines the no_exits "
                                     "sample, not an outcome",
    ("bootstrap_replicate", "seed"): "one replicate's spawned SeedSequence child, not a seed",
    ("simulate_study", "seed"): "written into the simulated study's truth.toml; None would "
                                "make a study nobody can re-create",
    ("pool", "seed"): "the imputations' seed recorded on the pooled result (glance() column "
                      "`seed`), not a generator that pool draws from",
}
# Records that results carry (built by ipnstats, not argument lists): their fields are
# named after what they hold (BootstrapResult.draws is the frame of draws, ModerationResult.x
# Hayes' role), so only their class names are checked.
RECORDS = {"Association", "MeanCount", "JohnsonNeyman", "SpecEstimate", "Specification"}
# First parameters that are a data frame but not the data an estimator fits.
NOT_DATA = {"bacon_summary": "the frame of bacon_decomposition(), not the panel",
            "coefficient_plot": "presentation: the tidy() estimates it draws",
            "descriptives_table": "presentation: the frame it describes (tables take frame)",
            "frame_table": "presentation: the frame it shows"}
IPN_NAMES = {"firm_id", "year", "group_id", "receiver_id", "sender_id", "member", "exit",
             "cohort", "cum_experience", "outcome", "log_revenue", "stage"}


def _public() -> list[tuple[str, str, object]]:
    out = {}
    for name in ipnstats.__all__:
        obj = getattr(ipnstats, name)
        if callable(obj):
            out[name] = ("ipnstats", name, obj)
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and getattr(obj, "__module__", "").startswith("ipnstats"):
                out.setdefault(name, (mod_name, name, obj))
    return sorted(out.values(), key=lambda t: t[1])


PUBLIC = _public()
FUNCTIONS = [p for p in PUBLIC if inspect.isfunction(p[2])]
CLASSES = [p for p in PUBLIC if inspect.isclass(p[2])]


def _params(obj) -> list[inspect.Parameter]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        return list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return []


def test_every_walked_module_declares_its_public_api():
    for mod_name in MODULES:
        assert hasattr(importlib.import_module(mod_name), "__all__"), mod_name
    for mod_name in KERNELS:
        importlib.import_module(mod_name)


@pytest.mark.parametrize(("where", "name", "obj"), PUBLIC, ids=[p[1] for p in PUBLIC])
def test_no_replaced_spelling(where, name, obj):
    if inspect.isclass(obj) and (_is_result(obj) or name in RECORDS):
        return
    for p in _params(obj):
        if p.name in ("self", "args", "kwargs") or (name, p.name) in ALLOWED:
            continue
        if name in PROCESS and p.name in {"x", "m", "w", "z", "y"}:
            continue
        assert p.name not in FORBIDDEN, (f"{where}.{name}({p.name}=...) uses a replaced "
                                         "spelling; see docs/conventions.md")
        if p.name == "cluster" and inspect.isfunction(obj):
            assert name in RESAMPLING, (f"{name}(cluster=): cluster= is only for resampling "
                                        "schemes; analytic SEs take vcov=Cluster(...)")


@pytest.mark.parametrize(("where", "name", "fn"), FUNCTIONS, ids=[p[1] for p in FUNCTIONS])
def test_data_first_and_return_annotated(where, name, fn):
    params = _params(fn)
    assert inspect.signature(fn).return_annotation is not inspect.Signature.empty, (
        f"{where}.{name} has no return annotation")
    if not params:
        return
    first = params[0]
    annotation = str(first.annotation)
    if "DataFrame" in annotation and name not in NOT_DATA:
        assert first.name == "data", f"{name}: the data frame comes first, named data"
    if first.name == "data":
        assert first.kind is first.POSITIONAL_OR_KEYWORD, f"{name}: data is positional"
    assert first.name not in NOT_FIRST or name in NOT_DATA or "DataFrame" not in annotation, (
        f"{name}({first.name}=...): the data frame is called data")
    for p in params:
        if p.name == "seed" and (name, "seed") not in ALLOWED:
            assert str(p.annotation) == "Seed", f"{name}: seed is typed Seed, not {p.annotation}"


@pytest.mark.parametrize(("where", "name", "cls"), CLASSES, ids=[p[1] for p in CLASSES])
def test_result_classes_are_named_result(where, name, cls):
    if _is_result(cls):
        assert name.endswith("Result"), f"{where}.{name}: result classes end in Result"


def _is_result(cls) -> bool:
    return issubclass(cls, Result) or (hasattr(cls, "tidy") and hasattr(cls, "glance"))


def test_general_estimators_have_no_study_defaults():
    for _, name, fn in FUNCTIONS:
        if not fn.__module__.startswith("ipnstats.estimators"):
            continue
        for p in _params(fn):
            default = p.default
            columns = getattr(default, "columns", None)
            named = set(columns) if columns else ({default} if isinstance(default, str) else
                                                  set(default) if isinstance(default, tuple)
                                                  else set())
            if p.name in ("estimator", "family", "control_group", "est_method", "ci", "form",
                          "re_cov", "backend", "weights", "samples", "cluster", "estimators"):
                continue  # option values, not column names
            assert not named & IPN_NAMES, f"{name}({p.name}={default!r}): an IPN default"


def test_one_return_type_per_entry_point():
    assert str(inspect.signature(ipnstats.estimators.did.twfe_did).return_annotation) \
        == "TWFEResult"
    assert str(inspect.signature(ipnstats.estimators.mixed.gee).return_annotation) \
        == "GEEResult"
    assert str(inspect.signature(ipnstats.estimators.did.sun_abraham).return_annotation) \
        == "SunAbrahamResult"


# --------------------------------------------------------------- deprecated spellings


@pytest.fixture(scope="module")
def small():
    """Small frames for every renamed entry point (fast fits)."""
    rng = np.random.default_rng(0)
    n_units, n_years = 60, 6
    panel = pd.DataFrame({"u": np.repeat(np.arange(n_units), n_years),
                          "t": np.tile(np.arange(2010, 2010 + n_years), n_units)})
    cohort = rng.choice([0, 2012, 2013], n_units)
    panel["cohort"] = np.repeat(cohort, n_years)
    panel["g"] = np.repeat(np.arange(n_units) % 12, n_years)
    panel["z"] = rng.normal(size=len(panel))
    treated = (panel["cohort"] > 0) & (panel["t"] >= panel["cohort"])
    panel["y"] = 0.3 * treated + 0.5 * panel["z"] + rng.normal(size=len(panel))
    panel["member"] = 1
    panel["leaves"] = (rng.random(len(panel)) < 0.2).astype(float)
    return panel


def _fit_ols(data):
    return ipnstats.panel_regression(data, "y ~ z", unit="u", time="t", estimator="pooled",
                                     panel_effects=())


def _calls(small, study):
    ex, tk, fy = study.exchanges.iloc[:3000], study.tasks, study.firm_year
    from ipnstats.estimators.crossed import crossed_effects
    from ipnstats.estimators.learning import learning_curve
    from ipnstats.estimators.speccurve import specification_curve
    from ipnstats.estimators.wild import wild_bootstrap
    from ipnstats.inference.resample import cluster_bootstrap
    from ipnstats.ipn.framing import framing_effect
    from ipnstats.ipn.hazard import exit_hazard
    from ipnstats.ipn.questions import question_patterns
    from ipnstats.ipn.senders import sender_effects
    from ipnstats.ipn.triangulation import triangulation

    pooled = ipnstats.panel_regression(small, "y ~ z", unit="u", time="t",
                                       estimator="pooled", panel_effects=(),
                                       vcov=ipnstats.Cluster("g"))
    curve = dict(outcomes=("y",), covariate_sets={"none": ()}, unit="u", time="t",
                 cohort="cohort", group=None, exit=None, estimators=("twfe",),
                 samples=("all",), n_jobs=1)
    lc = dict(outcome="outcome", experience="cum_experience", unit="firm_id",
              random_slopes=False)
    return {
        "crossed_effects": (crossed_effects, (small,), dict(groups=("u",)),
                            {"y": "outcome", "x": "covariates"}, {"y": "y", "x": ["z"]}),
        "exit_hazard": (exit_hazard, (fy,), dict(predictors=("critiques",)),
                        {"exit": "outcome", "cluster_adjustment": "ssc"},
                        {"exit": "exit", "cluster_adjustment": "statsmodels"}),
        "question_patterns": (question_patterns, (), dict(n_boot=9, n_sim=19),
                              {"exchanges": "data", "count": "outcome",
                               "cluster_adjustment": "ssc"},
                              {"exchanges": ex, "count": "n_questions",
                               "cluster_adjustment": "statsmodels"}),
        "framing_effect": (framing_effect, (), {}, {"exchanges": "data", "effects":
                                                    "receiver_effects"},
                           {"exchanges": ex, "effects": "fixed"}),
        "sender_effects": (sender_effects, (), dict(traits=("size",)),
                           {"exchanges": "data"}, {"exchanges": ex}),
        "learning_curve": (learning_curve, (), lc, {"tasks": "data"}, {"tasks": tk}),
        "triangulation": (triangulation, (), {}, {"tasks": "data"}, {"tasks": tk}),
        "panel_regression": (ipnstats.panel_regression, (small, "y ~ z"),
                             dict(unit="u", time="t"), {"effects": "panel_effects"},
                             {"effects": ("unit",)}),
        "wild_bootstrap": (wild_bootstrap, (pooled, "z"), dict(cluster="g", seed=1, ci=False),
                           {"reps": "n_boot"}, {"reps": 99}),
        "cluster_bootstrap": (cluster_bootstrap, (small, _fit_ols), dict(cluster="g", seed=1),
                              {"reps": "n_boot", "idcluster": "relabel"},
                              {"reps": 5, "idcluster": "g"}),
        "specification_curve": (specification_curve, (small,), curve,
                                {"clusters": "cluster"}, {"clusters": ("firm",)}),
    }


RENAMED = ["crossed_effects", "exit_hazard", "question_patterns", "framing_effect",
           "sender_effects", "learning_curve", "triangulation", "panel_regression",
           "wild_bootstrap", "cluster_bootstrap", "specification_curve"]


def _same(a, b) -> bool:
    if hasattr(a, "tidy"):
        return a.tidy().equals(b.tidy())
    return a == b


@pytest.mark.parametrize("name", RENAMED)
def test_old_argument_names_still_work_with_a_warning(name, small, study):
    fn, args, common, table, old_values = _calls(small, study)[name]
    assert fn.__renamed__.items() >= table.items()
    with pytest.warns(DeprecationWarning) as caught:
        old = fn(*args, **common, **old_values)
    messages = " ".join(str(w.message) for w in caught)
    for old_name, new_name in table.items():
        assert f"{old_name}= is deprecated; use {new_name}=" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = fn(*args, **common, **{table[k]: v for k, v in old_values.items()})
    assert _same(old, new)


def test_every_renamed_function_is_in_the_table():
    renamed_fns = {name for _, name, fn in FUNCTIONS if getattr(fn, "__renamed__", None)}
    assert renamed_fns <= set(RENAMED)


def test_old_and_new_name_together_is_a_clear_error(small):
    with pytest.raises(ipnstats.SpecificationError, match="got both effects= and "
                                                           "panel_effects="):
        ipnstats.panel_regression(small, "y ~ z", unit="u", time="t", effects=("unit",),
                                  panel_effects=("unit",))


@pytest.mark.parametrize(("module", "old", "new"), [
    ("ipnstats.estimators.did", "EventStudy", "EventStudyResult"),
    ("ipnstats.estimators.did", "SunAbraham", "SunAbrahamResult"),
    ("ipnstats.estimators.did.event_study", "EventStudy", "EventStudyResult"),
    ("ipnstats.estimators.did.sunab", "SunAbraham", "SunAbrahamResult"),
    ("ipnstats.estimators.speccurve", "SpecificationCurve", "SpecificationCurveResult"),
    ("ipnstats.estimators.wild", "WildBootstrap", "WildBootstrapResult"),
    ("ipnstats.ipn.stages", "StageEffects", "StageEffectsResult"),
    ("ipnstats.ipn.questions", "QuestionPatterns", "QuestionPatternsResult"),
    ("ipnstats.ipn.practices", "Heterogeneity", "HeterogeneityResult"),
    ("ipnstats.inference.multiplicity", "RomanoWolf", "RomanoWolfResult"),
])
def test_old_class_names_are_deprecated_aliases(module, old, new):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated; use {new}"):
        cls = getattr(mod, old)
    assert cls is getattr(mod, new)
    with pytest.raises(AttributeError):
        mod.NoSuchName  # noqa: B018


def test_former_defaults_still_apply_with_a_warning(small):
    frame = small.rename(columns={"u": "firm_id", "t": "year"})
    with pytest.warns(DeprecationWarning) as caught:
        old = ipnstats.event_study(frame, outcome="y", n_boot=0)
    messages = " ".join(str(w.message) for w in caught)
    for arg, value in (("unit", "firm_id"), ("time", "year"), ("cohort", "cohort")):
        assert f"{arg}= has no default any more; pass {arg}={value!r}" in messages
    new = ipnstats.event_study(frame, outcome="y", unit="firm_id", time="year",
                               cohort="cohort", n_boot=0)
    assert old.tidy().equals(new.tidy())


def test_descriptives_take_their_unit_column_from_the_caller(small):
    frame = small.rename(columns={"u": "firm_id"})
    with pytest.warns(DeprecationWarning, match="pass unit='firm_id'"):
        old = ipnstats.descriptives_table(frame, ["y"], threshold=2)
    new = ipnstats.descriptives_table(frame, ["y"], unit="firm_id", threshold=2)
    assert old.to_text() == new.to_text()


def test_flag_that_changed_the_return_type_is_deprecated(small):
    from ipnstats.estimators.did import sun_abraham, twfe_did

    cols = dict(outcome="y", unit="u", time="t", cohort="cohort")
    with pytest.warns(DeprecationWarning, match="call twfe_did"):
        old = ipnstats.participation_effect(small, **cols, estimator="twfe")
    assert old.tidy().equals(twfe_did(small, **cols).tidy())
    with pytest.warns(DeprecationWarning, match="call sun_abraham"):
        old = ipnstats.participation_effect(small, **cols, estimator="sunab",
                                            control_group="never_treated")
    assert old.tidy().equals(sun_abraham(small, **cols, vcov=ipnstats.Cluster("u")).tidy())
    from ipnstats.estimators.mixed import GEEResult, gee, mixed_model

    binary = small.assign(b=(small["y"] > 0).astype(float))
    with pytest.warns(DeprecationWarning, match="call gee"):
        old = mixed_model(binary, "b ~ z", groups="g", family="binomial")
    new = gee(binary, "b ~ z", groups="g")
    assert isinstance(new, GEEResult) and old.tidy().equals(new.tidy())


def test_plot_methods_are_deprecated_shims(small):
    import matplotlib.pyplot as plt

    res = ipnstats.moderation(small, y="y", x="z", w="leaves")
    for method, new in (("plot", "moderation_plot"), ("jn_plot", "moderation_jn_plot")):
        with pytest.warns(DeprecationWarning, match=f"ipnstats.figures.{new}"):
            fig = getattr(res, method)()
        plt.close(fig)
    es = ipnstats.event_study(small, outcome="y", unit="u", time="t", cohort="cohort",
                              n_boot=0)
    with pytest.warns(DeprecationWarning, match="ipnstats.figures.event_study_plot"):
        plt.close(es.plot())


def test_tables_take_the_study_labels_from_the_caller(small):
    from ipnstats.ipn.labels import ID_LABELS, UNIT_LABEL

    frame = small.rename(columns={"u": "firm_id", "t": "year"})
    fe = ipnstats.panel_regression(frame, "y ~ z", unit="firm_id", time="year",
                                   vcov=ipnstats.Cluster("firm_id"))
    with pytest.warns(DeprecationWarning) as caught:
        old = ipnstats.regression_table(fe).to_text()
    messages = " ".join(str(w.message) for w in caught)
    assert "pass unit_label=" in messages and "ipnstats.ipn.labels.ID_LABELS" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = ipnstats.regression_table(fe, labels=ID_LABELS, unit_label=UNIT_LABEL).to_text()
        neutral = ipnstats.regression_table(fe, labels={"firm_id": "Unit", "year": "Period"},
                                            unit_label="Units").to_text()
    assert old == new and "Firms" in new and "Clustered (Firm)" in new
    assert "Units" in neutral and "Firm" not in neutral


# ------------------------------------------------------------------- the helpers


def test_renamed_rejects_a_table_that_does_not_match_the_function():
    with pytest.raises(TypeError):
        renamed(y="outcome")(lambda data, *, y: y)
    with pytest.raises(TypeError):
        former_defaults(unit="firm_id")(lambda data, *, unit="firm_id": unit)


def test_renamed_classes_serves_only_its_table():
    class NewResult:
        pass

    getter = renamed_classes("m", {"NewResult": NewResult}, {"Old": "NewResult"})
    with pytest.warns(DeprecationWarning, match="m.Old is deprecated; use NewResult"):
        assert getter("Old") is NewResult
    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        getter("Other")


def test_one_seed_type():
    rng = np.random.default_rng(3)
    assert as_generator(rng) is rng
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert recorded_seed(5) == 5 and recorded_seed(rng) is None and recorded_seed(None) is None
    assert seed_sequence(7).entropy == np.random.SeedSequence(7).entropy
    for bad in (True, -1, 1.5, "1"):
        with pytest.raises(ipnstats.SpecificationError, match="seed must be"):
            check_seed(bad)


def test_the_conventions_document_lists_every_rename():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()
    for _, name, fn in FUNCTIONS:
        for old in getattr(fn, "__renamed__", {}):
            assert re.search(rf"`{old}=`", text), f"{name}({old}=) missing from the doc"
    assert dataclasses.is_dataclass(ipnstats.Result)
