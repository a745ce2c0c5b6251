"""Model benchmarks: ipnstats' estimators against the packages a user would otherwise run.

Run ``python benchmarks/models.py`` (``make bench`` runs it after ``ingest.py``); ``--help``
lists the options. Each job runs in its own fresh interpreter: the setup (untimed) builds
the case's data from a fixed seed, fingerprints it (so ipnstats and the peer provably use
the same data) and warms the library up on a small slice (pyfixest's and wildboottest's
numba compilation, lazy imports); then one call is timed. ipnstats and the peer(s)
alternate, ``--reps`` times, and the medians are compared with the case's target. The
run fails (exit 1) when ipnstats and a peer disagree beyond the tolerances below (a MISS
of a time target does not fail it).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cfa_case
import lme4_case
import numpy as np
import pandas as pd
from harness import (
    Job,
    JobFailed,
    Run,
    alternate,
    format_line,
    gib,
    machine,
    merge_results,
    now,
    pair_summary,
    run_job,
    seconds,
    summarise,
    verdict,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
BENCHMARK = "models"
JOB_TIMEOUT = 1800  # seconds; a job running longer is a failure
MEMORY_BUDGET = 24 * 2**30  # the issue's budget for the 10-million-row panel

SEEDS = {"twfe": 20240701, "did": 20240702, "wild": 20240703, "process": 20240704,
         "crossed": 20240705}
BETAS = (0.5, -0.2, 0.1, 0.0, 0.3)  # true slopes of x0..x4 in the panel cases
FIRST_YEAR = 2011
N_YEARS = 10
COHORTS = (2013, 2014, 2015, 2016, 2017, 2018)  # 6 treated cohorts; 0 = never treated

# Tolerances of the agreement checks (relative unless said otherwise).
TOL_EXACT = 1e-8  # same estimator, same data: differences are rounding only
TOL_CROSSED = 5e-4  # REML optima found by different optimisers (statsmodels: BFGS)
MC_SIGMAS = 4  # bootstrap quantities: |difference| <= 4 SD of the difference of two runs

TWFE = ('ipnstats.panel_regression({d}, "y ~ x0+x1+x2+x3+x4", unit="firm", time="year", '
        'vcov=ipnstats.Cluster("firm"))')
PYFIXEST = 'pf.feols("y ~ x0+x1+x2+x3+x4 | firm + year", data={d}, vcov={{"CRV1": "firm"}})'
LINEARMODELS = ('PanelOLS.from_formula("y ~ x0+x1+x2+x3+x4 + EntityEffects + TimeEffects", '
                '{d}.set_index(["firm", "year"])).fit(cov_type="clustered", '
                'cluster_entity=True)')
CS = ('ipnstats.participation_effect({d}, outcome="y", unit="id", time="year", '
      'cohort="cohort", vcov=ipnstats.Cluster("id"), n_boot=0)')
MODERNDID = ('md.att_gt(data={d}, yname="y", tname="year", idname="id", gname="cohort", '
             'control_group="notyettreated", boot=False, cband=False)')
AGGTE = 'md.aggte({a}, type="simple")'
WILD = 'ipnstats.wild_bootstrap({r}, "x", cluster="g", n_boot={b}, seed=1, ci={ci})'
WILDBOOTTEST = ('wildboottest({m}, param="x", cluster={d}.g, B={b}, seed=1, '
                'bootstrap_type="11", impose_null=True)')
PROCESS = ('ipnstats.conditional_process({d}, model=7, x="x", m="m", y="y", w="w", '
           'n_boot={b}, seed=1, at="mean_sd")')
PYPROCESS = ('Process(data={d}, model=7, x="x", m=["m"], y="y", w="w", boot={b}, seed=1, '
             'suppr_init=True)')
CROSSED = 'ipnstats.crossed_effects({d}, outcome="y", covariates=["x"], groups=("s", "r"))'
CFA = 'ipnstats.cfa({d}, MODEL, estimator="{e}")'
# semopy: model, fit, fit measures and estimates with SEs (what cfa returns in one call);
# obj="MLW", its default, is lavaan's ML on the N-divided covariance (see cfa_case.py);
# inspect(se_robust=True) gives its sandwich SEs (the peer of estimator="mlr")
SEMOPY = ('m = semopy.Model(DESC)\nm.fit({d}, obj="MLW")\nstats = semopy.calc_stats(m)\n'
          'est = m.inspect({r})')
MIXEDLM = ('smf.mixedlm("y ~ x", {d}, groups=np.ones(len({d})), '
           'vc_formula={{"s": "0 + C(s)", "r": "0 + C(r)"}}).fit(reml=True)')


# --- data (imported by the jobs: ``import models as bm``) ----------------------------------

def twfe_data(n_firms: int, seed: int = SEEDS["twfe"]) -> pd.DataFrame:
    """Balanced firm-year panel: firm and year effects, five regressors correlated with the
    firm effect, ``y = x @ BETAS + firm + year + e``."""
    rng = np.random.default_rng(seed)
    n = n_firms * N_YEARS
    firm = np.repeat(np.arange(n_firms, dtype=np.int64), N_YEARS)
    year = np.tile(np.arange(FIRST_YEAR, FIRST_YEAR + N_YEARS, dtype=np.int64), n_firms)
    alpha = rng.normal(size=n_firms)[firm]
    y = alpha + rng.normal(0, 0.5, N_YEARS)[year - FIRST_YEAR] + rng.normal(size=n)
    cols = {"firm": firm, "year": year}
    for i, b in enumerate(BETAS):
        x = rng.normal(size=n)
        x += 0.5 * alpha
        y += b * x
        cols[f"x{i}"] = x
    cols["y"] = y
    return pd.DataFrame(cols)


def did_data(n_units: int, seed: int = SEEDS["did"]) -> pd.DataFrame:
    """Staggered adoption: 10 years, 6 treated cohorts (30% never treated, ``cohort`` 0),
    unit and year effects, an effect of 0.5 growing by 0.05 a year after adoption."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units, dtype=np.int64), N_YEARS)
    year = np.tile(np.arange(FIRST_YEAR, FIRST_YEAR + N_YEARS, dtype=np.int64), n_units)
    share = [0.3] + [0.7 / len(COHORTS)] * len(COHORTS)
    cohort = rng.choice(np.array((0, *COHORTS)), size=n_units, p=share)[unit]
    since = np.where((cohort > 0) & (year >= cohort), year - cohort, -1)
    y = (rng.normal(size=n_units)[unit] + rng.normal(0, 0.3, N_YEARS)[year - FIRST_YEAR]
         + np.where(since >= 0, 0.5 + 0.05 * since, 0.0) + rng.normal(size=unit.size))
    return pd.DataFrame({"id": unit, "year": year, "cohort": cohort, "y": y})


