"""H1 by hand: does joining an IPN raise firm performance?

The same models as the H1 section of the study report, through ipnstats' public API,
as a user's own script would fit them. Run from the repository root:

    .venv/bin/python analyses/h1_participation.py [STUDY_FOLDER]
"""

import sys

import ipnstats
from ipnstats import Cluster
from ipnstats.ipn.labels import ID_LABELS, UNIT_LABEL

folder = sys.argv[1] if len(sys.argv) > 1 else "data/example"
study = ipnstats.load_study(folder)
fy = study.firm_year
panel = dict(unit="firm_id", time="year", cohort="cohort")  # R did's idname, tname, gname

# H1a: staggered DiD (Callaway-Sant'Anna, not-yet-treated controls), beside TWFE and Sun-Abraham
models = [ipnstats.twfe_did(fy, outcome="log_revenue", **panel, vcov=Cluster("firm_id")),
          ipnstats.participation_effect(fy, outcome="log_revenue", **panel,
                                        vcov=Cluster("firm_id"), n_boot=999, seed=0),
          ipnstats.sun_abraham(fy, outcome="log_revenue", **panel, vcov=Cluster("firm_id"))]
print(ipnstats.regression_table(models, keep=["ATT"], model_names=["TWFE", "CS", "Sun-Abraham"],
                                labels=ID_LABELS, unit_label=UNIT_LABEL,
                                title="Effect of joining on log revenue").to_text())

# H1b: the event study and the effect by stage (imputation estimator)
event = ipnstats.event_study(fy, outcome="log_revenue", **panel, window=(-4, 6), n_boot=999,
                             seed=0)
print(event.pretrend_test())
stages = ipnstats.stage_effects(fy, outcome="log_revenue", n_boot=999, seed=0)
print(stages.rise_test())

# H1d and H1f: practices within member firms; who leaves the network
print(ipnstats.practice_effects(fy, outcome="log_revenue").block_tests())
print(ipnstats.exit_hazard(fy).tidy())

# the primary claims of the family, Holm-adjusted as in the verdict table
p = [models[1].tidy().iloc[0]["p_value"], stages.rise_test().set_index("contrast")
     .loc["all steps", "p_value"]]
print(ipnstats.adjust_pvalues(p, method="holm"))
