"""A configuration cannot write outside its project or exhaust the machine: output folders,
bounded counts, typed lists, bounded formulas, the power configuration (issue 17)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from ipnstats.cli import main
from ipnstats.pipeline import ConfigError, ExpressionError, check_formula, load_config
from ipnstats.pipeline.config import BOUNDS
from ipnstats.pipeline.power import PowerConfigError, load_power_config

STUDY_HEAD = '[study]\nfolder = "../data"\n'


def config(tmp_path: Path, body: str, head: str = STUDY_HEAD) -> Path:
    """``project/analyses/study.toml`` holding ``head`` + ``body``."""
    folder = tmp_path / "project" / "analyses"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.toml"
    path.write_text(head + body, encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message  # every problem names the file
    return message


def cli_refuses(argv: list[str], capsys, *parts: str) -> str:
    """The command exits 1 with a message holding ``parts`` and no traceback."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)
    return err


# -- [output] dir -------------------------------------------------------------------------

@pytest.mark.parametrize("folder, rule", [
    ("/etc", "a root, home or system folder"),
    ("/", "a root, home or system folder"),
    ("../..", "outside the configuration's folder"),
    ("../../elsewhere", "outside the configuration's folder"),
])
def test_output_outside_the_project_is_refused(tmp_path, capsys, folder, rule):
    path = config(tmp_path, f'[output]\ndir = "{folder}"\n')
    message = problems(path)
    assert f"[output] dir = '{folder}'" in message and rule in message and "--out" in message
    cli_refuses(["run", str(path)], capsys, "[output] dir", rule)


def test_output_through_a_symlink_that_escapes_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    path = config(tmp_path, '[output]\ndir = "escape/reports"\n')
    (path.parent / "escape").symlink_to(outside, target_is_directory=True)
    message = problems(path)
    assert f"resolves to {(outside / 'reports').resolve()}" in message


def test_a_home_folder_is_never_the_parent_that_makes_output_allowed(tmp_path, monkeypatch):
    """With the configuration directly in a home folder, ../anything is another home."""
    monkeypatch.setenv("HOME", str(tmp_path / "project"))
    path = config(tmp_path, '[output]\ndir = "../reports"\n')
    assert "outside the configuration's folder" in problems(path)
    path.write_text(STUDY_HEAD + '[output]\ndir = ".."\n')
    assert "a root, home or system folder" in problems(path)


@pytest.mark.parametrize("out, allowed", [
    ("/etc/ipn/reports", False), ("/usr/share/ipn/reports", False), ("/etc/ipn", False),
    ("/usr/local/ipn/reports", True), ("/srv/ipn/reports", True), ("/var/ci/ipn/reports", True)])
def test_nothing_is_written_inside_the_system_folders(out, allowed):
    """Even a configuration kept in /etc/ipn may not write there (checked without files)."""
    from ipnstats.pipeline.config import check_output

    out = Path(out)
    base = out if out.name == "ipn" else out.parent
    found: list[str] = []
    check_output("reports", out, base, base / "study.toml", found)
    assert found == [] if allowed else "a root, home or system folder" in found[0]


@pytest.mark.parametrize("folder, expected", [
    ("reports", "project/analyses/reports"), ("../reports", "project/reports"),
    ("out/../deep/x", "project/analyses/deep/x")])
def test_output_inside_the_project_is_allowed(tmp_path, folder, expected):
    cfg = load_config(config(tmp_path, f'[output]\ndir = "{folder}"\n'))
    assert cfg.out == (tmp_path / expected).resolve()


def test_the_shipped_configuration_writes_to_the_repository_reports():
    assert load_config(ROOT / "analyses" / "ipn_study.toml").out == (ROOT / "reports").resolve()
    power = load_power_config(ROOT / "analyses" / "power_h1.toml")
    assert power.out == (ROOT / "reports" / "power").resolve()


def test_out_on_the_command_line_may_be_anywhere(tmp_path, capsys):
    path = config(tmp_path, '[output]\ndir = "/etc"\n')
    elsewhere = tmp_path / "elsewhere"
    assert load_config(path, out=elsewhere).out == elsewhere.resolve()
    split = tmp_path / "split"
    assert main(["run", str(path), "--out", str(elsewhere), "--split-config", str(split)]) == 0
    assert (split / "h1.json").exists()
    # report reads the results under --out (none yet): the message names that folder
    cli_refuses(["report", str(path), "--out", str(elsewhere)], capsys,
                str(elsewhere.resolve() / "results"))


