"""Run by ``make installed`` with the Python of a fresh virtual environment that holds the
built wheel (and borrows only the third-party dependencies): ipnstats must import from
that environment, not from the source tree, and its command line and public API must work
on a copy of the example study in a folder outside the repository (package data such as
the report templates and fonts ship in the wheel; nothing may import a file that lives
only in the repository)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPO = Path(sys.argv[1]).resolve()


def ipnstats(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "ipnstats", *args], cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ipnstats {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def main() -> None:
    import ipnstats as pkg

    where = Path(pkg.__file__).resolve()
    if where.is_relative_to(REPO / "ipnstats") or not where.is_relative_to(sys.prefix):
        sys.exit(f"ipnstats was imported from {where}, not from the wheel installed in "
                 f"{sys.prefix}")
    work = Path(tempfile.mkdtemp(prefix="ipnstats-installed-"))
    shutil.copytree(REPO / "data" / "example", work / "data" / "example")
    (work / "analyses").mkdir()
    config = (REPO / "analyses" / "ipn_study.toml").read_text()
    for key, fast in (("n_boot = 999", "n_boot = 99"), ("wild_draws = 9999", "wild_draws = 99"),
                      ("mediation_draws = 5000", "mediation_draws = 199"),
                      ("process_draws = 999", "process_draws = 99"),
                      ("imputations = 20", "imputations = 2")):
        config = config.replace(key, fast)
    (work / "analyses" / "ipn_study.toml").write_text(config)
    print(ipnstats("--version", cwd=work).strip(), "from", where.parent)
    meta = metadata.metadata("ipnstats")
    if (meta["Version"], meta["License-Expression"]) != (pkg.__version__, "MIT") or not any(
            f.name == "LICENSE" for f in metadata.files("ipnstats") or ()):
        sys.exit(f"the wheel's metadata: version {meta['Version']}, licence "
                 f"{meta['License-Expression']}, LICENSE file missing or present?")
    ipnstats("validate", "data/example", cwd=work)
    ipnstats("run", "analyses/ipn_study.toml", cwd=work)
    ipnstats("report", "analyses/ipn_study.toml", cwd=work)
    pdf = work / "reports" / "ipn_report.pdf"
    if not pdf.read_bytes().startswith(b"%PDF") or pdf.stat().st_size < 100_000:
        sys.exit(f"the report {pdf} was not written")
    # the public API, as the README's first example uses it
    folder = pkg.simulate_study(work / "sim", n_firms=200, seed=1)
    study = pkg.load_study(folder)
    res = pkg.panel_regression(study.firm_year, "log_revenue ~ member + log_employees",
                               unit="firm_id", time="year", vcov=pkg.Cluster("firm_id"))
    table = pkg.regression_table([res], labels={"firm_id": "Firm", "year": "Year"},
                                 unit_label="Firms")
    if "member" not in table.to_text():
        sys.exit("the regression table lacks the member row")
    print(f"installed ipnstats {pkg.__version__}: report and API examples ran in {work}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
