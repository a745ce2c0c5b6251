"""The data layer's contract on damaged study folders (issue 17, items 4 and 6).

For any study folder: ``validate_study`` never raises, ``load_study`` raises only
``DataError``, the CLI exits 0 or 1 without a traceback, and every row read is
accounted for (see ``tests/fuzz/contract.py``). Each mutator of ``tests/fuzz/mutate.py``
is tried alone on a small simulated study, then hypothesis tries combinations of them
(derandomized, so that CI sees the same examples every run). ``make fuzz`` runs the
long campaign.
"""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.campaign import make_base
from tests.fuzz.contract import CLI_COMMANDS, check
from tests.fuzz.mutate import MUTATORS, SINGLE, apply


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """One small simulated study (24 firms, 2 groups, 5 years), copied by every test."""
    return make_base(tmp_path_factory.mktemp("fuzz") / "base")


def _damaged(base, tmp_path_factory, names, seed):
    folder = tmp_path_factory.mktemp("case") / "study"
    shutil.copytree(base, folder)
    return folder, apply(folder, names, random.Random(seed))


def _explain(done, violations) -> str:
    lines = ["the contract is broken on a study damaged by:", *[f"  - {d}" for d in done]]
    lines += [f"  {v.short()}" for v in violations]
    first = next((v for v in violations if v.traceback), None)
    if first is not None:
        lines += ["first traceback:", first.traceback]
    return "\n".join(lines)


#: Seeds other than the default for a mutator's own test (none needed: a stray Excel cell
#: at column XFD of the 700-row table, which took 10-25 s to read, is read in well under one).
SEEDS: dict[str, int] = {}


@pytest.mark.parametrize("name", SINGLE)
def test_each_mutator_keeps_the_contract(base, tmp_path_factory, name):
    """(a), (b), (d) and ``ipnstats validate``; the other commands are tried below."""
    seed = SEEDS.get(name, sum(map(ord, name)))
    folder, done = _damaged(base, tmp_path_factory, [name], seed=seed)
    assert len(done) == 1 and done[0].startswith(f"{name}: ")
    violations = check(folder, cli=("validate",), time_limit=None)
    assert not violations, _explain(done, violations)


CLI_CASES = [["header_case", "extreme_values"], ["cb_bad_mapping", "split_file"],
             ["to_xlsx", "header_row_offset"], ["invalid_utf8", "ragged_rows"],
             ["constant_item", "same_initiator", "delete_optional_table"]]


@pytest.mark.parametrize("names", CLI_CASES, ids=["+".join(n) for n in CLI_CASES])
def test_every_command_keeps_the_contract(base, tmp_path_factory, names):
    """validate, panel, data-report and init in this process; the first case also as
    ``python -m ipnstats validate`` in its own process."""
    folder, done = _damaged(base, tmp_path_factory, names, seed=11)
    violations = check(folder, cli=(*CLI_COMMANDS, "init"),
                       subprocess_cli=names == CLI_CASES[0], time_limit=None)
    assert not violations, _explain(done, violations)


def test_init_on_an_excel_table_with_a_repeated_column_keeps_the_contract(
        base, tmp_path_factory):
    """``ipnstats init`` on exports where firms.xlsx has a column twice (campaign seed 4,
    case 123)."""
    names = ["to_xlsx", "same_initiator", "to_dta", "header_duplicate_column"]
    folder, done = _damaged(base, tmp_path_factory, names, "4:123:apply")
    violations = check(folder, loads=(), cli=("init",), time_limit=None)
    assert not violations, _explain(done, violations)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(SINGLE), min_size=1, max_size=4),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_combined_mutations_keep_the_contract(base, tmp_path_factory, names, seed):
    folder, done = _damaged(base, tmp_path_factory, names, seed)
    violations = check(folder, loads=("drop",), cli=("validate",), time_limit=None)
    try:
        assert not violations, _explain(done, violations)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


#: Damage the campaign found to break the contract (mutators, seed of their Random): each
#: stays here as a regression test. (``--replay I --seed S`` shows case I of seed S.)
FOUND = {
    "a date with a UTC offset among plain dates (campaign seed 2, case 17)":
        (["odd_dates", "blank_lines", "header_case"], "2:17:apply"),
    "a codebook with arrays nested 3000 deep (campaign seed 2, case 246)":
        (["excel_sheets", "cb_broken_toml"], "2:246:apply"),
    "thousands = '.' with the default decimal mark (campaign seed 4, case 68)":
        (["duplicate_rows", "header_only", "cb_bad_mapping"], "4:68:apply"),
    "file = '/etc/passwd' in [tables.meetings] (campaign seed 4, case 316)":
        (["cb_bad_mapping"], "4:316:apply"),
}


@pytest.mark.parametrize("names, seed", FOUND.values(), ids=list(FOUND))
def test_what_the_campaign_found_keeps_the_contract(base, tmp_path_factory, names, seed):
    folder, done = _damaged(base, tmp_path_factory, names, seed)
    violations = check(folder, cli=("validate",), time_limit=None)
    assert not violations, _explain(done, violations)