def wild_data(n: int, n_clusters: int = 30, seed: int = SEEDS["wild"]) -> pd.DataFrame:
    """Cross-section in clusters: x and the error both have a cluster component; the true
    slope of x is small, so that the bootstrap p-value is well inside (0, 1). ``u`` (row)
    and ``t`` (constant) are the panel columns ipnstats' pooled OLS asks for."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_clusters, n)
    x = rng.normal(size=n) + rng.normal(size=n_clusters)[g]
    z = rng.normal(size=n)
    y = 1 + 0.02 * x + 0.5 * z + rng.normal(size=n_clusters)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "u": np.arange(n), "t": 0})


def process_data(n: int, seed: int = SEEDS["process"]) -> pd.DataFrame:
    """PROCESS model 7: x -> m moderated by w, m -> y, and a direct effect of x."""
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=n), rng.normal(size=n)
    m = 0.4 * x + 0.2 * w + 0.25 * x * w + rng.normal(size=n)
    y = 0.3 * x + 0.5 * m + rng.normal(size=n)
    return pd.DataFrame({"x": x, "w": w, "m": m, "y": y})


def crossed_data(n: int, n_senders: int, n_receivers: int,
                 seed: int = SEEDS["crossed"]) -> pd.DataFrame:
    """Exchanges between random sender-receiver pairs: crossed random intercepts
    (SD 0.6 senders, 0.4 receivers, 1 residual)."""
    rng = np.random.default_rng(seed)
    s, r = rng.integers(0, n_senders, n), rng.integers(0, n_receivers, n)
    x = rng.normal(size=n)
    y = (1 + 0.3 * x + rng.normal(0, 0.6, n_senders)[s] + rng.normal(0, 0.4, n_receivers)[r]
         + rng.normal(size=n))
    return pd.DataFrame({"y": y, "x": x, "s": s, "r": r})


def fingerprint(df: pd.DataFrame) -> str:
    """A hash of the whole frame (rows, columns, values), to show both jobs used the same."""
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return f"{len(df)}x{df.shape[1]}:{int(h.sum(dtype=np.uint64)):016x}"


# --- jobs ------------------------------------------------------------------------------------

def setup(data: str, imports: str, warm: str = "") -> str:
    """The untimed part of a job: data (``df``) and its fingerprint, imports, warm-up."""
    return (f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport models as bm\n"
            f"df = bm.{data}\nfp = bm.fingerprint(df)\n{imports}\n{warm}")


def job(name: str, data: str, imports: str, warm: str, work: str, result: str) -> Job:
    """A job on ``bm.<data>``; ``result`` (a dict expression) gains the data's fingerprint."""
    return Job(name, setup=setup(data, imports, warm), work=work,
               result="{'fingerprint': fp, **" + result + "}", reset_peak=True)


def twfe_jobs(n_firms: int, peers: tuple[str, ...]) -> tuple[Job, list[Job]]:
    data = f"twfe_data({n_firms})"
    small = "df.iloc[:2000]"
    ours = job("ipnstats.panel_regression", data, "import ipnstats",
               TWFE.format(d=small), "res = " + TWFE.format(d="df"),
               "{'params': res.params.tolist(), 'se': res.std_errors.tolist(), "
               "'nobs': int(res.nobs), 'n_clusters': int(res.n_clusters)}")
    jobs = []
    if "pyfixest" in peers:
        jobs.append(job("pyfixest.feols", data, "import pyfixest as pf",
                        PYFIXEST.format(d=small), "fit = " + PYFIXEST.format(d="df"),
                        "{'params': fit.coef().tolist(), 'se': fit.se().tolist()}"))
    if "linearmodels" in peers:
        jobs.append(job("linearmodels.PanelOLS", data, "from linearmodels import PanelOLS",
                        LINEARMODELS.format(d=small), "fit = " + LINEARMODELS.format(d="df"),
                        "{'params': fit.params.tolist(), 'se': fit.std_errors.tolist(), "
                        "'nobs': int(fit.nobs), 'df_resid': int(fit.df_resid)}"))
    return ours, jobs


def did_jobs(n_units: int) -> tuple[Job, list[Job]]:
    data = f"did_data({n_units})"
    small = 'df[df["id"] < 1000]'
    ours = job("ipnstats.participation_effect", data, "import ipnstats", CS.format(d=small),
               "res = " + CS.format(d="df"),
               "{'att': float(res.params.iloc[0]), 'se': float(res.std_errors.iloc[0]), "
               "'n_boot': res.n_boot, "
               "'cells': res.att_gt[['group', 'time', 'att', 'std_error']].astype(float)"
               ".values.tolist()}")
    peer = job("moderndid.att_gt+aggte", data, "import numpy as np\nimport moderndid as md",
               AGGTE.format(a=MODERNDID.format(d=small)),
               f"gt = {MODERNDID.format(d='df')}\nagg = {AGGTE.format(a='gt')}",
               "{'att': float(agg.overall_att), 'se': float(agg.overall_se), "
               "'cells': np.column_stack([gt.groups, gt.times, gt.att_gt, gt.se_gt])"
               ".astype(float).tolist()}")
    return ours, [peer]


