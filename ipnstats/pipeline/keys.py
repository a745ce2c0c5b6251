"""Every key a user can write, described once: the reference pages of the documentation.

Three files configure ipnstats: the study folder's ``codebook.toml`` (study settings,
scales, labels, the Qualtrics export and the mapping of one's own tables), the study
configuration (``analyses/ipn_study.toml``) and a power configuration
(``ipnstats power``). Their keys, types and defaults live in the modules that read them
(:data:`ipnstats.pipeline.config.SCHEMA`, :mod:`ipnstats.data.codebook`,
:mod:`ipnstats.data.mapping`, :mod:`ipnstats.pipeline.power`); this module pairs each
with what it means, and the tables it returns are read from those modules, so the
documentation cannot list a key the reader refuses nor miss one it accepts
(``tests/pipeline/test_keys.py``).

>>> table = config_keys()
>>> table.loc[(table.section == "verdict") & (table.key == "adjust"), "default"].item()
'"holm"'
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from ipnstats.data.codebook import QUALTRICS_KEYS, SCALE_KEYS, STUDY_KEYS, Codebook
from ipnstats.data.mapping import KEYS as TABLE_KEYS
from ipnstats.data.schema import TABLE_ORDER, TABLES
from ipnstats.ipn.designs import DESIGNS
from ipnstats.pipeline.claims_config import CLAIM_KEYS, DIRECTIONS, REQUIRED
from ipnstats.pipeline.config import (
    BACKENDS,
    BOUNDS,
    CHOICES,
    MODEL_CHOICES,
    MODEL_DEFAULTS,
    MODEL_ESTIMATORS,
    MODEL_KEYS,
    PROGRESS,
    SCHEMA,
)
from ipnstats.pipeline.power import OUTPUT_KEYS, POWER_BOUNDS, POWER_KEYS, RUN_KEYS
from ipnstats.planning.power import ALTERNATIVES

#: What each key of the study configuration means, by (section, key).
CONFIG_MEANING: dict[tuple[str, str], str] = {
    ("study", "folder"): "the study folder (relative to this file) or a database URL "
                         "(postgresql://, sqlite:///, duckdb:///)",
    ("study", "codebook"): "the codebook file; empty: the study folder's codebook.toml "
                           "(required for a database URL)",
    ("study", "title"): "the report's title",
    ("study", "authors"): "the names on the report's title page",
    ("output", "dir"): "where results, tables, figures and the report go (inside this "
                       "file's folder or its parent; `--out` chooses any folder)",
    ("report", "style"): "the journal preset of the tables (stars, decimals, notes)",
    ("run", "hypotheses"): "the hypothesis families to fit",
    ("run", "seed"): "the seed of every random draw (bootstrap, imputation, resampling)",
    ("run", "n_boot"): "bootstrap draws of the H1 and H3 inference (cluster bootstrap)",
    ("run", "progress"): "progress bars: on a terminal only, always or never",
    ("verdict", "alpha"): "the level of every claim's test",
    ("verdict", "adjust"): "the multiplicity adjustment within a family of claims",
    ("H1", "outcomes"): "firm-year outcomes of the participation table",
    ("H1", "covariates"): "firm-year controls of the covariate-adjusted estimators, the "
                          "sensitivity benchmarks and the balance checks",
    ("H1", "mediation_draws"): "Monte-Carlo draws of H1c's indirect effect",
    ("H1", "selection_instruments"): "firm-year columns that move joining but not growth "
                                     "(the endogenous-treatment model)",
    ("H1", "imputations"): "multiple imputations of the missing survey items for H1c "
                           "(0: complete cases only)",
    ("H2", "process_draws"): "bootstrap draws of the conditional process models (PROCESS)",
    ("robustness", "outcomes"): "outcomes of the specification curve",
    ("robustness", "estimators"): "estimators of the specification curve",
    ("robustness", "covariate_sets"): "named sets of controls of the specification curve",
    ("robustness", "samples"): "samples of the specification curve",
    ("robustness", "clusters"): "clustering levels of the clustering checks",
    ("robustness", "min_clusters"): "fewer clusters than this: the wild cluster bootstrap "
                                    "decides instead of the cluster-robust SE",
    ("robustness", "wild_draws"): "draws of the wild cluster bootstrap",
    ("robustness", "n_jobs"): "parallel workers of the specification curve",
    ("robustness", "backend"): "where the specification curve runs",
    ("robustness", "scheduler"): "the Dask scheduler's address (with backend = \"dask\")",
}

MODEL_MEANING = {
    "name": "the model's name in tables and the name a claim's `analysis` gives",
    "formula": "`outcome ~ terms` over firm-year columns (the restricted grammar)",
    "estimator": "the panel estimator: within (firm and year fixed effects), random "
                 "effects or pooled least squares",
    "cluster": "the firm-year column to cluster the standard errors by",
    "cluster_type": "the small-sample correction of the cluster-robust SE (default cr1, "
                    "Stata's)",
    "weights": "a firm-year column of weights",
    "weights_type": "what the weights are (Stata's aweights or fweights; default "
                    "aweights)",
    "re_method": "the variance-component estimator of the random-effects model "
                 "(default stata: Swamy-Arora as Stata's xtreg, re; the others as plm)",
}

CLAIM_MEANING = {
    "id": "the claim's code in every table (unique)",
    "family": "the claims adjusted together for multiplicity",
    "text": "what the claim asserts, as the verdict table prints it",
    "analysis": "a study analysis (docs: configuration) or a `[[models]]` name",
    "outcome": "the column the analysis models",
    "term": "the tested quantity",
    "direction": "the claimed direction of the effect",
    "sesoi": "a null claim's smallest effect size of interest (> 0, in the estimate's units)",
}

CODEBOOK_MEANING: dict[tuple[str, str], str] = {
    ("study", "name"): "the study's name in reports",
    ("study", "member_year_min_days"): "a firm is a member in year t when its spells "
                                       "cover at least this many days of t (1-366)",
    ("study", "disclosure_threshold"): "no statistic from fewer firms is shown (1-10,000)",
    ("study", "risk_averse_cutoff"): "a sender is risk averse above this risk_aversion "
                                     "score: \"median\" or a number on the scale",
    ("stages", "<stage>"): "a tenure stage and its lower bound in completed member years",
    ("scales.<scale>", "items"): "the scale's survey items (columns of surveys)",
    ("scales.<scale>", "reverse"): "items scored as (low + high) - answer",
    ("scales.<scale>", "range"): "[low, high] of the answers",
    ("scales.<scale>", "label"): "the scale's name in reports",
    ("labels", "<column>"): "a column's display label in reports",
    ("qualtrics", "firm_id"): "the Qualtrics column holding firm_id",
    ("qualtrics", "date"): "the Qualtrics column holding the response date",
    ("qualtrics", "items"): "Qualtrics question id = codebook item (omit when equal)",
    ("tables.<table>", "file"): "a path or glob inside the study folder; several matches "
                                "are stacked in name order",
    ("tables.<table>", "sheet"): "Excel: the sheet's name, or its position from 0",
    ("tables.<table>", "header_row"): "the line holding the column names (1 = first)",
    ("tables.<table>", "delimiter"): "CSV: the delimiter (default: sniffed)",
    ("tables.<table>", "decimal"): "the decimal mark",
    ("tables.<table>", "thousands"): "the thousands separator (default: none)",
    ("tables.<table>", "date_format"): "strftime format of the dates (default: ISO 8601)",
    ("tables.<table>", "encoding"): "the text encoding (default: UTF-8, falling back to "
                                    "Windows-1252)",
    ("tables.<table>", "columns"): "schema name = source column name",
    ("tables.<table>", "values"): "recodes: { column = { source value = schema value } }",
    ("tables.<table>", "table"): "databases: the table to read (schema-qualified allowed)",
    ("tables.<table>", "query"): "databases: a read-only SELECT instead of a table",
}

CODEBOOK_DEFAULTS: dict[tuple[str, str], object] = {
    ("scales.<scale>", "items"): "(required)",
    ("stages", "<stage>"): "novice = 0, developing = 2, expert = 4",
    ("scales.<scale>", "range"): [1, 7], ("scales.<scale>", "reverse"): [],
    ("scales.<scale>", "label"): "the scale's name",
    ("qualtrics", "items"): {},
    ("tables.<table>", "file"): "<table>.csv|parquet|xlsx|dta|sav",
    ("tables.<table>", "sheet"): "the first sheet", ("tables.<table>", "header_row"): 1,
    ("tables.<table>", "decimal"): ".", ("tables.<table>", "columns"): {},
    ("tables.<table>", "values"): {}, ("tables.<table>", "table"): "<table>",
}

POWER_MEANING: dict[tuple[str, str], str] = {
    ("power", "effect_sizes"): "the effects to simulate, in the design's units (required)",
    ("power", "reps"): "replications per effect size",
    ("power", "alpha"): "the test's level",
    ("power", "alternative"): "the test's direction",
    ("power", "target"): "the power at which the minimum detectable effect is read",
    ("power", "conf_level"): "the level of the Monte-Carlo intervals around each power",
    ("power", "seed"): "the seed of the replications",
    ("run", "backend"): "where the replications run",
    ("run", "n_jobs"): "parallel workers",
    ("run", "scheduler"): "the Dask scheduler's address (with backend = \"dask\")",
    ("run", "progress"): "progress bars: on a terminal only, always or never",
    ("output", "dir"): "where the power table and curve go (relative to this file)",
}

_FALLBACK_CODEBOOK = {("study", k): getattr(Codebook(), k) for k in STUDY_KEYS}
_FALLBACK_CODEBOOK |= {("qualtrics", "firm_id"): Codebook().qualtrics_firm_id,
                       ("qualtrics", "date"): Codebook().qualtrics_date}


def _toml(value) -> str:
    """A default as the user would write it in TOML."""
    if value is None:
        return "(required)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if value else '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}"
                          for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "string", int: "integer", float: "number", list: "list", dict: "table",
             bool: "boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _allowed(choices=(), bounds=None) -> str:
    if choices:
        return ", ".join(f"`{c}`" for c in choices)
    if bounds:
        return f"{bounds[0]:,} to {bounds[1]:,}"
    return ""


def config_keys() -> pd.DataFrame:
    """The study configuration's keys: ``section``, ``key``, ``type``, ``default``,
    ``allowed`` and ``meaning``, one row per key of every section, then the keys of
    ``[[models]]`` and ``[[claims]]`` tables."""
    rows = []
    for section, keys in SCHEMA.items():
        for key, (kind, default) in keys.items():
            rows.append((section, key, _type_name(kind), _toml(default),
                         _allowed(CHOICES.get((section, key), ()),
                                  BOUNDS.get((section, key))),
                         CONFIG_MEANING[(section, key)]))
    for key, kind in MODEL_KEYS.items():
        choices = MODEL_ESTIMATORS if key == "estimator" else MODEL_CHOICES.get(key) or ()
        default = ("(required)" if key == "formula" else
                   _toml(MODEL_DEFAULTS[key]) if key in MODEL_DEFAULTS else "")
        rows.append(("[models]", key, _type_name(kind), default, _allowed(choices),
                     MODEL_MEANING[key]))
    for key, kind in CLAIM_KEYS.items():
        default = ("(required)" if key in REQUIRED
                   else '"greater"' if key == "direction" else "")
        rows.append(("[claims]", key, _type_name(kind), default,
                     _allowed(DIRECTIONS if key == "direction" else ()), CLAIM_MEANING[key]))
    return pd.DataFrame(rows, columns=["section", "key", "type", "default", "allowed",
                                       "meaning"])


def power_keys() -> pd.DataFrame:
    """A power configuration's keys (``ipnstats power``), as :func:`config_keys`; the
    ``[design]`` keys are the fields of the design classes (:func:`design_keys`)."""
    rows = []
    for section, keys in (("power", POWER_KEYS), ("run", RUN_KEYS), ("output", OUTPUT_KEYS)):
        for key, (kind, default) in keys.items():
            choices = {("power", "alternative"): ALTERNATIVES,
                       ("run", "backend"): BACKENDS,
                       ("run", "progress"): PROGRESS}.get((section, key), ())
            bounds = POWER_BOUNDS.get(key) if section in ("power", "run") else None
            rows.append((section, key, _type_name(kind), _toml(default),
                         _allowed(choices, bounds), POWER_MEANING[(section, key)]))
    return pd.DataFrame(rows, columns=["section", "key", "type", "default", "allowed",
                                       "meaning"])


def design_keys() -> pd.DataFrame:
    """The ``[design]`` keys of a power configuration: ``hypothesis`` picks the design
    class, and every field of that class is a key, with the class's default."""
    rows = []
    for hypothesis, cls in DESIGNS.items():
        for f in dataclasses.fields(cls):
            default = (f.default if f.default is not dataclasses.MISSING
                       else f.default_factory() if f.default_factory is not dataclasses.MISSING
                       else None)
            rows.append((hypothesis, cls.__name__, f.name, _toml(default)))
    return pd.DataFrame(rows, columns=["hypothesis", "design", "key", "default"])


