"""What exports call the schema's columns and values: synonyms of the column names
(English and German), the labels of choice and 0/1 columns, the words that point to a
survey scale; and how well a source column's name fits a schema column.

Used by :mod:`ipnstats.data.init`. Names are compared after :func:`normalise`.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from ipnstats.data.schema import TABLES

#: Other names a schema column goes by in exports (compared after :func:`normalise`;
#: earlier names are preferred when several columns of a file match).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "firm_id": ("firm", "firmid", "member id", "member", "company", "company id", "client",
                "client id", "customer id", "firm no", "member no", "external reference",
                "external data reference", "unternehmen", "firma", "mitglied",
                "mitgliedsnummer", "kunde", "kundennummer"),
    "industry": ("sector", "branch", "industry sector", "branche", "wirtschaftszweig"),
    "region": ("area", "state", "bundesland"),
    "founded_year": ("founded", "year founded", "founding year", "year of foundation",
                     "established", "gruendungsjahr"),
    "employees_baseline": ("employees at joining", "baseline employees", "employees at entry",
                           "headcount at joining", "initial employees"),
    "group_id": ("group", "peer group", "circle", "gruppe"),
    "join_date": ("joined", "joining date", "entry date", "member since", "start date",
                  "start", "beitritt", "eintritt"),
    "exit_date": ("left", "exit", "leave date", "left on", "member until", "end date", "end",
                  "austritt"),
    "year": ("fiscal year", "fy", "financial year", "jahr", "geschaeftsjahr"),
    "revenue": ("sales", "turnover", "revenues", "net sales", "umsatz", "umsatzerloese"),
    "net_income": ("net profit", "profit", "net earnings", "earnings", "jahresueberschuss"),
    "employees": ("headcount", "staff", "fte", "number of employees", "mitarbeiter",
                  "beschaeftigte"),
    "total_assets": ("assets", "balance sheet total", "bilanzsumme"),
    "meeting_id": ("meeting", "session id", "session", "sitzung", "treffen", "event id"),
    "date": ("datum", "recorded date", "meeting date", "session date", "response date",
             "task date", "start date", "tag"),
    "kind": ("type", "format", "meeting type", "session type", "art", "typ"),
    "attended": ("attendance", "present", "anwesend", "teilnahme"),
    "disclosed_financials": ("disclosed", "disclosure", "shared financials",
                             "financials disclosed"),
    "critiques_received": ("critiques", "feedback received", "kritik"),
    "benchmark_rank": ("rank", "ranking", "rang"),
    "ranked_firms": ("firms ranked", "n ranked", "number ranked"),
    "exchange_id": ("exchange", "question id", "interaction id", "austausch",
                    "austausch id"),
    "receiver_id": ("receiver", "recipient", "empfaenger"),
    "sender_id": ("sender", "absender"),
    "initiator": ("initiated by", "initiative", "initiiert von"),
    "question_type": ("topic", "question topic", "fragetyp", "thema"),
    "n_questions": ("questions", "number of questions", "question count", "anzahl fragen",
                    "fragen"),
    "framing": ("frame", "frame type"),
    "cognitive_shift": ("shift", "kognitive veraenderung"),
    "behavior_change": ("behaviour change", "changed behavior", "changed behaviour",
                        "verhaltensaenderung"),
    "seq": ("sequence", "task no", "task number", "task nr", "task", "nr"),
    "outcome": ("months to breakeven", "months to break even", "break even months",
                "breakeven months", "result"),
    "n_sources": ("sources", "n info sources", "information sources", "info sources",
                  "number of sources", "quellen"),
}

#: Labels of the choice columns in exports -> schema value (compared after normalise).
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "framing": {"loss": ("loss", "losses", "loss frame", "negative", "negativ", "verlust",
                         "verluste", "perte"),
                "gain": ("gain", "gains", "gain frame", "positive", "positiv", "gewinn",
                         "gewinne", "gain"),
                "neutral": ("neutral", "none", "neither", "keine", "weder noch")},
    "initiator": {"receiver": ("receiver", "recipient", "empfaenger", "asker"),
                  "sender": ("sender", "absender", "giver", "spontaneous", "spontan")},
    "kind": {"peer_meeting": ("peer meeting", "peer group meeting", "group meeting",
                              "meeting", "gruppentreffen", "treffen"),
             "workshop": ("workshop", "seminar", "training", "schulung")},
}
#: Labels of 0/1 columns the loader does not read as such -> "1" or "0".
BINARY_LABELS = {"1": ("ja", "j", "wahr", "x"), "0": ("nein", "falsch")}
#: Words in an item's name or question text that point to a scale.
SCALE_WORDS = {"perceived_learning": ("learn", "lern"), "trust": ("trust", "vertrau"),
               "risk_aversion": ("risk", "risik"), "loss_aversion": ("loss", "verlust")}
#: Item name prefixes that abbreviate a scale (pl_1 ... pl_5).
SCALE_PREFIXES = {"perceived_learning": "pl", "trust": "tr", "risk_aversion": "ra",
                  "loss_aversion": "la"}
BINARY = {"0", "1", "true", "false", "yes", "no", "y", "n", "ja", "nein", "j", "wahr",
          "falsch", "x"}


@lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """A name as compared: camel case split, lower case, umlauts spelled out, units in
    brackets dropped, anything but letters and digits a single space."""
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name)).lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.replace(umlaut, spelled)
    name = re.sub(r"[(\[].*?[)\]]", " ", name)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name).split())


@lru_cache(maxsize=8192)
def name_score(source: str, column: str) -> tuple[float, str | None]:
    """How well a source column's name fits a schema column: 3 (its name or a synonym,
    earlier synonyms a little more), 2 (holds all words of one: a CHECK), 1 (a close
    spelling: a CHECK), 0; and the note for the user."""
    name = normalise(source)
    names = (normalise(column), *SYNONYMS.get(column, ()))
    if name in names:
        return 3.0 - names.index(name) / 100, None
    words = set(name.split())
    for n in names:
        if (len(n.split()) > 1 or n == names[0]) and set(n.split()) <= words:
            return 2.0, f"guessed from its name (it holds the words of {n!r})"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.85)
    if close:
        return 1.0, f"guessed from its name (close to {close[0]!r})"
    return 0.0, None


def recode(column: str, seen: list[str]) -> tuple[dict[str, str], list[str]]:
    """The recode of a choice (or 0/1) column's labels to the schema's values (empty when
    the labels are the schema's values already), and the labels it cannot place."""
    schema = set(TABLES_CHOICES.get(column, ()))
    if {s.strip().lower() for s in seen} <= schema:
        return {}, []
    mapping, unknown = {}, []
    for label in seen:
        words_of = CHOICES.get(column, BINARY_LABELS if column in BINARY_COLUMNS else {})
        value = label.strip().lower() if label.strip().lower() in schema else next(
            (v for v, words in words_of.items()
             if normalise(label) in words or normalise(label) == normalise(v)), None)
        if value is None:
            unknown.append(label)
        else:
            mapping[label] = value
    return mapping, unknown


BINARY_COLUMNS = {c.name for t in TABLES.values() for c in t.columns if c.kind == "binary"}
TABLES_CHOICES = {c.name: c.choices or ("0", "1", "true", "false", "yes", "no")
                  for t in TABLES.values() for c in t.columns if c.kind in ("choice", "binary")}