def wild_jobs(n: int, reps: int) -> tuple[Job, list[Job]]:
    data = f"wild_data({n})"
    small = "df.iloc[:2000]"
    fit = ('ipnstats.panel_regression({d}, "y ~ x + z", unit="u", time="t", '
           'estimator="pooled", vcov=ipnstats.Cluster("g"))')
    out = ("{'statistic': float(b.statistic), 'p_value': float(b.p_value), 'reps': b.reps, "
           "'estimate': float(b.estimate), 'se': float(b.std_error), "
           "'conf_low': float(b.conf_low), 'conf_high': float(b.conf_high)}")
    imports = "import ipnstats"
    warm = (f"ipnstats.wild_bootstrap({fit.format(d=small)}, 'x', cluster='g', n_boot=99, "
            f"seed=1)\nres = {fit.format(d='df')}")
    ours = job("ipnstats.wild_bootstrap", data, imports, warm,
               "b = " + WILD.format(r="res", b=reps, ci=False), out)
    ours_ci = job("ipnstats.wild_bootstrap(ci=True)", data, imports, warm,
                  "b = " + WILD.format(r="res", b=reps, ci=True), out)
    peer_warm = (f"with contextlib.redirect_stdout(io.StringIO()):\n"
                 f"    {WILDBOOTTEST.format(m=model_call(small), d=small, b=99)}\n"
                 f"model = {model_call('df')}")
    peer = job("wildboottest", data,
               "import contextlib, io\nimport statsmodels.formula.api as smf\n"
               "from wildboottest.wildboottest import wildboottest", peer_warm,
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    w = {WILDBOOTTEST.format(m='model', d='df', b=reps)}",
               "{'statistic': float(w['statistic'].iloc[0]), "
               "'p_value': float(w['p-value'].iloc[0])}")
    return ours, [peer, ours_ci]


def model_call(d: str) -> str:
    return f'smf.ols("y ~ x + z", data={d})'


def process_jobs(n: int, n_boot: int) -> tuple[Job, list[Job]]:
    data = f"process_data({n})"
    small = "df.iloc[:200]"
    ours = job("ipnstats.conditional_process", data,
               "import numpy as np\nfrom scipy.stats import kurtosis\nimport ipnstats",
               PROCESS.format(d=small, b=100), "res = " + PROCESS.format(d="df", b=n_boot),
               "{'paths': res.paths()[['equation', 'term', 'estimate', 'std_error']]"
               ".values.tolist(), "
               "'indirect': res.indirect_effects()[['w', 'estimate', 'std_error']]"
               ".values.tolist(), "
               "'index': res.index_of_moderated_mediation()[['estimate', 'std_error']]"
               ".values.tolist(), 'kurtosis': float(np.max(kurtosis(res.bootstrap.draws, "
               "fisher=False, nan_policy='omit')))}")
    peer = job("pyprocessmacro.Process", data,
               "import contextlib, io\nfrom pyprocessmacro import Process",
               f"with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    {PYPROCESS.format(d=small, b=100)}",
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    p = {PYPROCESS.format(d='df', b=n_boot)}",
               "{'tidy': p.tidy()[['component', 'outcome', 'term', 'w', 'estimate', "
               "'std_error']].values.tolist()}")
    return ours, [peer]


def crossed_jobs(n: int, n_senders: int, n_receivers: int) -> tuple[Job, list[Job]]:
    data = f"crossed_data({n}, {n_senders}, {n_receivers})"
    small = "df.iloc[:500]"
    ours = job("ipnstats.crossed_effects", data, "import ipnstats", CROSSED.format(d=small),
               "res = " + CROSSED.format(d="df"),
               "{'params': res.params.tolist(), 'se': res.std_errors.tolist(), "
               "'vc': dict(zip(res.variance_components()['group'], "
               "res.variance_components()['variance'].astype(float)))}")
    peer = job("statsmodels.mixedlm", data,
               "import warnings\nimport numpy as np\nimport statsmodels.formula.api as smf\n"
               "warnings.simplefilter('ignore')", MIXEDLM.format(d=small),
               "fit = " + MIXEDLM.format(d="df"),
               "{'params': fit.fe_params.tolist(), 'se': fit.bse_fe.tolist(), "
               "'vc': {**dict(zip(fit.model.exog_vc.names, map(float, fit.vcomp))), "
               "'Residual': float(fit.scale)}, 'converged': bool(fit.converged)}")
    return ours, [peer]


def insteval_jobs(rows: int) -> tuple[Job, list[Job]]:
    """Case 8: ipnstats' mixed_model and, where R and lme4 are installed, lme4's lmer."""
    data = f"lme4_case.insteval_data({rows})"
    imports = "import ipnstats\nimport lme4_case"
    fit = "ipnstats.mixed_model({d}, lme4_case.FORMULA, groups=lme4_case.GROUPS)"
    ours = Job("ipnstats.mixed_model", setup=setup(data, imports, fit.format(d="df.iloc[:2000]")),
               work="res = " + fit.format(d="df"),
               result="{'fingerprint': fp, **lme4_case.ipnstats_values(res, df)}",
               reset_peak=True)
    if not lme4_case.lme4_available():
        return ours, []
    peer = Job("lme4.lmer (R)", setup=setup(data, "import lme4_case"),
               work=f"out = lme4_case.run_lmer({rows})",
               result="{'fingerprint': fp, **out}")
    return ours, [peer]