def codebook_keys() -> pd.DataFrame:
    """The keys of ``codebook.toml``: ``section``, ``key``, ``default`` and ``meaning``.
    A key written ``<stage>``, ``<column>``, ``<scale>`` or ``<table>`` is a name the user
    chooses."""
    keys = ([("study", k) for k in STUDY_KEYS] + [("stages", "<stage>")]
            + [("scales.<scale>", k) for k in SCALE_KEYS] + [("labels", "<column>")]
            + [("qualtrics", k) for k in QUALTRICS_KEYS]
            + [("tables.<table>", k) for k in TABLE_KEYS])
    rows = []
    for section, key in keys:
        if (section, key) in _FALLBACK_CODEBOOK:  # the reader's own default, as TOML
            shown = _toml(_FALLBACK_CODEBOOK[(section, key)])
        else:  # a phrase ("the first sheet", "(required)") as it is, a value as TOML
            default = CODEBOOK_DEFAULTS.get((section, key))
            shown = ("" if default is None else default if isinstance(default, str)
                     and (" " in default or default.startswith("(")) else _toml(default))
        rows.append((section, key, shown, CODEBOOK_MEANING[(section, key)]))
    return pd.DataFrame(rows, columns=["section", "key", "default", "meaning"])


def schema_columns() -> pd.DataFrame:
    """The study folder's tables and their columns: ``table``, ``required`` (the table),
    ``key`` (part of the table's key), ``column``, ``kind``, ``may be empty`` and
    ``rule`` (range, allowed values, or the id it must match), in reading order."""
    rows = []
    for name in TABLE_ORDER:
        spec = TABLES[name]
        for col in spec.columns:
            rule = []
            if col.minimum is not None and col.maximum is not None:
                rule.append(f"{col.minimum:g} to {col.maximum:g}")
            elif col.minimum is not None:
                rule.append(f">= {col.minimum:g}")
            elif col.maximum is not None:
                rule.append(f"<= {col.maximum:g}")
            if col.choices:
                rule.append(", ".join(col.choices))
            if col.references:
                rule.append(f"must exist in {col.references}")
            rows.append((name, "yes" if spec.required else "no",
                         "yes" if col.name in spec.key else "", col.name, col.kind,
                         "yes" if col.nullable else "", "; ".join(rule)))
    return pd.DataFrame(rows, columns=["table", "required", "key", "column", "kind",
                                       "may be empty", "rule"])


def markdown_table(frame: pd.DataFrame, code: tuple[str, ...] = ("key", "default")) -> str:
    """A pipe table of ``frame`` (cells as text, ``|`` escaped), for the documentation;
    the cells of the ``code`` columns are set as code (a default as it is written in TOML),
    except ``(required)`` and phrases."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    def shown(column: str, value) -> str:
        text = cell(value)
        if column in code and text and not text.startswith("(") and (
                " " not in text or text[0] in "\"[{"):
            return f"`{text}`"
        return text
    head = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(shown(c, v) for c, v in zip(frame.columns, row, strict=True))
            + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])
