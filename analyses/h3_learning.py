"""H3 by hand: do receivers learn more from risk-averse senders?

    .venv/bin/python analyses/h3_learning.py [STUDY_FOLDER]
"""

import sys

import numpy as np

import ipnstats

folder = sys.argv[1] if len(sys.argv) > 1 else "data/example"
study = ipnstats.load_study(folder)
ex = study.exchanges.assign(neutral=lambda d: (d["framing"] == "neutral").astype(float))

# H3a: sender traits, crossed random effects; risk aversion against each outward trait
senders = ipnstats.sender_effects(ex, covariates=("loss", "neutral"))
print(senders.comparisons())

# H3b: the learning curve, steeper after exposure to risk-averse senders
tasks = study.tasks.assign(exposure=lambda d: np.log1p(d["prior_risk_averse"].astype(float)))
tasks = tasks.assign(log_cum_experience_x_exposure=lambda d: d["log_cum_experience"]
                     * d["exposure"])
curve = ipnstats.learning_curve(tasks, outcome="outcome", experience="cum_experience",
                                unit="firm_id", moderator="exposure",
                                covariates=("log_n_sources",), re_cov="diagonal")
print(curve.tidy(), curve.learning_rate(), sep="\n")

# H3c: more sources for one experience (triangulation) against more experience
tri = ipnstats.triangulation(tasks, covariates=("exposure", "log_cum_experience_x_exposure"))
print(tri.comparison())
