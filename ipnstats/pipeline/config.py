"""The study configuration: one TOML file declares the whole run.

``analyses/ipn_study.toml`` names the study folder, the hypothesis families to run,
their outcomes and covariates, the inference choices (bootstrap draws, seed,
multiplicity adjustment) and the output folder. Every problem in the file is
reported at once, with the file and the key; formulas go through the restricted
grammar of :mod:`.grammar`, so no configuration can run Python.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .grammar import ExpressionError, check_formula

FAMILIES = ("H1", "H2", "H3")
ADJUSTMENTS = ("holm", "bh", "by", "hommel", "bonferroni", "none")
ESTIMATORS = ("twfe", "cs_never", "cs_notyet", "sunab")
SAMPLES = ("all", "no_exits", "balanced")
CLUSTERS = ("firm", "group")

# key: (type, default); the schema of every section
SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "study": {"folder": (str, None), "title": (str, "Industry Peer Network study report"),
              "authors": (list, [])},
    "output": {"dir": (str, "../reports")},
    "run": {"hypotheses": (list, list(FAMILIES)), "seed": (int, 0), "n_boot": (int, 999),
            "progress": (str, "auto")},
    "verdict": {"alpha": (float, 0.05), "adjust": (str, "holm")},
    "H1": {"outcomes": (list, ["log_revenue", "profit_margin", "employment_growth"]),
           "covariates": (list, ["age", "log_employees"]), "mediation_draws": (int, 5000)},
    "H2": {"process_draws": (int, 999)},
    "H3": {},
    "robustness": {"outcomes": (list, ["log_revenue", "revenue_growth", "roa"]),
                   "estimators": (list, list(ESTIMATORS)),
                   "covariate_sets": (dict, {"none": [], "age and size": ["age",
                                                                          "log_employees"]}),
                   "samples": (list, list(SAMPLES)), "clusters": (list, list(CLUSTERS)),
                   "min_clusters": (int, 30), "wild_draws": (int, 9999), "n_jobs": (int, 2),
                   "backend": (str, "local"), "scheduler": (str, "")},
}
NEUTRAL_KEYS = ("folder", "dir", "hypotheses", "progress", "scheduler")
MODEL_KEYS = {"name": str, "formula": str, "cluster": str, "estimator": str}


class ConfigError(ValueError):
    """A configuration file that breaks its schema; the message lists every problem."""


@dataclass(frozen=True)
class StudyConfig:
    """A validated study configuration. Paths are absolute.

    ``sections`` holds every section with its defaults filled in; ``models`` the
    ``[[models]]`` tables (extra panel regressions, each with a checked formula).
    """

    path: Path
    folder: Path
    out: Path
    sections: MappingProxyType
    models: tuple[MappingProxyType, ...] = field(default=())

    def __getitem__(self, section: str) -> MappingProxyType:
        return self.sections[section]

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(self["run"]["hypotheses"])

    def slice(self, *names: str) -> str:
        """Canonical JSON of some sections: what a stage's results depend on. Paths, the
        list of families and the progress display are left out: they change no result
        (the input files themselves are fingerprinted by content)."""
        body = {n: (list(map(dict, self.models)) if n == "models" else
                    {k: v for k, v in self[n].items() if k not in NEUTRAL_KEYS})
                for n in names}
        return json.dumps(body, sort_keys=True, ensure_ascii=False, indent=1)

    def digest(self, *names: str) -> str:
        return hashlib.sha256(self.slice(*names).encode()).hexdigest()


def load_config(path: str | Path) -> StudyConfig:
    """Read and check a study configuration; raise :class:`ConfigError` listing all problems.

    Relative paths in the file are relative to the file's folder.
    """
    path = Path(path)
    return config_from_dict(read_toml(path, ConfigError), path)


def read_toml(path: Path, error: type[Exception]) -> dict:
    """The parsed TOML file; ``error`` (with the file named) when it is missing or broken."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: not valid TOML: {err}") from None


def default_config(folder: str | Path, out: str | Path) -> StudyConfig:
    """The default configuration of a study folder, writing to ``out``."""
    here = Path.cwd() / "ipnstats-defaults.toml"
    return config_from_dict({"study": {"folder": str(Path(folder).resolve())},
                             "output": {"dir": str(Path(out).resolve())}}, here)


def config_from_dict(raw: dict, path: Path) -> StudyConfig:
    """Check a parsed configuration (``path`` names it in errors and anchors its paths)."""
    problems: list[str] = []
    sections = {name: _section(raw.get(name, {}), name, keys, path, problems)
                for name, keys in SCHEMA.items()}
    for extra in sorted(set(raw) - set(SCHEMA) - {"models"}):
        problems.append(f"{path}: unknown section [{extra}] (known: "
                        f"{', '.join([*SCHEMA, 'models'])})")
    _check_values(sections, path, problems)
    models = tuple(_model(m, i, path, problems) for i, m in enumerate(raw.get("models", [])))
    if sections["study"]["folder"] is None:
        problems.append(f"{path}: [study] folder is required (the study folder to analyse)")
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the configuration:\n- "
                          + "\n- ".join(problems))
    base = path.resolve().parent
    return StudyConfig(
        path=path.resolve(), folder=(base / sections["study"]["folder"]).resolve(),
        out=(base / sections["output"]["dir"]).resolve(),
        sections=MappingProxyType({k: MappingProxyType(v) for k, v in sections.items()}),
        models=tuple(MappingProxyType(m) for m in models))