def cfa_jobs(data: str, model: dict, first_calls: bool = False) -> tuple[Job, list[Job]]:
    """Case 9: ipnstats.cfa, ML (compared) and MLR (a second job), and semopy's MLW fit,
    on ``bm.<data>`` with ``model`` (``{factor: [items]}``); with ``first_calls`` also ML
    and MLR without the warm-up (a user's first call after ``import ipnstats``)."""
    small = "df.iloc[:300]"
    imports = f"import ipnstats\nMODEL = {model!r}"
    ours, mlr = (job(f"ipnstats.cfa({e})", data, imports, CFA.format(d=small, e=e),
                     "res = " + CFA.format(d="df", e=e), "bm.cfa_case.ipnstats_values(res)")
                 for e in ("ml", "mlr"))
    peer, robust = (job(f"semopy.Model.fit(MLW){r and ', se_robust'}", data,
                        f"import semopy\nDESC = {cfa_case.semopy_description(model)!r}",
                        SEMOPY.format(d=small, r=r), SEMOPY.format(d="df", r=r),
                        "bm.cfa_case.semopy_values(m, stats, est)")
                    for r in ("", "se_robust=True"))
    cold = [job(f"ipnstats.cfa({e}, first call)", data, imports, "",
                "res = " + CFA.format(d="df", e=e), "bm.cfa_case.ipnstats_values(res)")
            for e in ("ml", "mlr")] if first_calls else []
    ours, *peers = (replace(j, env=cfa_case.ONE_BLAS_THREAD)
                    for j in (ours, peer, mlr, robust, *cold))
    return ours, peers


def r_own_numbers(runs: dict) -> dict:
    """lme4's runs with R's own elapsed time of the ``lmer`` call and R's own peak memory
    in place of the wrapper's (the total, with R's start-up, stays in ``value``)."""
    name = "lme4.lmer (R)"
    if name not in runs:
        return runs
    own = [Run(r.value["elapsed"], r.process_seconds, r.setup_seconds,
               int(r.value["peak_rss_kib"]) * 1024 or r.peak_rss, r.setup_rss, r.value,
               r.start_rss, False) for r in runs[name]]
    return {**runs, name: own}


def insteval_lines(runs: dict) -> list[str]:
    """Case 8's further line: lme4's totals (nothing without R: see insteval_alone)."""
    peer = runs.get("lme4.lmer (R)")
    if peer is None:
        return []
    v = peer[0].value
    total = float(np.median([r.value["total_seconds"] for r in peer]))
    alone = float(np.median([r.seconds for r in peer]))
    return [f"8b lme4 {v['lme4']} (R {v['R']}): lmer alone {seconds(alone)} "
            f"(R's system.time), {seconds(total)} with R's start-up and data; "
            f"{v['feval']} deviance evaluations"]


def check_insteval(ours: dict, peer: dict, _: dict) -> list[Check]:
    return [Check(what, diff, tol) for what, diff, tol in lme4_case.agreement(ours, peer)]


def insteval_alone(case: Case, runs: dict) -> tuple[list[str], dict, bool]:
    """Case 8 without R: ipnstats' time, and its estimates against lme4's stored numbers
    (tests/reference/lme4/insteval.json) where the size has them."""
    ours = runs["ipnstats.mixed_model"]
    summary = summarise(ours)
    lines = [f"8 crossed random intercepts (REML), lme4 InstEval ({ours[0].value['rows']:,} "
             f"rows): {lme4_case.NO_R}: ipnstats {seconds(summary['seconds'])}, peak memory "
             f"{gib(summary['peak_rss'])} [{len(ours)} repetition(s)]"]
    stored = lme4_case.stored_lme4(case.info["rows"])
    checks = [] if stored is None else check_insteval(ours[0].value, stored, case.info)
    ok = all(c.ok for c in checks)
    if checks:
        lines.append(f"  check against lme4 {stored['lme4']}'s stored numbers: "
                     + "; ".join(map(str, checks)) + (": same" if ok else ": DIFFERENT"))
    record = {"when": now(), "case": lines[0].split(":")[0], "size": case.size,
              "ours": {"job": "ipnstats.mixed_model", **summary},
              "note": lme4_case.NO_R, "agree": ok,
              "checks": [{"what": c.what, "diff": c.diff, "tol": c.tol, "kind": c.kind,
                          "ok": c.ok} for c in checks], "machine": machine()}
    return lines, record, ok


# --- agreement checks ------------------------------------------------------------------------

@dataclass
class Check:
    """One comparison of ipnstats with a peer."""

    what: str
    diff: float  # the largest difference found (relative unless said otherwise)
    tol: float
    kind: str = "rel"  # "rel", "abs" or "yes/no" (a condition: diff 0 when it holds)

    @property
    def ok(self) -> bool:
        return bool(self.diff <= self.tol)  # NaN fails

    def __str__(self) -> str:
        if self.kind == "yes/no":
            return f"{self.what}: {'yes' if self.ok else 'NO'}"
        return f"{self.what} max {self.kind} diff {self.diff:.2g} (tol {self.tol:.2g})"


def holds(what: str, condition: bool) -> Check:
    """A condition as a check."""
    return Check(what, 0.0 if condition else math.inf, 0.0, "yes/no")


def rel_diff(a, b) -> float:
    """Largest relative difference of two equal-length sequences (NaN if lengths differ)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.size == 0:
        return math.nan
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def mc_sd_boot_se(n_boot: int, kurtosis: float = 3.0) -> float:
    """Relative SD of a bootstrap SE (the SD of ``n_boot`` draws): ``sqrt((kurtosis - 1) /
    (4 n_boot))``, ``1 / sqrt(2 n_boot)`` for normal draws; products of coefficients (the
    indirect effects) have heavier tails."""
    return math.sqrt(max(kurtosis - 1, 2.0) / (4 * n_boot))


def check_twfe_pyfixest(ours: dict, peer: dict, _: dict) -> list[Check]:
    return [Check("coefficients", rel_diff(ours["params"], peer["params"]), TOL_EXACT),
            Check("cluster SEs (same convention)", rel_diff(ours["se"], peer["se"]), TOL_EXACT)]


def twfe_factors(ours: dict, peer: dict) -> tuple[float, float]:
    """Small-sample factors of the clustered variance: ipnstats (fixest's default: G/(G-1)
    (N-1)/(N-K), K = slopes + year effects, the firm effects nested in the clusters
    counting as one) and linearmodels' PanelOLS (N/(N-k-d), d = all F+T-1 effects)."""
    n, g, k = ours["nobs"], ours["n_clusters"], len(ours["params"])
    ipn = g / (g - 1) * (n - 1) / (n - k - N_YEARS)
    lm = peer["nobs"] / peer["df_resid"]
    return ipn, lm


