# The SRM special case lme4 can express: actor and partner effects uncorrelated,
# relationship effects of a dyad correlated through a dyad random intercept.
# y_ij = mu + a_i + b_j + d_{ij} + e_ij: relationship variance = dyad + residual,
# relationship covariance = dyad variance. Data: TripleR's likingLong (reference data).
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(file.path(args[1], "triple_r", "likingLong.csv"))
d <- d[d$perceiver.id != d$target.id & !is.na(d$liking_a), ]
stopifnot(nrow(d) == 2862)
d$dyad <- paste(pmin(d$perceiver.id, d$target.id), pmax(d$perceiver.id, d$target.id))
m <- lmer(liking_a ~ 1 + (1 | perceiver.id) + (1 | target.id) + (1 | dyad), data = d, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
vc <- as.data.frame(VarCorr(m))
v <- setNames(vc$vcov, vc$grp)
out <- list(nobs = nrow(d), actor_variance = unname(v["perceiver.id"]),
            partner_variance = unname(v["target.id"]), dyad_variance = unname(v["dyad"]),
            residual_variance = unname(v["Residual"]), intercept = unname(fixef(m)[1]),
            reml_loglik = as.numeric(logLik(m)), reml_criterion = unname(REMLcrit(m)),
            lme4 = as.character(packageVersion("lme4")), R = R.version.string)
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")
