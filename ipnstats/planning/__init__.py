"""Planning a study: Monte-Carlo power of any design (``ipnstats.power``). The IPN
hypotheses' designs are in :mod:`ipnstats.ipn.designs`."""

from ipnstats.planning.designs import Replicate, TwoGroupDesign
from ipnstats.planning.power import PowerResult, clopper_pearson, power

__all__ = ["PowerResult", "Replicate", "TwoGroupDesign", "clopper_pearson", "power"]
