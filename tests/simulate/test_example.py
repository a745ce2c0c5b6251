"""The bundled example study: valid, fully accounted for, reproducible from its seed."""

from __future__ import annotations

import csv
import tomllib

import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats.cli import main

EXAMPLE_SEED = 20190135


@pytest.fixture(scope="module")
def study():
    return ipnstats.load_study(EXAMPLE)


def _data_rows(path) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for row in csv.reader(f) if row) - 1


def test_validate_exits_0():
    assert main(["validate", str(EXAMPLE)]) == 0


def test_every_input_row_is_accounted_for(study):
    flow = study.sample_flow
    for table, path in ((t, EXAMPLE / f"{t}.csv") for t in study.tables):
        chain = flow[flow["table"] == table]
        read = chain[chain["step"] == "read"].iloc[0]
        assert read["rows_in"] == _data_rows(path), table
        # each step either keeps rows or says why it lost them: rows in = rows out + lost
        for step in chain.itertuples():
            assert 0 <= step.rows_out <= step.rows_in
        steps = chain[chain["step"].isin(["read", "validation"])]
        kept = steps["rows_out"].iloc[-1]
        lost = (steps["rows_in"] - steps["rows_out"]).sum()
        assert kept + lost == read["rows_in"]
        assert kept == len(study.tables[table])
    built = flow.set_index(["step", "table"])
    assert built.loc[("firm_year", "financials"), "rows_out"] == len(study.firm_year)
    assert built.loc[("exchanges", "exchanges"), "rows_out"] == len(study.exchanges)
    assert built.loc[("tasks", "tasks"), "rows_out"] == len(study.tasks)
    used = built.loc[("firm_year", "surveys")]
    matched = study.firm_year["perceived_learning"].notna().sum()
    assert used["rows_out"] >= matched  # several waves of one year average into one row


def test_example_is_the_simulator_output_byte_for_byte(tmp_path):
    out = ipnstats.simulate_study(tmp_path / "example", seed=EXAMPLE_SEED)
    names = sorted(p.name for p in EXAMPLE.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_example_has_truth_for_every_hypothesis():
    truth = tomllib.loads((EXAMPLE / "truth.toml").read_text())
    for h in ("H1a", "H1b", "H1c", "H1d", "H1e", "H1f", "H2a", "H2b", "H2c", "H2d", "H3a",
              "H3b", "H3c"):
        assert h in truth, h


def test_example_is_small_enough_for_git():
    assert sum(p.stat().st_size for p in EXAMPLE.iterdir()) < 25 * 2**20


def test_example_frames(study):
    fy = study.firm_year
    assert fy.groupby("firm_id", observed=True)["ever_member"].first().between(0, 1).all()
    share_never = 1 - fy.groupby("firm_id", observed=True)["ever_member"].first().mean()
    assert 0.25 < share_never < 0.5
    assert set(fy["stage"].dropna().unique()) == {"novice", "developing", "expert"}
    assert (fy.loc[fy["member"] == 1, "stage"].notna()).all()
    assert study.reliability["alpha"].between(0.6, 0.95).all()
    assert study.exchanges["sender_risk_averse"].isin([0, 1]).all()
    assert study.tasks["cum_experience"].min() == 1
