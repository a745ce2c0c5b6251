"""``ipnstats power CONFIG``: a power analysis declared in one TOML file.

Example (``analyses/power_h1.toml``)::

    [design]
    hypothesis = "h1"          # h1, h2, h3 or two_group
    n_groups = 15              # any field of the design class, e.g. H1Design
    group_size = 20

    [power]
    effect_sizes = [0.0, 0.02, 0.04, 0.06, 0.08]
    reps = 500                 # also: alpha, alternative, target, conf_level, seed

    [run]
    backend = "local"          # or "dask", with scheduler = "tcp://host:8786"
    n_jobs = 2

    [output]
    dir = "../reports/power"   # relative to this file

Every problem in the file (unknown sections or keys, wrong types, bad values) is
reported at once with the file and the key.

So that no configuration can exhaust the machine, the numbers are bounded
(:data:`POWER_BOUNDS`, :data:`DESIGN_BOUNDS`): ``reps`` 2 to 100,000; 1 to 50 distinct
finite ``effect_sizes`` of at most 1e6 in size, and at most 1,000,000 replicates in all
(``reps`` x effect sizes); ``seed`` 0 to 2**63 - 1; ``n_jobs`` 1 to 64; design sizes such as
``n_firms`` (at most 100,000), ``n_years`` (2 to 100) or ``exchanges_per_receiver`` (at
most 1,000) within their bounds, and at most 1,000,000 simulated rows per replicate;
standard deviations >= 0, ``rho`` in (-1, 1), shares in [0, 1], every number finite.
``--reps`` and ``--n-jobs`` on the command line are held to the same bounds. As for the
study configuration, ``[output] dir`` must stay inside the configuration's folder or its
parent (``--out`` chooses any folder).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipnstats.ipn.designs import DESIGNS
from ipnstats.pipeline.config import ConfigError, check_output, read_toml
from ipnstats.planning.power import ALTERNATIVES, PowerResult, power

POWER_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "effect_sizes": (list, None), "reps": (int, 1000), "alpha": (float, 0.05),
    "alternative": (str, "two-sided"), "target": (float, 0.8), "conf_level": (float, 0.95),
    "seed": (int, 0)}
RUN_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "backend": (str, "local"), "n_jobs": (int, 1), "scheduler": (str, ""),
    "progress": (str, "auto")}
OUTPUT_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {"dir": (str, "power")}
# (low, high), both included
POWER_BOUNDS = {"reps": (2, 100_000), "seed": (0, 2**63 - 1), "n_jobs": (1, 64)}
MAX_EFFECT_SIZES = 50
MAX_EFFECT = 1e6
MAX_REPLICATES = 1_000_000  # reps x effect sizes
MAX_ROWS = 1_000_000  # simulated rows in one replicate
DESIGN_BOUNDS = {"n_per_group": (2, 500_000), "n_firms": (1, 100_000), "n_groups": (1, 10_000),
                 "group_size": (1, 10_000), "first_year": (1900, 2100), "n_years": (2, 100),
                 "growth_years": (0, 100), "n_receivers": (1, 100_000),
                 "n_senders": (1, 100_000), "exchanges_per_receiver": (1, 1_000),
                 "cohorts": (1900, 2200), "tasks_per_firm": (1, 1_000)}


class PowerConfigError(ConfigError):
    """A power configuration that breaks its schema; the message lists every problem."""


@dataclass(frozen=True)
class PowerConfig:
    """A checked power configuration: the design, the power settings, where to run and
    where to write."""

    path: Path
    design: object
    power: dict
    run: dict
    out: Path


def load_power_config(path: str | Path, *, out: str | Path | None = None) -> PowerConfig:
    """Read and check ``path``; raise :class:`PowerConfigError` listing every problem.

    ``out`` (``--out`` on the command line) replaces ``[output] dir`` and may be any
    folder; ``[output] dir`` itself must stay inside the configuration's folder or its
    parent.
    """
    path = Path(path)
    raw = read_toml(path, PowerConfigError)
    problems: list[str] = []
    for extra in sorted(set(raw) - {"design", "power", "run", "output"}):
        problems.append(f"{path}: unknown section [{extra}] (known: design, power, run, output)")
    design = _design(raw.get("design", {}), path, problems)
    settings = _section(raw.get("power", {}), "power", POWER_KEYS, path, problems)
    run = _section(raw.get("run", {}), "run", RUN_KEYS, path, problems)
    out_section = _section(raw.get("output", {}), "output", OUTPUT_KEYS, path, problems)
    _check_values(settings, run, path, problems)
    if design is not None:
        _check_design(design, path, problems)
    base = path.resolve().parent
    if out is None:
        target = (base / out_section["dir"]).resolve()
        given = raw.get("output")
        check_output(out_section["dir"], target, base, path, problems,
                     not isinstance(given, dict) or "dir" not in given)
    else:
        target = Path(out).resolve()
    _raise(problems, "power configuration")
    return PowerConfig(path.resolve(), design, settings, run, target)


def run_power(cfg: PowerConfig, progress=None) -> PowerResult:
    """Run the configured power analysis; :class:`PowerConfigError` when ``reps``,
    ``n_jobs`` or ``seed`` (perhaps set on the command line) leave their bounds."""
    problems: list[str] = []
    for key, value in (("reps", cfg.power["reps"]), ("seed", cfg.power["seed"]),
                       ("n_jobs", cfg.run["n_jobs"])):
        _bound(value, POWER_BOUNDS[key], f"{cfg.path}: {key} (from the file or the command "
                                         "line)", problems)
    _raise(problems, "power settings")
    run = cfg.run
    return power(cfg.design, **cfg.power, backend=run["backend"], n_jobs=run["n_jobs"],
                 scheduler=run["scheduler"] or None, progress=progress)


def write_power(result: PowerResult, out: Path) -> list[Path]:
    """Write ``power.csv``, ``power.md``, ``power.json`` and the power curve (.pdf .png
    .svg) to ``out``; return the paths."""
    from ipnstats.core.csvsafe import write_csv
    from ipnstats.figures.save import save_figure

    out.mkdir(parents=True, exist_ok=True)
    tidy = result.tidy()
    paths = [out / "power.csv", out / "power.md", out / "power.json"]
    write_csv(tidy, paths[0])
    paths[1].write_text(_markdown(result, tidy), encoding="utf-8")
    glance = result.glance().iloc[0].to_dict()
    body = {"design": dict(result.settings), "glance": glance,
            "power": tidy.to_dict("records"), "notes": list(result.notes)}
    paths[2].write_text(json.dumps(body, indent=2, default=_json_default) + "\n",
                        encoding="utf-8")
    paths += save_figure(result.plot(), out / "power_curve.pdf", formats=("pdf", "png", "svg"))
    return paths


def _markdown(result: PowerResult, tidy) -> str:
    rows = ["| Effect size | Power | 95% MC interval | Replicates | Failed | Mean estimate |",
            "|---:|---:|---:|---:|---:|---:|"]
    for _, r in tidy.iterrows():
        rows.append(f"| {r['effect_size']:.4g} | {r['power']:.3f} | [{r['conf_low']:.3f}, "
                    f"{r['conf_high']:.3f}] | {int(r['reps'])} | {int(r['failed'])} | "
                    f"{r['mean_estimate']:.4g} |")
    mde = result.mde()
    head = (f"# Power: {result.design}\n\nParameter: {result.parameter}; alpha "
            f"{result.alpha:g} ({result.alternative}); seed {result.seed}.\n\n")
    tail = (f"\n\nMinimum detectable effect at {result.target:.0%} power: "
            + (f"{mde:.4g}" if mde == mde else "not reached") +
            f" (normal approximation {result.mde_normal():.4g}).\n")
    return head + "\n".join(rows) + tail + "".join(f"\n{n}\n" for n in result.notes)


def _json_default(value):
    return value.item() if hasattr(value, "item") else str(value)


def _design(raw: dict, path: Path, problems: list[str]):
    if not isinstance(raw, dict):
        problems.append(f"{path}: [design] must be a table")
        return None
    kind = raw.get("hypothesis")
    if kind not in DESIGNS:
        problems.append(f"{path}: [design] hypothesis must be one of {', '.join(DESIGNS)}; "
                        f"got {kind!r}")
        return None
    cls = DESIGNS[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key == "hypothesis":
            continue
        if key not in fields:
            problems.append(f"{path}: [design] unknown key {key!r} for hypothesis {kind!r} "
                            f"(known: {', '.join(fields)})")
            continue
        default = fields[key].default
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
            if len(value) > 100 or not all(_same_type(v, default[0]) for v in value):
                problems.append(f"{path}: [design] {key} must be a list of at most 100 "
                                f"{type(default[0]).__name__}s; got {list(value)!r}")
                continue
        if not _same_type(value, default):
            problems.append(f"{path}: [design] {key} must be {type(default).__name__}; "
                            f"got {value!r}")
            continue
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        problems.append(f"{path}: [design] {err}")
        return None


def _same_type(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default)) and not isinstance(value, bool)


def _check_design(design, path: Path, problems: list[str]) -> None:
    """Bounds of the design's numbers (:data:`DESIGN_BOUNDS`), finite floats, and at most
    :data:`MAX_ROWS` simulated rows per replicate."""
    for f in dataclasses.fields(design):
        value = getattr(design, f.name)
        where = f"{path}: [design] {f.name}"
        values = value if isinstance(value, tuple) else (value,)
        if f.name in DESIGN_BOUNDS:
            for v in values:
                _bound(v, DESIGN_BOUNDS[f.name], where, problems)
        elif all(isinstance(v, float | int) and not isinstance(v, bool) for v in values):
            for v in values:
                _float_rule(f.name, float(v), where, problems)
    tasks = getattr(design, "tasks_per_firm", (1, 1))
    if len(tasks) != 2 or tasks[0] > tasks[1]:
        problems.append(f"{path}: [design] tasks_per_firm must be [fewest, most]; got "
                        f"{list(tasks)!r}")
    rows = _rows(design)
    if rows > MAX_ROWS:
        problems.append(f"{path}: [design] one replicate would simulate {rows:,} rows; at most "
                        f"{MAX_ROWS:,} (make the design smaller)")


def _float_rule(name: str, value: float, where: str, problems: list[str]) -> None:
    if not math.isfinite(value) or abs(value) > MAX_EFFECT:
        problems.append(f"{where} = {value!r} must be a finite number of at most "
                        f"{MAX_EFFECT:,.0f} in size")
    elif name == "rho" and not -1 < value < 1:
        problems.append(f"{where} = {value!r} must be between -1 and 1")
    elif ("sd" in name.split("_") or name.startswith("share")
          or name.endswith(("shares", "_rate"))) and value < 0:
        problems.append(f"{where} = {value!r} must be >= 0")
    elif (name.startswith("share") or name.endswith(("shares", "_rate"))) and value > 1:
        problems.append(f"{where} = {value!r} must be at most 1")


def _rows(design) -> int:
    """Rows one replicate of ``design`` simulates (the largest of its tables)."""
    def get(name: str, default: int = 0) -> int:
        return int(getattr(design, name, default))

    tasks = getattr(design, "tasks_per_firm", (1, 1))
    return max(2 * get("n_per_group"), get("n_firms") * get("n_years", 1),
               get("n_receivers") * get("exchanges_per_receiver", 1),
               get("n_firms") * int(max(tasks, default=1)))


def _bound(value, bounds: tuple[int, int], where: str, problems: list[str]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where} = {value!r} must be a whole number from {low:,} to "
                        f"{high:,}")


def _raise(problems: list[str], what: str) -> None:
    if problems:
        raise PowerConfigError(f"{len(problems)} problem(s) in the {what}:\n- "
                               + "\n- ".join(problems))


def _section(raw, name, keys, path, problems) -> dict:
    out = {k: default for k, (_, default) in keys.items()}
    if not isinstance(raw, dict):
        problems.append(f"{path}: [{name}] must be a table")
        return out
    for key, value in raw.items():
        if key not in keys:
            problems.append(f"{path}: [{name}] unknown key {key!r} (known: {', '.join(keys)})")
            continue
        kind = keys[key][0]
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              if kind is float else isinstance(value, kind) and not isinstance(value, bool))
        if not ok:
            hint = (" (TOML reads 1e9 and 5.0 as floats: write 1000000000 or 5)"
                    if kind is int and isinstance(value, float) else "")
            problems.append(f"{path}: [{name}] {key} must be {kind.__name__}; got {value!r}"
                            f"{hint}")
            continue
        out[key] = value
    return out


def _check_values(settings: dict, run: dict, path: Path, problems: list[str]) -> None:
    effects = settings["effect_sizes"]
    if effects is None:
        problems.append(f"{path}: [power] effect_sizes is required (a list of numbers)")
    elif not effects or not all(isinstance(e, int | float) and not isinstance(e, bool)
                                for e in effects):
        problems.append(f"{path}: [power] effect_sizes must be a non-empty list of numbers; "
                        f"got {effects!r}")
    elif len(effects) > MAX_EFFECT_SIZES or len(set(effects)) < len(effects) or not all(
            math.isfinite(e) and abs(e) <= MAX_EFFECT for e in effects):
        shown = repr(effects) if len(effects) <= 12 else f"{len(effects)} numbers"
        problems.append(f"{path}: [power] effect_sizes must be 1 to {MAX_EFFECT_SIZES} distinct "
                        f"finite numbers of at most {MAX_EFFECT:,.0f} in size; got {shown}")
    elif settings["reps"] * len(effects) > MAX_REPLICATES:
        problems.append(f"{path}: [power] reps x effect sizes = {settings['reps']:,} x "
                        f"{len(effects)} replicates; at most {MAX_REPLICATES:,} in all")
    if settings["reps"] < 2:
        problems.append(f"{path}: [power] reps must be at least 2; got {settings['reps']}")
    else:
        _bound(settings["reps"], POWER_BOUNDS["reps"], f"{path}: [power] reps", problems)
    _bound(settings["seed"], POWER_BOUNDS["seed"], f"{path}: [power] seed", problems)
    _bound(run["n_jobs"], POWER_BOUNDS["n_jobs"], f"{path}: [run] n_jobs", problems)
    for key in ("alpha", "target", "conf_level"):
        if not 0 < settings[key] < 1:
            problems.append(f"{path}: [power] {key} must be between 0 and 1; "
                            f"got {settings[key]!r}")
    if settings["alternative"] not in ALTERNATIVES:
        problems.append(f"{path}: [power] alternative must be one of {', '.join(ALTERNATIVES)}"
                        f"; got {settings['alternative']!r}")
    if run["backend"] not in ("local", "dask"):
        problems.append(f"{path}: [run] backend must be 'local' or 'dask'; got "
                        f"{run['backend']!r}")
    if run["backend"] == "local" and run["scheduler"]:
        problems.append(f"{path}: [run] scheduler is a Dask setting; set backend = \"dask\"")
    if run["progress"] not in ("auto", "always", "never"):
        problems.append(f"{path}: [run] progress must be auto, always or never; got "
                        f"{run['progress']!r}")


__all__ = ["PowerConfig", "PowerConfigError", "load_power_config", "run_power", "write_power"]
