"""Declared claims ([[claims]]) and the names check that runs before anything is fitted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT

from ipnstats.cli import main
from ipnstats.pipeline import ConfigError, load_config
from ipnstats.pipeline.claims_config import DEFAULT_CLAIMS, primary_outcome
from ipnstats.pipeline.stages import STAGES

CONFIG = ROOT / "analyses" / "ipn_study.toml"

def config_text(study: Path, out: Path, base: str | None = None) -> str:
    """The shipped configuration (or ``base``) pointed at ``study``, writing to ``out``."""
    text = base if base is not None else CONFIG.read_text()
    text = text.replace('folder = "../data/example"', f'folder = "{study.as_posix()}"')
    return text.replace('dir = "../reports"', f'dir = "{out.as_posix()}"')


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def without_claims(text: str) -> str:
    return text[:text.index("[[claims]]")]


# -- declarations -----------------------------------------------------------------------

def test_shipped_configuration_declares_the_package_defaults(tmp_path):
    shipped = load_config(CONFIG)
    assert [dict(c) for c in shipped.claims] == [dict(c) for c in DEFAULT_CLAIMS]
    bare = load_config(write(tmp_path, without_claims(CONFIG.read_text())))
    assert bare.claims == DEFAULT_CLAIMS  # an old configuration keeps working
    assert primary_outcome(shipped.claims) == "log_revenue"


def test_stage_of_every_analysis_is_a_stage():
    names = {s.name for s in STAGES}
    from ipnstats.pipeline.claims_config import stage_of
    assert {stage_of(c) for c in DEFAULT_CLAIMS} <= names


BAD_CLAIMS = """
[[models]]
name = "ROA"
formula = "roa ~ member"

[[claims]]
id = "H4"
family = "H4"
text = "x"
analysis = "regression"

[[claims]]
id = "H5"
family = "H4"
text = "x"
analysis = "participation"
outcome = "roa"
term = "ols"
direction = "up"

[[claims]]
id = "H6"
family = "H4"
text = "x"
analysis = "ROA"
outcome = "log_revenue"
term = "member"
sesoi = -1

[[claims]]
family = "H4"
text = "x"
analysis = "stages"
colour = "red"
"""


def test_every_problem_of_the_claims_is_reported_at_once(tmp_path):
    text = without_claims(config_text(EXAMPLE, tmp_path / "out")) + BAD_CLAIMS
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    for expected in ("analysis = 'regression' is neither a study analysis",
                     "term = 'ols'; the participation analysis tests 'twfe', 'cs'",
                     "direction = 'up' must be one of greater, less, two-sided",
                     "outcome = 'log_revenue', but [[models]] 'ROA' models 'roa'",
                     "sesoi = -1.0 must be a positive number",
                     "[[claims]] #4: unknown key 'colour'", "[[claims]] #4: id is required"):
        assert expected in message, expected
    assert "study.toml: [[claims]] #2 (H5)" in message  # the file, the key


def test_a_changed_claim_refits_only_the_stage_that_reads_it(tmp_path):
    text = config_text(EXAMPLE, tmp_path / "out")
    before = load_config(write(tmp_path, text))
    reworded = text.replace('text = "Receivers\' loss aversion amplifies loss framing"',
                            'text = "Loss aversion amplifies loss framing"')
    after = load_config(write(tmp_path, reworded))
    changed = {s.name for s in STAGES if before.digest(*s.sections) != after.digest(*s.sections)}
    assert changed == {"h2"}
    moved = load_config(write(tmp_path, text.replace(
        'outcome = "log_revenue"\nterm = "cs"', 'outcome = "profit_margin"\nterm = "cs"')))
    changed = {s.name for s in STAGES if before.digest(*s.sections) != moved.digest(*s.sections)}
    # H1a's outcome is the primary outcome of robustness and of the network's peer effects
    assert changed == {"h1", "robustness", "network"}


# -- names are checked before anything is fitted -------------------------------------------

@pytest.fixture
def no_reload(monkeypatch, study):
    """The runner gets the session's example study instead of reading it again."""
    import ipnstats.pipeline.runner as runner

    monkeypatch.setattr(runner, "load_study", lambda *args, **kwargs: study)


