"""``ipnstats run`` and ``ipnstats report``: fit the stages, then render from their JSON.

``run`` writes ``<out>/results/<stage>.json`` for each stage whose inputs or settings
changed (each file records the fingerprint it was made from; ``force`` redoes all).
``report`` reads those files only and writes the PDF, the HTML, every table as .tex,
.docx and .md under ``tables/`` (figures are already under ``figures/``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path

from ipnstats.core.errors import ConfigError
from ipnstats.data import load_study
from ipnstats.data.sources import database_labels, input_fingerprints, is_url
from ipnstats.pipeline.config import StudyConfig
from ipnstats.pipeline.names import check_names
from ipnstats.pipeline.progress import Progress
from ipnstats.pipeline.stages import STAGES, Stage, active, stage
from ipnstats.pipeline.store import (
    claims_to_json,
    dumps,
    results_to_json,
    write_if_changed,
)

REPORT_SECTIONS = ("study", "verdict", "output")


def version() -> str:
    return metadata.version("ipnstats")


#: The code a stage's results depend on: the layers that read data and estimate, and the
#: stage definitions. Renderers, readings, tables, figures and the CLI are left out, so a
#: change to how the report looks re-renders from the stored results and refits nothing.
ESTIMATING = ("core", "results", "inference", "estimators", "ipn", "data",
              "pipeline/stages.py", "pipeline/store.py")


@functools.cache
def code_digest() -> str:
    """SHA-256 of the source files of ipnstats that estimate (:data:`ESTIMATING`): new
    estimating code, new results."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in estimating_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def estimating_files(root: Path) -> list[Path]:
    """The source files of :data:`ESTIMATING` under the package folder ``root``."""
    files = []
    for part in ESTIMATING:
        path = root / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return sorted(files)


def fingerprint(cfg: StudyConfig, st: Stage, cache: dict | None = None) -> dict:
    """What a stage's results depend on: its settings, its inputs (the files, or database
    tables, its tables are read from, and the codebook), ipnstats' code. ``cache`` keeps
    a database's digests for the stages of one run."""
    return {"config": cfg.digest(*st.sections), "ipnstats": version(), "code": code_digest(),
            "inputs": inputs_of(cfg, st.inputs, cache)}


def inputs_of(cfg: StudyConfig, tables: tuple[str, ...] | None,
              cache: dict | None = None) -> dict[str, str]:
    """SHA-256 of each input behind ``tables`` (None: all), by a label without secrets."""
    if not is_url(cfg.folder):
        return input_fingerprints(cfg.folder, cfg.codebook, tables)
    cache = {} if cache is None else cache
    if "database" not in cache:  # one read of the database per run
        cache["database"] = input_fingerprints(cfg.folder, cfg.codebook, None)
        cache["labels"] = database_labels(cfg.codebook)
    every = cache["database"]
    if tables is None:
        return every
    named = {cache["labels"][t] for t in tables if t in cache["labels"]}
    return {k: v for k, v in every.items() if k in named or k == Path(cfg.codebook).name}


def result_path(cfg: StudyConfig, name: str) -> Path:
    return cfg.out / "results" / f"{name}.json"


def split_config(cfg: StudyConfig, directory: str | Path) -> list[Path]:
    """Write each stage's settings to ``directory/<stage>.json``, only when they changed,
    so that ``make`` redoes a stage only when its own settings changed."""
    directory = Path(directory)
    slices = {s.name: cfg.slice(*s.sections) for s in STAGES}
    slices["report"] = cfg.slice(*REPORT_SECTIONS)
    written = []
    for name, text in slices.items():
        if write_if_changed(directory / f"{name}.json", text + "\n"):
            written.append(directory / f"{name}.json")
    return written


def stale(cfg: StudyConfig) -> list[str]:
    """The stages whose inputs, settings or ipnstats version changed since their results
    were stored (or that have no results yet)."""
    cache: dict = {}
    return [st.name for st in active(cfg)
            if _stored_fingerprint(result_path(cfg, st.name)) != fingerprint(cfg, st, cache)]


def run(cfg: StudyConfig, *, only: tuple[str, ...] = (), force: bool = False) -> list[str]:
    """Run the stages (``only`` those named) whose fingerprint changed; returns the names
    of the stages that were run. Before the first fit, every column name the
    configuration sets is checked against the study's frames
    (:func:`~ipnstats.pipeline.names.check_names`): a :class:`ConfigError` names them all."""
    chosen = [stage(n) for n in only] if only else list(active(cfg))
    ran, study, cache = [], None, {}
    for st in chosen:
        path = result_path(cfg, st.name)
        fp = fingerprint(cfg, st, cache)
        progress = Progress(st.name, cfg["run"]["progress"])
        if not force and _stored_fingerprint(path) == fp:
            progress("up to date")
            path.touch()  # make compares times: the results are as new as their inputs
            continue
        if study is None:
            study = load_study(cfg.folder, codebook=cfg.codebook)
            check_names(cfg, {"firm_year": study.firm_year, "exchanges": study.exchanges,
                              "tasks": study.tasks})  # every name, before the first fit
        output = st.build(study, cfg, progress)
        doc = {"stage": st.name, "title": st.title, "fingerprint": fp,
               "study_name": study.codebook.name,
               "disclosure_threshold": study.codebook.disclosure_threshold,
               "findings": output.findings,
               "claims": claims_to_json(list(output.claims)),
               "checks": claims_to_json(list(output.checks)),
               "results": results_to_json(output.results,
                                          study.codebook.disclosure_threshold),
               "seeds": output.seeds}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(doc), encoding="utf-8")
        progress.done()
        ran.append(st.name)
    return ran


def _stored_fingerprint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def remove_stale_figures(figures: Path, name: str, blocks: list[dict]) -> None:
    """Delete the figure files of stage ``name`` that ``blocks`` no longer show."""
    keep = {b["file"].rsplit(".", 1)[0] for b in blocks if b["type"] == "figure"}
    for path in figures.glob(f"{name}-figure-*"):
        if path.name.rsplit(".", 1)[0] not in keep:
            path.unlink()


def load_results(cfg: StudyConfig) -> dict[str, dict]:
    """The stored results of the configuration's stages, in stage order."""
    out, missing = {}, []
    for st in active(cfg):
        path = result_path(cfg, st.name)
        if not path.exists():
            missing.append(st.name)
            continue
        out[st.name] = json.loads(path.read_text(encoding="utf-8"))
    if missing:
        raise ConfigError(f"no results for stage(s) {', '.join(missing)} under "
                         f"{cfg.out / 'results'}: run `ipnstats run {cfg.path}` first")
    return out


__all__ = ["fingerprint", "inputs_of", "load_results", "run", "split_config", "stale"]