def test_a_parquet_date_column_with_a_time_zone_keeps_the_contract(base, tmp_path_factory):
    """memberships.parquet whose join_date holds time-zone-aware timestamps."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.fuzz.files import _arrow_column
    from tests.fuzz.records import read_records

    folder, _ = _damaged(base, tmp_path_factory, [], seed=0)
    path = folder / "memberships.csv"
    header, *rows = read_records(path)
    arrays = [pa.array([r[k] or None for r in rows], pa.string()) for k in range(len(header))]
    j = header.index("join_date")
    arrays[j] = _arrow_column([r[j] for r in rows], "timestamp_tz")
    pq.write_table(pa.Table.from_arrays(arrays, names=header), path.with_suffix(".parquet"))
    path.unlink()
    violations = check(folder, cli=("validate",), time_limit=None)
    assert not violations, _explain(["memberships.parquet: join_date as timestamp[ns, "
                                     "Europe/Berlin]"], violations)


def test_a_wide_qualtrics_export_keeps_the_contract(base, tmp_path_factory):
    """A Qualtrics export whose header lines are longer than 8 KiB (1,500 questions): its
    two extra header rows are header rows still, not data (campaign seed 3, case 494)."""
    from tests.fuzz.records import read_records, write_records

    folder, _ = _damaged(base, tmp_path_factory, [], seed=0)
    path = folder / "surveys.csv"
    header, *rows = read_records(path)
    write_records(path, [header + [f"x{i}" for i in range(1500)],
                         *[r + ["3"] * 1500 for r in rows]])
    done = [MUTATORS["qualtrics_export"](folder, random.Random(0))]
    violations = check(folder, cli=("validate",), time_limit=None)
    assert not violations, _explain(["surveys.csv: 1500 more columns", *done], violations)


def test_the_mutators_cover_the_issue():
    """Every kind of damage that issue 17 lists has a mutator (and stages order them)."""
    wanted = {"byte_flips", "truncate", "header_delete_column", "header_duplicate_column",
              "header_duplicate_name", "header_rename", "header_reorder", "header_case",
              "empty_column", "extra_columns", "ragged_rows", "huge_cell", "invalid_utf8",
              "encode", "other_delimiter", "dates_day_first", "decimal_commas",
              "extreme_values", "odd_texts", "constant_item", "same_initiator",
              "delete_optional_table", "delete_required_table", "header_only", "zero_bytes",
              "to_parquet", "to_xlsx", "to_dta", "to_sav", "two_files", "symlink_outside",
              "cb_wrong_type", "cb_bad_setting", "cb_item_twice", "cb_scale_clash",
              "cb_unknown_keys", "cb_delete_scale", "cb_broken_toml", "cb_risk_cutoff_7"}
    assert wanted <= set(MUTATORS)
    stages = [MUTATORS[n].stage for n in ("cb_delete", "to_xlsx", "huge_cell",
                                           "other_delimiter", "encode", "byte_flips",
                                           "two_files")]
    assert stages == sorted(stages) and len(set(stages)) == len(stages)


def test_mutators_are_deterministic(base, tmp_path_factory):
    """The same mutators and seed damage a study byte for byte the same way."""
    names = ["to_parquet", "header_case", "extreme_values", "encode", "byte_flips"]
    first, done_1 = _damaged(base, tmp_path_factory, names, seed=7)
    second, done_2 = _damaged(base, tmp_path_factory, names, seed=7)
    assert done_1 == done_2
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_independent_counts_match_the_base_study(base, tmp_path_factory):
    """The counter that (d) trusts agrees with the loader on a clean study, every format."""
    import ipnstats
    from tests.fuzz.contract import count_records, table_files

    folder, _ = _damaged(base, tmp_path_factory,
                         ["to_parquet", "to_xlsx", "to_dta", "to_sav"], seed=3)
    rows = ipnstats.validate_study(folder).rows_read
    counts = {name: count_records(table_files(folder, name)[0]) for name in rows}
    assert counts == dict(rows)
    assert {p.suffix for p in folder.iterdir()} >= {".parquet", ".xlsx", ".dta", ".sav"}


def test_the_check_sees_what_it_must():
    """The contract check itself: a printed traceback, a bad exit code, a broken flow."""
    from types import MappingProxyType, SimpleNamespace

    import pandas as pd

    from tests.fuzz.contract import _judge, account_flow

    found = _judge("ipnstats validate", 2, 'Traceback (most recent call last):\n  File '
                   '"/x/ipnstats/data/validate.py", line 3, in _parse\nKeyError: 1')
    assert [v.kind for v in found] == ["cli_traceback", "cli_exit_code"]
    assert found[0].origin == "ipnstats/data/validate.py:_parse"
    flow = pd.DataFrame([("read", "firms", "rows read", 10, 10),
                         ("validation", "firms", "broke rule x", 9, 8)],
                        columns=["step", "table", "reason", "rows_in", "rows_out"])
    study = SimpleNamespace(sample_flow=flow, tables={"firms": pd.DataFrame({"a": range(7)})},
                            validation=SimpleNamespace(rows_read=MappingProxyType({"firms": 10})),
                            exchanges=None, tasks=None, firm_year=pd.DataFrame())
    rules = sorted(v.origin for v in account_flow(study, "load_study"))
    assert rules == ["flow:chain", "flow:final"]
