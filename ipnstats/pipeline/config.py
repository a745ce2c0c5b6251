"""The study configuration: one TOML file declares the whole run.

``analyses/ipn_study.toml`` names the study folder, the hypothesis families to run,
their outcomes and covariates, the inference choices (bootstrap draws, seed,
multiplicity adjustment) and the output folder. Every problem in the file is
reported at once, with the file and the key; formulas go through the restricted
grammar of :mod:`.grammar`, so no configuration can run Python.

A configuration can neither write outside its own project nor exhaust the machine:

- ``[output] dir`` must resolve (symbolic links followed) inside the folder holding the
  configuration file or that folder's parent (``analyses/ipn_study.toml`` writes to
  ``../reports``), and never to a filesystem root, a home folder or a system folder such
  as ``/etc`` (nor anywhere inside ``/etc``, ``/usr`` but ``/usr/local``, ``/bin``...); the
  parent counts only when it is none of those. ``ipnstats run``/``report
  --out DIR`` (:func:`load_config` ``out=``) chooses any folder instead.
- Counts are integers within :data:`BOUNDS`: ``seed`` 0 to 2**63 - 1; ``n_boot``,
  ``mediation_draws`` and ``process_draws`` 2 to 100,000; ``wild_draws`` 2 to 99,999;
  ``n_jobs`` 1 to 64; ``min_clusters`` 0 to 10,000; ``imputations`` 0 (none) to 1,000.
  ``1e9`` is a float in TOML, and a float where an integer is needed is refused.
- Lists hold strings only, each once, at most :data:`MAX_ITEMS` (50) of them;
  ``covariate_sets`` is a table of at most 20 such lists; at most 50 ``[[models]]`` and
  50 ``[[claims]]`` (:mod:`.claims_config`).
- Formulas obey the bounds of :mod:`.grammar` (length, nesting, powers, terms).
- The file itself is at most 1 MiB of UTF-8 TOML.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ipnstats.core.errors import ConfigError
from ipnstats.data.sources import is_url
from ipnstats.pipeline.claims_config import (
    DEFAULT_CLAIMS,
    claims_from_raw,
    primary_outcome,
    stage_of,
)
from ipnstats.pipeline.grammar import ExpressionError, check_formula
from ipnstats.tables.style import STYLES

FAMILIES = ("H1", "H2", "H3")
ADJUSTMENTS = ("holm", "bh", "by", "hommel", "bonferroni", "none")
ESTIMATORS = ("twfe", "cs_never", "cs_notyet", "sunab")
SAMPLES = ("all", "no_exits", "balanced")
CLUSTERS = ("firm", "group")
PROGRESS = ("auto", "always", "never")
BACKENDS = ("local", "dask")

# key: (type, default); the schema of every section
SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "study": {"folder": (str, None), "codebook": (str, ""),
              "title": (str, "Industry Peer Network study report"), "authors": (list, [])},
    "output": {"dir": (str, "../reports")},
    "report": {"style": (str, "default")},  # a journal preset of ipnstats.tables.style
    "run": {"hypotheses": (list, list(FAMILIES)), "seed": (int, 0), "n_boot": (int, 999),
            "progress": (str, "auto")},
    "verdict": {"alpha": (float, 0.05), "adjust": (str, "holm")},
    "H1": {"outcomes": (list, ["log_revenue", "profit_margin", "employment_growth"]),
           "covariates": (list, ["age", "log_employees"]), "mediation_draws": (int, 5000),
           "selection_instruments": (list, []), "imputations": (int, 20)},
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
#: The allowed values of the settings that have a fixed set of them (of each item, for a
#: list); the documentation's key reference reads them from here.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("run", "hypotheses"): FAMILIES, ("run", "progress"): PROGRESS,
    ("report", "style"): tuple(STYLES), ("verdict", "adjust"): ADJUSTMENTS,
    ("robustness", "estimators"): ESTIMATORS, ("robustness", "samples"): SAMPLES,
    ("robustness", "clusters"): CLUSTERS, ("robustness", "backend"): BACKENDS}
# (low, high) of every integer setting, both included
BOUNDS: dict[tuple[str, str], tuple[int, int]] = {
    ("run", "seed"): (0, 2**63 - 1), ("run", "n_boot"): (2, 100_000),
    ("H1", "mediation_draws"): (2, 100_000), ("H2", "process_draws"): (2, 100_000),
    ("H1", "imputations"): (0, 1_000),
    ("robustness", "wild_draws"): (2, 99_999), ("robustness", "n_jobs"): (1, 64),
    ("robustness", "min_clusters"): (0, 10_000)}
MAX_ITEMS = 50  # strings in one list
MAX_COVARIATE_SETS = 20
MAX_MODELS = 50
MAX_FILE_BYTES = 1 << 20
# folders no configuration writes to directly (besides filesystem roots and home folders)
SYSTEM_FOLDERS = frozenset(map(Path, (
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var",
    "/var/tmp", "/Users", "/System", "/Library", "/Applications", "/private",
    "/private/etc", "/private/tmp", "/private/var")))
# ... nor anywhere inside these (the system's own files)
SYSTEM_TREES = tuple(map(Path, ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64",
                                "/proc", "/sbin", "/sys", "/usr", "/System", "/private/etc")))
NEUTRAL_KEYS = ("folder", "codebook", "dir", "hypotheses", "progress", "scheduler")
MODEL_KEYS = {"name": str, "formula": str, "cluster": str, "estimator": str, "cluster_type": str,
              "weights": str, "weights_type": str, "re_method": str}
#: The optional [[models]] keys with their allowed values (None: a column name).
MODEL_ESTIMATORS = ("within", "random", "pooled")
#: The defaults of the [[models]] keys a model may leave out ("Model <i>": its position).
MODEL_DEFAULTS = {"name": "Model <i>", "cluster": "firm_id", "estimator": "within"}
MODEL_CHOICES = {"cluster_type": ("cr1", "cr2"), "weights": None,
                 "weights_type": ("aweights", "fweights"),
                 "re_method": ("stata", "swar", "amemiya", "walhus", "nerlove")}


@dataclass(frozen=True)
class StudyConfig:
    """A validated study configuration. Paths are absolute.

    ``sections`` holds every section with its defaults filled in; ``models`` the
    ``[[models]]`` tables (extra panel regressions, each with a checked formula).
    """

    path: Path
    folder: Path | str  # the study folder, or a database URL
    out: Path
    sections: MappingProxyType
    models: tuple[MappingProxyType, ...] = field(default=())
    codebook: Path | None = None  # None: the folder's codebook.toml
    #: the declared ``[[claims]]`` (:mod:`.claims_config`; without any, H1a-H3c)
    claims: tuple[MappingProxyType, ...] = field(default=DEFAULT_CLAIMS)
    #: the ``(section, key)`` pairs the file itself sets (``("claims", "")`` and
    #: ``("models", "")`` for those arrays): the names checked against the data
    given: frozenset = field(default=frozenset())

    def __getitem__(self, section: str) -> MappingProxyType:
        return self.sections[section]

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(self["run"]["hypotheses"])

    def slice(self, *names: str) -> str:
        """Canonical JSON of some sections: what a stage's results depend on. Paths, the
        list of families and the progress display are left out: they change no result
        (the input files themselves are fingerprinted by content). ``"claims:<stage>"``
        is the declared claims that stage decides (:func:`.claims_config.stage_of`),
        ``"verdict:<stage>"`` the ``[verdict]`` section when that stage decides any claim,
        ``"primary"`` the H1 family's primary outcome, ``"h1_covariates"`` the
        ``[H1] covariates`` and ``selection_instruments``."""
        body = {n: self._slice(n) for n in names}
        return json.dumps(body, sort_keys=True, ensure_ascii=False, indent=1)

    def _slice(self, name: str):
        if name == "models":
            return list(map(dict, self.models))
        if name == "primary":  # the H1 family's primary outcome
            return primary_outcome(self.claims)
        if name == "h1_covariates":  # the identification checks of the robustness stage
            return {"covariates": list(self["H1"]["covariates"]),
                    "selection_instruments": list(self["H1"]["selection_instruments"])}
        if name.startswith("claims:"):
            return [dict(c) for c in self.claims if stage_of(c) == name[len("claims:"):]]
        if name.startswith("verdict:"):  # the verdict rule, for a stage that decides claims
            decides = any(stage_of(c) == name[len("verdict:"):] for c in self.claims)
            return self._slice("verdict") if decides else {}
        return {k: v for k, v in self[name].items() if k not in NEUTRAL_KEYS}

    def digest(self, *names: str) -> str:
        return hashlib.sha256(self.slice(*names).encode()).hexdigest()


def load_config(path: str | Path, *, out: str | Path | None = None) -> StudyConfig:
    r"""Read and check a study configuration; raise :class:`ConfigError` listing all problems.

    Relative paths in the file are relative to the file's folder. ``out`` (``--out`` on
    the command line) replaces ``[output] dir`` and may be any folder; ``[output] dir``
    itself must stay inside the configuration's folder or its parent.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()).resolve() / "analyses"
    >>> folder.mkdir()
    >>> _ = (folder / "study.toml").write_text('[study]\nfolder = "../data"\n')
    >>> load_config(folder / "study.toml").out == folder.parent / "reports"
    True
    >>> _ = (folder / "study.toml").write_text('[study]\nfolder = "x"\n[run]\nseed = -1\n')
    >>> load_config(folder / "study.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ipnstats.core.errors.ConfigError: 1 problem(s) in the configuration:
    - .../study.toml: [run] seed = -1 must be from 0 to 9,223,372,036,854,775,807
    """
    path = Path(path)
    return config_from_dict(read_toml(path, ConfigError), path, out=out)


def read_toml(path: Path, error: type[Exception]) -> dict:
    """The parsed TOML file; ``error`` (with the file named) when it is missing, too large,
    not UTF-8, not readable or not TOML."""
    try:
        if path.exists() and not path.is_file():
            raise error(f"{path}: is a folder or a device, not a configuration file (.toml)")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise error(f"{path}: a configuration file may be at most {MAX_FILE_BYTES:,} "
                        f"bytes; this one has {path.stat().st_size:,}")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such configuration file") from None
    except PermissionError:
        raise error(f"{path}: not allowed to read this configuration file") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start + 1}); save the configuration "
                    "as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: not valid TOML: {err}") from None
    except RecursionError:  # (Python's TOML reader recurses into nested arrays and tables)
        raise error(f"{path}: nests arrays or tables too deeply to be read") from None


def default_config(folder: str | Path, out: str | Path, *,
                   codebook: str | Path | None = None) -> StudyConfig:
    """The default configuration of a study folder or database URL (with its
    ``codebook``), writing to ``out`` (from the command line: any folder)."""
    here = Path.cwd() / "ipnstats-defaults.toml"
    study = {"folder": folder if is_url(folder) else str(Path(folder).resolve())}
    if codebook is not None:
        study["codebook"] = str(Path(codebook).resolve())
    return config_from_dict({"study": study}, here, out=out)


def config_from_dict(raw: dict, path: Path, *, out: str | Path | None = None) -> StudyConfig:
    """Check a parsed configuration (``path`` names it in errors and anchors its paths).

    ``out``, when given, replaces ``[output] dir`` and is not confined (see
    :func:`load_config`).
    """
    problems: list[str] = []
    sections = {name: _section(raw.get(name, {}), name, keys, path, problems)
                for name, keys in SCHEMA.items()}
    for extra in sorted(set(raw) - set(SCHEMA) - {"models", "claims"}):
        problems.append(f"{path}: unknown section [{extra}] (known: "
                        f"{', '.join([*SCHEMA, 'models', 'claims'])})")
    _check_values(sections, path, problems)
    models = _models(raw.get("models", []), path, problems)
    claims = claims_from_raw(raw.get("claims"), models, path, problems)
    study = sections["study"]
    if study["folder"] is None:
        problems.append(f"{path}: [study] folder is required (the study folder, or a "
                        "database URL, to analyse)")
    elif is_url(study["folder"]) and not study["codebook"]:
        problems.append(f"{path}: [study] folder is a database URL: give its codebook too, "
                        "codebook = \"codebook.toml\"")
    base = path.resolve().parent
    if out is None:
        target = (base / sections["output"]["dir"]).resolve()
        given = raw.get("output")
        default = not isinstance(given, dict) or "dir" not in given
        check_output(sections["output"]["dir"], target, base, path, problems, default)
    else:
        target = Path(out).resolve()
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the configuration:\n- "
                          + "\n- ".join(problems))
    folder = study["folder"]
    return StudyConfig(
        path=path.resolve(), folder=folder if is_url(folder) else (base / folder).resolve(),
        codebook=(base / study["codebook"]).resolve() if study["codebook"] else None,
        out=target,
        sections=MappingProxyType({k: MappingProxyType(v) for k, v in sections.items()}),
        models=tuple(MappingProxyType(m) for m in models), claims=claims,
        given=frozenset((name, key) for name, table in raw.items()
                        for key in (table if isinstance(table, dict) else ("",))))


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
        where = f"{path}: [{name}] {key}"
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            hint = (" (TOML reads 1e9 and 5.0 as floats: write 1000000000 or 5)"
                    if kind is int and isinstance(value, float) else "")
            problems.append(f"{where} = {value!r} must be {getattr(kind, '__name__', kind)}"
                            f"{hint}")
            value = default
        elif kind is list and not _strings(value, where, problems):
            value = default
        elif kind is dict and not _table_of_lists(value, where, problems):
            value = default
        elif (name, key) in BOUNDS and not _within(value, BOUNDS[name, key], where, problems):
            value = max(BOUNDS[name, key][0], min(value, BOUNDS[name, key][1]))
        out[key] = value
    return out


def _strings(value: list, where: str, problems: list[str]) -> bool:
    """Whether ``value`` is a list of at most MAX_ITEMS distinct strings (else a problem)."""
    bad = [f"{where}[{i}] = {v!r} must be a string" for i, v in enumerate(value)
           if not isinstance(v, str)]
    if len(value) > MAX_ITEMS:
        bad.append(f"{where} lists {len(value):,} items; at most {MAX_ITEMS}")
    twice = sorted({v for v in value if isinstance(v, str) and value.count(v) > 1})
    if twice:
        bad.append(f"{where} lists {', '.join(map(repr, twice))} more than once")
    problems.extend(bad)
    return not bad


def _table_of_lists(value: dict, where: str, problems: list[str]) -> bool:
    """Whether ``value`` is a table of at most MAX_COVARIATE_SETS lists of strings."""
    ok = len(value) <= MAX_COVARIATE_SETS
    if not ok:
        problems.append(f"{where} has {len(value):,} entries; at most {MAX_COVARIATE_SETS}")
    for key, item in value.items():
        if not isinstance(item, list):
            problems.append(f"{where}.{key} = {item!r} must be a list of column names")
            ok = False
        elif not _strings(item, f"{where}.{key}", problems):
            ok = False
    return ok


def _within(value: int, bounds: tuple[int, int], where: str, problems: list[str]) -> bool:
    low, high = bounds
    if low <= value <= high:
        return True
    problems.append(f"{where} = {value:,} must be from {low:,} to {high:,}")
    return False


def check_output(given: str, out: Path, base: Path, path: Path, problems: list[str],
                  default: bool = False) -> None:
    """A problem when ``out`` (``[output] dir`` resolved) leaves the configuration's folder
    ``base`` and its parent, or is a root, home or system folder."""
    where = f"{path}: [output] dir = {given!r}{' (the default)' if default else ''}"
    fix = "; give the folder on the command line instead: --out DIR"
    if _sensitive(out):
        problems.append(f"{where} resolves to {out}, a root, home or system folder{fix}")
        return
    allowed = [base] if _sensitive(base.parent) else [base, base.parent]
    if not any(out.is_relative_to(folder) for folder in allowed):
        problems.append(f"{where} resolves to {out}, outside the configuration's folder "
                        f"{base}{'' if len(allowed) == 1 else ' and its parent'}: a "
                        f"configuration writes only inside its own project{fix}")


def _sensitive(folder: Path) -> bool:
    """A filesystem root, a home folder (or the folder holding them) or a system folder."""
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder known
        home = Path(folder.anchor)
    in_system = any(folder.is_relative_to(tree) for tree in SYSTEM_TREES) \
        and not folder.is_relative_to("/usr/local")
    return (folder == Path(folder.anchor) or folder in SYSTEM_FOLDERS or in_system
            or folder in (home, home.parent) or folder.parent == Path("/home"))


def _check_values(s: dict, path: Path, problems: list[str]) -> None:
    def must(cond: bool, message: str) -> None:
        if not cond:
            problems.append(f"{path}: {message}")

    for (section, key), allowed in CHOICES.items():
        value = s[section][key]
        bad = [v for v in value if v not in allowed] if isinstance(value, list) else (
            [] if value in allowed else [value])
        must(not bad, f"[{section}] {key} = {value!r}: {', '.join(map(repr, bad))} not "
                      f"among {', '.join(map(repr, allowed))}")
    must(0 < s["verdict"]["alpha"] < 1, "[verdict] alpha must be between 0 and 1")
    rob = s["robustness"]
    must(rob["backend"] == "dask" or not rob["scheduler"],
         "[robustness] scheduler is a Dask setting: set backend = \"dask\" with it")
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


def _models(raw, path: Path, problems: list[str]) -> tuple[dict, ...]:
    if not isinstance(raw, list):
        problems.append(f"{path}: models must be [[models]] tables; got {raw!r}")
        return ()
    if len(raw) > MAX_MODELS:
        problems.append(f"{path}: {len(raw)} [[models]]; at most {MAX_MODELS}")
        return ()
    return tuple(_model(m, i, path, problems) for i, m in enumerate(raw))


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
    if out["estimator"] not in MODEL_ESTIMATORS:
        problems.append(f"{where}: estimator = {out['estimator']!r} must be one of "
                        f"{', '.join(map(repr, MODEL_ESTIMATORS))}")
    for key, allowed in MODEL_CHOICES.items():
        if key not in m:
            continue
        value = out[key] = m[key]
        if not isinstance(value, str):
            problems.append(f"{where}: {key} = {value!r} must be a string")
        elif allowed is None:
            _column(value, f"{where} {key}", problems)
        elif value not in allowed:
            problems.append(f"{where}: {key} = {value!r} must be one of "
                            f"{', '.join(map(repr, allowed))}")
    return out


__all__ = ["BOUNDS", "ConfigError", "StudyConfig", "check_output", "load_config", "read_toml"]
