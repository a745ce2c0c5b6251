"""The contract of the data layer on any study folder (issue 17), as one check.

:func:`check` runs, on one folder:

(a) ``validate_study(folder)``: must not raise;
(b) ``load_study(folder)`` and ``load_study(folder, errors="drop")``: may raise only
    :class:`ipnstats.DataError`;
(c) the CLI ``validate``, ``panel --out`` and ``data-report --out`` through
    ``ipnstats.cli.main`` (on request also ``init`` on a copy without the codebook,
    then ``validate_study`` with the codebook it drafted; and ``python -m ipnstats
    validate`` as a subprocess): exit code 0 or 1, and no "Traceback" printed;
(d) every input row is accounted for: ``rows_read`` of each table equals an independent
    count of the data records in its file (the ``csv`` module, blank lines skipped; the
    sheet's rows up to the last filled one for Excel;
    Parquet, Stata and SPSS metadata), a table whose file has records but that was not
    read has an error that says so, and in a loaded study's ``sample_flow`` the read and
    validation steps of each table chain from ``rows_read`` to the rows of
    ``study.tables[name]``, while every later step starts from that count and does not
    add rows (and the exchange, task and firm-year steps end at the frames' lengths);
(e) the whole check takes less than ``time_limit`` seconds (the campaign also kills a
    case that hangs).

Each broken promise is a :class:`Violation`, with the traceback when one was raised and
``origin``, the innermost ``file:function`` of ipnstats on that traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import ipnstats
from ipnstats.data.schema import FILE_SUFFIXES, TABLES

from .records import csv_rows

KINDS = {
    "validate_raised": "traceback in validate_study",
    "load_raised": "non-DataError from load_study",
    "cli_traceback": "CLI traceback",
    "cli_exit_code": "CLI bad exit code",
    "unaccounted_rows": "unaccounted rows",
    "hang": "hang (over the time limit)",
}
PACKAGE = Path(ipnstats.__file__).resolve().parent
ROOT = PACKAGE.parent
CLI_COMMANDS = ("validate", "panel", "data-report")


@dataclass(frozen=True)
class Violation:
    """One broken promise: its kind (a key of :data:`KINDS`), the call, what happened."""

    kind: str
    call: str
    message: str
    origin: str = ""
    traceback: str = ""

    def short(self) -> str:
        where = f" at {self.origin}" if self.origin else ""
        return f"[{self.kind}] {self.call}{where}: {self.message}"


def check(folder: str | Path, *, loads: tuple[str, ...] = ("raise", "drop"),
          cli: tuple[str, ...] = CLI_COMMANDS, subprocess_cli: bool = False,
          time_limit: float | None = 30.0) -> list[Violation]:
    """Every violation of the contract (module docstring) on ``folder``.

    ``loads``: the ``errors=`` settings ``load_study`` is tried with; ``cli``: the
    commands run in this process (fewer of either make a quicker, partial check);
    ``time_limit``: seconds for the whole check (None: no limit, as in the test suite).
    """
    folder = Path(folder)
    start = time.perf_counter()
    out: list[Violation] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = _call(out, "validate_raised", "validate_study", ipnstats.validate_study, folder)
        if report is not None:
            out += _harness(account_read, folder, report)
        for errors in loads:
            call = f"load_study(errors={errors!r})"
            study = _call(out, "load_raised", call, ipnstats.load_study, folder, errors=errors)
            if study is not None:
                out += _harness(account_flow, study, call)
        with tempfile.TemporaryDirectory(prefix="ipnfuzz-out-") as tmp:
            for command in cli:
                out += check_cli(_argv(command, folder, Path(tmp)))
            if "init" in cli and (Path(tmp) / "exports" / "codebook.toml").exists():
                # the draft codebook it wrote: validating the folder with it must not raise
                _call(out, "validate_raised", "validate_study (after ipnstats init)",
                      ipnstats.validate_study, Path(tmp) / "exports")
    if subprocess_cli:
        out += check_cli_subprocess(["validate", str(folder)], timeout=time_limit)
    elapsed = time.perf_counter() - start
    if time_limit is not None and elapsed > time_limit:
        out.append(Violation("hang", "check", f"took {elapsed:.1f} s (limit {time_limit:g} s)"))
    return out


def _call(out: list[Violation], kind: str, call: str, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ipnstats.DataError:
        if kind == "validate_raised":
            out.append(Violation(kind, call, "raised DataError", *_where()))
        return None
    except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
        out.append(Violation(kind, call, _one_line(exc), *_where()))
        return None


def _harness(func, *args) -> list[Violation]:
    """``func(*args)``; an exception of this harness itself is a ``harness_error``."""
    try:
        return func(*args)
    except Exception as exc:  # noqa: BLE001 - reported apart from the contract's kinds
        return [Violation("harness_error", func.__name__, _one_line(exc), *_where())]


def _where() -> tuple[str, str]:
    """(origin, traceback text) of the exception being handled."""
    exc = sys.exc_info()[1]
    return origin(exc.__traceback__), "".join(traceback.format_exception(exc))


def origin(tb) -> str:
    """``ipnstats/...py:function`` of the innermost frame of ipnstats on ``tb``."""
    found = ""
    for frame, _ in traceback.walk_tb(tb):
        path = Path(frame.f_code.co_filename)
        if PACKAGE in path.parents:
            found = f"{path.relative_to(ROOT)}:{frame.f_code.co_name}"
    return found


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}"


# --- (c) the command line ---------------------------------------------------------

def _argv(command: str, folder: Path, tmp: Path) -> list[str]:
    if command == "init":  # on a copy without the codebook: a folder of exports
        exports = tmp / "exports"
        shutil.copytree(folder, exports, symlinks=True)
        (exports / "codebook.toml").unlink(missing_ok=True)
        return ["init", str(exports)]
    if command == "panel":
        return ["panel", str(folder), "--out", str(tmp / "panel.csv")]
    if command == "data-report":
        return ["data-report", str(folder), "--out", str(tmp / "report")]
    return [command, str(folder)]


def check_cli(argv: list[str]) -> list[Violation]:
    """Run ``ipnstats ARGV`` in this process: exit 0 or 1, no traceback printed."""
    from ipnstats.cli import main

    call = f"ipnstats {argv[0]}"
    buffer = io.StringIO()
    hook = sys.unraisablehook  # (pytest's hook turns what Python prints into warnings)
    try:
        sys.unraisablehook = sys.__unraisablehook__  # prints to the redirected stderr
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # noqa: BLE001 - python would print a traceback here
        return [Violation("cli_traceback", call, _one_line(exc), *_where())]
    finally:
        sys.unraisablehook = hook
    return _judge(call, code, buffer.getvalue())


def check_cli_subprocess(argv: list[str], timeout: float | None = 30.0) -> list[Violation]:
    """Run ``python -m ipnstats ARGV`` (this tree's ipnstats) as its own process."""
    call = f"python -m ipnstats {argv[0]} (subprocess)"
    if (PACKAGE / "__main__.py").exists():
        command = [sys.executable, "-m", "ipnstats", *argv]
    else:  # python -m ipnstats does not work yet: the console script's entry point
        command = [sys.executable, "-c",
                   "import sys; from ipnstats.cli import main; sys.exit(main())", *argv]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT, env=env, errors="replace")
    except subprocess.TimeoutExpired:
        return [Violation("hang", call, f"no answer within {timeout:g} s")]
    return _judge(call, done.returncode, done.stdout + done.stderr)