TYPOS = [
    (('outcomes = ["log_revenue", "profit_margin", "employment_growth"]',
      'outcomes = ["log_revenu", "profit_margin", "employment_growth"]'),
     "[H1] outcomes[0] = 'log_revenu' is not a column of the firm-year panel; did you mean "
     "'log_revenue'?"),
    (('covariates = ["age", "log_employees"]\nmediation_draws',
      'covariates = ["age", "size"]\nmediation_draws'),
     "[H1] covariates[1] = 'size' is not a column of the firm-year panel (nothing close; "
     "its names: age, attendance_rate, benchmark_rank_pct, "),
    (('formula = "log_revenue ~ member + log_employees"',
      'formula = "log_revenue ~ member + log_employes"'),
     "[[models]] #1 (Size-adjusted) formula = 'log_employes' is not a column of the firm-year "
     "panel; did you mean 'log_employees'?"),
    (('cluster = "firm_id"\n\n[[models]]', 'cluster = "firmid"\n\n[[models]]'),
     "[[models]] #1 (Size-adjusted) cluster = 'firmid' is not a column of the firm-year "
     "panel; did you mean 'firm_id'?"),
    (('outcome = "log_revenue"\nterm = "cs"', 'outcome = "log_revenues"\nterm = "cs"'),
     "[[claims]] #1 (H1a) outcome = 'log_revenues' is not a column of the firm-year panel; "
     "did you mean 'log_revenue'?"),
]


@pytest.mark.parametrize(("edit", "message"), TYPOS, ids=["outcome", "covariate", "formula",
                                                          "cluster", "claim"])
def test_a_typo_exits_1_before_anything_is_fitted(edit, message, tmp_path, capsys, no_reload):
    text = config_text(EXAMPLE, tmp_path / "out")
    assert text.count(edit[0]) == 1
    path = write(tmp_path, text.replace(*edit))
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path.resolve()}: {message}" in err
    assert "nothing was fitted" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "results").exists()