def check_twfe_linearmodels(ours: dict, peer: dict, _: dict) -> list[Check]:
    ipn, lm = twfe_factors(ours, peer)
    var_ratio = (np.asarray(ours["se"]) / np.asarray(peer["se"])) ** 2
    return [Check("coefficients", rel_diff(ours["params"], peer["params"]), TOL_EXACT),
            Check(f"SE^2 ratio {float(var_ratio.mean()):.6f} vs factor ratio {ipn / lm:.6f}",
                  rel_diff(var_ratio, np.full(var_ratio.size, ipn / lm)), TOL_EXACT)]


def check_did(ours: dict, peer: dict, _: dict) -> list[Check]:
    mine = {(g, t): (a, s) for g, t, a, s in ours["cells"]}
    theirs = {(g, t): (a, s) for g, t, a, s in peer["cells"]}
    keys = sorted(mine) if sorted(mine) == sorted(theirs) else []
    return [Check("simple ATT", rel_diff([ours["att"]], [peer["att"]]), TOL_EXACT),
            Check("its SE", rel_diff([ours["se"]], [peer["se"]]), TOL_EXACT),
            holds(f"same {len(mine)} (g,t) cells", bool(keys)),
            Check("ATT(g,t)", rel_diff([mine[k][0] for k in keys], [theirs[k][0] for k in keys]),
                  TOL_EXACT),
            Check("their SEs", rel_diff([mine[k][1] for k in keys],
                                        [theirs[k][1] for k in keys]), TOL_EXACT),
            holds("no bootstrap with n_boot=0", ours["n_boot"] is None)]


def check_wild(ours: dict, peer: dict, info: dict) -> list[Check]:
    reps = info["reps"]
    p = (ours["p_value"] + peer["p_value"]) / 2
    sd = math.sqrt(2 * max(p * (1 - p), 1 / reps) / reps)
    return [Check("t statistic", rel_diff([ours["statistic"]], [peer["statistic"]]),
                  TOL_EXACT),
            Check(f"p-value ({ours['p_value']:.4f} vs {peer['p_value']:.4f})",
                  abs(ours["p_value"] - peer["p_value"]), MC_SIGMAS * sd, "abs")]


def check_wild_ci(ours: dict, ours_ci: dict, _: dict) -> list[Check]:
    inside = ours_ci["conf_low"] < ours_ci["estimate"] < ours_ci["conf_high"]
    return [holds("same p-value with and without the interval (same draws)",
                  ours["p_value"] == ours_ci["p_value"]),
            holds("estimate inside the interval", inside)]


def check_process(ours: dict, peer: dict, info: dict) -> list[Check]:
    rows = peer["tidy"]
    theirs = {(o, {"Cons": "Intercept"}.get(t, t).replace("*", ":")): (e, s)
              for c, o, t, _, e, s in rows if c == "outcome"}
    mine = {(eq, t): (e, s) for eq, t, e, s in ours["paths"]}
    keys = sorted(mine)
    matched = keys == sorted(theirs)
    est = [mine[k][0] for k in keys], [theirs.get(k, (math.nan,))[0] for k in keys]
    se = [mine[k][1] for k in keys], [theirs.get(k, (0, math.nan))[1] for k in keys]
    ind = sorted((w, e, s) for c, _, _, w, e, s in rows if c == "indirect")
    idx = [(e, s) for c, *_, e, s in rows if c == "index_mm"]
    mine_ind = sorted(ours["indirect"])
    tol_boot = MC_SIGMAS * math.sqrt(2) * mc_sd_boot_se(info["n_boot"], ours["kurtosis"])
    return [
        Check("path coefficients", rel_diff(*est) if matched else math.nan, TOL_EXACT),
        Check("path SEs", rel_diff(*se) if matched else math.nan, TOL_EXACT),
        Check("probed w (mean, +-1 SD)", rel_diff([r[0] for r in mine_ind],
                                                   [r[0] for r in ind]), TOL_EXACT),
        Check("conditional indirect effects and the index",
              rel_diff([r[1] for r in mine_ind] + [ours["index"][0][0]],
                       [r[1] for r in ind] + [idx[0][0]]), TOL_EXACT),
        Check("their bootstrap SEs", rel_diff([r[2] for r in mine_ind] + [ours["index"][0][1]],
                                              [r[2] for r in ind] + [idx[0][1]]), tol_boot),
    ]


def check_cfa(ours: dict, peer: dict, _: dict) -> list[Check]:
    return [Check(*c) for c in cfa_case.agreement(ours, peer)]


def check_crossed(ours: dict, peer: dict, _: dict) -> list[Check]:
    groups = sorted(ours["vc"])
    return [Check("fixed effects", rel_diff(ours["params"], peer["params"]), TOL_CROSSED),
            Check("their SEs", rel_diff(ours["se"], peer["se"]), TOL_CROSSED),
            Check("variance components (s, r, residual)",
                  rel_diff([ours["vc"][g] for g in groups],
                           [peer["vc"].get(g, math.nan) for g in groups]), TOL_CROSSED),
            holds("statsmodels converged", peer["converged"])]


# --- cases -----------------------------------------------------------------------------------