# -- counts: types and bounds -------------------------------------------------------------

@pytest.mark.parametrize("section, key", sorted(BOUNDS))
def test_every_count_has_a_lower_and_an_upper_bound(tmp_path, section, key):
    low, high = BOUNDS[section, key]
    for value in (low - 1, high + 1) if high < 2**63 - 1 else (low - 1,):
        message = problems(config(tmp_path, f"[{section}]\n{key} = {value}\n"))
        assert f"[{section}] {key} = {value:,} must be from {low:,} to {high:,}" in message
    assert load_config(config(tmp_path, f"[{section}]\n{key} = {high}\n"))[section][key] == high


@pytest.mark.parametrize("section, key", [("run", "n_boot"), ("H2", "process_draws"),
                                          ("H1", "mediation_draws"),
                                          ("robustness", "wild_draws")])
def test_a_float_count_is_a_type_error_naming_the_key(tmp_path, capsys, section, key):
    path = config(tmp_path, f"[{section}]\n{key} = 1e9\n")
    message = problems(path)
    assert f"[{section}] {key} = 1000000000.0 must be int" in message
    assert "TOML reads 1e9" in message
    cli_refuses(["run", str(path)], capsys, f"[{section}] {key}")


def test_negative_seed_and_draws_are_refused(tmp_path, capsys):
    path = config(tmp_path, "[run]\nseed = -1\n[H1]\nmediation_draws = -5\n")
    message = problems(path)
    assert "2 problem(s)" in message
    assert "[run] seed = -1 must be from 0" in message
    assert "[H1] mediation_draws = -5 must be from 2 to 100,000" in message


# -- lists --------------------------------------------------------------------------------

@pytest.mark.parametrize("body, part", [
    ('[run]\nhypotheses = [["H1"]]\n', "[run] hypotheses[0] = ['H1'] must be a string"),
    ('[H1]\noutcomes = ["log_revenue", 3]\n', "[H1] outcomes[1] = 3 must be a string"),
    ('[H1]\ncovariates = [{a = 1}]\n', "[H1] covariates[0] = {'a': 1} must be a string"),
    ('[robustness]\nestimators = [["twfe"]]\n', "[robustness] estimators[0]"),
    ('[robustness]\nsamples = [1.5]\n', "[robustness] samples[0] = 1.5 must be a string"),
    ('[robustness]\nclusters = [true]\n', "[robustness] clusters[0] = True must be a string"),
    ('[robustness]\ncovariate_sets = { a = "age" }\n',
     "[robustness] covariate_sets.a = 'age' must be a list of column names"),
    ('[robustness]\ncovariate_sets = { a = [["age"]] }\n',
     "[robustness] covariate_sets.a[0] = ['age'] must be a string"),
    ('authors = [["A"]]\n', "[study] authors[0]"),  # inside [study]
    ('[run]\nhypotheses = ["H1", "H1"]\n', "[run] hypotheses lists 'H1' more than once"),
    ('[H1]\noutcomes = [' + ", ".join(f'"y{i}"' for i in range(51)) + "]\n",
     "[H1] outcomes lists 51 items; at most 50"),
])
def test_every_list_element_is_type_checked(tmp_path, capsys, body, part):
    path = config(tmp_path, body)
    assert part in problems(path)
    cli_refuses(["run", str(path)], capsys, part)


def test_models_must_be_tables(tmp_path):
    path = config(tmp_path, "", head="models = 3\n" + STUDY_HEAD)
    assert "models must be [[models]] tables; got 3" in problems(path)
    many = "".join(f'[[models]]\nformula = "y ~ x{i}"\n' for i in range(51))
    assert "51 [[models]]; at most 50" in problems(config(tmp_path, many))


# -- formulas -----------------------------------------------------------------------------

