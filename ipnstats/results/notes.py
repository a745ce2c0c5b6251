"""Notes with stable codes on results: ``has_note(code)`` and ``note_codes``.

:class:`Note` (a ``str`` with a ``.code``) and the registry :data:`NOTE_CODES` are
defined in :mod:`ipnstats.core.notes` and importable from here. Code tests a note's
code, never its text:

>>> from ipnstats.results.notes import Note, note_codes
>>> note_codes([Note("few_clusters", "Only 12 clusters ..."), "a plain note"])
('few_clusters', 'other')
"""

from __future__ import annotations

from ipnstats.core.notes import NOTE_CODES, Note, check_code, code_of, note_codes, prefixed

__all__ = ["NOTE_CODES", "HasNotes", "Note", "check_code", "code_of", "note_codes", "prefixed"]


class HasNotes:
    """``note_codes`` and ``has_note`` for results whose notes are ``warnings`` (fit and
    inference notes) or ``notes``."""

    __slots__ = ()

    def _all_notes(self) -> tuple[str, ...]:
        notes = getattr(self, "warnings", None)
        if notes is None or callable(notes):
            notes = getattr(self, "notes", ())
        return tuple(notes)

    @property
    def note_codes(self) -> tuple[str, ...]:
        """The codes of every note, in order (see :data:`NOTE_CODES`)."""
        return note_codes(self._all_notes())

    def has_note(self, code: str) -> bool:
        """Whether a note with ``code`` is present; an unknown code is an error (so a
        misspelt code never reads as "absent")."""
        return check_code(code) in self.note_codes