@dataclass
class Comparison:
    """ipnstats against one peer within a case."""

    key: str  # results.json key (with the size)
    label: str  # the start of the printed line
    peer: str  # job name of the peer
    peer_label: str
    target: float
    check: Callable[[dict, dict, dict], list[Check]]
    note: str = ""
    ours: str | None = None  # the ipnstats job compared (None: the case's first job)


@dataclass
class Case:
    """A set of jobs alternated together and the comparisons made from their runs."""

    name: str
    number: str
    jobs: Callable[[], tuple[Job, list[Job]]]
    comparisons: list[Comparison]
    size: dict
    reps: int | None = None  # fixed number of repetitions (None: --reps)
    extra: Callable[[dict], list[str]] | None = None  # further lines from the runs
    max_reps: int | None = None
    info: dict = field(default_factory=dict)
    adjust: Callable[[dict], dict] | None = None  # rewrites the runs before the summaries
    # conditions on the runs (a line and its checks; a failed one fails the run like a
    # disagreement), e.g. an absolute time an issue asks for
    conditions: Callable[[dict], tuple[str, list[Check]]] | None = None


def sizes(quick: bool) -> dict:
    if quick:
        return {"firms": 2_000, "did_units": 2_000, "wild_n": 5_000, "wild_reps": 1_999,
                "process_n": 300, "process_boot": 1_000, "crossed": (2_000, 60, 60),
                "large_firms": 20_000, "insteval_rows": lme4_case.QUICK_ROWS, "cfa_n": 1_000}
    return {"firms": 100_000, "did_units": 100_000, "wild_n": 100_000, "wild_reps": 9_999,
            "process_n": 1_000, "process_boot": 5_000, "crossed": (20_000, 400, 400),
            "large_firms": 1_000_000, "insteval_rows": 0, "cfa_n": 5_000}


CASE_NAMES = ("twfe-pyfixest", "twfe-linearmodels", "cs", "wild", "process", "crossed",
              "large", "insteval", "cfa")


def build_cases(selected: list[str], s: dict) -> list[Case]:
    firms, units = s["firms"], s["did_units"]
    cases = []
    twfe_peers = tuple(p for p in ("pyfixest", "linearmodels") if f"twfe-{p}" in selected)
    if twfe_peers:
        comps = []
        if "pyfixest" in twfe_peers:
            comps.append(Comparison(
                f"twfe_pyfixest/firms={firms}",
                f"1 two-way FE, firm-clustered SE, {10 * firms:,} firm-years vs pyfixest",
                "pyfixest.feols", "pyfixest", 1.0, check_twfe_pyfixest))
        if "linearmodels" in twfe_peers:
            comps.append(Comparison(
                f"twfe_linearmodels/firms={firms}",
                f"2 two-way FE, firm-clustered SE, {10 * firms:,} firm-years vs linearmodels",
                "linearmodels.PanelOLS", "linearmodels", 0.5, check_twfe_linearmodels))
        cases.append(Case("twfe", "1-2", lambda: twfe_jobs(firms, twfe_peers), comps,
                          {"firms": firms, "years": N_YEARS, "rows": 10 * firms}))
    if "cs" in selected:
        cases.append(Case("cs", "3", lambda: did_jobs(units), [Comparison(
            f"callaway_santanna/units={units}",
            f"3 Callaway-Sant'Anna ATT(g,t) + simple ATT, {units:,} units x {N_YEARS} years "
            "vs moderndid", "moderndid.att_gt+aggte", "moderndid", 0.5, check_did)],
            {"units": units, "years": N_YEARS, "cohorts": len(COHORTS)}))
    if "wild" in selected:
        n, reps = s["wild_n"], s["wild_reps"]
        cases.append(Case("wild", "4", lambda: wild_jobs(n, reps), [Comparison(
            f"wild_bootstrap/n={n}",
            f"4 wild cluster bootstrap WCR, {reps:,} reps, {n:,} obs, 30 clusters "
            "vs wildboottest", "wildboottest", "wildboottest", 0.5, check_wild)],
            {"n": n, "clusters": 30, "reps": reps}, extra=wild_ci_lines,
            info={"reps": reps}))
    if "process" in selected:
        n, b = s["process_n"], s["process_boot"]
        cases.append(Case("process", "5", lambda: process_jobs(n, b), [Comparison(
            f"process_model7/n={n}",
            f"5 PROCESS model 7, n = {n:,}, {b:,} bootstrap draws vs pyprocessmacro",
            "pyprocessmacro.Process", "pyprocessmacro", 1.0, check_process)],
            {"n": n, "n_boot": b}, info={"n_boot": b}))
    if "crossed" in selected:
        n, ns, nr = s["crossed"]
        cases.append(Case("crossed", "6", lambda: crossed_jobs(n, ns, nr), [Comparison(
            f"crossed_effects/n={n}",
            f"6 crossed random intercepts, {n:,} exchanges, {ns} senders x {nr} receivers "
            "vs statsmodels MixedLM", "statsmodels.mixedlm", "statsmodels", 0.5,
            check_crossed)], {"n": n, "senders": ns, "receivers": nr}, max_reps=2))
    if "large" in selected:
        lf = s["large_firms"]
        cases.append(Case("large", "7", lambda: twfe_jobs(lf, ("pyfixest",)), [Comparison(
            f"twfe_large/firms={lf}",
            f"7 two-way FE, firm-clustered SE, {10 * lf:,} firm-years vs pyfixest",
            "pyfixest.feols", "pyfixest", 1.0, check_twfe_pyfixest,
            note="the time target is case 1's, for information")],
            {"firms": lf, "years": N_YEARS, "rows": 10 * lf}, reps=1,
            extra=memory_budget_lines))
    if "insteval" in selected:
        rows = s["insteval_rows"]
        label = f"{rows:,} rows" if rows else "73,421 ratings, 2,972 students x 1,128 lecturers"
        key = f"insteval_lme4/rows={rows or 'all'}"
        comps = [Comparison(
            key,
            f"8 crossed random intercepts (REML), lme4 InstEval, {label}, vs lme4 lmer",
            "lme4.lmer (R)", "lme4", 0.5, check_insteval,
            note="lme4 timed by R's system.time around lmer alone")]
        cases.append(Case("insteval", "8", lambda: insteval_jobs(rows),
                          comps if lme4_case.lme4_available() else [],
                          {"rows": rows or 73_421, "students": 2_972, "lecturers": 1_128}
                          if not rows else {"rows": rows}, max_reps=3,
                          extra=insteval_lines, info={"key": key, "rows": rows},
                          adjust=r_own_numbers))
    if "cfa" in selected:
        cases += cfa_cases(s["cfa_n"])
    return cases


