# lme4's InstEval: lmer(y ~ service + (1 | s) + (1 | d)), REML, on all 73,421 rows and on
# the first 3,000 (benchmarks/models.py --quick). Writes insteval.json beside this file:
#   Rscript tests/reference/lme4/insteval.R > tests/reference/lme4/insteval.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
fit_case <- function(rows) {
  data <- droplevels(if (rows > 0) InstEval[seq_len(rows), ] else InstEval)
  fit <- lmer(y ~ service + (1 | s) + (1 | d), data = data)
  vc <- as.data.frame(VarCorr(fit))
  list(rows = nrow(data), students = nlevels(data$s), lecturers = nlevels(data$d),
       sum_y = sum(as.numeric(data$y)),
       coef = as.list(fixef(fit)),
       se = as.list(setNames(sqrt(diag(as.matrix(vcov(fit)))), names(fixef(fit)))),
       variance = list(s = vc$vcov[vc$grp == "s"], d = vc$vcov[vc$grp == "d"],
                       Residual = vc$vcov[vc$grp == "Residual"]),
       theta = as.list(getME(fit, "theta")),
       reml_criterion = unname(REMLcrit(fit)))
}
out <- list(case = "lmer(y ~ service + (1 | s) + (1 | d), InstEval), REML",
            lme4 = as.character(packageVersion("lme4")),
            R = paste(R.version$major, R.version$minor, sep = "."),
            all = fit_case(0), first_3000 = fit_case(3000))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
