"""Notes written for readers, and the "Appendix: Estimation notes".

Estimators attach notes with stable codes (:data:`ipnstats.core.notes.NOTE_CODES`) whose
text is written for programmers ("compare with estimator='cs'"). The report shows each
of them once, in words, in one appendix: :func:`estimation_notes` gathers every stored
model's notes of every stage, one entry per code, with the models each applies to;
:func:`render_estimation_notes` adds the appendix. A table of models with notes says
which entries concern it (:func:`noted_regression_table`) instead of repeating them.

:func:`for_readers` turns any stored text into a reader's: column names become their
codebook labels, argument hints and file names are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ipnstats.core.notes import NOTE_CODES
from ipnstats.ipn.labels import ID_LABELS
from ipnstats.report.document import Report
from ipnstats.report.study_tables import study_regression_table

APPENDIX = "Appendix: Estimation notes"
#: A reader's sentence for the codes whose estimator text speaks to programmers or
#: depends on the model only by a count; other codes keep their (relabelled) text.
READER_NOTES: Mapping[str, str] = {
    "staggered_twfe": "Firms join in different years, so the two-way fixed-effects "
                      "estimate also compares late joiners with firms that joined earlier "
                      "and can differ from the average effect of joining (Goodman-Bacon "
                      "2021); the Callaway-Sant'Anna estimate beside it avoids those "
                      "comparisons.",
    "singletons_kept": "Observations alone in their fixed-effect group (singletons) were "
                       "kept; they leave the estimates unchanged.",
    "scale_differs": "The tests of the practice blocks compare coefficients in the "
                     "practices' own units, which differ between practices.",
}
#: Short titles of the codes, as a table's pointer to the appendix names them.
TITLES: Mapping[str, str] = {
    "staggered_twfe": "staggered adoption", "unbalanced_panel": "unbalanced panel",
    "always_treated_dropped": "firms treated from the start left out",
    "no_base_period": "firms without a base year left out",
    "small_cohorts": "small cohorts", "no_controls": "cells without controls",
    "missing_dropped": "missing values", "subsample": "subsample",
    "singletons_kept": "singletons", "scale_differs": "units of the practices",
    "separation": "perfect prediction"}
STAGE_CODES = {"framing": "H2a", "behavior": "H2b", "loss_aversion": "H2c",
               "questions": "H2d", "senders": "H3a", "curve": "H3b",
               "triangulation": "H3c"}
H1A_ESTIMATORS = ("TWFE", "CS", "CS + covariates", "Sun-Abraham")
#: Names of the stored models by their key in the findings.
ESTIMATOR_NAMES = {"logit": "logit", "cox": "Cox", "mixed": "mixed model", "ols": "OLS",
                   "gee": "GEE", "interaction": "interactions"}


@dataclass(frozen=True, slots=True)
class EstimationNote:
    """One entry of the appendix: a code, its reader's texts and the models of each."""

    code: str
    title: str
    texts: tuple[tuple[str, tuple[str, ...]], ...]


def _lower(label: str) -> str:
    """``"Log revenue"`` -> ``"log revenue"``; ``"IPN member"`` stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def reader_label(name: str, labels: Mapping[str, str]) -> str:
    """A column's label in running text: the codebook's, else ``ID_LABELS``', else the
    name with spaces."""
    label = dict(ID_LABELS) | dict(labels)
    return _lower(label.get(name) or name.replace("_", " "))


_HINTS = (re.compile(r"\s*\((?:[^()]*\b\w+\s*==?\s*[^()]*)\)"),   # (member == 1), (x=True drops)
          re.compile(r"[;,]\s*(?:compare with|use|see)\b[^;.]*"))  # ; compare with estimator='cs'

_FILE = re.compile(r"\b(?:results/)?([\w-]+)\.(?:json|csv|toml)\b")


def for_readers(text: str, labels: Mapping[str, str]) -> str:
    """``text`` for readers: argument hints and file names out, column names labelled.

    Examples
    --------
    >>> for_readers("Kept (drop_singletons=True drops them); see log_revenue.",
    ...             {"log_revenue": "Log revenue"})
    'Kept.'
    >>> for_readers("2 level(s) of 'group_id' by receiver_loss_aversion", {})
    '2 level(s) of peer group by receiver loss aversion'
    """
    text = _FILE.sub(lambda m: f"the {m.group(1).replace('_', ' ')} file", str(text))
    text = _HINTS[0].sub("", text)
    text = _HINTS[1].sub("", text)
    names = sorted({*labels, *ID_LABELS, *re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)},
                   key=len, reverse=True)
    for name in names:
        quoted = rf"'{re.escape(name)}'"
        pattern = rf"{quoted}|\b{re.escape(name)}\b" if "_" in name else quoted
        text = re.sub(pattern, reader_label(name, labels), text)
    return text


def reader_note(note: str, code: str, labels: Mapping[str, str]) -> str:
    """A stored note for readers: the code's reader sentence, else its text relabelled."""
    return READER_NOTES.get(code) or for_readers(note, labels)