@pytest.mark.parametrize("formula, rule, position", [
    ("y ~ member ** 999999999", "the power of a term or group", 15),
    ("y ~ (a + b + c + d + e) ** 40", "the power of a term or group", 28),
    ("y ~ x ** 2.5", "whole number from 1 to 3", 10),
    ("y ~ I(9 ** 99999999)", "an exponent may be at most 10", 12),
    ("y ~ I(((9 ** 10) ** 10) ** 10)", "more than 300 digits", 25),
    ("y ~ " + "(" * 250 + "x" + ")" * 250, "nested at most 20 deep", 25),
    ("y ~ " + "log(" * 30 + "x" + ")" * 30, "nested at most 20 deep", 88),
    ("y ~ a*b*c*d*e*f*g*h", "expands to more than 200 terms", 18),
    ("y ~ (" + " + ".join(f"x{i}" for i in range(15)) + ") ** 3", "more than 200 terms", 0),
    ("y ~ x + 1e400", "a number may be at most 1e15", 9),
    ("y ~ " + " + ".join(["x"] * 700), "at most 2000 characters", 2001),
])
def test_formulas_that_would_exhaust_the_machine_are_refused(formula, rule, position):
    with pytest.raises(ExpressionError) as err:
        check_formula(formula, where="cfg")
    message = str(err.value)
    assert rule in message
    if position:
        assert f"position {position}" in message


@pytest.mark.parametrize("formula", [
    "y ~ (a + b + c) ** 3", "y ~ member ** 2", "y ~ I(age ** 10) + I(age ** 0.5)",
    "y ~ I((9 ** 10) ** 10) + x", "y ~ (" + " + ".join(f"x{i}" for i in range(10)) + ") ** 3",
    "y ~ a*b*c*d*e*f*g", "y ~ " + "(" * 20 + "x" + ")" * 20, "y ~ x + 1e15 - 1"])
def test_formulas_within_the_bounds_pass(formula):
    assert check_formula(formula)[0] == "y"


def test_a_bounded_formula_in_a_configuration_names_file_key_and_position(tmp_path, capsys):
    path = config(tmp_path, '[[models]]\nformula = "log_revenue ~ member ** 999999999"\n')
    message = problems(path)
    assert "[[models]] #1 formula" in message and "position 25" in message
    deep = "(" * 250 + "x" + ")" * 250
    path.write_text(STUDY_HEAD + f'[H1]\ncovariates = ["{deep}"]\n')
    assert "[H1] covariates: parentheses and function calls may be nested" in problems(path)
    cli_refuses(["run", str(path)], capsys, "nested at most 20 deep")


# -- the configuration file itself ----------------------------------------------------------

def test_unreadable_configuration_files_are_messages(tmp_path, capsys):
    folder = tmp_path / "cfg.toml"
    folder.mkdir()
    cli_refuses(["run", str(folder)], capsys, "is a folder or a device")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(STUDY_HEAD.encode() + b'[study]\ntitle = "\xe9"\n')
    cli_refuses(["run", str(latin)], capsys, "not UTF-8")
    big = tmp_path / "big.toml"
    big.write_text(STUDY_HEAD + "# " + "x" * (1 << 20) + "\n")
    cli_refuses(["run", str(big)], capsys, "at most 1,048,576 bytes")


# -- the power configuration ------------------------------------------------------------------

POWER = """
[design]
hypothesis = "two_group"
n_per_group = 20

[power]
effect_sizes = [0.0, 0.5]
reps = 10
seed = 1

[run]
n_jobs = 1
progress = "never"

[output]
dir = "out"
"""


def power_config(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "project" / "analyses"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "power.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("old, new, part", [
    ("reps = 10", "reps = 1e9", "[power] reps must be int; got 1000000000.0"),
    ("reps = 10", "reps = 100001", "[power] reps = 100001 must be a whole number from 2 to"),
    ("seed = 1", "seed = -1", "[power] seed = -1 must be a whole number from 0"),
    ("n_jobs = 1", "n_jobs = 0", "[run] n_jobs = 0 must be a whole number from 1 to 64"),
    ("n_jobs = 1", "n_jobs = 1000", "[run] n_jobs = 1000"),
    ("[0.0, 0.5]", "[0.0, nan]", "effect_sizes must be 1 to 50 distinct finite numbers"),
    ("[0.0, 0.5]", "[0.0, 1e300]", "effect_sizes must be 1 to 50 distinct finite numbers"),
    ("[0.0, 0.5]", "[" + ", ".join(str(i) for i in range(51)) + "]", "1 to 50 distinct"),
    ("reps = 10", "reps = 100000\n", None),  # 2 x 100,000 replicates: allowed
    ("n_per_group = 20", "n_per_group = 100000000", "[design] n_per_group = 100000000"),
    ("n_per_group = 20", "n_per_group = -3", "[design] n_per_group = -3"),
    ("n_per_group = 20", "n_per_group = true", "[design] n_per_group must be int"),
    ("n_per_group = 20", "sd = -1.0", "[design] sd = -1.0 must be >= 0"),
    ("n_per_group = 20", "sd = inf", "[design] sd = inf must be a finite number"),
    ('dir = "out"', 'dir = "/etc"', "[output] dir = '/etc' resolves to /etc"),
    ('dir = "out"', 'dir = "../../x"', "outside the configuration's folder"),
])
def test_power_configuration_bounds(tmp_path, capsys, old, new, part):
    path = power_config(tmp_path, POWER.replace(old, new))
    if part is None:
        assert load_power_config(path).power["reps"] == 100000
        return
    with pytest.raises(PowerConfigError) as err:
        load_power_config(path)
    assert isinstance(err.value, ConfigError)
    assert str(path) in str(err.value) and part in str(err.value)
    cli_refuses(["power", str(path)], capsys, part)