def test_every_unknown_name_is_reported_at_once(tmp_path, capsys, no_reload):
    text = config_text(EXAMPLE, tmp_path / "out")
    for (old, new), _ in TYPOS[:4]:
        text = text.replace(old, new)
    text = text.replace('"age and size" = ["age", "log_employees"]',
                        '"age and size" = ["agee", "log_employees"]')
    assert main(["run", str(write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert "5 unknown name(s)" in err
    assert "[robustness] covariate_sets.age and size[0] = 'agee'" in err
    assert not (tmp_path / "out" / "results").exists()


def test_a_model_claim_names_a_term_of_its_model(tmp_path, capsys, no_reload):
    text = config_text(EXAMPLE, tmp_path / "out") + (
        '\n[[claims]]\nid = "H4"\nfamily = "H4"\ntext = "x"\nanalysis = "Size-adjusted"\n'
        'term = "membr"\n')
    assert main(["run", str(write(tmp_path, text))]) == 1
    assert ("[[claims]] #14 (H4) term = 'membr' is not a variable of its formula; did you "
            "mean 'member'?") in capsys.readouterr().err


# -- a researcher's own claims, end to end -------------------------------------------------------

OWN = """
[study]
folder = "{study}"
title = "A study of my own"

[output]
dir = "{out}"

[run]
hypotheses = ["H1"]
n_boot = 49

[H1]
outcomes = ["log_revenue"]
mediation_draws = 49

[robustness]
outcomes = ["profit_margin"]
estimators = ["twfe"]
samples = ["all"]
clusters = ["firm"]
min_clusters = 0

[robustness.covariate_sets]
none = []

[[models]]
name = "ROA under TWFE"
formula = "roa ~ member"
cluster = "firm_id"

[[claims]]
id = "H1a"
family = "H1"
text = "Joining an IPN raises the profit margin"
analysis = "participation"
outcome = "profit_margin"
term = "cs"
sesoi = 0.02

[[claims]]
id = "H1b"
family = "H1"
text = "The margin gain grows with tenure"
analysis = "stages"

[[claims]]
id = "H4"
family = "H4"
text = "ROA rises with membership under TWFE"
analysis = "ROA under TWFE"
term = "member"
direction = "greater"

[[claims]]
id = "H5"
family = "H4"
text = "ROA rises after joining (TWFE DiD)"
analysis = "participation"
outcome = "roa"
term = "twfe"
"""


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    """``ipnstats run`` and ``ipnstats report`` of a configuration with its own claims."""
    folder = tmp_path_factory.mktemp("own")
    path = folder / "my.toml"
    path.write_text(OWN.format(study=EXAMPLE.as_posix(), out=(folder / "out").as_posix()))
    assert main(["run", str(path)]) == 0
    assert main(["report", str(path)]) == 0
    return folder / "out"


def _stage(out: Path, name: str) -> dict:
    return json.loads((out / "results" / f"{name}.json").read_text())


def test_own_claims_are_decided_from_the_declared_outcome(own_run):
    h1 = _stage(own_run, "h1")
    assert [c["code"] for c in h1["claims"]] == ["H1a", "H1b", "H5"]
    assert h1["findings"]["outcome"] == "profit_margin"
    a, b, h5 = h1["claims"]
    cs = h1["results"]["participation.profit_margin.cs"]
    estimate = next(r for r in cs["tidy"] if r["term"] == "ATT")["estimate"]
    mediation = h1["results"]["mediation"]["glance"][0]["outcome"]
    assert a["claim"] == "Joining an IPN raises the profit margin"
    assert a["evidence"].startswith(f"ATT {estimate:.3f} ".replace("-", "\u2212"))
    assert "participation.roa.twfe" in h1["results"] and h5["verdict"]
    # the event study and the stages are fitted on H1a's outcome, not on log revenue
    for name in ("event", "stages", "practices", "heterogeneity.interaction"):
        assert h1["results"][name]["glance"][0]["outcome"] == "profit_margin", name
    assert "profit_margin" in mediation
    assert b["verdict"] and a["verdict"]
    # H1a and H1b are adjusted together, H5 (family H4) on its own
    assert h5["p_adjusted"] == pytest.approx(h5["p_value"])
    # H1a's smallest effect of interest bounds the equivalence test of its pre-trend check
    (pre,) = [c for c in h1["checks"] if c["code"] == "H1a"]
    assert pre["sesoi"] == 0.02
    rob = _stage(own_run, "robustness")["findings"]
    assert rob["specification_curve"]["primary"]["outcome"] == "profit_margin"


def test_a_claim_on_a_model_is_decided_by_its_term(own_run):
    models = _stage(own_run, "models")
    (h4,) = models["claims"]
    assert h4["code"] == "H4" and h4["claim"] == "ROA rises with membership under TWFE"
    assert h4["evidence"].startswith("member ") and h4["verdict"] in (
        "Supported", "Inconclusive", "Not supported")


def test_the_report_shows_the_own_claims(own_run):
    verdicts = (own_run / "tables" / "verdicts.md").read_text()
    for text in ("Joining an IPN raises the profit margin", "ROA rises with membership under "
                 "TWFE", "ROA rises after joining (TWFE DiD)"):
        assert text in verdicts
    html = (own_run / "ipn_report.html").read_text()
    assert "Effect of membership on profit margin by stage" in html
    assert "ROA rises with membership under TWFE" in html
    assert "H4 claims and what the data say" in html  # the models section's claims table
    assert re.search(r"members&#x27;\s+profit margin was|members' profit margin was", html)


def test_the_verdict_page_methods_and_checks_follow_the_declared_claims(own_run):
    """The families named are the declared ones; H1a's methods label is on profit margin's
    models; H1e's check on profit margin is bounded in its SD, not in log points."""
    html = (own_run / "ipn_report.html").read_text()
    assert "adjusted across the claims of each family (H1 and H4)" in html
    assert "H1, H2, H3" not in html
    assert re.search(r"H1a, primary: Callaway[^<]* of profit margin,", html)
    assert "H1a, TWFE: two-way fixed effects of profit margin," in html
    assert "H1a, log revenue, CS: Callaway" in html
    h1 = _stage(own_run, "h1")
    (het,) = [c for c in h1["checks"] if c["code"] == "H1e"]
    assert het["units"] == "outcome units (SESOI = 0.05 SD)" and het["sesoi"] > 0
    (pre,) = [c for c in h1["checks"] if c["code"] == "H1a"]
    assert pre["units"] == "outcome units"
