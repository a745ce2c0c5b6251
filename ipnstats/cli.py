"""The ``ipnstats`` command line: init, validate, simulate, panel, data-report, run, report,
power. A study is a folder or a database URL (with ``--codebook``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ipnstats.core.csvsafe import write_csv
from ipnstats.core.errors import ConfigError
from ipnstats.data import DataError, load_study, validate_study
from ipnstats.data.sources import is_url


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code: 1 on a user error (a bad file, folder,
    configuration or option: a message, never a traceback), 130 when interrupted.

    A bug still shows its traceback; a missing optional package (e.g. Dask) is one line
    saying what to install.
    """
    try:
        args = _parser().parse_args(argv)
        return args.run(args)
    except KeyboardInterrupt:
        print("ipnstats: interrupted", file=sys.stderr)
        return 130
    except DataError as exc:  # a study's validation summary is printed as it is
        print(str(exc) if exc.problems is not None else f"ipnstats: error: {exc}",
              file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # ConfigError, SpecificationError, BackendError...
        print(f"ipnstats: error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        top = (exc.name or "ipnstats").split(".")[0]
        if top == "ipnstats":
            raise  # a bug in ipnstats itself
        print(f"ipnstats: error: this needs the Python package {top!r}, which is not "
              f"installed: pip install {_PIP_NAME.get(top, top)}", file=sys.stderr)
        return 1


# a module that may be missing -> what to install
_PIP_NAME = {"dask": "'ipnstats[dask]'", "distributed": "'ipnstats[dask]'",
             "docx": "python-docx", "yaml": "pyyaml"}


class _Version(argparse.Action):
    """``--version``: print ``ipnstats <ipnstats.__version__>`` and exit 0."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from ipnstats import __version__

        print(f"ipnstats {__version__}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipnstats",
        description="Test how firms learn from their peers: from IPN records to tested "
                    "hypotheses.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    p = sub.add_parser("init", help="draft a codebook.toml for a folder of your own exports",
                       description="Look at the files in FOLDER, guess which is which table "
                                   "and which column is which, and write a draft "
                                   "FOLDER/codebook.toml with a mapping ([tables.*]) and a "
                                   "# CHECK: comment on every unsure guess; the scales are "
                                   "left for you to fill in.")
    p.add_argument("folder", type=Path, help="the folder of exports")
    p.add_argument("--force", action="store_true", help="overwrite an existing codebook.toml")
    p.set_defaults(run=_init)

    p = sub.add_parser("validate", help="check a study folder and list every problem",
                       description="Check a study (folder or database); exit 1 when it has "
                                   "errors.")
    _study_arguments(p)
    p.add_argument("--max-problems", type=_count, default=40, help="problems to print (40)")
    p.add_argument("--csv", type=Path, help="also write every problem to this CSV file")
    p.set_defaults(run=_validate)

    p = sub.add_parser("simulate", help="write a synthetic study with known true effects",
                       description="Write a synthetic study folder (tables, codebook.toml, "
                                   "truth.toml).")
    p.add_argument("out", type=Path, help="the folder to write (new or empty)")
    p.add_argument("--force", action="store_true",
                   help="write even into a folder that holds files (they may be overwritten)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--firms", type=int, default=600, help="number of firms (600)")
    p.add_argument("--groups", type=int, default=30, help="number of peer groups (30)")
    p.add_argument("--method-factor", type=float, default=0.35, metavar="ANSWER_UNITS",
                   help="common method factor of the survey items: answer units per SD of "
                        "a response's method draw, added to every item (0.35; 0 = none)")
    p.add_argument("--selection", type=float, default=0.0, metavar="LOG_POINTS",
                   help="selection on an unobservable: yearly revenue growth per SD of an "
                        "unobserved drive that also makes firms join (0 = none; truth.toml "
                        "[selection])")
    p.add_argument("--membership-effect", type=float, default=1.0, metavar="MULTIPLE",
                   help="multiple of the default true effect of membership on revenue "
                        "(1; 0 = joining does nothing)")
    p.set_defaults(run=_simulate)

    p = sub.add_parser("panel", help="write the firm-year panel of a study",
                       description="Load a study and write its firm-year panel.")
    _study_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="FILE.parquet or FILE.csv")
    p.set_defaults(run=_panel)

    p = sub.add_parser("data-report", help="write the data report (validation, flow, "
                                           "reliability)",
                       description="Load a study and write the data report as text and CSV. "
                                   "Given a study configuration (.toml), its [study] and its "
                                   "output folder.")
    _study_arguments(p, "the study folder, a database URL or a study configuration (.toml)")
    p.add_argument("--out", type=Path, help="output folder (reports; for a configuration: "
                                            "its [output] dir)")
    p.set_defaults(run=_data_report)

    p = sub.add_parser("run", help="fit every analysis of a study configuration",
                       description="Fit the stages of CONFIG (analyses/ipn_study.toml) whose "
                                   "inputs or settings changed; write results/<stage>.json "
                                   "and the figures under the configured output folder.")
    p.add_argument("config", type=Path, help="the study configuration (.toml)")
    p.add_argument("--stage", action="append", default=[], metavar="NAME",
                   help="run only this stage (repeatable): h1, h2, h3, robustness, models, data")
    p.add_argument("--force", action="store_true", help="refit even when nothing changed")
    p.add_argument("--split-config", type=Path, metavar="DIR",
                   help="only write what make needs to DIR: study.mk (output folder, stages, "
                        "input files), each stage's settings and inputs (for make)")
    p.add_argument("--split-inputs", type=Path, metavar="DIR",
                   help="only write the digests of each stage's database tables to "
                        "DIR/<stage>.inputs, when they changed (for make, with a database)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder, any folder (overrides [output] dir, which must stay "
                        "inside the configuration's folder or its parent)")
    p.set_defaults(run=_run)

    p = sub.add_parser("report", help="write the study report (PDF, HTML, tables)",
                       description="Render the stored results of CONFIG: ipn_report.pdf, "
                                   "ipn_report.html and every table as .tex, .docx and .md. "
                                   "Given a study folder instead, run every stage with the "
                                   "default settings first. Set SOURCE_DATE_EPOCH for a "
                                   "fixed date.")
    _study_arguments(p, "a study configuration (.toml), a study folder or a database URL")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (for a study folder: reports; for a configuration: "
                        "overrides [output] dir)")
    p.set_defaults(run=_report)

    p = sub.add_parser("power", help="Monte-Carlo power of a planned H1, H2 or H3 design",
                       description="Simulate the design of CONFIG (e.g. analyses/power_h1.toml) "
                                   "at each effect size, fit the study's estimator, and write "
                                   "power.csv, power.md, power.json and the power curve.")
    p.add_argument("config", type=Path, help="the power configuration (.toml)")
    p.add_argument("--reps", type=int, help="replicates per effect size (overrides [power])")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this Dask scheduler (tcp://host:port); implies backend dask")
    p.add_argument("--n-jobs", type=int, help="local workers (overrides [run])")
    p.add_argument("--out", type=Path, help="output folder (overrides [output] dir)")
    p.set_defaults(run=_power)
    return parser


def _study_arguments(p: argparse.ArgumentParser,
                     what: str = "the study folder, or a database URL") -> None:
    p.add_argument("path", type=_location, help=f"{what} (postgresql://user@host/db, "
                                               "sqlite:///file.db, duckdb:///file.duckdb)")
    p.add_argument("--codebook", type=Path, metavar="PATH",
                   help="the codebook.toml (required with a database URL; default: the "
                        "folder's own)")


def _location(text: str) -> Path | str:
    """A study folder as a path, a database URL as it is."""
    return text if is_url(text) else Path(text)


def _is_configuration(location: Path | str) -> bool:
    """Whether a study argument names a configuration: a file, or a missing ``*.toml``
    (whose error then says that no such configuration file exists)."""
    return not is_url(location) and (Path(location).is_file() or (
        Path(location).suffix.lower() == ".toml" and not Path(location).exists()))


def _init(args) -> int:
    from ipnstats.data.init import write_codebook

    path = write_codebook(args.folder, force=args.force)
    print(f"wrote {path}: check every '# CHECK:' comment and fill in the scales' items, "
          f"then run: ipnstats validate {args.folder}")
    return 0


def _count(text: str) -> int:
    """A non-negative whole number (argparse reports anything else as a usage error)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, not {text!r}")
    return int(text)


def _validate(args) -> int:
    report = validate_study(args.path, codebook=args.codebook)
    print(report.summary(max_problems=args.max_problems))
    if args.csv:
        write_csv(report.problems, args.csv)
    return 0 if report.ok else 1


def _simulate(args) -> int:
    from ipnstats.simulate import simulate_study

    out = args.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; simulate writes a folder")
    if not args.force and out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty: simulate would overwrite what it holds (a "
                          "study's data?); choose a new folder or add --force")
    path = simulate_study(args.out, n_firms=args.firms, n_groups=args.groups, seed=args.seed,
                          method_factor=args.method_factor, selection=args.selection,
                          membership_effect=args.membership_effect)
    print(f"wrote a simulated study to {path}")
    return 0


def _panel(args) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError(f"--out must end in .parquet or .csv, not {args.out.name!r}")
    panel = load_study(args.path, codebook=args.codebook).firm_year
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        panel.to_parquet(args.out, index=False)
    else:
        write_csv(panel, args.out)
    print(f"wrote {len(panel):,} firm-years to {args.out}")
    return 0


def _data_report(args) -> int:
    from ipnstats.report.data_report import write_data_report

    location, codebook, out = args.path, args.codebook, args.out or Path("reports")
    if _is_configuration(location):
        from ipnstats.pipeline import load_config

        if codebook:
            raise ConfigError("--codebook goes with a study folder or URL; a configuration "
                              "names its codebook in [study] codebook")
        cfg = load_config(location, out=args.out)
        location, codebook, out = cfg.folder, cfg.codebook, cfg.out
    study = load_study(location, codebook=codebook)
    for path in write_data_report(study, out):
        print(f"wrote {path}")
    return 0



def _run(args) -> int:
    from ipnstats.pipeline import load_config
    from ipnstats.pipeline.makevars import split_inputs, write_make_files
    from ipnstats.pipeline.runner import run

    cfg = load_config(args.config, out=args.out)
    if args.split_config or args.split_inputs:
        if args.split_config:
            write_make_files(cfg, args.split_config)
        if args.split_inputs:
            split_inputs(cfg, args.split_inputs)
        return 0
    ran = run(cfg, only=tuple(args.stage), force=args.force)
    print(f"ran {', '.join(ran)}" if ran else "nothing to run: every stage is up to date")
    return 0


def _report(args) -> int:
    from ipnstats.pipeline import load_config
    from ipnstats.pipeline.assemble import write_report
    from ipnstats.pipeline.config import default_config
    from ipnstats.pipeline.runner import run

    if is_url(args.path) or args.path.is_dir():
        cfg = default_config(args.path, args.out or Path("reports"), codebook=args.codebook)
        run(cfg)
    else:
        if args.codebook:
            raise ConfigError("--codebook goes with a study folder or URL; a configuration "
                              "names its codebook in [study] codebook")
        cfg = load_config(args.path, out=args.out)
    written = write_report(cfg)
    tables = [p for p in written if p.parent.name == "tables"]
    for path in written[:2]:
        print(f"wrote {path}")
    if tables:
        print(f"wrote {len(tables)} table files (.tex, .docx, .md) to {tables[0].parent}")
    return 0


def _power(args) -> int:
    import dataclasses

    from ipnstats.pipeline.power import load_power_config, run_power, write_power
    from ipnstats.pipeline.progress import Progress

    cfg = load_power_config(args.config, out=args.out)
    run = dict(cfg.run)
    if args.scheduler:
        run.update(backend="dask", scheduler=args.scheduler)
    if args.n_jobs is not None:
        run["n_jobs"] = args.n_jobs
    settings = dict(cfg.power) | ({"reps": args.reps} if args.reps is not None else {})
    cfg = dataclasses.replace(cfg, run=run, power=settings, out=args.out or cfg.out)
    show = Progress("power", run["progress"])
    where = (f"Dask at {run['scheduler']}" if run["backend"] == "dask"
             else f"{run['n_jobs']} local worker(s)")
    show(f"{cfg.design.label}: {len(settings['effect_sizes'])} effect sizes x "
         f"{settings['reps']} replicates on {where}")
    result = run_power(cfg, progress=lambda done, total: show.count(done, total, "replicates"))
    print(result.summary())
    for path in write_power(result, cfg.out):
        print(f"wrote {path}")
    show.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
