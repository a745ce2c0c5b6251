"""Names are checked before anything is fitted.

Every column name a study configuration sets (``[H1]`` outcomes and covariates,
``[robustness]`` outcomes and covariate sets, each ``[[models]]`` formula variable,
cluster and weights, each ``[[claims]]`` outcome and the term of a claim on a
``[[models]]`` entry) is looked up in the frames the study produces (the firm-year
panel, the exchanges, the tasks). :func:`check_names` reports every unknown name at
once, with the file, the key and the closest column, so that a typo stops the run
before the first fit instead of being dropped in silence. Only what the file itself sets
is checked: the defaults of a configuration that leaves a key out follow the study.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

from ipnstats.core.errors import ConfigError
from ipnstats.pipeline.claims_config import ANALYSES
from ipnstats.pipeline.config import StudyConfig
from ipnstats.pipeline.grammar import ExpressionError, check_formula

#: how each frame is named in a message
FRAMES = {"firm_year": "firm-year panel", "exchanges": "exchanges", "tasks": "tasks"}


def named_columns(cfg: StudyConfig) -> Iterator[tuple[str, str, str]]:
    """``(key, name, frame)`` of every column name the configuration file sets: where it
    stands (``[H1] outcomes[0]``), the name and the frame it must be a column of."""
    given = cfg.given
    for section, key in (("H1", "outcomes"), ("H1", "covariates"), ("H1", "selection_instruments"),
                         ("robustness", "outcomes")):
        if (section, key) in given:
            for i, name in enumerate(cfg[section][key]):
                yield f"[{section}] {key}[{i}]", name, "firm_year"
    if ("robustness", "covariate_sets") in given:
        for label, names in cfg["robustness"]["covariate_sets"].items():
            for i, name in enumerate(names):
                yield f"[robustness] covariate_sets.{label}[{i}]", name, "firm_year"
    for i, model in enumerate(cfg.models):
        where = f"[[models]] #{i + 1} ({model['name']})"
        for name in _formula_names(model["formula"]):
            yield f"{where} formula", name, "firm_year"
        for key in ("cluster", "weights"):
            if key in model:
                yield f"{where} {key}", model[key], "firm_year"
    if ("claims", "") in given:
        yield from _claim_names(cfg)


def _claim_names(cfg: StudyConfig) -> Iterator[tuple[str, str, str]]:
    models = {m["name"]: m for m in cfg.models}
    for i, claim in enumerate(cfg.claims):
        where = f"[[claims]] #{i + 1} ({claim['id']})"
        analysis = ANALYSES.get(claim["analysis"])
        frame = analysis.frame if analysis else "firm_year"
        yield f"{where} outcome", claim["outcome"], frame
        if claim["analysis"] in models:
            yield from _term_names(where, claim["term"], models[claim["analysis"]])


def _term_names(where: str, term: str, model: Mapping) -> Iterator[tuple[str, str, str]]:
    """The plain names of a model claim's ``term`` (``a:b`` is two), each of which must be
    a variable of the model's formula (the frame ``formula:<name>``)."""
    for part in term.split(":"):
        part = part.strip()
        if part.isidentifier():
            yield f"{where} term", part, f"formula:{model['name']}"


def _formula_names(formula: str) -> tuple[str, ...]:
    try:
        return check_formula(formula, two_sided=True)
    except ExpressionError:  # reported when the configuration was read
        return ()


def unknown_names(cfg: StudyConfig, columns: Mapping[str, object]) -> list[str]:
    """One line per name of :func:`named_columns` that its frame lacks, with the closest
    column (:func:`difflib.get_close_matches`; with nothing close, all of them).
    ``columns`` maps each frame name to its columns (``None``: the study has no such
    table, and names in it are not checked)."""
    models = {m["name"]: _formula_names(m["formula"]) for m in cfg.models}
    problems = []
    for key, name, frame in named_columns(cfg):
        if frame.startswith("formula:"):
            known, what = models[frame[len("formula:"):]], "a variable of its formula"
        else:
            known, what = columns.get(frame), f"a column of the {FRAMES[frame]}"
        if known is None or name in known:
            continue
        names = sorted(map(str, known))
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = (f"; did you mean {close[0]!r}?" if close else
                f" (nothing close; its names: {', '.join(names)})")
        problems.append(f"{cfg.path}: {key} = {name!r} is not {what}{hint}")
    return problems


def check_names(cfg: StudyConfig, frames: Mapping[str, object]) -> None:
    """Raise :class:`ConfigError` listing every unknown name (:func:`unknown_names`);
    ``frames`` maps frame names to the study's frames (``Study._frames()``-like: a frame
    may be None)."""
    columns = {k: (None if f is None else set(f.columns)) for k, f in frames.items()}
    problems = unknown_names(cfg, columns)
    if problems:
        raise ConfigError(f"{len(problems)} unknown name(s) in the configuration; nothing "
                          "was fitted:\n- " + "\n- ".join(problems))


__all__ = ["check_names", "named_columns", "unknown_names"]