@pytest.mark.parametrize("text, part", [
    ('[design]\nhypothesis = "h1"\nn_firms = 10000000\n', "[design] n_firms = 10000000"),
    ('[design]\nhypothesis = "h1"\nn_years = 1000\n', "[design] n_years = 1000"),
    ('[design]\nhypothesis = "h1"\nrho = 2.0\n', "[design] rho = 2.0 must be between -1 and 1"),
    ('[design]\nhypothesis = "h1"\ncohorts = [2015, "x"]\n', "[design] cohorts must be a list"),
    ('[design]\nhypothesis = "h2"\nn_receivers = 100000\nexchanges_per_receiver = 1000\n',
     "one replicate would simulate 100,000,000 rows"),
    ('[design]\nhypothesis = "h2"\nframing_shares = [1.5, -0.5, 0.0]\n',
     "framing_shares = 1.5 must be at most 1"),
    ('[design]\nhypothesis = "h3"\nparameter = "learning_curve"\ntasks_per_firm = [12, 3]\n',
     "tasks_per_firm must be [fewest, most]"),
])
def test_power_design_sizes_are_bounded(tmp_path, text, part):
    path = power_config(tmp_path, text + "[power]\neffect_sizes = [0.0]\nreps = 10\n")
    with pytest.raises(PowerConfigError, match=re.escape(part)):
        load_power_config(path)


@pytest.mark.parametrize("flag, value, part", [
    ("--reps", "100000000", "reps (from the file or the command line) = 100000000"),
    ("--n-jobs", "0", "n_jobs (from the file or the command line) = 0"),
])
def test_power_command_line_overrides_are_bounded_too(tmp_path, capsys, flag, value, part):
    path = power_config(tmp_path, POWER)
    cli_refuses(["power", str(path), flag, value], capsys, part)
    assert not (path.parent / "out").exists()


def test_power_out_on_the_command_line_overrides_a_refused_dir(tmp_path, capsys):
    path = power_config(tmp_path, POWER.replace('dir = "out"', 'dir = "/etc"').replace(
        "reps = 10", "reps = 4"))
    out = tmp_path / "anywhere"
    assert load_power_config(path, out=out).out == out.resolve()
    assert main(["power", str(path), "--out", str(out)]) == 0
    assert (out / "power.csv").exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exp overflows: fine
def test_the_largest_formulas_the_grammar_allows_are_cheap_to_build():
    """The bounds sit well below what would hurt: formulaic builds them at once."""
    import numpy as np
    import pandas as pd

    from ipnstats.core.formula import build_design

    names = [f"x{i}" for i in range(10)]
    data = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 11)), columns=["y", *names])
    widest = "y ~ (" + " + ".join(names) + ") ** 3"
    assert check_formula(widest)
    assert build_design(data, widest).X.shape == (50, 176)  # 10 + 45 + 120 terms + intercept
    deepest = "y ~ I(x0 ** 10) + " + "exp(" * 19 + "x1" + ")" * 19
    assert check_formula(deepest)
    assert build_design(data, deepest).X.shape[1] == 3


@pytest.mark.parametrize("body, part", [
    ('cluster_type = "cr3"\n', "cluster_type = 'cr3' must be one of 'cr1', 'cr2'"),
    ('weights_type = "pweights"\n', "weights_type = 'pweights' must be one of"),
    ('re_method = "gls"\n', "re_method = 'gls' must be one of 'stata', 'swar'"),
    ('weights = 3\n', "weights = 3 must be a string"),
])
def test_model_options_are_checked(tmp_path, body, part):
    path = config(tmp_path, '[[models]]\nformula = "y ~ x"\n' + body)
    assert part in problems(path)
