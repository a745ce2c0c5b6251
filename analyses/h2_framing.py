"""H2 by hand: do loss-framed exchanges teach more than gain-framed ones?

    .venv/bin/python analyses/h2_framing.py [STUDY_FOLDER]
"""

import sys

import ipnstats
from ipnstats import Cluster

folder = sys.argv[1] if len(sys.argv) > 1 else "data/example"
ex = ipnstats.load_study(folder).exchanges

# H2a: framing and cognition, crossed receiver and sender random intercepts
framing = ipnstats.framing_effect(ex)
print(framing.contrasts())

# H2b: cognition to behavior, moderated by loss framing (logit, receiver-clustered)
behavior = ipnstats.moderation(ex, y="behavior_change", x="cognitive_shift", w="loss",
                               family="binomial", vcov=Cluster("receiver_id"))
print(behavior.simple_slopes())

# H2c: the receiver's loss aversion; Johnson-Neyman and PROCESS model 7
la = ipnstats.moderation(ex, y="cognitive_shift", x="loss", w="receiver_loss_aversion",
                         vcov=Cluster("receiver_id", "sender_id"))
print(la.johnson_neyman())
process = ipnstats.conditional_process(ex, model=7, x="loss", m="cognitive_shift",
                                       y="behavior_change", w="receiver_loss_aversion",
                                       cluster="receiver_id", n_boot=999, seed=0)
print(process.index_of_moderated_mediation())

# H2d: which questions, and how many
print(ipnstats.question_patterns(ex, seed=0, n_boot=999).mean)
