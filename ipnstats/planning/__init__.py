"""Planning a study: Monte-Carlo power of the H1-H3 designs (``ipnstats.power``)."""

from .designs import DESIGNS, H1Design, H2Design, H3Design, Replicate, TwoGroupDesign
from .power import PowerResult, clopper_pearson, power

__all__ = ["DESIGNS", "H1Design", "H2Design", "H3Design", "PowerResult", "Replicate",
           "TwoGroupDesign", "clopper_pearson", "power"]
