"""Measurement: confirmatory factor analysis (as lavaan), measurement invariance,
discriminant validity (HTMT, Fornell-Larcker), common-method checks (Harman, ULMC, the
marker-variable correction), nonresponse bias, within-group agreement and aggregation
(ICC, rwg(j), AD(M)) and inter-rater agreement (Krippendorff's alpha, Cohen's kappa)."""
