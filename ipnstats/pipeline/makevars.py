"""What ``make`` needs to know of a study configuration, written for the Makefile.

``make report CONFIG=path`` runs ``ipnstats run CONFIG --split-config BUILD``, which writes
to ``BUILD`` (see :func:`write_make_files`):

- ``study.mk``, included by the Makefile: the output folder (``OUT``), the stages the
  configuration runs (``STAGES``), what each stage reads (``IN_<stage>``) and what to watch
  for a new ``study.mk`` (``WATCH``: the configuration's study folder, the folders of its
  input files, the codebook);
- each stage's settings (``<stage>.json``, :func:`ipnstats.pipeline.runner.split_config`);
- for a study folder, each stage's input files (``<stage>.inputs``, one path a line).

Each file but ``study.mk`` is rewritten only when its text changes, so that ``make``
redoes only what an edit touches: a stage's results depend on its settings, its
``.inputs`` list (a file added or removed) and the input files themselves.

A database has no file times: for one, ``<stage>.inputs`` holds the digests of the
stage's tables (:func:`ipnstats.pipeline.runner.inputs_of`) and the Makefile rewrites
them, through ``ipnstats run CONFIG --split-inputs BUILD`` (:func:`split_inputs`, which
also rewrites ``digests.mk`` when one changed), on every ``make``; a stage whose tables did
not change is not redone.

Make cannot handle a path with a space (nor ``# $ % : ; = * ? [ ] ( ) |``, quotes or
backslashes): such a path is refused with a message saying what to do instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ipnstats.core.errors import ConfigError
from ipnstats.data.sources import input_files, is_url, redact
from ipnstats.pipeline.config import StudyConfig
from ipnstats.pipeline.runner import inputs_of, split_config
from ipnstats.pipeline.stages import active
from ipnstats.pipeline.store import write_if_changed

#: The include file of the Makefile, under the build folder.
INCLUDE = "study.mk"
#: The include file rewritten when a database's digests change.
DIGESTS = "digests.mk"
# what make reads in a path as a name and nothing else (letters of any script included)
_SAFE = re.compile(r"[\w./+@,~-]+")


def make_path(path: Path, cwd: Path | None = None) -> str:
    """``path`` as make should see it: relative to ``cwd`` (the folder make runs in) when
    inside it, else absolute; :class:`ConfigError` when make cannot handle it.

    Examples
    --------
    >>> make_path(Path("/srv/study/data/firms.csv"), Path("/srv/study"))
    'data/firms.csv'
    >>> make_path(Path("/srv/my study/firms.csv"), Path("/srv"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ipnstats.core.errors.ConfigError: make cannot handle the path 'my study/firms.csv' ...
    """
    cwd = (cwd or Path.cwd()).resolve()
    path = Path(path).absolute()
    text = path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else path.as_posix()
    if not _SAFE.fullmatch(text) or text.startswith(("-", "~")):
        bad = sorted({c for c in text if not _SAFE.fullmatch(c)}) or [text[0]]
        raise ConfigError(
            f"make cannot handle the path {text!r} (it contains {' '.join(map(repr, bad))}): "
            "rename or move it, or run the study without make: ipnstats run CONFIG, then "
            "ipnstats report CONFIG")
    return text


def _abspath(path: Path) -> str:
    """``path`` as make's ``$(abspath ...)`` and ``$(CURDIR)`` give it (no symlinks
    resolved, ``..`` removed)."""
    return Path(os.path.abspath(path)).as_posix()


def make_include(cfg: StudyConfig, cwd: Path | None = None) -> str:
    """The text of ``study.mk`` for ``cfg`` (paths as :func:`make_path` writes them)."""
    stages = active(cfg)
    source = "database" if is_url(cfg.folder) else "folder"
    where = redact(str(cfg.folder)) if source == "database" else make_path(cfg.folder, cwd)
    lines = [f"# Written by `ipnstats run {make_path(cfg.path, cwd)} --split-config`: "
             "do not edit (see ipnstats/pipeline/makevars.py).",
             f"# The study: {source} {' '.join(where.split()).rstrip(chr(92))}",
             f"SOURCE := {source}",
             # where and for what it was written: a build folder copied with a project (or
             # a configuration moved) no longer matches, and the Makefile rewrites it
             f"MADE_FOR := {_abspath(Path.cwd() if cwd is None else cwd)}"
             f"|{_abspath(cfg.path)}",
             f"OUT := {make_path(cfg.out, cwd)}",
             f"STAGES := {' '.join(s.name for s in stages)}",
             f"WATCH := {' '.join(make_path(p, cwd) for p in _watched(cfg))}"]
    codebook = [make_path(cfg.codebook, cwd)] if source == "database" else []
    for st in stages:
        files = codebook if source == "database" else [
            make_path(p, cwd) for p in _stage_files(cfg, st.inputs)]
        lines.append(f"IN_{st.name} := $(BUILD)/{st.name}.inputs {' '.join(files)}".rstrip())
    return "\n".join(lines) + "\n"


def write_make_files(cfg: StudyConfig, build: str | Path, cwd: Path | None = None) -> list[Path]:
    """Write ``study.mk``, each stage's settings and (for a study folder) each stage's input
    list to ``build``; returns the files written (``study.mk`` always, so that its time
    tells make it is new; the others only when their text changed)."""
    build = Path(build)
    text = make_include(cfg, cwd)  # first: a path make cannot handle writes nothing
    written = split_config(cfg, build)
    if not is_url(cfg.folder):
        for st in active(cfg):
            listing = "".join(f"{p.absolute().as_posix()}\n"
                              for p in _stage_files(cfg, st.inputs))
            if write_if_changed(build / f"{st.name}.inputs", listing):
                written.append(build / f"{st.name}.inputs")
    (build / INCLUDE).write_text(text, encoding="utf-8")
    return [*written, build / INCLUDE]


def split_inputs(cfg: StudyConfig, build: str | Path) -> list[Path]:
    """Write each stage's input digests (a database: its tables, read once) to
    ``build/<stage>.inputs``, only when they changed, and then ``build/digests.mk`` (which
    the Makefile includes, so that a new time on it makes make read the new digests);
    returns the files written."""
    build, cache, written = Path(build), {}, []
    for st in active(cfg):
        text = json.dumps(inputs_of(cfg, st.inputs, cache), sort_keys=True, indent=1) + "\n"
        if write_if_changed(build / f"{st.name}.inputs", text):
            written.append(build / f"{st.name}.inputs")
    if written or not (build / DIGESTS).exists():
        (build / DIGESTS).write_text("# Written by `ipnstats run CONFIG --split-inputs` when "
                                     "a stage's tables changed: do not edit.\n")
        written.append(build / DIGESTS)
    return written


def _stage_files(cfg: StudyConfig, tables: tuple[str, ...] | None) -> list[Path]:
    return input_files(Path(cfg.folder), cfg.codebook, tables)


def _watched(cfg: StudyConfig) -> list[Path]:
    """What ``study.mk`` is rewritten after: the study folder (or, while it is missing, its
    nearest existing parent), the folders of its input files, the codebook."""
    if is_url(cfg.folder):
        return [cfg.codebook] if cfg.codebook.is_file() else []
    folder = Path(cfg.folder)
    codebook = cfg.codebook or folder / "codebook.toml"
    paths = [codebook] if codebook.is_file() else []
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    parents = {p.parent for p in _stage_files(cfg, None)} - {folder}
    return [folder, *sorted(parents), *paths]


__all__ = ["DIGESTS", "INCLUDE", "make_include", "make_path", "split_inputs", "write_make_files"]