def _section(given, name: str, keys: dict, path: Path, problems: list[str]) -> dict:
    if not isinstance(given, dict):
        problems.append(f"{path}: [{name}] must be a table")
        return {k: d for k, (_, d) in keys.items()}
    for key in sorted(set(given) - set(keys)):
        known = ", ".join(keys) or "none"
        problems.append(f"{path}: [{name}] unknown key {key!r} (known: {known})")
    out = {}
    for key, (kind, default) in keys.items():
        value = given.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            problems.append(f"{path}: [{name}] {key} = {value!r} must be "
                            f"{getattr(kind, '__name__', kind)}")
            value = default
        out[key] = value
    return out


def _check_values(s: dict, path: Path, problems: list[str]) -> None:
    def must(cond: bool, message: str) -> None:
        if not cond:
            problems.append(f"{path}: {message}")

    must(set(s["run"]["hypotheses"]) <= set(FAMILIES),
         f"[run] hypotheses = {s['run']['hypotheses']!r}: each must be one of {FAMILIES}")
    must(s["run"]["progress"] in ("auto", "always", "never"),
         f"[run] progress = {s['run']['progress']!r} must be 'auto', 'always' or 'never'")
    must(s["run"]["n_boot"] >= 0, "[run] n_boot must be >= 0")
    must(0 < s["verdict"]["alpha"] < 1, "[verdict] alpha must be between 0 and 1")
    must(s["verdict"]["adjust"] in ADJUSTMENTS,
         f"[verdict] adjust = {s['verdict']['adjust']!r} must be one of {ADJUSTMENTS}")
    rob = s["robustness"]
    must(rob["backend"] in ("local", "dask"),
         f"[robustness] backend = {rob['backend']!r} must be 'local' or 'dask'")
    must(rob["backend"] == "dask" or not rob["scheduler"],
         "[robustness] scheduler is a Dask setting: set backend = \"dask\" with it")
    for key, allowed in (("estimators", ESTIMATORS), ("samples", SAMPLES),
                         ("clusters", CLUSTERS)):
        bad = [v for v in rob[key] if v not in allowed]
        must(not bad, f"[robustness] {key}: {bad} not among {allowed}")
    names = [("H1", "outcomes", v) for v in s["H1"]["outcomes"]]
    names += [("H1", "covariates", v) for v in s["H1"]["covariates"]]
    names += [("robustness", "outcomes", v) for v in rob["outcomes"]]
    names += [("robustness", f"covariate_sets.{k}", v)
              for k, vs in rob["covariate_sets"].items()
              for v in (vs if isinstance(vs, list) else [vs])]
    for section, key, value in names:
        _column(value, f"{path}: [{section}] {key}", problems)


def _column(value, where: str, problems: list[str]) -> None:
    """A column name: checked by the grammar, and a plain name."""
    try:
        used = check_formula(value, where=where, two_sided=False)
    except ExpressionError as err:
        problems.append(str(err))
        return
    if used != (value.strip(),):
        problems.append(f"{where}: {value!r} must be a plain column name")


def _model(m, i: int, path: Path, problems: list[str]) -> dict:
    where = f"{path}: [[models]] #{i + 1}"
    if not isinstance(m, dict):
        problems.append(f"{where} must be a table")
        return {}
    for key in sorted(set(m) - set(MODEL_KEYS)):
        problems.append(f"{where}: unknown key {key!r} (known: {', '.join(MODEL_KEYS)})")
    out = {"name": m.get("name", f"Model {i + 1}"), "formula": m.get("formula"),
           "cluster": m.get("cluster", "firm_id"), "estimator": m.get("estimator", "within")}
    for key, value in out.items():
        if not isinstance(value, str):
            problems.append(f"{where}: {key} = {value!r} must be a string")
    if isinstance(out["formula"], str):
        try:
            check_formula(out["formula"], where=f"{where} formula", two_sided=True)
        except ExpressionError as err:
            problems.append(str(err))
    if isinstance(out["cluster"], str):
        _column(out["cluster"], f"{where} cluster", problems)
    if out["estimator"] not in ("within", "random", "pooled"):
        problems.append(f"{where}: estimator = {out['estimator']!r} must be 'within', "
                        "'random' or 'pooled'")
    return out


__all__ = ["ConfigError", "StudyConfig", "load_config"]
