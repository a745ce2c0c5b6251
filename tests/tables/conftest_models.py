"""Two fitted panel models shared by the alignment and style tests (deterministic)."""

import numpy as np
import pandas as pd

from ipnstats import Cluster, panel_regression

LABELS = {"cost": "Training cost", "size": "Firm size", "y": "Log revenue", "firm": "Firm",
          "year": "Year"}


def models():
    rng = np.random.default_rng(11)
    firm = np.repeat(np.arange(1, 31), 5)
    year = np.tile(np.arange(2015, 2020), 30)
    cost = rng.normal(size=150)
    size = rng.normal(size=150)
    y = 0.4 * cost - 0.3 * size + np.repeat(rng.normal(size=30), 5) + rng.normal(size=150)
    frame = pd.DataFrame({"firm": firm, "year": year, "cost": cost, "size": size, "y": y})
    fe = panel_regression(frame, "y ~ cost + size", unit="firm", time="year",
                          vcov=Cluster("firm"))
    pooled = panel_regression(frame, "y ~ cost", unit="firm", time="year",
                              estimator="pooled", vcov="hc1")
    return [fe, pooled], frame