def cfa_cases(n: int) -> list[Case]:
    """Case 9: ipnstats.cfa (ML and MLR) against semopy on the example's scales (9, with
    the issue's one-second condition) and on a simulated 4 x 5 design of ``n`` rows (9b)."""
    def comparisons(number: str, what: str, key: str) -> list[Comparison]:
        return [Comparison(
            f"cfa_{e}_semopy/{key}", f"{number} CFA {e.upper()}, {what}, vs semopy (MLW"
            + ("" if e == "ml" else ", robust SEs") + ")",
            "semopy.Model.fit(MLW)" + ("" if e == "ml" else ", se_robust"), "semopy", 1.0,
            check_cfa, ours=f"ipnstats.cfa({e})",
            note="" if e == "ml" else "semopy has sandwich SEs but no scaled test")
            for e in ("ml", "mlr")]

    example = Case("cfa", "9", example_cfa_jobs, comparisons(
        "9", "the example's 4 scales x 5 items, each firm's first complete survey", "example"),
        {"data": "example", "factors": 4, "items": 20}, conditions=cfa_done_when)
    simulated = Case("cfa-simulated", "9b", lambda: cfa_jobs(
        f"cfa_case.simulated_data({n})", cfa_case.simulated_model()), comparisons(
        "9b", f"simulated congeneric 4 factors x 5 items, n = {n:,}", f"n={n}"),
        {"data": "simulated", "factors": 4, "items": 20, "n": n})
    return [example, simulated]


def example_cfa_jobs() -> tuple[Job, list[Job]]:
    """Case 9's jobs, after writing the example's CFA rows (in a fresh interpreter in the
    repository root, so that it is this tree's ipnstats, as in the jobs)."""
    writer = Job("write the example's CFA rows", setup=f"import sys\nsys.path.insert(0, "
                 f"{str(HERE)!r})\nimport cfa_case", work="model = cfa_case.write_example_items()",
                 result="model")
    model = run_job(writer, cwd=HERE.parent, timeout=JOB_TIMEOUT).value
    return cfa_jobs("cfa_case.example_data()", model, first_calls=True)


def cfa_done_when(runs: dict) -> tuple[str, list[Check]]:
    """Case 9's line on the issue's one second: the medians of the warm and first calls,
    each checked; the first calls' estimates must be the warm calls'."""
    def median(name: str) -> float:
        return float(np.median([r.seconds for r in runs[name]]))

    times = {f"{e}{c}": median(f"ipnstats.cfa({e}{c})") for e in ("ml", "mlr")
             for c in ("", ", first call")}
    line, conditions = cfa_case.done_when(times)
    same = all(runs[f"ipnstats.cfa({e}, first call)"][0].value["loadings"]
               == runs[f"ipnstats.cfa({e})"][0].value["loadings"] for e in ("ml", "mlr"))
    return line, [*(holds(what, ok) for what, ok in conditions),
                  holds("first calls give the same loadings", same)]


def wild_ci_lines(runs: dict) -> list[str]:
    ci = runs["ipnstats.wild_bootstrap(ci=True)"]
    plain = runs["ipnstats.wild_bootstrap"]
    s_ci, s = (float(np.median([r.seconds for r in x])) for x in (ci, plain))
    v = ci[0].value
    return [f"4b wild cluster bootstrap with the 95% test-inversion interval (ipnstats only; "
            f"wildboottest has none; for information): ipnstats {seconds(s_ci)} "
            f"(without the interval {seconds(s)}), interval [{v['conf_low']:.4g}, "
            f"{v['conf_high']:.4g}] around {v['estimate']:.4g}; peak memory "
            f"{gib(float(np.median([r.peak_rss for r in ci])))}"]


def memory_budget_lines(runs: dict) -> list[str]:
    run = runs["ipnstats.panel_regression"][0]
    peak = run.peak_rss
    return [f"7b memory budget: ipnstats peak {gib(peak)} <= {gib(MEMORY_BUDGET)}: "
            f"{'PASS' if peak <= MEMORY_BUDGET else 'MISS'} (the data frame and libraries "
            f"held at the start: {gib(run.start_rss)}; setup peak while generating the data: "
            f"{gib(run.setup_rss)})"]


# --- running ---------------------------------------------------------------------------------

def progress(name: str, rep: int, run) -> None:
    print(f"  rep {rep + 1} {name:<36} {run.seconds:8.3f} s measured, "
          f"{run.process_seconds:7.1f} s with setup, peak {gib(run.peak_rss)}",
          file=sys.stderr, flush=True)


