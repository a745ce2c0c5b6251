"""The study report, assembled from the stored stage results.

Order: title page, the verdict page (every claim H1a-H3c with its primary estimate,
p-value, adjusted p-value and verdict, then the falsification checks), the hypothesis
sections, robustness, the configuration's own models, and the appendices (data,
measurement, methods, reproducibility). Nothing is refitted here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
from pathlib import Path

import pandas as pd

from ipnstats.data.sources import is_url, redact
from ipnstats.ipn.claims import ADJUST_NAMES, Check, Claim, verdict_rule
from ipnstats.pipeline.config import StudyConfig
from ipnstats.pipeline.runner import inputs_of, load_results, remove_stale_figures
from ipnstats.pipeline.store import blocks_to_json, claims_from_json
from ipnstats.report.claims import checks_table, verdict_table
from ipnstats.report.document import Report, TableBlock
from ipnstats.report.estimation_notes import render_estimation_notes
from ipnstats.report.identification_section import robustness_column
from ipnstats.report.measurement_section import render_measurement
from ipnstats.report.methods import methods_paragraphs
from ipnstats.report.provenance import package_versions, report_date
from ipnstats.report.sections import render_section
from ipnstats.tables.frame import frame_table
from ipnstats.tables.render import to_docx, to_latex, to_markdown
from ipnstats.tables.render.docx import docx_is_current

BODY = ("h1", "h2", "h3", "robustness", "network", "models")


def build_report(cfg: StudyConfig, stored: dict[str, dict]) -> Report:
    """The study report document of a configuration's stored results."""
    first = next(iter(stored.values()))
    k = first["disclosure_threshold"]
    report = Report(cfg["study"]["title"], first.get("study_name", ""),
                    authors=tuple(cfg["study"]["authors"]), date=report_date(),
                    style=cfg["report"]["style"], meta={
                        **_study_source(cfg),
                        "Data fingerprint": f"sha256 {_data_fingerprint(cfg)}",
                        "Configuration": _shown_path(cfg.path),
                        "Disclosure control": f"no firm named; no statistic from fewer than "
                                              f"{k} firms"})
    report = verdict_page(report, stored, cfg)
    if "data" in stored:
        report = render_measurement(report, stored["data"]["findings"].get("measurement"))
    figures = cfg.out / "figures"
    for name in (*BODY, "data"):
        if name in stored:
            report = _section(report, stored[name], figures)
    report = render_estimation_notes(report, stored)
    report = methods_appendix(report, stored)
    return reproducibility_appendix(report, stored, cfg)


def _section(report: Report, doc: dict, figures: Path) -> Report:
    """A stage's section, rendered from its stored findings."""
    shown = len(report.blocks)
    report = render_section(report, doc)
    # the section's figures, as files beside the report (SVG, PDF and PNG)
    added = blocks_to_json(dataclasses.replace(report, blocks=report.blocks[shown:]), figures,
                           doc["stage"])
    remove_stale_figures(figures, doc["stage"], added)
    return report


def families_text(claims: list[Claim], declared) -> str:
    """Which families the verdict table adjusts within, from the declared claims (``id``
    -> ``family``) of the claims it shows: ``of each family (H1, H2 and H4)``, ``of
    family H4`` for one; a claim without a declaration is its own family (its code).

    >>> families_text([Claim("H4", "", "", 0.1, True)], [{"id": "H4", "family": "H4"}])
    'of family H4'
    """
    family = {c["id"]: c["family"] for c in declared}
    names = list(dict.fromkeys(family.get(c.code) or c.code for c in claims))
    if len(names) == 1:
        return f"of family {names[0]}"
    return f"of each family ({', '.join(names[:-1])} and {names[-1]})"


def verdict_page(report: Report, stored: dict[str, dict], cfg: StudyConfig) -> Report:
    """The one-page summary: claims with verdicts, then the falsification checks."""
    v = cfg["verdict"]
    claims = [c for name in ("h1", "h2", "h3", "models") if name in stored
              for c in claims_from_json(stored[name]["claims"], Claim)]
    checks = [c for name in ("h1", "h2", "h3") if name in stored
              for c in claims_from_json(stored[name]["checks"], Check)]
    method = ADJUST_NAMES[v["adjust"]]
    if not claims:
        return report.add_heading("Verdicts").add_text(
            "No hypothesis family was run: [run] hypotheses in the configuration names none, "
            "so this report describes the data and the additional models only."
        ).add_page_break()
    report = report.add_heading("Verdicts").add_text(
        "Each hypothesis, its claim in plain words, the primary test, and what the data say. "
        f"p-values are adjusted across the claims {families_text(claims, cfg.claims)} by the "
        f"{method} method. " + verdict_rule(v["adjust"], v["alpha"]))
    report = report.add_table(verdict_table(claims, v["adjust"], robustness_column(stored)))
    if checks:
        report = report.add_page_break().add_heading("Falsification checks", 2).add_text(
            "Effects that the theory says are zero: finding one would cast doubt on the "
            "design or the theory. Each is an equivalence test against the smallest effect "
            "of interest, so that a check passes only when the data show the effect is "
            "negligible, not merely when they fail to detect it.").add_table(
            checks_table(checks, "holm", v["alpha"]))
    return report.add_page_break()