def _judge(call: str, code, printed: str) -> list[Violation]:
    out = []
    if "Traceback" in printed:
        start = printed.index("Traceback")
        ignored = printed.rfind("Exception ignored in:", 0, start)
        tail = printed[ignored if ignored >= 0 else start:]
        out.append(Violation("cli_traceback", call, _exception_line(tail)[:200],
                             _origin_in_text(tail), tail))
    if code not in (0, 1):
        out.append(Violation("cli_exit_code", call, f"exit code {code!r}",
                             "", printed[-2000:]))
    return out


def _exception_line(text: str) -> str:
    """The ``Error: message`` line that ends the first traceback in ``text``."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("Traceback"))
    return next((line for line in lines[start + 1:] if line and not line[0].isspace()),
                lines[-1])


def _origin_in_text(text: str) -> str:
    """The innermost ipnstats frame of a printed traceback; for an exception Python only
    printed ("Exception ignored in: <function f...>", raised in a callback), that function."""
    found = ""
    if text.startswith("Exception ignored in:"):
        head = text.splitlines()[0]
        name = head.split("<function ", 1)[-1].split(" at ")[0]
        found = f"printed in {name.replace('.<locals>.', '.')}"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('File "') and "/ipnstats/" in line:
            path = line.split('"')[1]
            name = line.rsplit(" in ", 1)[-1]
            found = f"ipnstats/{path.split('/ipnstats/', 1)[1]}:{name}"
    return found


# --- (d) every row accounted for ----------------------------------------------------

def table_files(folder: Path, name: str) -> list[Path]:
    """Files that the study folder holds for table ``name`` by its default name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.stem == name
                  and p.suffix.lower() in FILE_SUFFIXES and p.is_file())