def load_average() -> float | None:
    """The 1-minute load average (None where the system does not say)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def run_case(case: Case, reps: int, results: Path, loads: list) -> tuple[list[str], bool]:
    """Run one case: its lines and whether every check passed. Appends the 1-minute load
    average at its start and end to ``loads``."""
    try:
        ours, peers = case.jobs()
    except (JobFailed, subprocess.TimeoutExpired) as exc:
        return [f"{case.number} {case.name}: FAILED: {exc}"], False
    n = case.reps if case.reps is not None else min(reps, case.max_reps or reps)
    print(f"case {case.number} {case.name}: {n} repetition(s) of {1 + len(peers)} jobs",
          file=sys.stderr, flush=True)
    start, load_start = time.perf_counter(), load_average()
    try:
        runs = alternate([ours, *peers], n, progress=progress, cwd=HERE.parent,
                         timeout=JOB_TIMEOUT)
    except (JobFailed, subprocess.TimeoutExpired) as exc:
        return [f"{case.number} {case.name}: FAILED: {exc}"], False
    load = [load_start, load_average()]
    loads.extend(x for x in load if x is not None)
    if case.adjust is not None:
        runs = case.adjust(runs)
    lines, records, all_ok = [], {}, True
    for comp in case.comparisons:
        mine = comp.ours or ours.name
        summary = pair_summary(runs, mine, comp.peer)
        a, b = runs[mine][0].value, runs[comp.peer][0].value
        checks = case_checks(comp, a, b, case.info)
        ok = all(c.ok for c in checks)
        all_ok &= ok
        note = f" [{n} repetition{'s' if n > 1 else ''}" + (f"; {comp.note}]" if comp.note
                                                             else "]")
        lines.append(format_line(comp.label + note, summary, time_target=comp.target,
                                 memory_target=None, peer_label=comp.peer_label))
        lines.append("  check: " + "; ".join(map(str, checks))
                     + (": same" if ok else ": DIFFERENT"))
        records[comp.key] = {
            **summary, "when": now(), "case": comp.label, "size": case.size,
            "checks": [{"what": c.what, "diff": c.diff, "tol": c.tol, "kind": c.kind,
                        "ok": c.ok} for c in checks],
            "agree": ok, "targets": {"time_ratio": comp.target},
            "verdicts": {"time": verdict(summary["time_ratio"], comp.target)},
            "machine": machine()}
    if case.extra is not None:
        lines.extend(case.extra(runs))
    if case.conditions is not None:
        line, checks = case.conditions(runs)
        ok = all(c.ok for c in checks)
        all_ok &= ok
        lines.append(f"{line}: " + "; ".join(map(str, checks)) + (": PASS" if ok else ": MISS"))
        records[case.comparisons[0].key]["conditions"] = {
            "line": line, "ok": ok, "checks": [{"what": c.what, "ok": c.ok} for c in checks]}
    if case.name == "wild":
        checks = check_wild_ci(runs[ours.name][0].value,
                               runs["ipnstats.wild_bootstrap(ci=True)"][0].value, case.info)
        ok = all(c.ok for c in checks)
        all_ok &= ok
        lines.append("  check: " + "; ".join(map(str, checks))
                     + (": same" if ok else ": DIFFERENT"))
        name = "ipnstats.wild_bootstrap(ci=True)"
        records[f"wild_bootstrap_ci/n={case.size['n']}"] = {
            "when": now(), "case": "4b wild bootstrap with the test-inversion interval",
            "size": case.size, "ours": {"job": name, **summarise(runs[name])},
            "checks": [{"what": c.what, "diff": c.diff, "tol": c.tol, "kind": c.kind,
                        "ok": c.ok} for c in checks],
            "agree": ok, "machine": machine()}
    if case.name == "insteval" and not case.comparisons:  # no R: ipnstats alone
        more, records[case.info["key"]], ok = insteval_alone(case, runs)
        lines.extend(more)
        all_ok &= ok
    if case.name == "large":
        run = runs[ours.name][0]
        records[case.comparisons[0].key]["memory_budget"] = {
            "bytes": MEMORY_BUDGET, "peak_rss": run.peak_rss,
            "verdict": "PASS" if run.peak_rss <= MEMORY_BUDGET else "MISS"}
    for key, rec in records.items():
        rec["wall_seconds"] = time.perf_counter() - start
        rec["load_average_1min"] = load  # at the start and the end of the case
        merge_results(results, BENCHMARK, {key: rec})
    return lines, all_ok


def case_checks(comp: Comparison, ours: dict, peer: dict, info: dict) -> list[Check]:
    checks = [holds("same data", ours["fingerprint"] == peer["fingerprint"])]
    try:
        checks += comp.check(ours, peer, info)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        checks.append(Check(f"comparison failed ({type(exc).__name__}: {exc})", math.nan, 0.0))
    return checks


def parse_cases(text: str) -> list[str]:
    chosen = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.isdigit() and 1 <= int(part) <= len(CASE_NAMES):
            part = CASE_NAMES[int(part) - 1]
        if part not in CASE_NAMES:
            raise argparse.ArgumentTypeError(
                f"unknown case {part!r}; choose from {', '.join(CASE_NAMES)} or "
                f"1-{len(CASE_NAMES)}")
        chosen.append(part)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=None,
                        help="repetitions of each job (default 3; 1 with --quick); case 6 "
                             "runs at most 2, case 7 once, case 8 at most 3")
    parser.add_argument("--cases", type=parse_cases, default=list(CASE_NAMES),
                        help="comma-separated subset of " + ", ".join(CASE_NAMES)
                             + f" (or their numbers 1-{len(CASE_NAMES)}); default all")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, for a smoke test (the targets mean nothing then)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help=f"results file to merge into (default {RESULTS})")
    args = parser.parse_args(argv)
    reps = args.reps if args.reps is not None else (1 if args.quick else 3)
    if reps < 1:
        parser.error("--reps must be at least 1")

    start = time.perf_counter()
    all_ok, loads = True, []
    for case in build_cases(args.cases, sizes(args.quick)):
        lines, ok = run_case(case, reps, args.results, loads)
        all_ok &= ok
        for line in lines:
            print(line, flush=True)
    load = (f"; 1-minute load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} "
            "CPUs at the starts and ends of the cases" if loads else "")
    print(f"models: {time.perf_counter() - start:.0f} s in all{load}"
          + ("" if all_ok else "; ipnstats and a peer DISAGREE (or a job failed): exit 1"),
          flush=True)
    print(f"results: {args.results}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
