"""Notes with stable codes: code tests a note's code, never its text.

A :class:`Note` is the note's text (a ``str``, so every existing text comparison, join
and JSON dump keeps working) with a ``.code`` from :data:`NOTE_CODES`. Results'
``notes`` and ``inference_notes`` hold notes; ``result.has_note("few_clusters")``
asks for one (:mod:`ipnstats.results.notes`). The type lives in ``core`` because
kernels such as :func:`ipnstats.core.formula.complete_rows` emit notes too.

>>> note = Note("few_clusters", "Only 12 clusters: cluster-robust standard errors can be "
...             "too small.")
>>> note.code, note.startswith("Only 12 clusters")
('few_clusters', True)
>>> note_codes([note, "a plain text note"])
('few_clusters', 'other')
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from ipnstats.core.errors import SpecificationError

#: Every note code, with what it means. The text of a note may change between
#: versions; its code does not.
NOTE_CODES = MappingProxyType({
    # the sample
    "missing_dropped": "rows with a missing value in a used column were left out",
    "singleton_dropped": "observations alone in a fixed-effect group were dropped",
    "singletons_kept": "observations alone in a fixed-effect group are kept",
    "no_previous_period": "rows without a previous period were left out (first differences)",
    "zero_weight_dropped": "rows with zero weight were left out of the sample",
    "unbalanced_panel": "the panel is unbalanced",
    "always_treated_dropped": "units treated in or before the first period were left out",
    "no_base_period": "treated units without a base period were left out",
    "late_cohort": "units first treated after the last period count as never treated",
    "never_treated_only": "the comparison is with never-treated units only",
    "small_cohorts": "cohorts with few units in some cells",
    "no_controls": "cells without comparison units are not identified",
    "cell_not_estimated": "a cell could not be estimated and is left out",
    "subgroup_not_estimable": "a subgroup's effect could not be estimated",
    "binned_endpoints": "event times outside the window are pooled",
    "open_interval": "a robust confidence interval reaches the end of its search grid",
    "varying_base": "Honest DiD read a Callaway-Sant'Anna event study with a varying base",
    "window_trimmed": "treated observations outside the event window were left out",
    "last_cohort_control": "the last-treated cohort serves as the control group",
    "no_variation_dropped": "units without variation in the outcome were left out",
    "subsample": "the model is estimated on a subsample",
    "group_of_one": "groups with one member have no within-group agreement (left out)",
    "constant_item": "an item does not vary, so an index built on its variance is undefined",
    "missing_imputed": "missing values were imputed (e.g. missing dyads of a round robin)",
    "agreement_not_computed": "an agreement index needs information not given (e.g. scale points)",
    # the model
    "collinear_dropped": "regressors collinear with others or the fixed effects were dropped",
    "fixed_effects_redundant": "an absorbed fixed effect is spanned by another, yet counted in K",
    "random_effect_dropped": "a random effect was left out of the model",
    "not_converged": "an optimiser or iteration did not converge",
    "disconnected_network": "a network is not (strongly) connected: its eigenvector centrality "
                            "is not unique, or zero outside the dominant component",
    "boundary_fit": "a variance is estimated as zero (lme4's boundary, singular fit)",
    "singular_fit": "a random-effect covariance matrix is singular",
    "heywood_case": "a negative variance or a standardized loading above 1 (Heywood case)",
    "latent_not_positive_definite": "a latent (factor) covariance matrix is not positive "
                                    "definite",
    "not_identified": "the information matrix is singular: the model may not be identified",
    "separation": "observations are predicted perfectly (separation)",
    "overdispersion": "the counts are over- or under-dispersed",
    "staggered_twfe": "two-way fixed effects under staggered adoption",
    "pretrend_rejected": "the pre-trend test rejects parallel trends",
    "scale_differs": "coefficients compared are in different units",
    "rho_boundary": "a selection or endogenous-treatment model's correlation rho is at (or was "
                    "truncated to) -1 or 1",
    "library_warning": "a warning of the library that fitted the model",
    "limited_overlap": "propensity scores near 0 or 1, or outside the other group's range",
    "propensity_trimmed": "propensity scores were clipped before weights were formed",
    "low_effective_sample": "weights leave a small (Kish) effective sample size",
    "peer_exclusion_bias": "a leave-one-out peer mean without the exclusion-bias correction "
                           "(biased downwards)",
    # inference
    "few_clusters": "few clusters: cluster-robust inference can be too liberal",
    "no_residual_df": "no residual degrees of freedom: no standard errors or tests",
    "leverage_one": "an observation has leverage one: HC2/HC3 are undefined",
    "covariance_repaired": "a covariance that was not positive semi-definite was repaired",
    "variance_not_positive": "an estimated variance is not positive: the term has no standard "
                             "error",
    "vcov_partial": "the vcov choice applies to part of the model only",
    "bootstrap_failures": "some bootstrap or simulation draws failed and were left out",
    "few_draws": "too few bootstrap draws for the requested precision",
    "enumerated": "every possible bootstrap weight vector was used",
    "unbounded_interval": "the confidence interval is unbounded on one side",
    "p_value_method": "how the p-value was computed",
    "df_hessian": "the Hessian behind Satterthwaite df is not positive definite",
    "sensitivity_robust_t": "sensitivity statistics use a robust or clustered t (sensemakr)",
    "dfcom_large_sample": "pooled imputations use large-sample df (complete-data df unknown)",
    "other": "a note without a code (e.g. read back from text)",
})


class Note(str):
    """A note's text with a stable ``code`` (one of :data:`NOTE_CODES`)."""

    code: str

    def __new__(cls, code: str, text: str) -> Note:
        note = super().__new__(cls, text)
        check_code(code)
        note.code = code
        return note

    def __reduce__(self):
        return (Note, (self.code, str(self)))

    def __repr__(self) -> str:
        return f"Note({self.code!r}, {str(self)!r})"

    def retext(self, text: str) -> Note:
        """The same code with another text (e.g. prefixed by the model's name)."""
        return Note(self.code, text)


def code_of(note: str) -> str:
    """The code of ``note``; ``"other"`` for a plain string."""
    return getattr(note, "code", "other")


def note_codes(notes: Iterable[str]) -> tuple[str, ...]:
    """The codes of ``notes``, in order (``"other"`` for plain strings)."""
    return tuple(code_of(n) for n in notes)


def check_code(code: str) -> str:
    """``code`` when it is a known note code, else a SpecificationError naming them."""
    if code not in NOTE_CODES:
        raise SpecificationError(f"unknown note code {code!r}; the codes are "
                                 f"{', '.join(NOTE_CODES)}")
    return code


def prefixed(note: str, prefix: str) -> str:
    """``prefix + note``, keeping the note's code."""
    return Note(note.code, prefix + note) if isinstance(note, Note) else prefix + note
