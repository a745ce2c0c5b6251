"""Fuzzing the study-folder contract (issue 17): mutators, the contract check, a campaign.

- :mod:`tests.fuzz.records`: a table file (any format) as records, read and written back
  in its own format;
- :mod:`tests.fuzz.mutate`: mutators of a study folder, pure functions of
  ``(folder, random.Random)`` that return what they did;
- :mod:`tests.fuzz.contract`: ``check(folder) -> list[Violation]``;
- :mod:`tests.fuzz.campaign`: ``python -m tests.fuzz.campaign --n 5000`` (``make fuzz``).
"""