def methods_appendix(report: Report, stored: dict[str, dict]) -> Report:
    report = report.add_heading("Appendix: Methods").add_text(
        "One paragraph per model, generated from the fitted results: the estimator, the "
        "sample, the standard errors and clusters, the bootstrap draws and seed, and the "
        "implementation it follows and is tested against.")
    for doc in stored.values():
        if paragraphs := methods_paragraphs(doc):
            report = report.add_heading(doc["title"], 2).add_text("\n\n".join(paragraphs))
    return report


def reproducibility_appendix(report: Report, stored: dict[str, dict],
                             cfg: StudyConfig) -> Report:
    shown = _shown_path(cfg.path)
    report = report.add_heading("Appendix: Reproducibility").add_text(
        f"Reproduce this report with the command make report, which runs ipnstats run {shown} "
        f"and ipnstats report {shown} and redoes only the stages whose inputs or settings "
        "changed. Two runs give byte-identical files; the report's date is "
        "SOURCE_DATE_EPOCH when set.")
    rows = [{"section": s, "key": key, "value": _value(val)}
            for s, sec in cfg.sections.items() for key, val in sec.items()]
    rows += [{"section": "models", "key": m["name"], "value": m["formula"]}
             for m in cfg.models]
    report = report.add_table(frame_table(pd.DataFrame(rows), labels={
        "section": "Section", "key": "Setting", "value": "Value"},
        title="Configuration in effect (defaults filled in)", label="configuration"))
    files = pd.DataFrame([{"file": name, "sha256": digest[:16]}
                          for name, digest in inputs_of(cfg, None).items()])
    report = report.add_table(frame_table(files, labels={
        "file": "Input", "sha256": "SHA-256 (first 16 hex digits)"},
        title="Input fingerprints", label="inputs"))
    seeds = [{"stage": doc["title"], "seeds": ", ".join(f"{k} {v}" for k, v in
                                                         doc["seeds"].items()) or "none"}
             for doc in stored.values()]
    report = report.add_table(frame_table(pd.DataFrame(seeds), labels={
        "stage": "Stage", "seeds": "Random seeds"}, title="Seeds", label="seeds"))
    versions = [{"package": "python", "version": platform.python_version()}]
    versions += [{"package": n, "version": v} for n, v in package_versions()]
    return report.add_table(frame_table(pd.DataFrame(versions), labels={
        "package": "Package", "version": "Version"}, title="Software", label="software"))


def _value(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return redact(value) if isinstance(value, str) and is_url(value) else str(value)


def _shown_path(path: Path) -> str:
    """A path relative to the working directory when inside it (the same on every machine),
    else its name."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def write_report(cfg: StudyConfig) -> list[Path]:
    """Render the stored results: PDF, HTML, and every table as .tex, .docx and .md."""
    report = build_report(cfg, load_results(cfg))
    out = cfg.out
    written = [report.to_pdf(out / "ipn_report.pdf"), report.to_html(out / "ipn_report.html")]
    return written + write_tables(report, out / "tables")


def write_tables(report: Report, directory: Path) -> list[Path]:
    """Every table of the report as ``<label>.tex``, ``.docx`` and ``.md``."""
    directory.mkdir(parents=True, exist_ok=True)
    names, written = set(), []
    for i, block in enumerate(b for b in report.blocks if isinstance(b, TableBlock)):
        table = block.table
        name = table.label or f"table-{i + 1}"
        while name in names:
            name += "-b"
        names.add(name)
        (directory / f"{name}.tex").write_text(to_latex(table), encoding="utf-8")
        (directory / f"{name}.md").write_text(to_markdown(table), encoding="utf-8")
        docx = directory / f"{name}.docx"
        if not docx_is_current(table, docx):  # Word is slow to write: only what changed
            to_docx(table, docx)
        written += [directory / f"{name}.tex", directory / f"{name}.md", docx]
    for path in directory.iterdir():
        if path.stem not in names:
            path.unlink()
    return written


__all__ = ["build_report", "families_text", "verdict_page", "write_report", "write_tables"]


def _study_source(cfg: StudyConfig) -> dict[str, str]:
    """The title page's line on where the data came from (a URL without its password)."""
    if is_url(cfg.folder):
        return {"Study database": redact(cfg.folder)}
    return {"Study folder": cfg.folder.name}


def _data_fingerprint(cfg: StudyConfig) -> str:
    """SHA-256 over the labels and digests of every input, in label order."""
    digest = hashlib.sha256()
    for name, value in sorted(inputs_of(cfg, None).items()):
        digest.update(name.encode() + b"\0" + value.encode() + b"\0")
    return digest.hexdigest()
