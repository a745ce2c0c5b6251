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
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..pipeline.config import read_toml
from .designs import DESIGNS
from .power import ALTERNATIVES, PowerResult, power

POWER_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "effect_sizes": (list, None), "reps": (int, 1000), "alpha": (float, 0.05),
    "alternative": (str, "two-sided"), "target": (float, 0.8), "conf_level": (float, 0.95),
    "seed": (int, 0)}
RUN_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "backend": (str, "local"), "n_jobs": (int, 1), "scheduler": (str, ""),
    "progress": (str, "auto")}
OUTPUT_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {"dir": (str, "power")}


class PowerConfigError(ValueError):
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


def load_power_config(path: str | Path) -> PowerConfig:
    """Read and check ``path``; raise :class:`PowerConfigError` listing every problem."""
    path = Path(path)
    raw = read_toml(path, PowerConfigError)
    problems: list[str] = []
    for extra in sorted(set(raw) - {"design", "power", "run", "output"}):
        problems.append(f"{path}: unknown section [{extra}] (known: design, power, run, output)")
    design = _design(raw.get("design", {}), path, problems)
    settings = _section(raw.get("power", {}), "power", POWER_KEYS, path, problems)
    run = _section(raw.get("run", {}), "run", RUN_KEYS, path, problems)
    out = _section(raw.get("output", {}), "output", OUTPUT_KEYS, path, problems)
    _check_values(settings, run, path, problems)
    if problems:
        raise PowerConfigError(f"{len(problems)} problem(s) in the power configuration:\n- "
                               + "\n- ".join(problems))
    return PowerConfig(path.resolve(), design, settings, run,
                       (path.resolve().parent / out["dir"]).resolve())


def run_power(cfg: PowerConfig, progress=None) -> PowerResult:
    """Run the configured power analysis."""
    run = cfg.run
    return power(cfg.design, **cfg.power, backend=run["backend"], n_jobs=run["n_jobs"],
                 scheduler=run["scheduler"] or None, progress=progress)


def write_power(result: PowerResult, out: Path) -> list[Path]:
    """Write ``power.csv``, ``power.md``, ``power.json`` and the power curve (.pdf .png
    .svg) to ``out``; return the paths."""
    from ..figures.save import save_figure

    out.mkdir(parents=True, exist_ok=True)
    tidy = result.tidy()
    paths = [out / "power.csv", out / "power.md", out / "power.json"]
    tidy.to_csv(paths[0], index=False)
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
    return isinstance(value, type(default))


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
            problems.append(f"{path}: [{name}] {key} must be {kind.__name__}; got {value!r}")
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
    if settings["reps"] < 2:
        problems.append(f"{path}: [power] reps must be at least 2; got {settings['reps']}")
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
