"""Which practices pay (H1d) and who gains most from joining (H1e).

``practice_effects`` regresses performance on the intensity of the cooperative and
competitive practices within member firms and tests each block and their equality.
``heterogeneity`` asks whether the effect of joining is larger for firms that join
young or small: Callaway-Sant'Anna ATTs per subgroup with the difference's standard
error from unit influence functions, and an interaction model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed_classes
from ipnstats.core.formula import SpecificationError, missing_column_error, require_columns
from ipnstats.estimators.panel import panel_regression
from ipnstats.inference.sandwich import cluster_factor, cluster_sums
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import TIDY_COLUMNS, WaldTest, coef_table, wald_test
from ipnstats.results.notes import Note, prefixed
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, VcovSpec, parse_vcov

COOPERATIVE = ("attendance_rate", "disclosure_rate")
COMPETITIVE = ("critiques", "benchmark_rank_pct")


def _fields(result: Result) -> dict:
    """A result's field values, to rebuild it as a subclass."""
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(Result)}


# --- H1d: practices -----------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class PracticeResult(Result):
    """A within-firm regression of performance on practices, with block tests.

    Attributes
    ----------
    cooperative, competitive
        The practice columns of each block, in the order given.
    standardized
        Whether the practices were z-scored on the estimation sample, so that each
        coefficient is the effect of one standard deviation of the practice.
    scales
        The standard deviation each practice was divided by (1.0 when not standardized).
    """

    cooperative: tuple[str, ...] = ()
    competitive: tuple[str, ...] = ()
    standardized: bool = False
    scales: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "scales", MappingProxyType(dict(self.scales)))

    def _rows(self, weights: Mapping[str, float]) -> np.ndarray:
        names = list(self.params.index)
        row = np.zeros(len(names))
        for term, w in weights.items():
            row[names.index(term)] += w
        return row

    def _contrasts(self) -> dict[str, np.ndarray]:
        coop = {t: 1 / len(self.cooperative) for t in self.cooperative}
        comp = {t: 1 / len(self.competitive) for t in self.competitive}
        diff = coop | {t: -w for t, w in comp.items()}
        return {"cooperative (mean)": self._rows(coop), "competitive (mean)": self._rows(comp),
                "cooperative - competitive": self._rows(diff)}

    def _test(self, R: np.ndarray, label: str) -> WaldTest:
        R = np.atleast_2d(R)
        return wald_test(self.params.to_numpy(), self.cov.to_numpy(), R, np.zeros(R.shape[0]),
                         self.df_inference, label)

    def block_tests(self) -> pd.DataFrame:
        """Joint Wald tests: each block is zero, and the two blocks are equal.

        Rows (``hypothesis``): every cooperative coefficient is 0; every competitive
        coefficient is 0; the mean cooperative coefficient equals the mean competitive
        one (one restriction: with blocks of equal size, the same test as equal sums);
        and, when the blocks have the same size, the element-wise equality of the two
        coefficient vectors, pairing practices in the order given (a stronger claim,
        meaningful only when that pairing is). F tests with the model's t degrees of
        freedom, as :meth:`ipnstats.Result.wald_test`. Compare blocks on ``standardize=True``
        fits: in raw units, rates and counts are not comparable.
        """
        eye = {t: self._rows({t: 1.0}) for t in self.params.index}
        tests = [self._test(np.array([eye[t] for t in self.cooperative]),
                            "cooperative: " + " = ".join(self.cooperative) + " = 0"),
                 self._test(np.array([eye[t] for t in self.competitive]),
                            "competitive: " + " = ".join(self.competitive) + " = 0"),
                 self._test(self._contrasts()["cooperative - competitive"],
                            "mean cooperative = mean competitive")]
        if len(self.cooperative) == len(self.competitive):
            pairs = zip(self.cooperative, self.competitive, strict=True)
            R = np.array([eye[a] - eye[b] for a, b in pairs])
            tests.append(self._test(R, "cooperative = competitive (element-wise, in order)"))
        return pd.concat([t.tidy() for t in tests], ignore_index=True)

    def summary(self, conf_level: float = 0.95) -> str:
        """The coefficient summary, then the block tests."""
        tests = self.block_tests().set_index("hypothesis")[["statistic", "df_num", "df_denom",
                                                             "p_value"]]
        return (super().summary(conf_level) + "\n\nBlock tests (F):\n"
                + tests.to_string(float_format=lambda v: f"{v:.4g}"))

    def block_contrast(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Mean coefficient of each block and their difference, in the tidy schema."""
        rows = self._contrasts()
        R = np.array(list(rows.values()))
        est = pd.Series(R @ self.params.to_numpy(), index=list(rows))
        se = pd.Series(np.sqrt(np.diag(R @ self.cov.to_numpy() @ R.T)), index=list(rows))
        return coef_table(est, se, self.df_inference, conf_level)


def practice_effects(data: pd.DataFrame, *, outcome: str = "log_revenue",
                     cooperative: Sequence[str] = COOPERATIVE,
                     competitive: Sequence[str] = COMPETITIVE, unit: str = "firm_id",
                     time: str = "year", member: str = "member",
                     vcov: object = Cluster("firm_id"),
                     standardize: bool = False) -> PracticeResult:
    """Effects of cooperative and competitive practices on performance (H1d).

    A within regression with firm and year fixed effects of ``outcome`` on every
    practice, on member years (``member == 1``) with the outcome and all practices
    present: how a firm's performance moves with its own practice intensity.

    Parameters
    ----------
    data
        The firm-year panel (``Study.firm_year``).
    outcome
        Performance column.
    cooperative, competitive
        Practice columns of each block (attendance and disclosure; critiques received
        and the benchmark rank percentile).
    unit, time, member
        Firm, year and 0/1 member-year columns.
    vcov
        Covariance choice (clustered by firm by default); change it later with
        ``result.with_vcov``.
    standardize
        Divide each practice by its standard deviation (and centre it) over the
        estimation sample. Coefficients are then per SD of the practice, which puts
        rates (0-1) and counts (critiques) on one scale: only then does the equality
        of the two blocks compare like with like. The fit, t statistics and the tests
        that a block is zero are unchanged.

    Returns
    -------
    PracticeResult
        Coefficients of the practices; ``block_tests()`` and ``block_contrast()``.

    Examples
    --------
    >>> fy = ipnstats.load_study("data/example").firm_year  # doctest: +SKIP
    >>> res = ipnstats.practice_effects(fy, standardize=True)  # doctest: +SKIP
    >>> res.block_tests()  # doctest: +SKIP
    """
    coop, comp = _check_blocks(cooperative, competitive)
    practices = coop + comp
    require_columns(data, (outcome, unit, time, member) + practices, "column")
    spec = parse_vcov(vcov)
    sample, n_left = _member_sample(data, member, (outcome, unit, time) + practices)
    _check_within_variation(sample, unit, practices)
    scales = _scales(sample, practices, standardize)
    frame = sample.assign(**{p: (sample[p] - sample[p].mean()) / scales[p] for p in practices}
                          ) if standardize else sample
    res = panel_regression(frame, f"{outcome} ~ " + " + ".join(practices), unit=unit,
                           time=time, panel_effects=("unit", "time"), vcov=spec)
    if res.collinear:
        raise SpecificationError(f"practices {list(res.collinear)} do not vary within firms "
                                 "and years on member years; they cannot be estimated")
    notes = (Note("subsample",
        f"Estimated on {res.nobs:,} member years ({member} == 1) with {outcome} and "
        f"every practice present; {n_left:,} member years with a missing value were "
        "left out."),) + res.notes
    if not standardize:
        notes += (Note("scale_differs",
            "The block-equality tests compare coefficients in the practices' own units; "
            "use standardize=True to compare effects per standard deviation."),)
    return PracticeResult(**_fields(res) | {"notes": notes}, cooperative=coop,
                          competitive=comp, standardized=standardize, scales=scales)


def _names(columns: str | Sequence[str]) -> tuple[str, ...]:
    return (columns,) if isinstance(columns, str) else tuple(columns)


def _check_blocks(cooperative, competitive) -> tuple[tuple[str, ...], tuple[str, ...]]:
    coop, comp = _names(cooperative), _names(competitive)
    if not coop or not comp:
        raise SpecificationError("cooperative and competitive each need at least one practice "
                                 "column")
    if len(set(coop + comp)) < len(coop + comp):
        repeated = sorted({p for p in coop + comp if (coop + comp).count(p) > 1})
        raise SpecificationError(f"a practice may appear once, in one block; repeated: {repeated}")
    return coop, comp


def _member_sample(data: pd.DataFrame, member: str,
                   needed: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    members = data[data[member] == 1]
    if members.empty:
        raise SpecificationError(f"no member years: column {member!r} is never 1")
    complete = members[list(needed)].notna().all(axis=1)
    return members[complete], int((~complete).sum())


def _check_within_variation(sample: pd.DataFrame, unit: str, practices) -> None:
    """Firm effects absorb a practice that never changes within a firm: say so first."""
    varies = sample.groupby(unit, observed=True)[list(practices)].nunique().gt(1).any()
    flat = list(varies.index[~varies])
    if flat:
        raise SpecificationError(f"practices {flat} never change within a firm across its "
                                 f"{len(sample):,} member years with every practice present; "
                                 "firm fixed effects absorb them, so they cannot be estimated")


def _scales(sample: pd.DataFrame, practices: tuple[str, ...], standardize: bool) -> dict:
    if not standardize:
        return dict.fromkeys(practices, 1.0)
    sd = {p: float(sample[p].std()) for p in practices}
    flat = [p for p, s in sd.items() if not s > 0]
    if flat:
        raise SpecificationError(f"practices {flat} are constant on the estimation sample and "
                                 "cannot be standardized")
    return sd


# --- H1e: heterogeneity -------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class HeterogeneityResult(TidyDisplay):
    """Who gains most from joining: subgroup ATTs and an interaction model.

    Attributes
    ----------
    subgroups
        Callaway-Sant'Anna simple ATT of each subgroup (``ATT[young_join=1]``, ...) and
        their differences (``ATT[young_join=1] - ATT[young_join=0]``); the covariance
        of all of them comes from the units' influence functions, so
        ``subgroups.wald_test`` can test several differences jointly.
    interaction
        Within regression ``outcome ~ member + member:m + ...`` with firm and year
        fixed effects.
    definitions
        How each moderator was built.
    n_treated
        Joiners behind each subgroup ATT: per cohort, the most joiners in any of its
        ATT(g,t) cells, summed over cohorts.
    notes
        Warnings from building the moderators.
    """

    subgroups: Result
    interaction: Result
    definitions: Mapping[str, str]
    n_treated: Mapping[str, int]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "definitions", MappingProxyType(dict(self.definitions)))
        object.__setattr__(self, "n_treated", MappingProxyType(dict(self.n_treated)))

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Both parts in the tidy schema, with a leading ``model`` column."""
        parts = [self.subgroups.tidy(conf_level).assign(model="subgroup_att"),
                 self.interaction.tidy(conf_level).assign(model="interaction")]
        return pd.concat(parts, ignore_index=True)[["model", *TIDY_COLUMNS]]

    def glance(self) -> pd.DataFrame:
        """One row per part."""
        return pd.concat([self.subgroups.glance().assign(model="subgroup_att"),
                          self.interaction.glance().assign(model="interaction")],
                         ignore_index=True)

    def summary(self, conf_level: float = 0.95) -> str:
        """Definitions, then the plain-text summaries of both parts."""
        lines = ["Moderators:"] + [f"- {d}" for d in self.definitions.values()]
        lines += [f"- {n}" for n in self.notes]
        return "\n\n".join(["\n".join(lines), self.subgroups.summary(conf_level),
                            self.interaction.summary(conf_level)])

    def __str__(self) -> str:
        return self.summary()


def heterogeneity(data: pd.DataFrame, *, outcome: str = "log_revenue",
                  by: Sequence[str] = ("young_join", "small_join"),
                  firms: pd.DataFrame | None = None, unit: str = "firm_id",
                  time: str = "year", cohort: str = "cohort", member: str = "member",
                  young_age: int = 5, small_size: int = 10,
                  control_group: str = "not_yet_treated",
                  vcov: object = Cluster("firm_id")) -> HeterogeneityResult:
    """Does joining help young and small firms most? (H1e)

    Moderators are 0/1 traits of a firm fixed at joining. Two built-ins:

    - ``young_join``: ``cohort - founded_year < young_age`` (5 years), defined for
      joiners only;
    - ``small_join``: ``employees_baseline < small_size`` (10 employees), with
      ``employees_baseline`` read from ``data`` or from ``firms`` (the study's firms
      table, ``study.tables["firms"]``); when neither has it, the firm's employees in
      the year before joining, or in its first observed year.

    Any other name in ``by`` is a 0/1 column of ``data`` or ``firms``, constant
    within firms.

    Two estimates per moderator:

    1. Callaway-Sant'Anna simple ATT per subgroup: ``participation_effect`` on the
       never-joiners plus the joiners of that subgroup. Controls are never-treated
       firms and the subgroup's own not-yet-treated joiners (the other subgroup's
       joiners are left out, which keeps each ATT the did estimate on a sample).
       The difference of the two ATTs has its standard error from the units'
       influence functions aligned by firm, ``Var(a - b) = sum_i (psi_a,i -
       psi_b,i)^2``; never-joiners enter both and their part cancels in part.
    2. The interaction model ``outcome ~ member + member:m`` with firm and year
       fixed effects (the moderator's main effect is absorbed by the firm effect),
       over all firm years.

    The ATTs average over post-joining years from the cohort year on (an exit does
    not end treatment); the interaction model compares member years with the rest.

    Parameters
    ----------
    data
        The firm-year panel (``Study.firm_year``).
    outcome
        Performance column.
    by
        Moderators (see above).
    firms
        Optional firm-level frame with ``unit`` and further columns (e.g.
        ``employees_baseline``).
    unit, time, cohort, member
        Firm, year, first member year (0 = never) and 0/1 member-year columns.
    young_age, small_size
        Cut-offs of the built-in moderators.
    control_group
        ``"not_yet_treated"`` or ``"never_treated"`` (see ``participation_effect``).
    vcov
        ``Cluster(...)`` on a column constant within firms (by firm by default), for
        both parts.

    Returns
    -------
    HeterogeneityResult

    Examples
    --------
    >>> study = ipnstats.load_study("data/example")  # doctest: +SKIP
    >>> res = ipnstats.heterogeneity(study.firm_year, firms=study.tables["firms"])  # doctest: +SKIP
    >>> res.tidy()  # doctest: +SKIP
    """
    require_columns(data, (outcome, unit, time, cohort, member), "column")
    spec = parse_vcov(vcov)
    mods, definitions, notes = _moderators(data, firms, _names(by), unit, time, cohort,
                                           young_age, small_size)
    subgroups, n_treated = _subgroup_effects(data, mods, outcome, unit, time, cohort,
                                             control_group, spec)
    interaction = _interaction_model(data, mods, outcome, unit, time, cohort, member, spec)
    return HeterogeneityResult(subgroups, interaction, definitions, n_treated, notes)


def _unit_values(data: pd.DataFrame, firms: pd.DataFrame | None, unit: str,
                 name: str) -> pd.Series | None:
    """A firm-level column from ``data`` (constant within firm) or ``firms``."""
    if name in data.columns:
        per = data.groupby(unit, observed=True)[name].agg(["nunique", "first"])
        varying = int((per["nunique"] > 1).sum())
        if varying:
            raise SpecificationError(f"column {name!r} varies within {varying:,} firms; a "
                                     "moderator must be fixed per firm")
        return pd.Series(per["first"].to_numpy(), index=per.index.astype(object))
    if firms is not None and name in firms.columns:
        require_columns(firms, (unit,), "firms column")
        if firms[unit].duplicated().any():
            raise SpecificationError(f"firms has repeated {unit!r} values; it needs one row "
                                     "per firm")
        return pd.Series(firms[name].to_numpy(), index=firms[unit].astype(object).to_numpy())
    return None


def _young_join(data, firms, unit, time, cohort, young_age, small_size):
    founded = _unit_values(data, firms, unit, "founded_year")
    if founded is None:
        raise missing_column_error("founded_year", data.columns,
                                   "young_join needs column")
    coh = _unit_values(data, None, unit, cohort)
    founded = founded.reindex(coh.index).astype(float)
    young = ((coh - founded) < young_age).astype(float).where(founded.notna())
    return young.where(coh > 0), (f"young_join: {cohort} - founded_year < {young_age} "
                                  "(joiners only)")


def _small_join(data, firms, unit, time, cohort, young_age, small_size):
    base = _unit_values(data, firms, unit, "employees_baseline")
    if base is not None:
        return (base.astype(float) < small_size).astype(float).where(base.notna()), \
            f"small_join: employees_baseline < {small_size}"
    require_columns(data, ("employees",), "small_join needs employees_baseline or column")
    rows = data[[unit, time, cohort, "employees"]].dropna()
    before = rows[rows[time] == rows[cohort] - 1].groupby(unit, observed=True)["employees"].first()
    first = rows.sort_values(time).groupby(unit, observed=True)["employees"].first()
    size = before.reindex(first.index).fillna(first)
    size.index = size.index.astype(object)
    return (size < small_size).astype(float), (
        f"small_join: employees < {small_size} in the year before joining (or the first "
        "observed year; employees_baseline was not given)")


BUILT_IN = {"young_join": _young_join, "small_join": _small_join}


def _moderators(data, firms, by, unit, time, cohort, young_age, small_size):
    units = pd.Index(pd.unique(data[unit].to_numpy(object)))
    mods, definitions, notes = {}, {}, []
    for name in by:
        values = _unit_values(data, firms, unit, name)
        if values is not None:
            definitions[name] = f"{name}: column given by the user"
        elif name in BUILT_IN:
            values, definitions[name] = BUILT_IN[name](data, firms, unit, time, cohort,
                                                       young_age, small_size)
        else:
            raise missing_column_error(name, data.columns, "moderator")
        values = pd.to_numeric(values.reindex(units), errors="coerce").astype(float)
        if not values.dropna().isin((0.0, 1.0)).all():
            raise SpecificationError(f"moderator {name!r} must be 0/1 (or missing)")
        mods[name] = values
    frame = pd.DataFrame(mods, index=units)
    cohorts = _unit_values(data, None, unit, cohort).reindex(units)
    unknown = frame[cohorts > 0].isna().sum()
    notes += [Note("missing_dropped",
        f"{n:,} joiners have no value of {m!r} and are left out of its estimates.")
              for m, n in unknown.items() if n]
    return frame.assign(_cohort=cohorts), definitions, tuple(notes)


def _one_subgroup(data, mods, m, v, outcome, unit, time, cohort, control_group, spec):
    """Simple ATT of the joiners with ``m == v`` against never-joiners and their own
    not-yet-joiners; its influence on every unit of ``mods`` (0 outside the sample).
    A subgroup that cannot be estimated gives NaN and a note."""
    from ipnstats.estimators.did import participation_effect

    term = f"ATT[{m}={int(v)}]"
    none = (term, np.nan, pd.Series(0.0, index=mods.index), 0)
    if not ((mods["_cohort"] > 0) & (mods[m] == v)).any():
        return *none, (f"{term}: no joiners have {m} = {int(v)}; not estimable.",)
    keep = mods.index[(mods["_cohort"] == 0) | (mods[m] == v)]
    try:
        res = participation_effect(data[data[unit].isin(keep)], outcome=outcome, unit=unit,
                                   time=time, cohort=cohort, control_group=control_group,
                                   vcov=spec, n_boot=0)
    except SpecificationError as exc:
        return *none, (Note("subgroup_not_estimable", f"{term}: not estimable ({exc})."),)
    psi = res.unit_influence("simple")["ATT"]
    psi.index = psi.index.astype(object)
    n_treated = int(res.att_gt.groupby("group")["n_treated"].max().sum())
    notes = tuple(prefixed(n, f"{term}: ") for n in res.warnings)
    return term, float(res.params["ATT"]), psi.reindex(mods.index).fillna(0.0), n_treated, notes


def _subgroup_effects(data, mods, outcome, unit, time, cohort, control_group, spec):
    names, estimates, psis, n_treated, notes = [], [], [], {}, ()
    for m in mods.columns.drop("_cohort"):
        for v in (1.0, 0.0):
            term, att, psi, n, more = _one_subgroup(data, mods, m, v, outcome, unit, time,
                                                    cohort, control_group, spec)
            names, estimates, psis = names + [term], estimates + [att], psis + [psi.to_numpy()]
            n_treated[term], notes = n, notes + more
        names.append(f"{names[-2]} - {names[-1]}")
        estimates.append(estimates[-2] - estimates[-1])
        psis.append(psis[-2] - psis[-1])
    psi = np.column_stack(psis)
    index = pd.Index(names)
    cov = _influence_cov(psi, data, mods.index, unit, spec)
    missing = ~np.isfinite(estimates)
    cov[missing, :], cov[:, missing] = np.nan, np.nan
    cov = pd.DataFrame(cov, index=index, columns=index)
    used = np.abs(psi).sum(axis=1) > 0
    nobs = int(data[data[unit].isin(mods.index[used])][outcome].notna().sum())
    label = control_group.replace("_", "-")
    return Result(params=pd.Series(estimates, index=index), cov=cov, vcov=spec,
                  df_inference=None, outcome=outcome, nobs=nobs, n_units=int(used.sum()),
                  estimator=f"Callaway-Sant'Anna by subgroup ({label} controls)",
                  fixed_effects=(unit, time), notes=notes), n_treated


def _influence_cov(psi: np.ndarray, data, units: pd.Index, unit: str,
                   spec: VcovSpec) -> np.ndarray:
    """``sum_i psi_i psi_i'``; with a coarser cluster column, summed by cluster times
    ``G / (G - 1)``, as ``participation_effect``."""
    column = spec.columns[0] if isinstance(spec, Cluster) else unit
    if column == unit:
        return psi.T @ psi
    codes, levels = pd.factorize(_unit_values(data, None, unit, column).reindex(units))
    sums = cluster_sums(psi, codes, len(levels))
    return cluster_factor(len(levels), len(codes), 0, adj=False) * sums.T @ sums


def _interaction_model(data, mods, outcome, unit, time, cohort, member, spec) -> Result:
    names = list(mods.columns.drop("_cohort"))
    values = mods.reindex(data[unit].to_numpy(object))
    never = (data[cohort] == 0).to_numpy()
    columns = {m: np.where(never, 0.0, values[m].to_numpy()) for m in names}
    formula = f"{outcome} ~ {member} + " + " + ".join(f"{member}:{m}" for m in names)
    return panel_regression(data.assign(**columns), formula, unit=unit, time=time,
                            panel_effects=("unit", "time"), vcov=spec)


__all__ = ["HeterogeneityResult", "PracticeResult", "heterogeneity", "practice_effects"]

__getattr__ = renamed_classes(__name__, globals(), {"Heterogeneity": "HeterogeneityResult"})