def mappings(folder: Path) -> dict[str, dict]:
    """The ``[tables.<name>]`` sections of the codebook that are tables ({} if none)."""
    try:
        book = tomllib.loads((folder / "codebook.toml").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return {}
    tables = book.get("tables")
    if not isinstance(tables, dict):
        return {}
    return {k: v for k, v in tables.items() if isinstance(v, dict)}


def source_files(folder: Path, name: str, mapping: dict) -> tuple[list[Path], bool]:
    """The files of table ``name`` and whether a ``file`` key chose them."""
    pattern = mapping.get("file")
    if not isinstance(pattern, str) or not pattern.strip():
        return table_files(folder, name), False
    try:
        return sorted(p for p in folder.glob(pattern) if p.is_file()), True
    except (ValueError, NotImplementedError, OSError):
        return [], True


def count_records(path: Path, header_row: int = 1, sheet=None) -> int | None:
    """Data records in a table file, counted without ipnstats; None if it cannot be."""
    try:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            rows = [r for r in csv_rows(path, header_row) if r]
            header = 3 if len(rows) >= 3 and any("ImportId" in f for f in rows[2]) else 1
            return max(len(rows) - header, 0)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if suffix == ".xlsx":
            return _excel_records(path, header_row, sheet)
        if suffix not in (".dta", ".sav"):
            return None
        import pyreadstat

        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        return len(reader(str(path))[0])
    except Exception:  # noqa: BLE001 - a file no reader takes has no countable records
        return None


def _excel_records(path: Path, header_row: int, sheet) -> int | None:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if isinstance(sheet, str):
            if sheet not in book.sheetnames:
                return None
            chosen = book[sheet]
        else:
            chosen = book.worksheets[sheet if isinstance(sheet, int) else 0]
        rows = chosen.iter_rows(min_row=header_row + 1, values_only=True)
        filled = [k for k, row in enumerate(rows, 1) if any(v not in (None, "") for v in row)]
        return filled[-1] if filled else 0  # the sheet's rows, up to its last filled one
    finally:
        book.close()


def _layout(mapping: dict) -> tuple[int, object]:
    """header_row and sheet as the loader takes them (a bad value: the default)."""
    row = mapping.get("header_row", 1)
    if isinstance(row, bool) or not isinstance(row, int) or not 1 <= row <= 1000:
        row = 1
    sheet = mapping.get("sheet")
    if not (isinstance(sheet, str) or (isinstance(sheet, int) and not isinstance(sheet, bool)
                                       and sheet >= 0)):
        sheet = None
    return row, sheet


def account_read(folder: Path, report) -> list[Violation]:
    """(d) for the validation report: rows_read against independent counts."""
    out = []
    errors = report.problems[report.problems["severity"] == "error"]
    maps = mappings(folder)
    for name in TABLES:
        files, mapped = source_files(folder, name, maps.get(name, {}))
        flagged = (errors["table"] == name).any()
        if len(files) > 1 and not mapped and not flagged:
            out.append(Violation("unaccounted_rows", "validate_study",
                                 f"{name}: {len(files)} files and no error", "rows:ambiguous"))
        if not files or (len(files) > 1 and not mapped):
            continue
        row, sheet = _layout(maps.get(name, {}))
        counts = [count_records(f, row, sheet) for f in files]
        n = None if None in counts else sum(counts)
        shown = files[0].name + (f" and {len(files) - 1} more" if len(files) > 1 else "")
        if name in report.rows_read:
            if n is not None and report.rows_read[name] != n:
                out.append(Violation(
                    "unaccounted_rows", "validate_study",
                    f"{shown}: rows_read {report.rows_read[name]} but the file has "
                    f"{n} records", "rows:rows_read!=records"))
        elif n and not flagged:
            out.append(Violation("unaccounted_rows", "validate_study",
                                 f"{shown} has {n} records, not read, and no error",
                                 "rows:unread_without_error"))
    return out


def account_flow(study, call: str) -> list[Violation]:
    """(d) for a loaded study: the sample flow explains every row of every table."""
    out = []
    flow = study.sample_flow
    read = study.validation.rows_read

    def bad(message: str, rule: str) -> None:
        out.append(Violation("unaccounted_rows", call, message, f"flow:{rule}"))

    for name, n_read in read.items():
        if name not in study.tables:
            bad(f"{name}: {n_read} rows read, but the table is not in study.tables", "lost_table")
            continue
        steps = flow[flow["table"] == name]
        cleaning = steps[steps["step"].isin(["read", "validation"])]
        n_final = len(study.tables[name])
        count = n_read
        for step in cleaning.itertuples(index=False):
            if step.rows_in != count or step.rows_out > step.rows_in:
                bad(f"{name}: step {step.step!r} ({step.reason}) goes {step.rows_in} -> "
                    f"{step.rows_out} after {count} rows", "chain")
            count = step.rows_out
        if cleaning.empty or count != n_final:
            bad(f"{name}: the flow ends at {count} rows, study.tables has {n_final}", "final")
        for step in steps[~steps["step"].isin(["read", "validation"])].itertuples(index=False):
            if step.rows_in != n_final or not 0 <= step.rows_out <= step.rows_in:
                bad(f"{name}: step {step.step!r} ({step.reason}) goes {step.rows_in} -> "
                    f"{step.rows_out}; the clean table has {n_final}", "derived")
    frames = {("exchanges", "exchanges"): study.exchanges, ("tasks", "tasks"): study.tasks,
              ("firm_year", "financials"): study.firm_year}
    for (step, table), frame in frames.items():
        rows = flow[(flow["step"] == step) & (flow["table"] == table)]
        if frame is not None and len(rows) == 1 and int(rows["rows_out"].iloc[0]) != len(frame):
            bad(f"{step} step of {table} ends at {int(rows['rows_out'].iloc[0])}, the frame "
                f"has {len(frame)} rows", "frame")
    return out


__all__ = ["KINDS", "Violation", "check", "count_records"]