def _stored_models(node, path: tuple) -> Iterator[tuple[tuple, dict]]:
    """Every stored model (a dict with ``note_codes``) under ``node``, with its path."""
    if isinstance(node, dict):
        if "note_codes" in node:
            yield path, node
        for key, value in node.items():
            yield from _stored_models(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _stored_models(value, (*path, i))


def model_name(stage: str, path: tuple, model: dict, labels: Mapping[str, str]) -> str:
    """A reader's name of a stored model: its hypothesis, outcome and estimator."""
    outcome = reader_label(model.get("outcome") or "", labels)
    code = path[0] if path and re.fullmatch(r"H\d[a-z]", str(path[0])) else \
        STAGE_CODES.get(str(path[0]) if path else "", stage.capitalize())
    if code == "H1a" and isinstance(path[-1], int) and path[-1] < len(H1A_ESTIMATORS):
        how = H1A_ESTIMATORS[path[-1]]
    else:
        last = next((p for p in reversed(path) if isinstance(p, str)), "")
        how = "" if last in ("model", "models") or last == path[0] else \
            ESTIMATOR_NAMES.get(last, last.replace("_", " "))
    return f"{code} ({', '.join(x for x in (outcome, how) if x)})"


def study_labels(stored: Mapping[str, dict]) -> dict[str, str]:
    """The codebook labels stored with any stage's findings."""
    out: dict[str, str] = {}
    for doc in stored.values():
        out |= doc.get("findings", {}).get("labels", {}) or {}
    return out


def estimation_notes(stored: Mapping[str, dict]) -> tuple[EstimationNote, ...]:
    """Every estimator note of every stored model, one entry per code (in the order of
    :data:`NOTE_CODES`), each distinct reader's text with the models it applies to."""
    labels = study_labels(stored)
    by_code: dict[str, dict[str, list[str]]] = {}
    for stage, doc in stored.items():
        for path, model in _stored_models(doc.get("findings", {}), ()):
            name = model_name(stage, path, model, labels)
            for note, code in zip(model.get("notes", []), model.get("note_codes", []),
                                  strict=False):
                holders = by_code.setdefault(code, {}).setdefault(
                    reader_note(note, code, labels), [])
                if name not in holders:
                    holders.append(name)
    order = list(NOTE_CODES)
    return tuple(EstimationNote(code, note_title(code),
                                tuple((t, tuple(who)) for t, who in texts.items()))
                 for code, texts in sorted(by_code.items(),
                                           key=lambda kv: order.index(kv[0])
                                           if kv[0] in order else len(order)))


def note_title(code: str) -> str:
    """The short title of a note code."""
    return TITLES.get(code) or NOTE_CODES.get(code, "other notes").split(":")[0]


def render_estimation_notes(report: Report, stored: Mapping[str, dict]) -> Report:
    """Add the "Appendix: Estimation notes" (nothing when no model has a note)."""
    notes = estimation_notes(stored)
    if not notes:
        return report
    report = report.add_heading(APPENDIX).add_text(
        "Diagnostics of the estimators, each once, with the models it concerns. The tables "
        "name the entries that concern their models.")
    lines = [f"- {note.title.capitalize()}: {text} Applies to: {applies_to(who)}."
             for note in notes for text, who in note.texts]
    return report.add_text("\n".join(lines))


_NAME = re.compile(r"(\S+) \(([^,]+)(?:, (.+))?\)")


def applies_to(names: Sequence[str]) -> str:
    """Model names (of :func:`model_name`) grouped by hypothesis and outcome.

    Examples
    --------
    >>> applies_to(["H1a (log revenue, CS)", "H1a (log revenue, TWFE)",
    ...             "H1a (profit margin, CS)", "H1d (log revenue)"])
    'H1a: log revenue (CS, TWFE), profit margin (CS); H1d: log revenue'
    """
    groups: dict[str, dict[str, list[str]]] = {}
    for name in names:
        m = _NAME.fullmatch(name)
        code, outcome, how = m.groups() if m else (name, "", None)
        hows = groups.setdefault(code, {}).setdefault(outcome, [])
        if how:
            hows.append(how)
    parts = []
    for code, outcomes in groups.items():
        shown = [f"{o} ({', '.join(h)})" if h else o for o, h in outcomes.items() if o]
        parts.append(f"{code}: {', '.join(shown)}" if shown else code)
    return "; ".join(parts)


def pointer(codes: Sequence[str]) -> tuple[str, ...]:
    """A table's note naming the appendix entries of its models (none without codes)."""
    titles = list(dict.fromkeys(note_title(c) for c in codes))
    if not titles:
        return ()
    return (f"Estimation notes (see {APPENDIX}): {'; '.join(titles)}.",)


def noted_regression_table(models: Sequence | Mapping, *, notes: Sequence[str] = (), **options):
    """:func:`study_regression_table` whose models' own notes are left to the appendix:
    the table's notes end with a pointer to the entries that concern its models."""
    shown = models.values() if isinstance(models, Mapping) else models
    codes = [c for m in shown for c in _codes(m)]
    return study_regression_table(models, notes=(*notes, *pointer(codes)),
                                  show_warnings=False, **options)


def _codes(model) -> tuple[str, ...]:
    from ipnstats.core.notes import note_codes

    return tuple(note_codes(getattr(model, "notes", ())))


__all__ = ["APPENDIX", "READER_NOTES", "EstimationNote", "applies_to", "estimation_notes",
           "for_readers",
           "model_name", "noted_regression_table", "reader_label", "reader_note",
           "render_estimation_notes"]
