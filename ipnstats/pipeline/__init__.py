"""One run, one configuration: ``ipnstats run`` fits, ``ipnstats report`` renders.

- :mod:`.config` reads and checks ``analyses/ipn_study.toml``; formulas pass the
  restricted grammar of :mod:`.grammar`.
- :mod:`.stages` defines what each stage fits and from which inputs; :mod:`.runner`
  runs the stages whose inputs changed and stores JSON; :mod:`.assemble` renders the
  report from the stored JSON alone; :mod:`.makevars` writes what ``make report
  CONFIG=...`` needs to know of a configuration (its output folder, stages and inputs).
"""

from ipnstats.pipeline.config import ConfigError, StudyConfig, load_config
from ipnstats.pipeline.grammar import ExpressionError, check_formula

__all__ = ["ConfigError", "ExpressionError", "StudyConfig", "check_formula", "load_config"]
